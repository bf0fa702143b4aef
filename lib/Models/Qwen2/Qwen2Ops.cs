using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Qwen2;

/// <summary>
/// The numerical pieces of HF's modeling_qwen2.py as tensor functions, shared by the modules and the tests.
/// Each follows HF's op order and dtypes so float32 results match PyTorch to rounding.
/// </summary>
public static class Qwen2Ops
{
    /// <summary>Qwen2RMSNorm: computed in float32 (variance of x.float()), cast back, then scaled by the weight.
    /// x (*, H), weight (H).</summary>
    public static Tensor RmsNorm(Tensor x, Tensor weight, double eps)
    {
        using var scope = NewDisposeScope();
        var inDtype = x.dtype;
        var h = x.to(ScalarType.Float32);
        var variance = h.pow(2).mean([-1L], keepdim: true);
        h = h * (variance + eps).rsqrt();
        return (weight * h.to(inDtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Rotary cos/sin for the given positions: inv_freq = 1 / theta^(arange(0, d, 2) / d) in float32 (as HF computes it),
    /// angles = positions ⊗ inv_freq, duplicated to the full head dim (rotate-half layout), cast to <paramref name="dtype"/>.
    /// positionIds (B, T) int64 → cos, sin (B, 1, T, head_dim).
    /// </summary>
    public static (Tensor Cos, Tensor Sin) RopeCosSin(Tensor positionIds, int headDim, double theta, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, dtype: ScalarType.Int64, device: positionIds.device).to(ScalarType.Float32) / (double)headDim;  // (hd/2)
        var invFreq = 1.0 / pow(theta, exponents);                                                       // (hd/2)
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * invFreq.view(1, 1, -1);              // (B, T, hd/2)
        var emb = cat([freqs, freqs], -1);                                                               // (B, T, hd)
        var cos = emb.cos().to(dtype).unsqueeze(1).MoveToOuterDisposeScope();
        var sin = emb.sin().to(dtype).unsqueeze(1).MoveToOuterDisposeScope();
        return (cos, sin);
    }

    /// <summary>(x1, x2) → (-x2, x1) over the last dim's halves.</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        using var scope = NewDisposeScope();
        long half = x.size(-1) / 2;
        var x1 = x.slice(-1, 0, half, 1);
        var x2 = x.slice(-1, half, x.size(-1), 1);
        return cat([-x2, x1], -1).MoveToOuterDisposeScope();
    }

    /// <summary>x·cos + rotate_half(x)·sin. x (B, heads, T, hd), cos/sin (B, 1, T, hd).</summary>
    public static Tensor ApplyRope(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        return (x * cos + RotateHalf(x) * sin).MoveToOuterDisposeScope();
    }

    /// <summary>Grouped-query attention: each of the kv heads serves <paramref name="rep"/> query heads.
    /// (B, kv, T, hd) → (B, kv·rep, T, hd).</summary>
    public static Tensor RepeatKv(Tensor x, int rep)
    {
        if (rep == 1) return x.view(x.shape);
        using var scope = NewDisposeScope();
        var s = x.shape; // (B, kv, T, hd)
        return x.unsqueeze(2).expand(s[0], s[1], rep, s[2], s[3]).reshape(s[0], s[1] * rep, s[2], s[3]).MoveToOuterDisposeScope();
    }

    /// <summary>The most negative finite value of a float dtype (HF fills masked scores with it, never -inf, so a fully
    /// masked row stays finite and pads never turn into NaN).</summary>
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        ScalarType.Float16 => -65504.0,
        _ => throw new ArgumentException($"no attention mask for dtype {dtype}"),
    };

    /// <summary>Causal + padding mask as an additive bias: 0 where key j ≤ query i and key j is attended, the dtype's
    /// minimum elsewhere (HF's decoder mask; also BERT's with is_decoder). attentionMask (B, T) of 0/1 → (B, 1, T, T).
    /// With <paramref name="causal"/> false only the padding mask: (B, 1, 1, T), broadcast over the queries.</summary>
    public static Tensor AdditiveMask(Tensor attentionMask, ScalarType dtype, bool causal = true)
    {
        using var scope = NewDisposeScope();
        long B = attentionMask.size(0), T = attentionMask.size(1);
        var keys = attentionMask.ne(0).view(B, 1, 1, T);                            // (B, 1, 1, T)
        if (!causal)
            return zeros([B, 1, 1, T], dtype: dtype, device: attentionMask.device)
                .masked_fill(MetaSafe.Not(keys), MinValue(dtype)).MoveToOuterDisposeScope();
        var lower = ones([T, T], dtype: ScalarType.Bool, device: attentionMask.device).tril(); // (T, T)
        var allowed = lower.view(1, 1, T, T) & keys;                                // (B, 1, T, T)
        return zeros([B, 1, T, T], dtype: dtype, device: attentionMask.device)
            .masked_fill(MetaSafe.Not(allowed), MinValue(dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>Pools by name, "mean" (the paper) or "last", through the library's one pooling
    /// (<see cref="ViXml.Models.Pooling.Pool"/>), in float32.</summary>
    public static Tensor Pool(Tensor h, Tensor attentionMask, string pooling) => pooling switch
    {
        "mean" => ViXml.Models.Pooling.Pool(h, attentionMask, ViXml.Models.PoolingMode.Mean),
        "last" => ViXml.Models.Pooling.Pool(h, attentionMask, ViXml.Models.PoolingMode.Last),
        _ => throw new ArgumentException($"pooling '{pooling}' is not supported by a decoder (mean or last)"),
    };
}
