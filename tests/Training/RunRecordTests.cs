using System.Text.Json.Nodes;
using ViXml.Tests.TestSupport;
using ViXml.Training.Config;
using ViXml.Training.Runs;

namespace ViXml.Tests.Training;

public class RunRecordTests
{
    [Fact]
    public void RunJsonHoldsConfigHashSeedsMachineAndTimings()
    {
        var dir = Repo.TempDir();
        var cfg = ConfigLoader.LoadText<TrainConfig>("name: r   # n\nseed: 3   # s\n", "r.yaml");
        var rec = RunRecord.Open(dir, "r", cfg.Json, cfg.Hash, "r.yaml", new Dictionary<string, long> { ["seed"] = 3 }, resume: false);
        rec.Set("parameter_count", 1234);
        rec.AddTiming("train", 1.5);
        rec.AddTiming("train", 1.0);
        rec.Finish();
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))!;
        Assert.Equal(cfg.Hash, (string)j["config_hash"]!);
        Assert.Equal(3, (long)j["config"]!["seed"]!);
        Assert.Equal(3, (long)j["seeds"]!["seed"]!);
        Assert.Equal(1234, (int)j["parameter_count"]!);
        Assert.Equal(2.5, (double)j["timings"]!["train"]!);
        Assert.Equal("finished", (string)j["status"]!);
        Assert.False(string.IsNullOrEmpty((string)j["git_sha"]!));
        Assert.True((int)j["machine"]!["cores"]! > 0);
        Assert.NotNull(j["versions"]!["dotnet"]);
        // Hashing the stored config again gives the stored hash (the record is self-checking).
        var again = ConfigLoader.Resolve(ConfigLoader.FromJson<TrainConfig>(j["config"]!.ToJsonString()), "x");
        Assert.Equal(cfg.Hash, again.Hash);

        // Resuming with another configuration is refused; with the same one it adds a session.
        var other = ConfigLoader.LoadText<TrainConfig>("name: r\nseed: 4\n", "r.yaml");
        var e = Assert.Throws<InvalidOperationException>(() =>
            RunRecord.Open(dir, "r", other.Json, other.Hash, "r.yaml", new Dictionary<string, long>(), resume: true));
        Assert.Contains("configuration changed", e.Message);
        var resumed = RunRecord.Open(dir, "r", cfg.Json, cfg.Hash, "r.yaml", new Dictionary<string, long>(), resume: true);
        Assert.Equal(2, resumed.Json["sessions"]!.AsArray().Count);
        Assert.True(resumed.TotalSeconds >= (double)j["timings"]!["total_seconds"]!);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MetricsCsvAppendsKeepsColumnsAndTruncatesOnResume()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "metrics.csv");
        var m = new MetricsCsv(p);
        m.Append([new("epoch", 5), new("loss", 0.25), new("P@1", 12.5)]);
        m.Append([new("epoch", 10), new("loss", 0.125), new("P@1", 20)]);
        Assert.Equal("epoch,loss,P@1\n5,0.25,12.5\n10,0.125,20\n", File.ReadAllText(p));
        Assert.Throws<InvalidOperationException>(() => m.Append([new("epoch", 15), new("P@1", 1)]));
        var reopened = new MetricsCsv(p);
        Assert.Equal(2, reopened.Rows);
        reopened.TruncateAfterEpoch(7);
        Assert.Equal("epoch,loss,P@1\n5,0.25,12.5\n", File.ReadAllText(p));
        Assert.Single(Directory.GetFiles(dir));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void PlainProgressPrintsPeriodicLinesWithLossThroughputAndEta()
    {
        var w = new StringWriter();
        var pr = new Progress(totalSteps: 4, output: w, live: false, periodSeconds: 0);
        for (int i = 0; i < 4; i++) pr.Step(i / 2, 2, 0.5 - 0.1 * i, 32);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("step 4/4 epoch 2/2 loss 0.2000", lines[^1]);
        Assert.Contains("queries/s", lines[0]);
        Assert.Contains("ETA", lines[0]);
        Assert.DoesNotContain("\r", w.ToString());
        var live = new StringWriter();
        var lp = new Progress(2, output: live, live: true);
        lp.Step(0, 1, 1.0, 8); lp.Step(0, 1, 0.9, 8);
        Assert.Contains("\r[", live.ToString());
        Assert.Equal("01:05", Progress.Fmt(65));
        Assert.Equal("1:01:05", Progress.Fmt(3665));
    }
}
