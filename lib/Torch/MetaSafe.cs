using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Torch;

/// <summary>
/// The few ops libtorch's C++ build has no meta kernel for (the meta registrations of embedding/index_select,
/// native_layer_norm, scaled_dot_product_attention (aten::where), relu and logsumexp (aten::abs.out) live in PyTorch's
/// Python layer, which TorchSharp does not have; measured with libtorch 2.10). On every real device these call the
/// native op unchanged; on the meta device only they run an equivalent decomposition of the same shapes, so a meta
/// forward/backward still checks where every tensor is made (a tensor on the wrong device fails loudly there).
/// </summary>
public static class MetaSafe
{
    public static bool IsMeta(Tensor t) => t.device_type == DeviceType.META;

    /// <summary>Embedding lookup: ids (*) → (*, H).</summary>
    public static Tensor Embedding(Embedding e, Tensor ids)
    {
        if (!IsMeta(ids)) return e.forward(ids);
        using var w = e.weight!;
        return w[ids];
    }

    /// <summary>LayerNorm over the last dim (biased variance, as torch).</summary>
    public static Tensor LayerNorm(LayerNorm ln, Tensor x)
    {
        if (!IsMeta(x)) return ln.forward(x);
        using var scope = NewDisposeScope();
        var mean = x.mean([-1L], keepdim: true);
        var centered = x - mean;
        var y = centered * (centered.pow(2).mean([-1L], keepdim: true) + ln.eps).rsqrt();
        y = y * ln.weight;
        if (ln.bias is not null) y = y + ln.bias;
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>F.scaled_dot_product_attention(q, k, v, mask, p) with scale 1/√hd; mask float (added) or bool (true =
    /// attend).</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropout)
    {
        if (!IsMeta(q)) return F.scaled_dot_product_attention(q, k, v, mask, dropout);
        using var scope = NewDisposeScope();
        var scores = q.matmul(k.transpose(-2, -1)) * Math.Pow(q.size(-1), -0.5);           // (B, nh, Tq, Tk)
        if (mask is not null)
            scores = mask.dtype == ScalarType.Bool ? scores.masked_fill(mask.eq(false), double.NegativeInfinity) : scores + mask;
        var probs = scores.softmax(-1);
        if (dropout > 0) probs = F.dropout(probs, dropout, true);
        return probs.matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => IsMeta(x) ? x * x.gt(0) : x.relu();

    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => IsMeta(x) ? maximum(x, -x) : x.abs();

    /// <summary>Logical not of a bool tensor.</summary>
    public static Tensor Not(Tensor mask) => IsMeta(mask) ? mask.eq(false) : mask.logical_not();

    /// <summary>F.normalize(x, 2, dim, eps): x / max(‖x‖₂, eps) along <paramref name="dim"/> (on meta without the clamp,
    /// whose backward needs aten::where).</summary>
    public static Tensor Normalize(Tensor x, long dim, double eps = 1e-12) =>
        IsMeta(x) ? x / x.norm((int)dim, keepdim: true) : F.normalize(x, 2, dim, eps);

    /// <summary>log Σ exp(x) over <paramref name="dim"/>.</summary>
    public static Tensor LogSumExp(Tensor x, long dim)
    {
        if (!IsMeta(x)) return x.logsumexp(dim);
        using var scope = NewDisposeScope();
        var m = x.detach().amax([dim], keepdim: true);
        return ((x - m).exp().sum(dim).log() + m.squeeze(dim)).MoveToOuterDisposeScope();
    }
}
