using System.Text.Json.Nodes;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Training;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Tests.Qwen2;

/// <summary>The Siamese trainer with the decoder backbone, LoRA and a prompt template (configs/decoder-ci.yaml, shrunk).</summary>
[Collection(ViXml.Tests.Training.TrainingSerial.Name)]
public class Qwen2TrainingTests
{
    [Fact]
    public void DecoderWithLoraAndTemplateTrainsSavesAndReEvaluates()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        var yaml = File.ReadAllText(Repo.Path_("configs", "decoder-ci.yaml"));
        var cfg = ConfigLoader.LoadText<TrainConfig>(yaml, "decoder-ci.yaml",
        [
            $"data.dir={data}", "model.hidden=32", "model.layers=1", "model.heads=4", "model.intermediate=64",
            "model.decoder.lora_r=4", "model.decoder.lora_alpha=4", "sampler.batch_size=64", "optim.epochs=2",
            "optim.warmup_steps=2", "sampler.ngame.cl_start=1", "sampler.ngame.cl_update=1", "eval.every=1",
            "eval.embed_batch=128", "run.checkpoint_every=1", "run.threads=1",
        ]);
        var run = Path.Combine(dir, "run");
        var r = new Trainer(cfg, TextWriter.Null).Run(run);
        Assert.NotNull(r.Final);
        foreach (var f in new[] { "run.json", "metrics.csv", "model/config.json", "model/model.safetensors",
                     "model/adapter_config.json", "model/adapter_model.safetensors", "model/prompt_template.yaml" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "run.json")))!;
        Assert.Equal("finished", (string)j["status"]!);
        // The saved folder reloads with its adapter and template and re-evaluates to the same metrics.
        var again = Trainer.EvaluateRun(run);
        Assert.Equal(r.Final!.P[0], again.P[0], 6);
        Assert.Equal(r.Final.Psp![4], again.Psp![4], 6);
        // Training moved the adapters: the final metrics differ from the untrained row.
        Assert.NotEqual(r.Untrained!.Ndcg[4], r.Final.Ndcg[4]);
        Directory.Delete(dir, true);
    }
}
