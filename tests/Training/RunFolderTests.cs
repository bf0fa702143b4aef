using ViXml.Common;
using ViXml.Tests.TestSupport;
using ViXml.Training.Config;
using ViXml.Training.Runs;

namespace ViXml.Tests.Training;

/// <summary>Run-folder guards (no data loss, resume falls back to a complete checkpoint) and config limits in the
/// config's own terms (file:line: key).</summary>
public class RunFolderTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-runfolder");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    private const string State = """{"EpochsDone":2,"Step":10,"Sampler":{"Rng":[1,2,3,4],"Clusters":null,"ClusteredAtEpoch":-1},"PositiveRng":[5,6,7,8],"StaleLength":0}""";

    private string Checkpoint(string name, string? state = State, bool truncate = false)
    {
        var d = Path.Combine(_dir, name);
        Directory.CreateDirectory(d);
        if (state is not null) File.WriteAllText(Path.Combine(d, "state.json"), state);
        foreach (var f in new[] { "model.safetensors", "optimizer.safetensors" })
        {
            var bytes = File.ReadAllBytes(Repo.Fixture("safetensors", "reference_layout.safetensors"));
            File.WriteAllBytes(Path.Combine(d, f), truncate && f == "model.safetensors" ? bytes[..(bytes.Length - 5)] : bytes);
        }
        return d;
    }

    [Fact]
    public void NewRunRefusesANonEmptyFolder()
    {
        File.WriteAllText(Path.Combine(_dir, "metrics.csv"), "epoch\n0\n"); // a finished run without checkpoint/
        var e = Assert.Throws<InvalidOperationException>(() => RunFolder.CheckNew(_dir));
        Assert.Contains("--resume", e.Message);
        Assert.Contains("--overwrite", e.Message);
        RunFolder.CheckNew(Path.Combine(_dir, "fresh"));
        var file = Path.Combine(_dir, "metrics.csv");
        Assert.Contains("is a file", Assert.Throws<InvalidOperationException>(() => RunFolder.CheckNew(file)).Message);
        Assert.Contains("is a file", Assert.Throws<InvalidOperationException>(() => RunFolder.CheckNew(Path.Combine(file, "run"))).Message);
    }

    [Fact]
    public void OverwriteRemovesOnlyRunFolders()
    {
        var notARun = Path.Combine(_dir, "home");
        Directory.CreateDirectory(notARun);
        File.WriteAllText(Path.Combine(notARun, "thesis.tex"), "x");
        Assert.Throws<InvalidOperationException>(() => RunFolder.Remove(notARun));
        Assert.True(File.Exists(Path.Combine(notARun, "thesis.tex")));
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "run.json"), "{}");
        RunFolder.Remove(run);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void BrokenRunJsonIsNamed()
    {
        File.WriteAllText(Path.Combine(_dir, "run.json"), "{\"name\": ");
        var e = Assert.Throws<InvalidDataException>(() => RunFolder.ReadRunJson(_dir));
        Assert.StartsWith(Path.Combine(_dir, "run.json") + ": broken run record", e.Message);
        File.WriteAllText(Path.Combine(_dir, "run.json"), "{\"a\": 1, \"a\": 2}");
        Assert.Throws<InvalidDataException>(() => RunFolder.ReadRunJson(_dir));
    }

    [Fact]
    public void ResumeFallsBackToThePreviousCompleteCheckpoint()
    {
        Checkpoint("checkpoint", state: "{\"EpochsDone\": 3, \"Ste");   // corrupt state.json
        var old = Checkpoint("checkpoint.old");
        var log = new StringWriter();
        Assert.Equal(old, RunFolder.FindCheckpoint(_dir, log));
        Assert.Contains("state.json is not valid JSON", log.ToString());
    }

    [Fact]
    public void TruncatedCheckpointFallsBackOrFailsClearly()
    {
        Checkpoint("checkpoint", truncate: true);
        var e = Assert.Throws<InvalidDataException>(() => RunFolder.FindCheckpoint(_dir));
        Assert.Contains("cannot resume", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        var old = Checkpoint("checkpoint.old");
        Assert.Equal(old, RunFolder.FindCheckpoint(_dir));
        Assert.Null(RunFolder.FindCheckpoint(Path.Combine(_dir, "empty")));
    }

    private static ConfigException Invalid(string yaml)
    {
        var c = ConfigLoader.LoadText<TrainConfig>(yaml, "t.yaml").Value;
        return Assert.Throws<ConfigException>(() => c.Validate());
    }

    [Fact]
    public void HugeSizesAreRefusedInTheConfigsTerms()
    {
        Assert.StartsWith("t.yaml:3: sampler.batch_size: 2147483647 exceeds the limit", Invalid("name: x\nsampler:\n  batch_size: 2147483647\n").Message);
        Assert.StartsWith("t.yaml:1: model.hidden: 1048576 must be in", Invalid("model: {hidden: 1048576, heads: 8}\n").Message);
        var mem = Invalid("model: {hidden: 16384, heads: 8, layers: 400, intermediate: 65536}\n").Message;
        Assert.Contains("GiB with gradients and AdamW state", mem);
        Assert.StartsWith("t.yaml:1: eval.propensity_b:", Invalid("eval: {propensity_b: -5}\n").Message);
        Assert.StartsWith("optim.epochs (default or derived)", Assert.Throws<ConfigException>(() => new TrainConfig { Optim = { Epochs = 0 } }.Validate()).Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only comments\n\n---\n")]
    public void EmptyConfigFileIsRefused(string text)
    {
        var p = Path.Combine(_dir, "empty.yaml");
        File.WriteAllText(p, text);
        Assert.Contains("the configuration is empty", Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile<TrainConfig>(p)).Message);
    }

    [Fact]
    public void BinaryOrDeviceConfigIsRefused()
    {
        var p = Path.Combine(_dir, "bin.yaml");
        File.WriteAllBytes(p, [0xFF, 0xFE, 0, 1]);
        Assert.Contains("not UTF-8", Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile<TrainConfig>(p)).Message);
        Assert.Contains("device", Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile<TrainConfig>("/dev/zero")).Message);
    }
}
