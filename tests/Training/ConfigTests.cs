using System.Text.RegularExpressions;
using ViXml.Tests.TestSupport;
using ViXml.Training.Config;
using ViXml.Training.Sampling;

namespace ViXml.Tests.Training;

public class ConfigTests
{
    public static TheoryData<string> ConfigFiles()
    {
        var d = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Repo.Path_("configs"), "*.yaml", SearchOption.AllDirectories).Order())
            d.Add(Path.GetRelativePath(Repo.Root, f));
        return d;
    }

    [Theory]
    [MemberData(nameof(ConfigFiles))]
    public void EveryShippedConfigLoadsValidatesAndCommentsEveryKey(string rel)
    {
        var path = Repo.Path_(rel);
        var r = ConfigLoader.LoadFile<TrainConfig>(path);
        r.Value.Validate();
        Assert.Equal(64, r.Hash.Length);
        // Each key line carries a comment (same line), so every setting explains itself.
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var l = lines[i];
            if (Regex.IsMatch(l, @"^\s*[a-z_0-9]+:")) Assert.True(l.Contains(" # "), $"{rel}:{i + 1}: key without a comment: {l.Trim()}");
        }
        // Every key the config classes know appears in the file (nothing silently defaulted in a preset).
        var json = System.Text.Json.JsonDocument.Parse(r.Json);
        // (Decoder keys are only required in decoder presets.)
        foreach (var key in Keys(json.RootElement, ""))
        {
            if (key.StartsWith("model.decoder.") && r.Value.Model.Encoder != EncoderKind.Qwen2) continue;
            Assert.True(lines.Any(l => Regex.IsMatch(l, $@"^\s*{Regex.Escape(key.Split('.')[^1])}:")), $"{rel}: key '{key}' missing");
        }
    }

    private static IEnumerable<string> Keys(System.Text.Json.JsonElement e, string prefix)
    {
        foreach (var p in e.EnumerateObject())
        {
            if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Object)
                foreach (var k in Keys(p.Value, prefix + p.Name + ".")) yield return k;
            else yield return prefix + p.Name;
        }
    }

    [Fact]
    public void PaperPresetMatchesPaperFacts()
    {
        var c = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "presets", "minilm-l3.yaml")).Value;
        Assert.Equal(150, c.Optim.Epochs);
        Assert.Equal(5e-4, c.Optim.LrEncoder);
        Assert.Equal(2048, c.Sampler.BatchSize);
        Assert.Equal(10, c.Sampler.Ngame.ClStart);
        Assert.Equal(5, c.Sampler.Ngame.ClUpdate);
        Assert.Equal(16, c.Sampler.Ngame.ClSize);
        Assert.Equal(1e-6, c.Optim.Eps);
        Assert.Equal(100, c.Optim.WarmupSteps);
        Assert.Equal(PositiveSampling.InversePropensity, c.Sampler.Positives);
        var q = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "presets", "qwen2.5-3b.yaml")).Value;
        Assert.Equal((30, 5e-5, 5e-4, 4, 2, 1.0), (q.Optim.Epochs, q.Optim.LrEncoder, q.Optim.LrOther,
            q.Sampler.Ngame.ClStart, q.Sampler.Ngame.ClUpdate, q.Optim.GradClip));
        Assert.Equal(256, q.Model.Decoder.LoraR);
        Assert.Equal(EncoderKind.Qwen2, q.Model.Encoder);
    }

    private const string Yaml = """
        name: t          # n
        loss:
          top_k: 5       # k
        sampler:
          ngame:
            cl_size_double_at: [3, 6]   # c
        """;

    [Fact]
    public void OverridesAreTypedAndChangeTheHash()
    {
        var a = ConfigLoader.LoadText<TrainConfig>(Yaml, "t.yaml");
        Assert.Equal(5, a.Value.Loss.TopK);
        Assert.Equal([3, 6], a.Value.Sampler.Ngame.ClSizeDoubleAt);
        Assert.Equal(0.1, a.Value.Loss.Tau); // default kept
        var b = ConfigLoader.LoadText<TrainConfig>(Yaml, "t.yaml",
            ["loss.top_k=7", "loss.margin=fixed", "sampler.ngame.cl_size_double_at=[1,2,4]", "optim.lr_encoder=1e-3",
             "sampler.positives=uniform", "model.linear=true", "data.dir=some dir/x"]);
        Assert.Equal(7, b.Value.Loss.TopK);
        Assert.Equal(MarginKind.Fixed, b.Value.Loss.Margin);
        Assert.Equal([1, 2, 4], b.Value.Sampler.Ngame.ClSizeDoubleAt);
        Assert.Equal(1e-3, b.Value.Optim.LrEncoder);
        Assert.Equal(PositiveSampling.Uniform, b.Value.Sampler.Positives);
        Assert.True(b.Value.Model.Linear);
        Assert.Equal("some dir/x", b.Value.Data.Dir);
        Assert.NotEqual(a.Hash, b.Hash);
        // The hash is of the resolved values: key order and comments in the file do not matter.
        var reordered = ConfigLoader.LoadText<TrainConfig>("sampler: {ngame: {cl_size_double_at: [3,6]}}\nloss: {top_k: 5}\nname: t\n", "u.yaml");
        Assert.Equal(a.Hash, reordered.Hash);
        Assert.Equal(a.Json, reordered.Json);
        // The JSON round-trips to the same configuration.
        var back = ConfigLoader.Resolve(ConfigLoader.FromJson<TrainConfig>(b.Json), "json");
        Assert.Equal(b.Hash, back.Hash);
    }

    [Theory]
    [InlineData("loss.top_kk=3", "unknown key 'loss.top_kk'")]
    [InlineData("loss.top_k=three", "'loss.top_k' = 'three' is not a valid integer")]
    [InlineData("loss.margin=soft", "'loss.margin' = 'soft' is not one of fixed, dynamic")]
    [InlineData("model.linear=yes", "is not a valid boolean")]
    [InlineData("nothing", "expected key.sub=value")]
    [InlineData("name.sub=1", "'name' is not a section")]
    public void BadOverridesNameTheKey(string set, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>(Yaml, "t.yaml", [set]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnknownOrMistypedKeysInTheFileNameFileAndLine()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("name: x\nloss:\n  topk: 3\n", "bad.yaml"));
        Assert.StartsWith("bad.yaml:3:", e.Message);
        Assert.Contains("unknown key 'loss.topk'", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("optim:\n  epochs: [1]\n", "bad.yaml"));
        Assert.StartsWith("bad.yaml:2:", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("loss: 3\n", "bad.yaml"));
        Assert.Contains("'loss' must be a section", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("a: [\n", "bad.yaml"));
        Assert.Contains("YAML syntax error", e.Message);
    }

    [Fact]
    public void ValidationNamesTheKey()
    {
        var c = ConfigLoader.LoadText<TrainConfig>("model: {hidden: 100, heads: 12}\n", "v.yaml").Value;
        var e = Assert.Throws<ConfigException>(() => c.Validate());
        Assert.StartsWith("v.yaml:1: model.heads:", e.Message); // where the key was set, then the key
    }
}
