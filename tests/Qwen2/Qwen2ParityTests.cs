using ViXml.Models.Hf;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;
using ViXml.Text.Prompts;
using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Qwen2;

/// <summary>Expected tensors written by tests/reference/gen_qwen2.py (Debian PyTorch, float32 compute).</summary>
internal sealed class Expected : IDisposable
{
    private readonly SafeTensorsFile _file;
    public Expected(params string[] path) => _file = SafeTensorsFile.Open(Repo.Fixture(["qwen2", .. path, "expected.safetensors"]));
    public Tensor this[string name] => Qwen2Checkpoint.ReadTensor(_file, name);
    public bool Has(string name) => _file.Contains(name);
    public void Dispose() => _file.Dispose();

    /// <summary>Largest absolute difference (both as float64).</summary>
    public static double MaxDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return d.ToDouble();
    }
}

[Collection("Qwen2 torch")]
public class Qwen2ParityTests
{
    private const double Tol = 1e-5;

    [Theory]
    [InlineData("tiny-bf16", "right")]
    [InlineData("tiny-bf16", "left")]
    [InlineData("tiny-f32-sharded", "right")]
    [InlineData("tiny-f32-sharded", "left")]
    public void HiddenStatesAndPoolingMatchPyTorch(string fixture, string padding)
    {
        using var scope = NewDisposeScope();
        using var e = new Expected(fixture);
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", fixture));
        model.eval();
        using var _ = no_grad();
        var ids = e[$"{padding}.input_ids"];
        var mask = e[$"{padding}.attention_mask"];
        var pos = e[$"{padding}.position_ids"];
        // Right padding uses the default positions (arange), exactly as HF does when none are given.
        var h = padding == "right" ? model.forward(ids, mask) : model.forward(ids, mask, pos);
        Assert.True(Expected.MaxDiff(h, e[$"{padding}.last_hidden_state"]) < Tol);
        Assert.True(Expected.MaxDiff(Qwen2Ops.Pool(h, mask, "mean"), e[$"{padding}.mean"]) < Tol);
        Assert.True(Expected.MaxDiff(Qwen2Ops.Pool(h, mask, "last"), e[$"{padding}.last"]) < Tol);
        Assert.True(Expected.MaxDiff(model.Encode(ids, mask, "last", padding == "right" ? null : pos), e[$"{padding}.last"]) < Tol);
    }

