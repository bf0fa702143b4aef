using ViXml.Tests.Fusion;
using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;
using static TorchSharp.torch;

namespace ViXml.Tests.Training;

/// <summary>
/// optim.micro_batch (GradCache): three optimiser steps in chunks give the same parameters as the same three steps with
/// the whole batch in one pass (dropout off, so both runs draw nothing), for a BERT-family encoder, Qwen2 + LoRA with a
/// prompt template and early / late image fusion; a chunked run stops and resumes bit-identically.
/// </summary>
[Collection(TrainingSerial.Name)]
public class GradCacheTests
{
    private static string[] Common(string data, int microBatch) =>
    [
        $"data.dir={data}", "sampler.batch_size=64", "optim.epochs=1", "optim.warmup_steps=1", "optim.lr_encoder=5e-3",
        "optim.lr_other=5e-3", "sampler.ngame.enabled=false", "eval.every=0", "eval.embed_batch=128", "run.threads=1",
        "model.dropout=0", $"optim.micro_batch={microBatch}",
    ];

    private static string[] Encoder(string data, int microBatch) =>
    [
        .. Common(data, microBatch), $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
        "model.hidden=32", "model.layers=2", "model.heads=2", "model.intermediate=64", "model.max_positions=40", "model.linear=true",
    ];

    private static Dictionary<string, Tensor> Train(string yamlFile, string[] sets, string run)
    {
        var cfg = ConfigLoader.LoadText<TrainConfig>(File.ReadAllText(Repo.Path_("configs", yamlFile)), yamlFile, sets);
        var r = new Trainer(cfg, TextWriter.Null).Run(run);
        Assert.NotNull(r.Final);
        return TensorFile.Load(Path.Combine(run, "checkpoint", "model.safetensors"));
    }

    private static void AssertSameParameters(Dictionary<string, Tensor> whole, Dictionary<string, Tensor> chunked, Dictionary<string, Tensor> start)
    {
        Assert.Equal(whole.Keys.Order(), chunked.Keys.Order());
        int moved = 0;
        foreach (var (k, w) in whole)
        {
            double diff = (w - chunked[k]).abs().max().item<float>();
            Assert.True(diff <= 1e-5, $"{k}: max |Δ| {diff:E2} between the one-pass and the chunked step");
            if ((w - start[k]).abs().max().item<float>() > 1e-4) moved++;
        }
        Assert.True(moved > whole.Count / 2, $"only {moved} of {whole.Count} tensors moved: the test would not see a wrong gradient");
    }

    [Fact]
    public void EncoderChunkedStepsEqualOnePass()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 192, test: 40);
        var start = Train("ci.yaml", [.. Encoder(data, 0), "optim.lr_encoder=0", "optim.lr_other=0"], Path.Combine(dir, "start"));
        var whole = Train("ci.yaml", Encoder(data, 0), Path.Combine(dir, "whole"));
        var chunked = Train("ci.yaml", Encoder(data, 24), Path.Combine(dir, "chunked"));   // 64 = 24 + 24 + 16: a ragged last chunk
        AssertSameParameters(whole, chunked, start);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void DecoderWithLoraChunkedStepsEqualOnePass()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 192, test: 40);
        string[] Dec(int mb) =>
        [
            .. Common(data, mb), "model.hidden=32", "model.layers=1", "model.heads=4", "model.intermediate=64",
            "model.decoder.lora_r=4", "model.decoder.lora_alpha=4",
        ];
        var start = Train("decoder-ci.yaml", [.. Dec(0), "optim.lr_encoder=0", "optim.lr_other=0"], Path.Combine(dir, "start"));
        var whole = Train("decoder-ci.yaml", Dec(0), Path.Combine(dir, "whole"));
        var chunked = Train("decoder-ci.yaml", Dec(20), Path.Combine(dir, "chunked"));
        // Only the LoRA adapters train; the frozen base is equal by construction and is not counted as "moved".
        var lora = whole.Keys.Where(k => k.Contains("lora_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lora);
        AssertSameParameters(lora.ToDictionary(k => k, k => whole[k]), lora.ToDictionary(k => k, k => chunked[k]),
            lora.ToDictionary(k => k, k => start[k]));
        foreach (var k in whole.Keys) Assert.True((whole[k] - chunked[k]).abs().max().item<float>() <= 1e-5, k);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("early")]
    [InlineData("late")]
    public void FusionChunkedStepsEqualOnePass(string fusion)
    {
        var dir = Repo.TempDir();
        var data = FusionTrainerTests.WriteData(Path.Combine(dir, "data"), train: 192, test: 40);
        string[] Fused(int mb) => [.. Encoder(data, mb), $"images.fusion={fusion}", "images.modality_dropout=0.3"];
        var start = Train("emoji-ci.yaml", [.. Fused(0), "optim.lr_encoder=0", "optim.lr_other=0"], Path.Combine(dir, "start"));
        var whole = Train("emoji-ci.yaml", Fused(0), Path.Combine(dir, "whole"));
        var chunked = Train("emoji-ci.yaml", Fused(16), Path.Combine(dir, "chunked"));
        AssertSameParameters(whole, chunked, start);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ChunkedRunResumesBitIdentically()
    {
        var dir = Repo.TempDir();
        var data = TinyXmc.Write(Path.Combine(dir, "data"), train: 200, test: 40);
        var sets = new[]
        {
            $"data.dir={data}", $"data.vocab={Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            "model.hidden=32", "model.layers=1", "model.heads=2", "model.intermediate=64", "model.max_positions=40",
            "sampler.batch_size=64", "optim.epochs=4", "optim.warmup_steps=5", "sampler.ngame.cl_start=2",
            "sampler.ngame.cl_update=2", "sampler.ngame.cl_size=8", "eval.every=2", "eval.embed_batch=128",
            "run.checkpoint_every=1", "run.threads=1", "optim.micro_batch=16",   // dropout stays on: the chunk streams must replay
        };
        var cfg = ConfigLoader.LoadText<TrainConfig>(File.ReadAllText(Repo.Path_("configs", "ci.yaml")), "ci.yaml", sets);
        var full = new Trainer(cfg, TextWriter.Null).Run(Path.Combine(dir, "full"));
        var part = Path.Combine(dir, "part");
        Assert.Null(new Trainer(cfg, TextWriter.Null).Run(part, stopAfterEpochs: 3).Final);
        var resumed = new Trainer(cfg, TextWriter.Null).Run(part, resume: true);
        Assert.Equal(full.Final!.ToDictionary(), resumed.Final!.ToDictionary());
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "full", "model", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(part, "model", "model.safetensors")));
        Directory.Delete(dir, true);
    }
}
