using System.Text.Json.Nodes;
using ViXml.Models.Hf;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Qwen2;

public class Qwen2ConfigTests
{
    private static JsonObject FixtureJson() =>
        JsonNode.Parse(File.ReadAllText(Repo.Fixture("qwen2", "tiny-bf16", "config.json")))!.AsObject();

    [Fact]
    public void LoadsTheFixtureConfigsFieldByField()
    {
        var a = Qwen2Config.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        Assert.Equal((64, 160, 2, 4, 2, 512), (a.HiddenSize, a.IntermediateSize, a.NumHiddenLayers, a.NumAttentionHeads,
            a.NumKeyValueHeads, a.VocabSize));
        Assert.Equal(16, a.HeadDim);
        Assert.Equal(1e6, a.RopeTheta);
        Assert.Equal(1e-6, a.RmsNormEps);
        Assert.True(a.TieWordEmbeddings);
        Assert.Equal(511, a.EosTokenId);
        var b = Qwen2Config.Load(Repo.Fixture("qwen2", "tiny-f32-sharded", "config.json"));
        Assert.Equal((48, 3, 6, 2), (b.HiddenSize, b.NumHiddenLayers, b.NumAttentionHeads, b.NumKeyValueHeads));
        Assert.Equal(1e4, b.RopeTheta);
        Assert.Equal(1e-5, b.RmsNormEps);
        Assert.False(b.TieWordEmbeddings);
    }

    [Fact]
    public void SlidingWindowEnabledIsRejectedLoudly()
    {
        var j = FixtureJson();
        j["use_sliding_window"] = true;
        var e = Assert.Throws<HfConfigException>(() => Qwen2Config.FromJson(j, "x/config.json"));
        Assert.Contains("use_sliding_window", e.Message);
        Assert.Contains("x/config.json", e.Message);
    }

    [Theory]
    [InlineData("some_new_switch", "true", "unknown key(s)")]
    [InlineData("model_type", "\"llama\"", "not a Qwen2 config")]
    [InlineData("hidden_act", "\"gelu\"", "not supported")]
    [InlineData("rope_scaling", "{\"type\":\"yarn\",\"factor\":4.0}", "rope scaling")]
    [InlineData("hidden_size", "\"64\"", "must be an integer")]
    [InlineData("num_key_value_heads", "3", "not divisible")]
    [InlineData("architectures", "[\"LlamaForCausalLM\"]", "unknown architecture")]
    public void BadFieldsNameTheKey(string key, string json, string message)
    {
        var j = FixtureJson();
        j[key] = JsonNode.Parse(json);
        var e = Assert.Throws<HfConfigException>(() => Qwen2Config.FromJson(j, "cfg.json"));
        Assert.Contains(message, e.Message);
        Assert.Contains("cfg.json", e.Message);
    }

    [Fact]
    public void MissingRequiredKeyIsAnError()
    {
        var j = FixtureJson();
        j.Remove("intermediate_size");
        var e = Assert.Throws<HfConfigException>(() => Qwen2Config.FromJson(j, "cfg.json"));
        Assert.Contains("intermediate_size", e.Message);
    }

    [Fact]
    public void NullRopeScalingAndInertKeysAreAccepted()
    {
        var j = FixtureJson();
        j["rope_scaling"] = null;
        j["_name_or_path"] = "Qwen/Qwen2.5-0.5B";
        Assert.Equal(64, Qwen2Config.FromJson(j, "cfg.json").HiddenSize);
    }

    [Fact]
    public void HfConfigLoadDispatchesToQwen2()
    {
        var c = HfConfig.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        Assert.IsType<Qwen2Config>(c);
        Assert.Contains("qwen2", HfConfig.KnownModelTypes);
    }

    [Fact]
    public void SaveThenLoadRoundTrips()
    {
        var dir = Repo.TempDir();
        Qwen2Presets.Qwen25_3B_Instruct.Save(dir);
        var back = Qwen2Config.Load(dir);
        Assert.Equal(["Qwen2ForCausalLM"], back.Architectures!);
        Assert.Equal(Qwen2Presets.Qwen25_3B_Instruct with { TorchDtype = "float32" }, back with { Architectures = null });
    }

    // Published parameter counts of the Qwen2.5 model cards (total / non-embedding, in billions, 2 decimals), an
    // independent check of the preset shapes: 0.5B 0.49/0.36, 1.5B 1.54/1.31, 3B 3.09/2.77, 7B 7.61/6.53.
    [Theory]
    [InlineData("Qwen2.5-0.5B", 0.49, 0.36)]
    [InlineData("Qwen2.5-1.5B-Instruct", 1.54, 1.31)]
    [InlineData("Qwen/Qwen2.5-3B-Instruct", 3.09, 2.77)]
    [InlineData("Qwen2.5-7B", 7.61, 6.53)]
    public void PresetsMatchPublishedParameterCounts(string name, double total, double nonEmbedding)
    {
        var c = Qwen2Presets.Get(name);
        c.Validate();
        long emb = (long)c.VocabSize * c.HiddenSize;
        long backbone = c.ParameterCount();
        long all = backbone + (c.TieWordEmbeddings ? 0 : emb);
        Assert.Equal(total, Math.Round(all / 1e9, 2));
        Assert.Equal(nonEmbedding, Math.Round((backbone - emb) / 1e9, 2));
    }

    [Fact]
    public void ExactParameterCountOfQwen25_0_5B()
    {
        // 494,032,768: the count the Hub reports for Qwen/Qwen2.5-0.5B (tied embeddings).
        Assert.Equal(494_032_768L, Qwen2Presets.Qwen25_0_5B.ParameterCount());
    }
}
