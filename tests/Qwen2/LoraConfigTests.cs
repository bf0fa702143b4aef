using System.Text.Json.Nodes;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Qwen2;

public class LoraConfigTests
{
    private static JsonObject Fixture() =>
        JsonNode.Parse(File.ReadAllText(Repo.Fixture("qwen2", "lora", "adapter_config.json")))!.AsObject();

    [Fact]
    public void ReadsThePeftFixture()
    {
        var c = LoraConfig.Load(Repo.Fixture("qwen2", "lora"));
        Assert.Equal(4, c.R);
        Assert.Equal(8, c.Alpha);
        Assert.True(c.UseRsLora);
        Assert.Equal(8 / 2.0, c.Scale); // alpha / sqrt(r)
        Assert.Equal(7, c.TargetModules.Count);
        Assert.True(c.Targets("model.layers.1.mlp.down_proj"));
        Assert.False(c.Targets("model.layers.1.mlp.down_proj_x"));
        Assert.False(c.Targets("model.embed_tokens"));
    }

    [Fact]
    public void PlainScaleIsAlphaOverR() => Assert.Equal(2.0, new LoraConfig { R = 8, Alpha = 16 }.Scale);

    [Fact]
    public void PaperSettingUsesRsLora() => Assert.Equal(16.0, LoraConfig.Paper.Scale); // 256 / sqrt(256)

    [Fact]
    public void RegexTargetsMatchTheWholeName()
    {
        var j = Fixture();
        j["target_modules"] = @".*\.self_attn\.(q|v)_proj";
        var c = LoraConfig.FromJson(j, "a.json");
        Assert.True(c.Targets("model.layers.0.self_attn.q_proj"));
        Assert.False(c.Targets("model.layers.0.self_attn.k_proj"));
        Assert.False(c.Targets("model.layers.0.self_attn.q_proj.lora_A"));
    }

    [Theory]
    [InlineData("use_dora", "true")]
    [InlineData("bias", "\"all\"")]
    [InlineData("rank_pattern", "{\"q_proj\": 8}")]
    [InlineData("modules_to_save", "[\"score\"]")]
    [InlineData("fan_in_fan_out", "true")]
    [InlineData("peft_type", "\"IA3\"")]
    [InlineData("brand_new_option", "1")]
    public void UnsupportedFeaturesAreRejectedByKey(string key, string json)
    {
        var j = Fixture();
        j[key] = JsonNode.Parse(json);
        var e = Assert.Throws<InvalidDataException>(() => LoraConfig.FromJson(j, "adapter_config.json"));
        Assert.Contains($"'{key}'", e.Message);
    }

    [Fact]
    public void SaveLoadRoundTrip()
    {
        var dir = Repo.TempDir();
        var c = LoraConfig.Paper with { BaseModelNameOrPath = "Qwen/Qwen2.5-3B-Instruct" };
        c.Save(dir);
        var back = LoraConfig.Load(dir);
        Assert.Equal(c.R, back.R);
        Assert.Equal(c.Scale, back.Scale);
        Assert.Equal(c.TargetModules, back.TargetModules);
        Assert.Equal(c.BaseModelNameOrPath, back.BaseModelNameOrPath);
    }
}

public class Qwen2MemoryTests
{
    [Fact]
    public void LoraParameterCountByHand()
    {
        // Qwen2.5-3B, r=256: per layer q 256·(2048+2048) + k,v 2·256·(2048+256) + o 256·4096 + gate,up,down 3·256·(2048+11008)
        long perLayer = 256L * 4096 + 2 * 256L * 2304 + 256L * 4096 + 3 * 256L * 13056;
        Assert.Equal(13_303_808L, perLayer);
        Assert.Equal(perLayer * 36, Qwen2Memory.LoraParameterCount(Qwen2Presets.Qwen25_3B, 256));
        Assert.Equal(2L * 4 * (64 + 64) * 2, Qwen2Memory.LoraParameterCount(
            new Qwen2Config { HiddenSize = 64, IntermediateSize = 160, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 512 },
            4, ["q_proj", "o_proj"]));
    }

    [Fact]
    public void CheckpointingNeedsLessThanFullActivations()
    {
        var e = Qwen2Memory.Compute("3B", Qwen2Presets.Qwen25_3B, 256, 42);
        Assert.True(e.CheckpointedBytesPerSequence < e.ActivationBytesPerSequence);
        Assert.Equal(Qwen2Presets.Qwen25_3B.ParameterCount() * 2, e.WeightBytes);
        Assert.True(e.MaxSequences(80_000_000_000, true) > e.MaxSequences(80_000_000_000, false));
        Assert.Equal(0, e.MaxSequences(1_000_000_000, true)); // 1 GB cannot even hold the weights
    }
}
