using System.Text.Json.Nodes;
using TorchSharp;
using ViXml.Models.Vision;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>
/// SigLIP vision tower against tiny HF-layout checkpoints and expected outputs written by Debian's PyTorch
/// (tests/reference/gen_siglip.py: plain-torch forward after HF modeling_siglip.py, torch.nn.MultiheadAttention for the
/// pooling head); strict loading of SigLIP and ResNet folders.
/// </summary>
public class VisionTowerTests(ITestOutputHelper output)
{
    private static string Case(string name) => Repo.Fixture("siglip", name);

    [Theory]
    [InlineData("siglip-model")]   // SiglipModel checkpoint: vision_config, text_model.* + logit_* skipped, gelu tanh, 0.5/0.5
    [InlineData("siglip-vision")]  // SiglipVisionModel checkpoint: erf gelu, CLIP-like mean/std, float16 weights
    public void SiglipPooledOutputMatchesPlainTorch(string name)
    {
        using var model = (SiglipVisionModel)VisionTowers.Load(Case(name));
        using var scope = NewDisposeScope();
        var expected = SafeTensorsIO.Load(Repo.Fixture("siglip", "expected", name + ".safetensors"));
        var pixels = expected["pixels"];                                         // (B, 3, S, S) RGB 0..255
        int b = (int)pixels.size(0);
        Assert.Equal(model.InputSize, (int)pixels.size(2));
        var pooled = model.Embed(pixels.ToArray<float>(), b);                    // (B, D)
        float[] hidden;
        using (no_grad())
        {
            var vm = model.vision_model;
            hidden = vm.post_layernorm.forward(vm.encoder.forward(vm.embeddings.forward(model.Normalize(pixels)))).ToArray<float>();
        }
        double errPooled = MaxDiff(pooled, expected["pooled"].ToArray<float>());
        double errHidden = MaxDiff(hidden, expected["last_hidden_state"].ToArray<float>());
        double scale = expected["pooled"].abs().max().ToDouble();
        output.WriteLine($"{name}: pooled max |ours - torch| {errPooled:E2} (values up to {scale:F2}), last_hidden_state {errHidden:E2}");
        Assert.True(scale > 0.5, "pooled outputs are ~0: the comparison would be vacuous");
        Assert.True(errPooled <= 1e-5, $"pooled differs by {errPooled}");
        Assert.True(errHidden <= 1e-5, $"last_hidden_state differs by {errHidden}");
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(model.training);
        // batching does not change a row: the last image alone equals its row in the batch
        var per = 3 * model.InputSize * model.InputSize;
        var alone = model.Embed(pixels.ToArray<float>()[^per..], 1);
        Assert.True(MaxDiff(alone, pooled[^model.OutputDim..]) <= 1e-5);
    }

    [Fact]
    public void SiglipStateDictKeysAreExactlyTheCheckpointsVisionKeys()
    {
        using var model = (SiglipVisionModel)VisionTowers.Load(Case("siglip-model"));
        using var f = SafeTensorsFile.Open(Path.Combine(Case("siglip-model"), "model.safetensors"));
        var vision = f.Names.Where(n => n.StartsWith("vision_model.", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(vision, model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Contains("vision_model.head.attention.in_proj_weight", model.state_dict().Keys);
        Assert.Contains("vision_model.encoder.layers.1.self_attn.q_proj.weight", model.state_dict().Keys);
    }

    /// <summary>A copy of a fixture folder with its checkpoint rewritten by <paramref name="edit"/>.</summary>
    private static string Edited(string name, Action<Dictionary<string, Tensor>> edit, Action<JsonObject>? editConfig = null)
    {
        var dir = Repo.TempDir("vixml-siglip");
        foreach (var file in Directory.GetFiles(Case(name))) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        using (var scope = NewDisposeScope())
        {
            var t = SafeTensorsIO.Load(Path.Combine(dir, "model.safetensors"));
            edit(t);
            SafeTensorsIO.Save(Path.Combine(dir, "model.safetensors"), t);
        }
        if (editConfig is not null)
        {
            var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            editConfig(cfg);
            File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        }
        return dir;
    }

    [Fact]
    public void SiglipLoadingIsStrictAndNamesTheKeyAndFile()
    {
        var missing = Edited("siglip-model", t => t.Remove("vision_model.head.probe"));
        var e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(missing));
        Assert.Contains("vision_model.head.probe", e.Message);
        Assert.Contains(Path.Combine(missing, "model.safetensors"), e.Message);

        var extra = Edited("siglip-model", t => t["vision_model.encoder.layers.2.mlp.fc1.weight"] = zeros(4, 4));
        e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(extra));
        Assert.Contains("Unexpected key(s) (1): vision_model.encoder.layers.2.mlp.fc1.weight", e.Message);

        var shape = Edited("siglip-model", t => t["vision_model.post_layernorm.weight"] = ones(31));
        e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(shape));
        Assert.Contains("vision_model.post_layernorm.weight: checkpoint [31], model [32]", e.Message);

        var layers = Edited("siglip-model", _ => { }, c => c["vision_config"]!["num_hidden_layers"] = 1);
        e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(layers));
        Assert.Contains("vision_model.encoder.layers.1.", e.Message);

