using System.Text.Json.Nodes;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Training;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Xmc;

namespace ViXml.Tests.Fusion;

/// <summary>Training with fused images end to end on the synthetic dataset plus a random bank (a few seconds each).</summary>
[Collection(TrainingSerial.Name)]
public class FusionTrainerTests
{
    /// <summary>TinyXmc plus bank "img" (D = 8) and maps with K = 2: train/test items have one or two images, labels one.</summary>
    internal static string WriteData(string dir, int train = 200, int test = 40)
    {
        TinyXmc.Write(dir, train, test);
        int labels = TinyXmc.NumLabels, n = train + test + labels, d = 8;
        var rng = new Rng(5);
        var bank = new ImageBank(n, d, Enumerable.Range(0, n * d).Select(_ => (float)rng.NextGaussian()).ToArray());
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        File.WriteAllText(Path.Combine(dir, "images", "README"), "synthetic\n");
        File.WriteAllLines(Path.Combine(dir, ImageBanks.ImageIdsFile), Enumerable.Range(0, n).Select(i => $"img{i}"));
        ImageBanks.WriteBank(dir, "img", bank, "random/1", "none", ["images", ImageBanks.ImageIdsFile]);
        long[] Map(int items, int offset, bool second) => Enumerable.Range(0, items)
            .SelectMany(i => new long[] { offset + i, second && i % 2 == 0 ? (offset + i + 1) % n : -1 }).ToArray();
        Npy.WriteInt64(Path.Combine(dir, ImageBanks.MapFile("trn")), Map(train, 0, true), train, 2);
        Npy.WriteInt64(Path.Combine(dir, ImageBanks.MapFile("tst")), Map(test, train, true), test, 2);
        Npy.WriteInt64(Path.Combine(dir, ImageBanks.MapFile("lbl")), Map(labels, train + test, false), labels, 2);
        return dir;
    }

    private static ResolvedConfig<TrainConfig> Tiny(string dataDir, int epochs, params string[] extra)
    {
        var yaml = File.ReadAllText(Repo.Path_("configs", "emoji-ci.yaml"));
        string[] sets =
        [
            $"data.dir={dataDir}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", $"optim.epochs={epochs}", "optim.warmup_steps=5", "optim.lr_encoder=5e-3",
            "optim.lr_other=5e-3", "sampler.ngame.cl_start=2", "sampler.ngame.cl_update=2", "sampler.ngame.cl_size=8",
            "eval.every=2", "eval.embed_batch=128", "run.checkpoint_every=1", "run.threads=1",
            "images.modality_dropout=0.3", .. extra,
        ];
        return ConfigLoader.LoadText<TrainConfig>(yaml, "emoji-ci.yaml", sets);
    }

