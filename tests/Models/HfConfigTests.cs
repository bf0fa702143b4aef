using System.Text.Json.Nodes;
using ViXml.Models.Hf;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Models;

public class HfConfigTests
{
    private static string WriteConfig(Action<JsonObject> edit, string fixture = "bert_plain")
    {
        var node = JsonNode.Parse(File.ReadAllText(Repo.Fixture("bert", fixture, "config.json")))!.AsObject();
        edit(node);
        var dir = Repo.TempDir("vixml-cfg");
        File.WriteAllText(Path.Combine(dir, "config.json"), node.ToJsonString());
        return dir;
    }

    [Fact]
    public void Bert_fixture_binds_every_field()
    {
        var c = Assert.IsType<BertConfig>(HfConfig.Load(Repo.Fixture("bert", "bert_mlm")));
        Assert.Equal(["BertForMaskedLM"], c.Architectures!);
        Assert.Equal((51, 32, 3, 4, 64), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize));
        Assert.Equal((40, 2, 0), (c.MaxPositionEmbeddings, c.TypeVocabSize, c.PadTokenId));
        Assert.Equal(1e-5, c.LayerNormEps);
        Assert.Equal("gelu", c.HiddenAct);
    }

    [Fact]
    public void DistilBert_fixture_binds_every_field()
    {
        var c = Assert.IsType<DistilBertConfig>(HfConfig.Load(Repo.Fixture("bert", "distilbert_plain")));
        Assert.Equal((51, 32, 3, 4, 64, 40), (c.VocabSize, c.Dim, c.NLayers, c.NHeads, c.HiddenDim, c.MaxPositionEmbeddings));
        Assert.False(c.SinusoidalPosEmbds);
        Assert.Equal(32, ((IEncoderConfig)c).HiddenSize);
    }

    [Fact]
    public void Presets_have_the_HF_values()
    {
        var m = BertConfig.MiniLmL3;
        Assert.Equal((30522, 384, 3, 12, 1536, 512, 2), (m.VocabSize, m.HiddenSize, m.NumHiddenLayers, m.NumAttentionHeads,
            m.IntermediateSize, m.MaxPositionEmbeddings, m.TypeVocabSize));
        var b = BertConfig.BertBaseUncased;
        Assert.Equal((768, 12, 12, 3072), (b.HiddenSize, b.NumHiddenLayers, b.NumAttentionHeads, b.IntermediateSize));
        var d = DistilBertConfig.BaseUncased;
        Assert.Equal((768, 6, 12, 3072, 30522), (d.Dim, d.NLayers, d.NHeads, d.HiddenDim, d.VocabSize));
    }

    [Fact]
    public void ToJson_round_trips_through_the_strict_reader()
    {
        foreach (var (cfg, arch) in new (HfConfig, string)[]
                 { (BertConfig.MiniLmL3, "BertModel"), (DistilBertConfig.BaseUncased, "DistilBertModel") })
        {
            var dir = Repo.TempDir("vixml-cfg");
            File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJson(arch));
            var back = HfConfig.Load(dir);
            Assert.Equal(cfg with { Architectures = null }, back with { Architectures = null });
            Assert.Equal([arch], back.Architectures!);
        }
    }

    [Fact]
    public void Wrong_json_type_names_file_and_key()
    {
        var dir = WriteConfig(n => n["hidden_size"] = "32");
        var e = Assert.Throws<HfConfigException>(() => HfConfig.Load(dir));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("'hidden_size'", e.Message);
        Assert.Contains("integer", e.Message);
    }

    [Fact]
    public void Float_for_an_integer_is_rejected()
    {
        var e = Assert.Throws<HfConfigException>(() => HfConfig.Load(WriteConfig(n => n["num_hidden_layers"] = 2.5)));
        Assert.Contains("'num_hidden_layers'", e.Message);
    }

    [Fact]
    public void Unknown_key_is_an_error_listing_every_unknown_key()
    {
        var e = Assert.Throws<HfConfigException>(() => HfConfig.Load(WriteConfig(n => { n["rotary_dim"] = 4; n["foo_bar"] = true; })));
        Assert.Contains("'rotary_dim'", e.Message);
        Assert.Contains("'foo_bar'", e.Message);
    }

    [Fact]
    public void Irrelevant_keys_on_the_list_are_ignored()
    {
        var c = HfConfig.Load(WriteConfig(n => { n["id2label"] = new JsonObject { ["0"] = "LABEL_0" }; n["output_past"] = true; }));
        Assert.IsType<BertConfig>(c);
    }

    [Fact]
    public void Unknown_model_type_and_architecture_are_errors()
    {
        var e = Assert.Throws<HfConfigException>(() => HfConfig.Load(WriteConfig(n => n["model_type"] = "roberta")));
        Assert.Contains("unknown model_type 'roberta'", e.Message);
        e = Assert.Throws<HfConfigException>(() => HfConfig.Load(WriteConfig(n => n["architectures"] = new JsonArray("BertForTokenClassification"))));
        Assert.Contains("BertForTokenClassification", e.Message);
        Assert.Contains("architectures", e.Message);
    }

    [Fact]
    public void Unsupported_values_and_missing_keys_are_errors()
    {
        Assert.Contains("position_embedding_type", Assert.Throws<HfConfigException>(() =>
            HfConfig.Load(WriteConfig(n => n["position_embedding_type"] = "relative_key"))).Message);
        Assert.Contains("num_attention_heads", Assert.Throws<HfConfigException>(() =>
            HfConfig.Load(WriteConfig(n => n["num_attention_heads"] = 5))).Message);
        Assert.Contains("'vocab_size' is missing", Assert.Throws<HfConfigException>(() =>
            HfConfig.Load(WriteConfig(n => n.Remove("vocab_size")))).Message);
        Assert.Contains("hidden_act", Assert.Throws<HfConfigException>(() =>
            HfConfig.Load(WriteConfig(n => n["hidden_act"] = "swish"))).Message);
        Assert.Contains("'n_heads'", Assert.Throws<HfConfigException>(() =>
            HfConfig.Load(WriteConfig(n => n["n_heads"] = "4", "distilbert_plain"))).Message);
    }

    [Fact]
    public void Missing_and_unreadable_files_are_named()
    {
        var dir = Repo.TempDir("vixml-cfg");
        Assert.Contains("file not found", Assert.Throws<HfConfigException>(() => HfConfig.Load(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"bert\",");
        var e = Assert.Throws<HfConfigException>(() => HfConfig.Load(dir));
        Assert.Contains("invalid JSON", e.Message);
        Assert.Contains("config.json", e.Message);
    }
}
