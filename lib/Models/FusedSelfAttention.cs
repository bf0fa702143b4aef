using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models;

/// <summary>
/// The multi-head self-attention core shared by BERT (query/key/value) and DistilBERT (q_lin/k_lin/v_lin):
/// softmax(QKᵀ/√d + mask) V with heads merged back, before any output projection.
/// </summary>
public static class FusedSelfAttention
{
    /// <summary>
    /// x (B, T, H) → context (B, T, H). One (H → 3H) projection instead of three: the same dot products in one GEMM pass
    /// over x; the weights stay three HF-named parameters and cat is differentiable, so training sees them separately.
    /// <paramref name="mask"/> as in <see cref="F.scaled_dot_product_attention"/>: float (added) or bool (true = attend),
    /// broadcastable to (B, heads, T, T). Dropout on the probabilities follows <paramref name="dropout"/>'s p and mode.
    /// </summary>
    public static Tensor Forward(Tensor x, Linear query, Linear key, Linear value, int heads, Tensor mask, Dropout dropout)
    {
        using var scope = NewDisposeScope();
        var (b, t, h) = (x.size(0), x.size(1), x.size(2));
        var headDim = h / heads;
        var w = cat([query.weight, key.weight, value.weight]);                                  // (3H, H)
        var bias = cat([query.bias!, key.bias!, value.bias!]);                                  // (3H)
        var qkv = F.linear(x, w, bias).view(b, t, 3, heads, headDim).permute(2, 0, 3, 1, 4);    // (3, B, nh, T, hd)
        var (q, k, v) = (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2));                // each (B, nh, T, hd)
        return MetaSafe.Attention(q, k, v, mask, dropout.training ? dropout.p : 0.0)            // (B, nh, T, hd)
            .permute(0, 2, 1, 3).contiguous().view(b, t, h)                                          // (B, T, H)
            .MoveToOuterDisposeScope();
    }
}
