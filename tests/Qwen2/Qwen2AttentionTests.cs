using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Qwen2;

/// <summary>SDPA (the default) against HF's eager attention and the PyTorch reference: hidden states, pooling and LoRA
/// gradients (float32 rounding apart: different kernels), right and left padding (left padding has fully masked pad rows: finite, never NaN).</summary>
[Collection("Qwen2 torch")]
public class Qwen2AttentionTests
{
    [Theory]
    [InlineData("tiny-f32-sharded", "right")]
    [InlineData("tiny-f32-sharded", "left")]
    [InlineData("tiny-bf16", "left")]
    public void SdpaMatchesEagerAndTheReference(string fixture, string padding)
    {
        using var scope = NewDisposeScope();
        using var e = new Expected(fixture);
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", fixture));
        model.eval();
        using var _ = no_grad();
        var (ids, mask, pos) = (e[$"{padding}.input_ids"], e[$"{padding}.attention_mask"], e[$"{padding}.position_ids"]);
        Assert.All(model.layers, l => Assert.Equal(Qwen2AttentionKind.Sdpa, l.self_attn.Kind));
        var sdpa = model.forward(ids, mask, pos);
        model.UseAttention(Qwen2AttentionKind.Eager);
        var eager = model.forward(ids, mask, pos);
        Assert.False(sdpa.isnan().any().item<bool>());
        // Different kernels (CPU flash attention accumulates blockwise): float32 rounding, measured ~1.1e-6 on values ~1.
        Assert.True(Expected.MaxDiff(sdpa, eager) < 5e-6, $"sdpa vs eager {Expected.MaxDiff(sdpa, eager)}");
        Assert.True(Expected.MaxDiff(sdpa, e[$"{padding}.last_hidden_state"]) < 1e-5);
        Assert.True(Expected.MaxDiff(Qwen2Ops.Pool(sdpa, mask, "mean"), e[$"{padding}.mean"]) < 1e-5);
    }

    [Fact]
    public void SdpaLoraGradientsMatchEager()
    {
        using var scope = NewDisposeScope();
        using var e = new Expected("lora");
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-bf16"));
        LoraAdapter.Load(model, Repo.Fixture("qwen2", "lora"));
        Dictionary<string, Tensor> Grads(Qwen2AttentionKind kind)
        {
            model.UseAttention(kind);
            foreach (var p in model.parameters()) p.grad = null;
            var mean = Qwen2Ops.Pool(model.forward(e["input_ids"], e["attention_mask"]), e["attention_mask"], "mean");
            (mean * e["probe"]).sum().backward();
            return LoraAdapter.Parameters(model).ToDictionary(p => p.Name, p => p.Param.grad!.clone());
        }
        var sdpa = Grads(Qwen2AttentionKind.Sdpa);
        var eager = Grads(Qwen2AttentionKind.Eager);
        Assert.Equal(28, sdpa.Count);
        foreach (var (name, g) in sdpa)
        {
            Assert.True(Expected.MaxDiff(g, eager[name]) < 2e-5, $"{name}: {Expected.MaxDiff(g, eager[name])}");   // measured ≤ 4.3e-6
            Assert.True(Expected.MaxDiff(g, e["grad.model." + name.Replace(".weight", "")]) < 1e-4);
        }
    }
}
