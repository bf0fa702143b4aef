using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Tests.Training;

/// <summary>`train --resume` over a damaged newest checkpoint: falls back to checkpoint.old and still reproduces the
/// uninterrupted run bitwise; a broken run.json or no complete checkpoint is a clear error.</summary>
[Collection(TrainingSerial.Name)]
public class ResumeFallbackTests
{
    private static ResolvedConfig<TrainConfig> Tiny(string dataDir, int epochs) =>
        ConfigLoader.LoadText<TrainConfig>(File.ReadAllText(Repo.Path_("configs", "ci.yaml")), "ci.yaml",
        [
            $"data.dir={dataDir}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", $"optim.epochs={epochs}", "optim.warmup_steps=5", "optim.lr_encoder=5e-3",
            "optim.lr_other=5e-3", "sampler.ngame.cl_start=2", "sampler.ngame.cl_update=2", "sampler.ngame.cl_size=8",
            "eval.every=2", "eval.embed_batch=128", "run.checkpoint_every=1", "run.threads=1",
        ]);

    [Fact]
    public void DamagedNewestCheckpointFallsBackAndStillMatches()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        var cfg = Tiny(data, 5);
        var full = new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "full"));
        var part = Path.Combine(dir, "part");
        new Trainer(cfg, TextWriter.Null).Run(part, stopAfterEpochs: 3);
        Assert.True(Directory.Exists(Path.Combine(part, "checkpoint.old")));
        // a truncated model in the newest checkpoint (e.g. a disk filled up while copying the run)
        var m = Path.Combine(part, "checkpoint", "model.safetensors");
        var bytes = File.ReadAllBytes(m);
        File.WriteAllBytes(m, bytes[..(bytes.Length / 2)]);
        var log = new StringWriter();
        var resumed = new Trainer(cfg, log).Run(part, resume: true);
        Assert.Contains("resuming from", log.ToString());
        Assert.Contains("checkpoint.old", log.ToString());
        Assert.Equal(full.Final!.ToDictionary(), resumed.Final!.ToDictionary());
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "full", "model", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(part, "model", "model.safetensors")));

        // both damaged: a clear error naming each; a broken run.json: named
        foreach (var ck in new[] { "checkpoint", "checkpoint.old" })
            File.WriteAllText(Path.Combine(part, ck, "state.json"), "{\"EpochsDone\": ");
        var e = Assert.Throws<InvalidDataException>(() => new Trainer(cfg, TextWriter.Null).Run(part, resume: true));
        Assert.Contains("cannot resume", e.Message);
        Directory.Delete(dir, true);
    }
}