    [Fact]
    public void AsIEncoderWithSharedPoolingMatchesTheReference()
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("tiny-bf16");
        using ViXml.Models.IEncoder enc = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        using var _ = no_grad();
        Assert.Equal(64, enc.HiddenSize);
        var ids = e["right.input_ids"];
        var mask = e["right.attention_mask"];
        Assert.True(Expected.MaxDiff(enc.Forward(ids, mask), e["right.last_hidden_state"]) < Tol);
        Assert.Equal(0.0, Expected.MaxDiff(enc.ForwardEmbeds(enc.EmbedTokens(ids), mask), enc.Forward(ids, mask)));
        Assert.True(Expected.MaxDiff(ViXml.Models.Pooling.Encode(enc, ids, mask, ViXml.Models.PoolingMode.Mean, normalize: false), e["right.mean"]) < Tol);
        Assert.True(Expected.MaxDiff(ViXml.Models.Pooling.Encode(enc, ids, mask, ViXml.Models.PoolingMode.Last, normalize: false), e["right.last"]) < Tol);
    }

    [Fact]
    public void Bfloat16ComputeStaysCloseToTheFloat32Reference()
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("tiny-bf16");
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"), ScalarType.BFloat16);
        using var _ = no_grad();
        Assert.Equal(ScalarType.BFloat16, model.DType);
        var got = model.Encode(e["right.input_ids"], e["right.attention_mask"]);
        Assert.Equal(ScalarType.Float32, got.dtype);
        // bf16 keeps 8 mantissa bits: a few percent of the values' scale (~1) over two layers.
        Assert.True(Expected.MaxDiff(got, e["right.mean"]) < 0.1);
        Assert.False(got.isnan().any().item<bool>());
    }

    [Fact]
    public void LoraAdapterOutputsAndGradientsMatchPeftStyleReference()
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("lora");
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        var cfg = LoraAdapter.Load(model, Repo.Fixture("qwen2", "lora"));
        Assert.Equal(4.0, cfg.Scale); // alpha 8 / sqrt(r = 4)
        var ids = e["input_ids"];
        var mask = e["attention_mask"];
        var h = model.forward(ids, mask);
        Assert.True(Expected.MaxDiff(h, e["last_hidden_state"]) < Tol);
        var mean = Qwen2Ops.Pool(h, mask, "mean");
        Assert.True(Expected.MaxDiff(mean, e["mean"]) < Tol);
        var loss = (mean * e["probe"]).sum();
        Assert.True(Math.Abs(loss.ToDouble() - e["loss"].ToDouble()) < 1e-4);
        loss.backward();
        int checkedGrads = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            var g = p.grad;
            if (LoraAdapter.IsLoraParameter(name))
            {
                Assert.NotNull(g);
                var key = "grad.model." + name.Replace(".weight", "");
                Assert.True(Expected.MaxDiff(g!, e[key]) < 1e-4, $"{name}: {Expected.MaxDiff(g!, e[key])}");
                checkedGrads++;
            }
            else Assert.Null(g); // the frozen base gets no gradient
        }
        Assert.Equal(2 * 7 * 2, checkedGrads);
    }

    [Fact]
    public void MergedEqualsUnmergedAndUnmergeRestoresTheBase()
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("lora");
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        var baseW = model.layers[0].self_attn.q_proj.weight.clone();
        LoraAdapter.Load(model, Repo.Fixture("qwen2", "lora"));
        using var _ = no_grad();
        var ids = e["input_ids"];
        var mask = e["attention_mask"];
        var unmerged = model.Encode(ids, mask);
        LoraAdapter.Merge(model);
        Assert.True(Expected.MaxDiff(model.layers[0].self_attn.q_proj.weight, e["merged.model.layers.0.self_attn.q_proj.weight"]) < 1e-5);
        var merged = model.Encode(ids, mask);
        Assert.True(Expected.MaxDiff(merged, unmerged) < 1e-4);
        Assert.True(Expected.MaxDiff(merged, e["mean"]) < 1e-4);
        LoraAdapter.Unmerge(model);
        Assert.True(Expected.MaxDiff(model.layers[0].self_attn.q_proj.weight, baseW) < 1e-6);
        Assert.True(Expected.MaxDiff(model.Encode(ids, mask), unmerged) < 1e-5);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("prefix")]
    [InlineData("prefix-eos")]
    [InlineData("t1-e-eeos")]
    [InlineData("image-first")]
    public void PromptTemplatesMatchTheReferenceEmbeddingLevelLayouts(string variant)
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("template");
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        using var _ = no_grad();
        var lengths = e["text_lengths"].ToArray<long>();
        var textIds = e["text_ids"];
        int T = (int)textIds.size(1);
        var all = textIds.ToArray<long>();
        var texts = lengths.Select((l, b) => all.Skip(b * T).Take((int)l).Select(x => (int)x).ToArray()).ToList();
        var imageMask = e["image_mask"].ToArray<long>();
        var present = lengths.Select((_, b) => Enumerable.Range(0, 3).Select(i => imageMask[b * 3 + i] == 1).ToArray()).ToList();
        int[] Tok(string s) => s switch
        {
            "This product text" => e["prefix_ids"].ToArray<long>().Select(x => (int)x).ToArray(),
            "and its image" => e["image_prefix_ids"].ToArray<long>().Select(x => (int)x).ToArray(),
            "<|endoftext|>" => e["suffix_ids"].ToArray<long>().Select(x => (int)x).ToArray(),
            _ => throw new ArgumentException(s),
        };
        foreach (var mode in new[] { PositionMode.Padded, PositionMode.Compact })
        {
            var tpl = PromptTemplates.Get(variant).WithPositions(mode).Tokenize(Tok);
            var key = $"{variant}.{(mode == PositionMode.Padded ? "padded" : "compact")}";
            foreach (var pooling in new[] { "mean", "last" })
            {
                var enc = new Qwen2PromptEncoder(model, tpl, padId: 511, pooling);
                var got = tpl.Template.HasImages ? enc.Encode(texts, e["images"], present) : enc.Encode(texts);
                Assert.True(Expected.MaxDiff(got, e[$"{key}.{pooling}"]) < Tol, $"{key}.{pooling}");
            }
        }
    }

    [Fact]
    public void PaddedAndCompactPositionsDifferWhenPadsSitBeforeTheSuffix()
    {
        // Not a tautology check: the reference's padded positions give other numbers than compact ones.
        using var e = new Expected("template");
        Assert.True(Expected.MaxDiff(e["prefix-eos.padded.mean"], e["prefix-eos.compact.mean"]) > 1e-3);
    }
}