    [Theory]
    [InlineData("early", "linear")]
    [InlineData("late", "mlp")]
    public void StopAndResumeEqualsUninterruptedWithFusion(string fusion, string adapter)
    {
        var dir = Repo.TempDir();
        var data = WriteData(Path.Combine(dir, "data"));
        var cfg = Tiny(data, 5, $"images.fusion={fusion}", $"images.adapter={adapter}");
        var full = new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "full"));
        var part = Path.Combine(dir, "part");
        Assert.Null(new Trainer(cfg, TextWriter.Null).Run(part, stopAfterEpochs: 3).Final);
        var resumed = new Trainer(cfg, TextWriter.Null).Run(part, resume: true);
        Assert.Equal(full.Final!.ToDictionary(), resumed.Final!.ToDictionary());
        Assert.Equal([0, 1, 2], resumed.FinalByImages.Keys.Order());
        foreach (var n in new[] { 0, 1, 2 })
            Assert.Equal(full.FinalByImages[n].ToDictionary(), resumed.FinalByImages[n].ToDictionary());
        foreach (var f in new[] { "predictions_top100.txt", "model/model.safetensors", "model/" + Trainer.ImageAdapterFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "full", f)), File.ReadAllBytes(Path.Combine(part, f)));
        // run.json records the bank (manifest digest) and the metrics per number of images.
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(part, "run.json")))!;
        Assert.Equal(ImageBanks.Digest(Path.Combine(data, "img_embs.json")), (string)j["image_bank"]!["manifest_sha256"]!);
        Assert.Equal(2, (int)j["image_bank"]!["k"]!);
        Assert.Equal(resumed.FinalByImages[1].P[0], (double)j["final_metrics_by_images"]!["1"]!["P@1"]!, 5);
        // The saved model (encoder + image_adapter.safetensors) re-evaluates to the same numbers, per n too.
        var (all, byImages) = Trainer.EvaluateRunByImages(part);
        Assert.Equal(resumed.Final.P[0], all.P[0], 6);
        Assert.Equal(resumed.FinalByImages[0].P[0], byImages[0].P[0], 6);
        // Images carry information here (random per-item vectors the model can memorise): with them it is not worse.
        Assert.NotEqual(byImages[0].ToDictionary(), byImages[2].ToDictionary());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void DecoderEarlyFusionTrainsSavesAndReEvaluates()
    {
        var dir = Repo.TempDir();
        var data = WriteData(Path.Combine(dir, "data"), 120, 30);
        var yaml = File.ReadAllText(Repo.Path_("configs", "decoder-ci.yaml"));
        var cfg = ConfigLoader.LoadText<TrainConfig>(yaml, "decoder-ci.yaml",
        [
            $"data.dir={data}", "model.hidden=32", "model.layers=1", "model.heads=4", "model.intermediate=64",
            "model.decoder.lora_r=4", "model.decoder.lora_alpha=4", "model.decoder.template=t1-e-eeos", "sampler.batch_size=64",
            "optim.epochs=2", "optim.warmup_steps=2", "sampler.ngame.cl_start=1", "sampler.ngame.cl_update=1", "eval.every=0",
            "eval.embed_batch=128", "run.threads=1", "images.fusion=early", "images.modality_dropout=0.2", "images.eval_images=[0,2]",
        ]);
        var run = Path.Combine(dir, "run");
        var r = new Trainer(cfg, TextWriter.Null).Run(run);
        Assert.Equal([0, 2], r.FinalByImages.Keys.Order());
        Assert.True(File.Exists(Path.Combine(run, "model", Trainer.ImageAdapterFile)));
        Assert.Contains("max_images: 3", File.ReadAllText(Path.Combine(run, "model", "prompt_template.yaml")));
        var (all, byImages) = Trainer.EvaluateRunByImages(run);
        Assert.Equal(r.Final!.P[0], all.P[0], 6);
        Assert.Equal(r.FinalByImages[0].P[0], byImages[0].P[0], 6);
        // A text-only template cannot take images: a config error naming the key.
        var bad = ConfigLoader.LoadText<TrainConfig>(yaml, "decoder-ci.yaml",
            [$"data.dir={data}", "model.hidden=32", "model.layers=1", "model.heads=4", "model.intermediate=64", "images.fusion=early"]);
        var e = Assert.Throws<ConfigException>(() => new Trainer(bad, TextWriter.Null).Run(Path.Combine(dir, "bad")));
        Assert.Contains("model.decoder.template", e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ConfigErrorsNameTheFileLineOrOverride()
    {
        var yaml = "images:\n  fusion: early\n  modality_dropout: 1.5\n";
        var e = Assert.Throws<ConfigException>(() => new Trainer(ConfigLoader.LoadText<TrainConfig>(yaml, "f.yaml"), TextWriter.Null));
        Assert.StartsWith("f.yaml:3: images.modality_dropout", e.Message);
        var e2 = Assert.Throws<ConfigException>(() => new Trainer(ConfigLoader.LoadText<TrainConfig>("images:\n  eval_images: [1]\n", "g.yaml"), TextWriter.Null));
        Assert.Contains("g.yaml:2: images.eval_images", e2.Message);
        var e3 = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("images:\n  fusion: middle\n", "h.yaml"));
        Assert.Contains("h.yaml:2", e3.Message);
        var e4 = Assert.Throws<ConfigException>(() => new Trainer(ConfigLoader.LoadText<TrainConfig>(yaml, "f.yaml", ["images.modality_dropout=-1"]), TextWriter.Null));
        Assert.StartsWith("--set 'images.modality_dropout=-1': images.modality_dropout", e4.Message);
        // A missing bank names the file.
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), 50, 10);
        var ex = Assert.Throws<XmcFormatException>(() => new Trainer(Tiny(data, 1, "images.fusion=early"), TextWriter.Null).Run(Path.Combine(dir, "run")));
        Assert.Contains("img_embs.npy", ex.Message);
        Directory.Delete(dir, true);
    }
}
