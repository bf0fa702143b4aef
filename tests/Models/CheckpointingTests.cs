using ViXml.Models;
using ViXml.Models.Qwen2;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>
/// Activation checkpointing changes memory, not numbers: the gradient of every trainable tensor after one
/// query+label step with model.gradient_checkpointing on equals the plain run's (≤ 1e-6 float32), with dropout active
/// (the recompute replays the same masks) and off, for every encoder kind — including LoRA, whose layer 0 gets a
/// hidden state that needs no gradient (the frozen embedding).
/// </summary>
[Collection("Qwen2 torch")]
public class CheckpointingTests(ITestOutputHelper output)
{
    private static Dictionary<string, Tensor> Grads(SiameseModel model, bool checkpointing, bool dropout)
    {
        model.Encoder.GradientCheckpointing = checkpointing;
        model.train(dropout);
        foreach (var p in model.parameters()) p.grad = null;
        manual_seed(11);
        var target = new float[16];
        for (int i = 0; i < 4; i++) target[i * 4 + i] = 1;
        var batch = new LabelBatch([0, 1, 2, 3], [10, 11, 12, 13], [0, 1, 2, 3], target);
        var (qi, qm, qImg) = DeviceTests.Batch(model, 4, 1, CPU);
        var (li, lm, lImg) = DeviceTests.Batch(model, 4, 2, CPU);
        var q = model.Embed(qi, qm, qImg);
        var l = model.Embed(li, lm, lImg);
        var loss = new InfoNceLoss(new LossConfig { Kind = LossKind.Infonce, Temperature = 0.1 }).Forward(q.matmul_checked(l.t()), batch);
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.grad?.detach().clone() ?? throw new Xunit.Sdk.XunitException($"{p.name}: no gradient"));
    }

    [Theory]
    [InlineData("bert", true)]
    [InlineData("bert", false)]
    [InlineData("distilbert", true)]
    [InlineData("qwen2-lora", true)]
    [InlineData("qwen2-lora", false)]
    [InlineData("qwen2-full", true)]
    [InlineData("bert-early", true)]
    [InlineData("qwen2-early", true)]
    public void GradientsEqualTheRunWithoutCheckpointing(string kind, bool dropout)
    {
        using var scope = NewDisposeScope();
        using var model = DeviceTests.Build(kind);
        var plain = Grads(model, checkpointing: false, dropout);
        var ckpt = Grads(model, checkpointing: true, dropout);
        Assert.Equal(plain.Keys.Order(), ckpt.Keys.Order());
        double worst = 0;
        foreach (var (name, g) in plain)
        {
            double d = (ckpt[name] - g).abs().max().ToDouble();
            worst = Math.Max(worst, d);
            Assert.True(d <= 1e-6, $"{name}: checkpointed gradient differs by {d:E2}");
        }
        output.WriteLine($"{kind} dropout={dropout}: {plain.Count} trainable tensors, largest difference {worst:E2}");
        // Not vacuous: the layers' own parameters got non-zero gradients (LoRA: B starts at zero, A's gradient is then
        // zero too, so look at B), and dropout changes them (the masks are really drawn).
        var layer0 = plain.Where(kv => kv.Key.Contains(".0.") && (kind.StartsWith("qwen2-lora", StringComparison.Ordinal) ? kv.Key.Contains("lora_B") : true)).ToList();
        Assert.NotEmpty(layer0);
        Assert.Contains(layer0, kv => kv.Value.abs().max().ToDouble() > 1e-7);
        if (dropout)
        {
            var without = Grads(model, checkpointing: true, dropout: false);
            Assert.Contains(plain, kv => (without[kv.Key] - kv.Value).abs().max().ToDouble() > 1e-6);
        }
    }

    [Fact]
    public void OutsideAGraphCheckpointingIsAPlainCall()
    {
        using var scope = NewDisposeScope();
        using var model = DeviceTests.Build("qwen2-lora");
        model.eval();
        var (ids, mask, _) = DeviceTests.Batch(model, 3, 5, CPU);
        using var _ = no_grad();
        var a = model.Embed(ids, mask);
        model.Encoder.GradientCheckpointing = true;
        var b = model.Embed(ids, mask);
        Assert.Equal(0.0, (a - b).abs().max().ToDouble());
    }
}