[Collection("Qwen2 torch")]
public class Qwen2LoadingTests
{
    [Fact]
    public void TiedEmbeddingsLoadWithoutLmHeadAndUntiedIgnoresIt()
    {
        using var a = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        Assert.True(a.Config.TieWordEmbeddings);
        using var b = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-f32-sharded"));
        var mapping = Qwen2Checkpoint.LoadWeights(b, Repo.Fixture("qwen2", "tiny-f32-sharded"));
        Assert.Equal("model.", mapping.Prefix);
        Assert.Contains(mapping.Ignored, i => i.Tensor.Name == "lm_head.weight");
    }

    private static string CopyWithout(string fixture, Func<string, bool> drop, Action<Dictionary<string, (SafeDType, long[], byte[])>>? edit = null)
    {
        var dir = Repo.TempDir();
        File.Copy(Repo.Fixture("qwen2", fixture, "config.json"), Path.Combine(dir, "config.json"));
        using var src = SafeTensorsFile.Open(Repo.Fixture("qwen2", fixture, "model.safetensors"));
        var tensors = src.Names.Where(n => !drop(n)).ToDictionary(n => n, n => (src.Info(n).DType, src.Info(n).Shape, src.ReadBytes(n)));
        edit?.Invoke(tensors);
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"),
            tensors.Select(kv => new SafeTensorsWriteEntry(kv.Key, kv.Value.Item1, kv.Value.Item2, kv.Value.Item3)));
        return dir;
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var dir = CopyWithout("tiny-bf16", n => n == "model.layers.1.self_attn.k_proj.bias");
        var ex = Assert.Throws<CheckpointMismatchException>(() => Qwen2Checkpoint.Load(dir));
        Assert.Contains("missing: 'model.layers.1.self_attn.k_proj.bias'", ex.Message);
    }

    [Fact]
    public void UnexpectedAndMisShapedTensorsAreNamed()
    {
        var dir = CopyWithout("tiny-bf16", _ => false, t =>
        {
            t["model.layers.0.self_attn.o_proj.bias"] = (SafeDType.BF16, [64], new byte[128]); // Qwen2 has no o_proj bias
            var (d, s, bytes) = t["model.norm.weight"];
            t["model.norm.weight"] = (d, [32], bytes[..64]);
        });
        var ex = Assert.Throws<CheckpointMismatchException>(() => Qwen2Checkpoint.Load(dir));
        Assert.Contains("unexpected: 'model.layers.0.self_attn.o_proj.bias'", ex.Message);
        Assert.Contains("mis-shaped: 'model.norm.weight'", ex.Message);
    }

    [Fact]
    public void FromScratchInitSavesAndReloadsExactly()
    {
        using var scope = NewDisposeScope();
        var cfg = Qwen2Config.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        using var model = new Qwen2Model(cfg);
        model.InitWeights(new Generator(7));
        var w = model.layers[1].mlp.up_proj.weight;
        Assert.InRange(w.flatten().std(0).ToDouble(), 0.015, 0.025); // N(0, initializer_range = 0.02)
        Assert.Equal(1.0, model.norm.weight.mean().ToDouble());
        Assert.Equal(0.0, model.layers[0].self_attn.q_proj.bias!.abs().sum().ToDouble());
        var dir = Repo.TempDir();
        Qwen2Checkpoint.Save(model, dir, ScalarType.Float32);
        using var back = Qwen2Checkpoint.Load(dir);
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var mask = ones([2, 3], dtype: ScalarType.Int64);
        using var _ = no_grad();
        Assert.Equal(0.0, Expected.MaxDiff(model.Encode(ids, mask), back.Encode(ids, mask)));
    }
}

