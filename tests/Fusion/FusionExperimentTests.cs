using ViXml.Training.Config;
using ViXml.Experiments;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Training;

namespace ViXml.Tests.Fusion;

/// <summary>The notebook's typed entry point on the synthetic dataset with a random bank (tiny model, 2 epochs).</summary>
[Collection(TrainingSerial.Name)]
public class FusionExperimentTests
{
    [Fact]
    public void RunReturnsPerMethodPerSeedAndPerImagesMetrics()
    {
        var dir = Repo.TempDir();
        var data = FusionTrainerTests.WriteData(Path.Combine(dir, "data"), 120, 30);
        var r = FusionExperiment.Run(new FusionConfig
        {
            DataDir = data, Encoder = "scratch", Methods = ["text-only", "early-linear", "late"], Seeds = [1, 2], RunsRoot = Path.Combine(dir, "runs"),
            TrainOverrides = ["model.hidden=16", "model.layers=1", "model.heads=1", "model.intermediate=32", "optim.epochs=2",
                "sampler.batch_size=32", "run.threads=1", "eval.embed_batch=64"],
        });
        Assert.Equal(2, r.ImagesPerItem);
        Assert.Equal(6, r.Runs.Count);
        Assert.All(r.Runs.Where(x => x.Method == "text-only"), x => Assert.Empty(x.ByImages));
        Assert.All(r.Runs.Where(x => x.Method != "text-only"), x => Assert.Equal([0, 1, 2], x.ByImages.Keys.Order()));
        // With every image available the per-n evaluation is the final evaluation.
        Assert.All(r.Runs.Where(x => x.Method != "text-only"), x => Assert.Equal(x.Metrics["P@1"], x.ByImages[2]["P@1"], 9));
        Assert.Equal(["text-only", "early-linear", "late"], r.Summary.Rows.Select(x => (string)x[0]!));
        Assert.Equal(6, r.ByImages.Rows.Count);   // 2 fusion methods x 3 counts
        Assert.Equal(3, r.Bars.TraceCount);
        Assert.Equal(3, r.P1ByImages.TraceCount); // early-linear, late, text-only
        Assert.Throws<ArgumentException>(() => FusionExperiment.Run(new FusionConfig { DataDir = data, Methods = ["middle"] }));
        var e = Assert.Throws<ArgumentException>(() => FusionExperiment.Run(new FusionConfig { DataDir = data, Encoder = "bert-large" }));
        Assert.Contains("unknown encoder 'bert-large'", e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void EncoderChoosesItsTrainingFileAndTheCiScheduleKeepsTheFileShape()
    {
        Assert.Equal("emoji-minilm.yaml", FusionExperiment.ConfigFile("minilm-l6"));
        Assert.Equal("emoji-ci.yaml", FusionExperiment.ConfigFile("scratch"));
        // ci: MiniLM one epoch on the first 768 items (6 steps; ProfileScheduleTests pins the rest).
        Assert.Contains("optim.epochs=1", FusionConfig.ProfileOverrides("ci", "minilm-l6"));
        Assert.Contains("data.max_train=768", FusionConfig.ProfileOverrides("ci", "minilm-l6"));
        Assert.Contains("optim.epochs=15", FusionConfig.ProfileOverrides("ci", "scratch"));
        Assert.DoesNotContain(FusionConfig.ProfileOverrides("cpu", "minilm-l6"), o => o.StartsWith("optim.epochs"));
        // Both files load and describe the same fusion setting on the same data; only the encoder block differs.
        var minilm = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "emoji-minilm.yaml")).Value;
        var scratch = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "emoji-ci.yaml")).Value;
        Assert.Equal("models/minilm-l6", minilm.Model.Pretrained);
        Assert.Equal("", scratch.Model.Pretrained);
        Assert.Equal(scratch.Data.Dir, minilm.Data.Dir);
        Assert.Equal(scratch.Images.EvalImages, minilm.Images.EvalImages);
    }
}
