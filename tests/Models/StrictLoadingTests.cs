using System.Text.Json.Nodes;
using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.Models.DistilBert;
using ViXml.Models.Hf;
using ViXml.Torch;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>Loading is strict and loud: every bad tensor or config key is named with its file.</summary>
public class StrictLoadingTests
{
    private record Entry(string Name, SafeDType DType, long[] Shape, byte[] Data);

    /// <summary>Copies a fixture folder to a temp dir, rewriting model.safetensors through <paramref name="edit"/>.</summary>
    private static string Variant(string fixture, Func<List<Entry>, List<Entry>> edit)
    {
        var src = Repo.Fixture("bert", fixture);
        var dir = Repo.TempDir("vixml-strict");
        foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        List<Entry> entries;
        using (var st = SafeTensorsFile.Open(Path.Combine(src, "model.safetensors")))
            entries = st.Names.Select(n => { var i = st.Info(n); return new Entry(n, i.DType, i.Shape, st.ReadBytes(n)); }).ToList();
        entries = edit(entries);
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"),
            entries.Select(e => new SafeTensorsWriteEntry(e.Name, e.DType, e.Shape, e.Data)));
        return dir;
    }

    private static string Load(string dir)
    {
        var e = Assert.ThrowsAny<Exception>(() => Encoders.Load(dir).Dispose());
        Assert.True(e is CheckpointMismatchException or HfConfigException, e.ToString());
        Assert.Contains(dir, e.Message);
        return e.Message;
    }

    [Fact]
    public void SentenceTransformers_state_dict_prefix_and_legacy_gamma_beta_names_load()
    {
        var dir = Variant("bert_plain", es => es.Select(e => e with
        {
            Name = "0.auto_model." + e.Name.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"),
        }).ToList());
        using var scope = NewDisposeScope();
        var (ids, mask, exp) = BertParityTests.Expected("bert_plain");
        using var _e = exp;
        using var enc = Encoders.Load(dir);
        using var ng = no_grad();
        BertParityTests.AssertClose(exp, "last_hidden_state", enc.Forward(ids, mask), "0.auto_model.");
    }

    [Theory]
    [InlineData("hidden_size", 1048576)]
    [InlineData("vocab_size", 2000000000)]
    [InlineData("max_position_embeddings", 1000000000)]
    public void Config_sizes_are_compared_with_the_checkpoint_header_before_anything_is_built(string key, long value)
    {
        var dir = Variant("bert_plain", es => es);
        var cfgPath = Path.Combine(dir, "config.json");
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(cfgPath))!.AsObject();
        cfg[key] = value;
        File.WriteAllText(cfgPath, cfg.ToJsonString());
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var msg = Load(dir);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, "refused after allocating");
        Assert.Contains("does not match the checkpoint", msg);
    }

    [Fact]
    public void NaN_weights_are_refused_naming_the_tensor()
    {
        var dir = Variant("bert_plain", es => es.Select(e => e.Name.EndsWith("attention.self.query.weight") && e.DType == SafeDType.F32
            ? e with { Data = WithNaN(e.Data) } : e).ToList());
        var msg = Load(dir);
        Assert.Contains("NaN or infinite", msg);
        Assert.Contains("attention.self.query.weight", msg);
        static byte[] WithNaN(byte[] data) { var d = (byte[])data.Clone(); BitConverter.GetBytes(float.NaN).CopyTo(d, 4); return d; }
    }

    [Fact]
    public void Missing_tensor_is_named()
    {
        var dir = Variant("bert_plain", es => es.Where(e => e.Name != "encoder.layer.1.output.dense.bias").ToList());
        Assert.Contains("missing: 'encoder.layer.1.output.dense.bias'", Load(dir));
    }

    [Fact]
    public void Unexpected_tensor_is_named_with_its_file()
    {
        var dir = Variant("bert_plain", es => [.. es, new Entry("encoder.layer.7.output.dense.bias", SafeDType.F32, [32], new byte[128])]);
        Assert.Contains("unexpected: 'encoder.layer.7.output.dense.bias' in model.safetensors", Load(dir));
    }

    [Fact]
    public void Mis_shaped_tensor_is_named_with_both_shapes()
    {
        var dir = Variant("distilbert_plain", es => es.Select(e => e.Name == "transformer.layer.0.ffn.lin1.bias"
            ? e with { Shape = [16], Data = e.Data[..64] } : e).ToList());
        Assert.Contains("mis-shaped: 'transformer.layer.0.ffn.lin1.bias' in model.safetensors has shape [16], model expects [64]", Load(dir));
    }

    [Fact]
    public void Wrong_dtype_is_named()
    {
        var dir = Variant("bert_plain", es => es.Select(e => e.Name == "embeddings.LayerNorm.weight"
            ? e with { DType = SafeDType.I32 } : e).ToList());
        Assert.Contains("wrong dtype: 'embeddings.LayerNorm.weight' in model.safetensors is I32", Load(dir));
    }

    [Fact]
    public void Several_problems_are_all_listed()
    {
        var dir = Variant("bert_mlm", es => es.Where(e => e.Name != "bert.embeddings.word_embeddings.weight")
            .Append(new Entry("bert.extra.weight", SafeDType.F32, [1], new byte[4])).ToList());
        var msg = Load(dir);
        Assert.Contains("missing: 'bert.embeddings.word_embeddings.weight'", msg);
        Assert.Contains("unexpected: 'bert.extra.weight'", msg);
    }

    [Fact]
    public void Config_errors_name_file_and_key()
    {
        var dir = Variant("bert_plain", es => es);
        var cfg = Path.Combine(dir, "config.json");
        var node = JsonNode.Parse(File.ReadAllText(cfg))!.AsObject();
        node["layer_norm_eps"] = "1e-12";
        File.WriteAllText(cfg, node.ToJsonString());
        var msg = Load(dir);
        Assert.Contains(cfg, msg);
        Assert.Contains("'layer_norm_eps'", msg);

        node["layer_norm_eps"] = 1e-12;
        node["model_type"] = "electra";
        File.WriteAllText(cfg, node.ToJsonString());
        Assert.Contains("unknown model_type 'electra'", Load(dir));
    }

    [Fact]
    public void Missing_weights_file_is_an_error_naming_the_folder()
    {
        var dir = Repo.TempDir("vixml-strict");
        File.Copy(Repo.Fixture("bert", "bert_plain", "config.json"), Path.Combine(dir, "config.json"));
        var e = Assert.Throws<SafeTensorsException>(() => Encoders.Load(dir));
        Assert.Contains(dir, e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void Save_pretrained_round_trips_and_uses_the_HF_key_layout()
    {
        using var scope = NewDisposeScope();
        var (ids, mask, exp) = BertParityTests.Expected("bert_mlm");
        using var _e = exp;
        foreach (var fixture in new[] { "bert_mlm", "distilbert_mlm", "bert_bf16" })
        {
            using var a = Encoders.Load(Repo.Fixture("bert", fixture));
            var dir = Repo.TempDir("vixml-save");
            a.save_pretrained(dir);
            using var b = Encoders.Load(dir);
            using (no_grad())
                Assert.True(a.Forward(ids, mask).equal_all(b.Forward(ids, mask)), fixture);
            Assert.Equal(a.Config with { Architectures = null }, b.Config with { Architectures = null });
            // Saved keys = the HF base-model layout: the python-written checkpoint's encoder keys without prefix/heads.
            var saved = HfCheckpoint.Inspect(dir).Select(t => t.Name).Order().ToList();
            var prefix = fixture.StartsWith("distil") ? "distilbert." : fixture == "bert_mlm" ? "bert." : "";
            var original = HfCheckpoint.Inspect(Repo.Fixture("bert", fixture)).Select(t => t.Name)
                .Where(n => n.StartsWith(prefix) && !n.EndsWith("position_ids")).Select(n => n[prefix.Length..]).Order().ToList();
            Assert.Equal(original, saved);
            Assert.All(HfCheckpoint.Inspect(dir), t => Assert.Equal("F32", t.DType));
        }
    }

    [Fact]
    public void From_scratch_init_follows_HF_and_is_seeded()
    {
        using var a = new BertModel(BertConfig.MiniLmL3 with { VocabSize = 1000 }, seed: 7);
        using var b = new BertModel(BertConfig.MiniLmL3 with { VocabSize = 1000 }, seed: 7);
        using var c = new BertModel(BertConfig.MiniLmL3 with { VocabSize = 1000 }, seed: 8);
        var q = a.encoder.layer[0].attention.self.query;
        var std = q.weight.flatten().std(0).item<float>();
        Assert.InRange(std, 0.019, 0.021);
        Assert.Equal(0f, q.bias!.abs().max().item<float>());
        Assert.Equal(1f, a.embeddings.LayerNorm.weight!.min().item<float>());
        Assert.Equal(0f, a.embeddings.word_embeddings.weight[0].abs().max().item<float>()); // [PAD] row
        Assert.True(a.embeddings.word_embeddings.weight.equal_all(b.embeddings.word_embeddings.weight));
        Assert.True(q.weight.equal_all(b.encoder.layer[0].attention.self.query.weight));
        Assert.False(q.weight.equal_all(c.encoder.layer[0].attention.self.query.weight));
        using (var full = new BertModel(BertConfig.MiniLmL3, seed: 0))
            Assert.Equal(17_389_824, full.num_parameters()); // paraphrase-MiniLM-L3-v2 with pooler (HF: 17.4M)

        using var d = new DistilBertModel(DistilBertConfig.BaseUncased with { VocabSize = 100, SinusoidalPosEmbds = true }, seed: 1);
        var pos = d.embeddings.position_embeddings.weight;
        Assert.False(pos.requires_grad);
        Assert.Equal((float)Math.Cos(3 / Math.Pow(10000, 2.0 * 2 / 768)), pos[3][5].item<float>(), 6);
    }
}