        var naflex = Edited("siglip-model", _ => { }, c => c["model_type"] = "siglip2");
        e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(naflex));
        Assert.Contains("NaFlex", e.Message);

        var noHead = Edited("siglip-vision", _ => { }, c => c["vision_use_head"] = false);
        e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(noHead));
        Assert.Contains("vision_use_head", e.Message);

        var act = Edited("siglip-vision", _ => { }, c => c["hidden_act"] = "quick_gelu");
        Assert.Contains("hidden_act 'quick_gelu'", Assert.Throws<VisionModelException>(() => VisionTowers.Load(act)).Message);

        var heads = Edited("siglip-vision", _ => { }, c => c["num_attention_heads"] = 5);
        Assert.Contains("not divisible", Assert.Throws<VisionModelException>(() => VisionTowers.Load(heads)).Message);

        foreach (var d in new[] { missing, extra, shape, layers, naflex, noHead, act, heads }) Directory.Delete(d, true);
    }

    [Fact]
    public void ASiglipShardedCheckpointLoadsLikeTheSingleFile()
    {
        var dir = Repo.TempDir("vixml-siglip-shards");
        foreach (var f in new[] { "config.json", "preprocessor_config.json" }) File.Copy(Path.Combine(Case("siglip-model"), f), Path.Combine(dir, f));
        using (var scope = NewDisposeScope())
        {
            var all = SafeTensorsIO.Load(Path.Combine(Case("siglip-model"), "model.safetensors"));
            var names = all.Keys.Order(StringComparer.Ordinal).ToList();
            var map = new System.Text.Json.Nodes.JsonObject();
            for (int s = 0; s < 2; s++)
            {
                var file = $"model-0000{s + 1}-of-00002.safetensors";
                var part = names.Where((_, i) => i % 2 == s).ToDictionary(n => n, n => all[n]);
                SafeTensorsIO.Save(Path.Combine(dir, file), part);
                foreach (var n in part.Keys) map[n] = file;
            }
            File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
                new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = map }.ToJsonString());
        }
        using var single = VisionTowers.Load(Case("siglip-model"));
        using var sharded = VisionTowers.Load(dir);
        var x = Enumerable.Range(0, 3 * 32 * 32).Select(i => (float)(i * 7 % 256)).ToArray();
        Assert.Equal(single.Embed(x, 1), sharded.Embed(x, 1));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void SiglipBadBatchesAreClearErrorsNotAborts()
    {
        using var model = VisionTowers.Load(Case("siglip-vision"));
        var per = 3 * model.InputSize * model.InputSize;
        Assert.Contains("expected 2 images", Assert.Throws<ArgumentException>(() => model.Embed(new float[per], 2)).Message);
        var nan = new float[per];
        nan[5] = float.NaN;
        Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => model.Embed(nan, 1)).Message);
    }

    // ---- ResNet: a tiny basic-block ResNet folder in the imported layout, to test strict loading without the package

    internal static string TinyResNet(Action<Dictionary<string, Tensor>>? edit = null, Action<JsonObject>? editConfig = null)
    {
        var dir = Repo.TempDir("vixml-resnet");
        var convs = new JsonObject();
        void Conv(string n, int o, int i, int k, int s, int[] pads) => convs[n] = new JsonObject
        {
            ["out_channels"] = o, ["in_channels"] = i, ["kernel"] = new JsonArray(k, k), ["stride"] = new JsonArray(s, s),
            ["pads"] = new JsonArray(pads.Select(p => (JsonNode)p).ToArray()), ["bias"] = false,
        };
        Conv("conv1", 4, 3, 7, 2, [2, 2, 3, 3]);            // CNTK-style asymmetric pads
        Conv("layer1.0.conv1", 4, 4, 3, 1, [1, 1, 1, 1]);
        Conv("layer1.0.conv2", 4, 4, 3, 1, [1, 1, 1, 1]);
        Conv("layer2.0.conv1", 8, 4, 3, 2, [0, 0, 1, 1]);
        Conv("layer2.0.conv2", 8, 8, 3, 1, [1, 1, 1, 1]);
        Conv("layer2.0.downsample.0", 8, 4, 1, 2, [0, 0, 0, 0]);
        var cfg = new JsonObject
        {
            ["model_type"] = "resnet", ["blocks"] = new JsonArray(1, 1), ["widths"] = new JsonArray(4, 8), ["output_dim"] = 8,
            ["batch_norm"] = new JsonObject { ["eps"] = 1e-5, ["folded_into_conv"] = false },
            ["stem"] = new JsonObject { ["max_pool"] = new JsonObject { ["kernel"] = new JsonArray(3, 3), ["stride"] = new JsonArray(2, 2), ["pads"] = new JsonArray(0, 0, 1, 1) } },
            ["average_pool"] = new JsonObject { ["kernel"] = new JsonArray(2, 2) },
            ["convs"] = convs,
            ["preprocess"] = new JsonObject
            {
                ["input_size"] = new JsonArray(32, 32), ["channel_order"] = "BGR", ["channel_permutation_from_rgb"] = new JsonArray(2, 1, 0),
                ["scale"] = 1.0, ["std"] = null,
            },
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        var model = new ResNetModel(ResNetConfig.Read(Path.Combine(dir, "config.json")));
        editConfig?.Invoke(cfg);                                  // the edit applies to the folder, not to the weights
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Key.EndsWith("running_var", StringComparison.Ordinal)
            ? rand(kv.Value.shape, generator: gen) + 0.5 : randn(kv.Value.shape, generator: gen) * 0.3);
        edit?.Invoke(state);
        SafeTensorsIO.Save(Path.Combine(dir, "model.safetensors"), state);
        SafeTensorsIO.Save(Path.Combine(dir, "preprocess.safetensors"), new Dictionary<string, Tensor> { ["mean_image"] = rand(3, 32, 32, generator: gen) * 255 });
        model.Dispose();
        return dir;
    }

    [Fact]
    public void ResNetLoadsStrictlyAndBatches()
    {
        var dir = TinyResNet();
        using var model = (ResNetModel)VisionTowers.Load(dir);
        Assert.Equal(8, model.OutputDim);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("layer2.0.downsample.1.running_var", keys);
        Assert.DoesNotContain(keys, k => k.Contains("num_batches_tracked") || k.Contains("mean_image"));
        var gen = new Random(3);
        var x = Enumerable.Range(0, 3 * 3 * 32 * 32).Select(_ => (float)gen.Next(256)).ToArray();
        var batch = model.Embed(x, 3);
        var one = model.Embed(x[(2 * 3 * 32 * 32)..], 1);
        Assert.True(MaxDiff(one, batch[16..]) <= 1e-5, "a row depends on its batch");
        Assert.True(batch.Any(v => Math.Abs(v) > 1e-3));
        Directory.Delete(dir, true);

        var missing = TinyResNet(t => t.Remove("layer1.0.bn2.running_mean"));
        var e = Assert.Throws<VisionModelException>(() => VisionTowers.Load(missing));
        Assert.Contains("Missing key(s) (1): layer1.0.bn2.running_mean", e.Message);
        Assert.Contains(Path.Combine(missing, "model.safetensors"), e.Message);

        var noConv = TinyResNet(editConfig: c => c["convs"]!.AsObject().Remove("layer2.0.conv2"));
        Assert.Contains("convs.layer2.0.conv2 is missing", Assert.Throws<VisionModelException>(() => VisionTowers.Load(noConv)).Message);

        var perm = TinyResNet(editConfig: c => c["preprocess"]!["channel_permutation_from_rgb"] = new JsonArray(2, 2, 0));
        Assert.Contains("channel_permutation_from_rgb", Assert.Throws<VisionModelException>(() => VisionTowers.Load(perm)).Message);

        var mean = TinyResNet();
        using (var scope = NewDisposeScope())
            SafeTensorsIO.Save(Path.Combine(mean, "preprocess.safetensors"), new Dictionary<string, Tensor> { ["mean_image"] = zeros(3, 16, 16) });
        Assert.Contains("mean_image is [3, 16, 16], expected [3, 32, 32]", Assert.Throws<VisionModelException>(() => VisionTowers.Load(mean)).Message);

        var other = TinyResNet(editConfig: c => c["model_type"] = "vit");
        Assert.Contains("model_type 'vit'", Assert.Throws<VisionModelException>(() => VisionTowers.Load(other)).Message);
        foreach (var d in new[] { missing, noConv, perm, mean, other }) Directory.Delete(d, true);
    }

    private static double MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