[Collection("Qwen2 torch")]
public class LoraBehaviourTests
{
    private static Qwen2Model Tiny() => Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));

    [Fact]
    public void FreshAdapterWithZeroBLeavesTheOutputUnchanged()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var ids = tensor(new long[] { 5, 9, 200, 17, 3, 3 }, [2, 3]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 0 }, [2, 3]);
        Tensor before;
        using (no_grad()) before = model.Encode(ids, mask);
        var adapted = LoraAdapter.Apply(model, LoraConfig.Paper with { R = 8, Alpha = 8 }, generator: new Generator(1));
        Assert.Equal(2 * 7, adapted.Count);
        Assert.Contains("model.layers.1.mlp.down_proj", adapted);
        using (no_grad()) Assert.Equal(0.0, Expected.MaxDiff(model.Encode(ids, mask), before));
        var a = model.layers[0].self_attn.q_proj.lora_A!.weight;
        double bound = Math.Sqrt(2.0 / 6) * Math.Sqrt(3.0 / 64); // kaiming_uniform(a=√5), fan_in 64
        Assert.True(a.abs().max().ToDouble() <= bound);
        Assert.True(a.abs().max().ToDouble() > bound * 0.8);
    }

    [Fact]
    public void GradientsReachOnlyAAndB()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        LoraAdapter.Apply(model, new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] }, generator: new Generator(2));
        // B = 0 at init: give B a value so A receives a gradient too.
        using (no_grad()) foreach (var (n, p) in LoraAdapter.Parameters(model)) if (n.Contains("lora_B")) p.normal_(0, 0.1, new Generator(3));
        var ids = tensor(new long[] { 5, 9, 200, 17 }, [2, 2]);
        var mask = ones([2, 2], dtype: ScalarType.Int64);
        model.Encode(ids, mask).pow(2).sum().backward();
        int lora = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            var g = p.grad;
            if (LoraAdapter.IsLoraParameter(name))
            {
                lora++;
                Assert.True(p.requires_grad);
                Assert.NotNull(g);
                Assert.True(g!.abs().sum().ToDouble() > 0, name);
            }
            else
            {
                Assert.False(p.requires_grad, name);
                Assert.Null(g);
            }
        }
        Assert.Equal(2 * 2 * 2, lora);
        Assert.Equal(2L * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4), model.num_parameters(only_trainable: true));
    }

    [Fact]
    public void SaveLoadRoundTripInPeftFormat()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var cfg = new LoraConfig { R = 2, Alpha = 4, UseRsLora = false, TargetModules = ["o_proj", "gate_proj"] };
        LoraAdapter.Apply(model, cfg, generator: new Generator(4));
        using (no_grad()) foreach (var (_, p) in LoraAdapter.Parameters(model)) p.normal_(0, 0.3, new Generator(5));
        var dir = Repo.TempDir();
        LoraAdapter.Save(model, cfg, dir);
        using var f = SafeTensorsFile.Open(Path.Combine(dir, LoraAdapter.WeightsFile));
        Assert.Contains("base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight", f.Names);
        Assert.Equal(2 * 2 * 2, f.Names.Count);
        using var other = Tiny();
        LoraAdapter.Load(other, dir);
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [1, 6]);
        var mask = ones([1, 6], dtype: ScalarType.Int64);
        using var _ = no_grad();
        Assert.Equal(0.0, Expected.MaxDiff(model.Encode(ids, mask), other.Encode(ids, mask)));
    }

    [Fact]
    public void AdapterWithWrongRankIsRejected()
    {
        var dir = Repo.TempDir();
        File.Copy(Repo.Fixture("qwen2", "lora", "adapter_model.safetensors"), Path.Combine(dir, "adapter_model.safetensors"));
        var cfg = LoraConfig.Load(Repo.Fixture("qwen2", "lora")) with { R = 8 };
        cfg.Save(dir);
        using var model = Tiny();
        var ex = Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(model, dir));
        Assert.Contains("mis-shaped", ex.Message);
    }

    [Fact]
    public void TargetsMatchingNothingAreAnError()
    {
        using var model = Tiny();
        Assert.Throws<ArgumentException>(() => LoraAdapter.Apply(model, new LoraConfig { TargetModules = ["query", "value"] }));
    }
}
