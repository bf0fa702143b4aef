using System.Globalization;
using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Tests.Training;

/// <summary>loss.kind and the InfoNCE warm start inside the trainer (tiny encoder on the synthetic dataset).</summary>
[Collection(TrainingSerial.Name)]
public class LossScheduleTests
{
    private static ResolvedConfig<TrainConfig> Tiny(string dataDir, params string[] extra)
    {
        var yaml = File.ReadAllText(Repo.Path_("configs", "ci.yaml"));
        string[] sets =
        [
            $"data.dir={dataDir}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", "optim.epochs=3", "optim.warmup_steps=5", "optim.lr_encoder=5e-3",
            "optim.lr_other=5e-3", "sampler.ngame.enabled=false", "eval.every=1", "eval.embed_batch=128",
            "run.checkpoint_every=0", "run.threads=1", "run.save_model=false", .. extra,
        ];
        return ConfigLoader.LoadText<TrainConfig>(yaml, "ci.yaml", sets);
    }

    /// <summary>metrics.csv column <paramref name="name"/> for epochs 1.. (the untrained row dropped).</summary>
    private static double[] Column(string run, string name)
    {
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        int c = Array.IndexOf(lines[0].Split(','), name);
        Assert.True(c >= 0, $"no column {name}");
        return lines.Skip(2).Select(l => double.Parse(l.Split(',')[c], CultureInfo.InvariantCulture)).ToArray();
    }

    [Fact]
    public void WarmStartUsesInfoNceForItsEpochsThenTheTripletLoss()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        string Run(string name, params string[] sets)
        {
            var run = Path.Combine(dir, name);
            new Trainer(Tiny(data, sets), TextWriter.Null).Run(run);
            return run;
        }
        var infonce = Run("infonce", "loss.kind=infonce");
        var warmAll = Run("warm3", "loss.warmup_infonce_epochs=3");
        var warm1 = Run("warm1", "loss.warmup_infonce_epochs=1");
        var triplet = Run("triplet");
        // Warm start over every epoch = InfoNCE throughout, bitwise (same seeds, same batches).
        Assert.Equal(Column(infonce, "train_loss"), Column(warmAll, "train_loss"));
        Assert.Equal(File.ReadAllText(Path.Combine(infonce, "predictions_top100.txt")),
            File.ReadAllText(Path.Combine(warmAll, "predictions_top100.txt")));
        // One warm epoch: epoch 1 equals InfoNCE's, later epochs are triplet losses (bounded by 2 directions × k × 0.3,
        // while InfoNCE starts near 2 log(#labels in the batch)).
        var w1 = Column(warm1, "train_loss");
        Assert.Equal(Column(infonce, "train_loss")[0], w1[0]);
        Assert.True(w1[0] > 3, $"InfoNCE epoch loss {w1[0]}");
        Assert.True(w1[1] < 2 * 10 * 0.3 && w1[1] != Column(infonce, "train_loss")[1], $"triplet epoch loss {w1[1]}");
        // The default (warm-up 0, kind triplet) never uses InfoNCE.
        Assert.NotEqual(w1[0], Column(triplet, "train_loss")[0]);
        // The collapse diagnostic is recorded per evaluation and is a cosine.
        foreach (var v in Column(infonce, "label_mean_cos")) Assert.InRange(v, -1.0, 1.0);
        Directory.Delete(dir, true);
    }
}
