using System.Text.Json.Nodes;
using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Tests.Training;

/// <summary>End-to-end training on the synthetic dataset with a tiny encoder (CPU, a few seconds each).</summary>
[Collection(TrainingSerial.Name)]
public class TrainerTests
{
    private static ResolvedConfig<TrainConfig> Tiny(string dataDir, int epochs, params string[] extra)
    {
        var yaml = File.ReadAllText(Repo.Path_("configs", "ci.yaml"));
        string[] sets =
        [
            $"data.dir={dataDir}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", $"optim.epochs={epochs}", "optim.warmup_steps=5", "optim.lr_encoder=5e-3",
            "optim.lr_other=5e-3", "sampler.ngame.cl_start=2", "sampler.ngame.cl_update=2", "sampler.ngame.cl_size=8",
            "eval.every=2", "eval.embed_batch=128", "run.checkpoint_every=1", "run.threads=1", "model.linear=true",
            .. extra,
        ];
        return ConfigLoader.LoadText<TrainConfig>(yaml, "ci.yaml", sets);
    }

    [Fact]
    public void TrainingBeatsTheUntrainedModelAndWritesTheRunFolder()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"));
        var run = Path.Combine(dir, "run");
        var r = new Trainer(Tiny(data, 6), TextWriter.Null).Run(run);
        Assert.NotNull(r.Final);
        Assert.True(r.Final!.P[0] > r.Untrained!.P[0] + 0.1, $"P@1 trained {r.Final.P[0]:F3} vs untrained {r.Untrained.P[0]:F3}");
        foreach (var f in new[] { "run.json", "metrics.csv", "predictions_top100.txt", "model/config.json",
                     "model/model.safetensors", "model/vocab.txt", "model/siamese_head.safetensors", "checkpoint/state.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal("finished", (string)j["status"]!);
        Assert.True((long)j["parameter_count"]! > 0);
        Assert.Equal(r.Final.P[0], (double)j["final_metrics"]!["P@1"]!, 5);
        // metrics.csv: the untrained row, epochs 2, 4, 6.
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(["0", "2", "4", "6"], lines.Skip(1).Select(l => l.Split(',')[0]));
        // The saved model re-evaluates to the same metrics (vixml eval path).
        var again = Trainer.EvaluateRun(run);
        Assert.Equal(r.Final.P[0], again.P[0], 6);
        Assert.Equal(r.Final.Psp![4], again.Psp![4], 6);
        // The predictions file holds the same ranking.
        var preds = ViXml.Xmc.XcSparse.Read(Path.Combine(run, "predictions_top100.txt"));
        Assert.Equal(80, preds.Rows);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void StopAndResumeEqualsUninterrupted()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        var cfg = Tiny(data, 5);
        var full = new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "full"));
        // Interrupted after 3 epochs (past the first clustering at epoch 2), then resumed in a fresh trainer.
        var part = Path.Combine(dir, "part");
        var stopped = new Trainer(cfg, TextWriter.Null).Run(part, stopAfterEpochs: 3);
        Assert.Null(stopped.Final);
        Assert.Equal("stopped", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(part, "run.json")))!["status"]!);
        var resumed = new Trainer(cfg, TextWriter.Null).Run(part, resume: true);
        Assert.Equal(full.Final!.ToDictionary(), resumed.Final!.ToDictionary());
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "full", "predictions_top100.txt")),
            File.ReadAllText(Path.Combine(part, "predictions_top100.txt")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "full", "model", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(part, "model", "model.safetensors")));
        // metrics.csv rows agree except the wall-clock column.
        static string[] NoTime(string p) => File.ReadAllLines(p).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 3))).ToArray();
        Assert.Equal(NoTime(Path.Combine(dir, "full", "metrics.csv")), NoTime(Path.Combine(part, "metrics.csv")));
        // A changed configuration cannot resume the run.
        var other = Tiny(data, 5, "loss.top_k=3");
        Assert.Throws<InvalidOperationException>(() => new Trainer(other, TextWriter.Null).Run(part, resume: true));
        Directory.Delete(dir, true);
    }
}

[Collection(TrainingSerial.Name)]
public class TrainCliTests
{
    private static (int Rc, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        var (oldO, oldE) = (Console.Out, Console.Error);
        Console.SetOut(o); Console.SetError(e);
        try { return (ViXml.Cli.Program.BuildRoot().Parse(args).Invoke(), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldO); Console.SetError(oldE); }
    }

    [Fact]
    public void UnknownOverrideKeyIsAnErrorNamingIt()
    {
        var (rc, _, err) = Cli("train", "--config", Repo.Path_("configs", "ci.yaml"), "--set", "loss.topk=3");
        Assert.NotEqual(0, rc);
        Assert.Contains("unknown key 'loss.topk'", err);
    }

    [Fact]
    public void TrainThenEvalThroughTheCli()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 120, test: 30);
        var run = Path.Combine(dir, "run");
        var (rc, _, err) = Cli("train", "--config", Repo.Path_("configs", "ci.yaml"), "--out", run,
            "--set", $"data.dir={data}", "--set", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "--set", "model.hidden=16", "--set", "model.layers=1", "--set", "model.heads=1", "--set", "model.intermediate=32",
            "--set", "optim.epochs=2", "--set", "sampler.batch_size=32", "--set", "run.threads=1");
        Assert.True(rc == 0, err);
        var (rc2, json, err2) = Cli("eval", "--run", run, "--json");
        Assert.True(rc2 == 0, err2);
        var j = System.Text.Json.JsonDocument.Parse(json).RootElement;
        var rec = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal((double)rec["final_metrics"]!["P@1"]!, j.GetProperty("P@1").GetDouble(), 5);
        Assert.True(j.TryGetProperty("PSnDCG@5", out _));
        // Starting again into the same folder without --resume is refused (nothing is overwritten).
        var (rc3, _, err3) = Cli("train", "--config", Repo.Path_("configs", "ci.yaml"), "--out", run, "--set", $"data.dir={data}");
        Assert.NotEqual(0, rc3);
        Assert.Contains("--resume", err3);
        Directory.Delete(dir, true);
    }
}
