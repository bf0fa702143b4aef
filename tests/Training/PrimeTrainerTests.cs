using System.Diagnostics;
using System.Text.Json.Nodes;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Prime;
using static TorchSharp.torch;

namespace ViXml.Tests.Training;

/// <summary>End-to-end training with label_side.kind prime on the synthetic dataset (CPU, a few seconds each).</summary>
[Collection(TrainingSerial.Name)]
public class PrimeTrainerTests
{
    private static ResolvedConfig<TrainConfig> Tiny(string dataDir, int epochs, params string[] extra)
    {
        var yaml = File.ReadAllText(Repo.Path_("configs", "ci-prime.yaml"));
        string[] sets =
        [
            $"data.dir={dataDir}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", $"optim.epochs={epochs}", "optim.warmup_steps=5", "optim.lr_encoder=5e-3",
            "optim.lr_other=5e-3", "optim.lr_label_side=5e-3", "label_side.ffn=64", "sampler.ngame.cl_start=2",
            "sampler.ngame.cl_update=2", "sampler.ngame.cl_size=8", "eval.every=2", "eval.embed_batch=128",
            "run.checkpoint_every=1", "run.threads=1",
            .. extra,
        ];
        return ConfigLoader.LoadText<TrainConfig>(yaml, "ci-prime.yaml", sets);
    }

    [Fact]
    public void PrimeRunTrainsEvaluatesAndWritesItsArtifacts()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"));
        var run = Path.Combine(dir, "run");
        var r = new Trainer(Tiny(data, 6), TextWriter.Null).Run(run);
        Assert.True(r.Final!.P[0] > r.Untrained!.P[0] + 0.1, $"P@1 trained {r.Final.P[0]:F3} vs untrained {r.Untrained.P[0]:F3}");
        foreach (var f in new[] { "label_side.safetensors", "embeddings/trn.npy", "embeddings/tst.npy", "embeddings/lbl.npy",
                     "embeddings/lbl_u.npy", "checkpoint/label_side.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.NotNull(j["final_metrics_raw_labels"]?["P@1"]);
        Assert.Equal(32, (int)j["label_side"]!["free_vectors"]!);   // 60 labels: the power of two nearest to 30
        var header = File.ReadAllLines(Path.Combine(run, "metrics.csv"))[0].Split(',');
        Assert.Contains("raw_labels_P@1", header);
        // eval --run reloads label_side.safetensors and searches the same enriched vectors.
        var again = Trainer.EvaluateRun(run);
        Assert.Equal(r.Final.P[0], again.P[0], 6);
        Assert.Equal(r.Final.Psp![4], again.Psp![4], 6);
        // The run's files alone, checked by Debian PyTorch: lbl.npy = nn.TransformerEncoderLayer on [lbl_u, free vector,
        // centroid] from label_side.safetensors, and centroids = the mean of trn.npy rows of each label's positives.
        var (rc, output) = CheckWithPyTorch(run);
        Assert.True(rc == 0, output);
        Directory.Delete(dir, true);
    }

    internal static (int Rc, string Output) CheckWithPyTorch(string run)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [Repo.Path_("tests", "reference", "check_prime_run.py"), run])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, so.Result + se.Result);
    }

    [Theory]
    [InlineData("stale")]
    [InlineData("ema")]
    public void PrimeStopAndResumeEqualsUninterrupted(string centroids)
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        var cfg = Tiny(data, 5, $"label_side.centroids={centroids}", "label_side.init=mean");
        var full = new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "full"));
        var part = Path.Combine(dir, "part");
        Assert.Null(new Trainer(cfg, TextWriter.Null).Run(part, stopAfterEpochs: 3).Final);
        var resumed = new Trainer(cfg, TextWriter.Null).Run(part, resume: true);
        Assert.Equal(full.Final!.ToDictionary(), resumed.Final!.ToDictionary());
        foreach (var f in new[] { "predictions_top100.txt", "model/model.safetensors", "label_side.safetensors",
                     "embeddings/lbl.npy", "embeddings/lbl_u.npy", "embeddings/trn.npy", "embeddings/tst.npy" })
            Assert.True(File.ReadAllBytes(Path.Combine(dir, "full", f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(part, f))), f);
        static string[] NoTime(string p) => File.ReadAllLines(p).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 3))).ToArray();
        Assert.Equal(NoTime(Path.Combine(dir, "full", "metrics.csv")), NoTime(Path.Combine(part, "metrics.csv")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ParameterGroupsFollowTheReference()
    {
        // Combiner weights (norm1/norm2 included) decay, its biases and the free vectors do not; all at lr_label_side.
        var c = new TrainConfig();
        c.LabelSide.Kind = LabelSideKind.Prime;
        c.Optim.LrLabelSide = 1e-3;
        var bert = new ViXml.Models.Bert.BertModel(new ViXml.Models.Hf.BertConfig
        {
            VocabSize = 50, HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32,
            MaxPositionEmbeddings = 16, Architectures = ["BertModel"],
        }, addPoolingLayer: false);
        using var model = new SiameseModel(bert, ViXml.Models.PoolingMode.Mean, false);
        c.LabelSide.Ffn = 24;
        using var side = new PrimeSide(c, model, 10);
        var g = side.ParamGroups(c);
        var names = side.Module.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        string[] Names(int i) => g[i].@params.Select(p => names[p.Handle]).Order().ToArray();
        Assert.Equal(["combiner.linear1.weight", "combiner.linear2.weight", "combiner.norm1.weight", "combiner.norm2.weight",
            "combiner.self_attn.in_proj_weight", "combiner.self_attn.out_proj.weight"], Names(0));
        Assert.Equal(0.01, g[0].weight_decay);
        Assert.All(Names(1), n => Assert.EndsWith("bias", n));
        Assert.Equal(0.0, g[1].weight_decay);
        Assert.Equal(["free_vectors"], Names(2));
        Assert.Equal(0.0, g[2].weight_decay);
        Assert.All(g, x => Assert.Equal(1e-3, x.lr));
    }
}
