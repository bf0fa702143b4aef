using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Training.Prime;

// PRIME's combiner (PRIME-SPEC §2): one post-norm Transformer encoder layer with the semantics of PyTorch's
// nn.TransformerEncoderLayer(d_model = E, nhead = H, dim_feedforward = ffn, dropout = p, activation = 'gelu',
// norm_first = False, layer_norm_eps = 1e-5), no mask and no positions, run over the three tokens of each label.
// Parameters are registered under PyTorch's state-dict names, so a layer saved by PyTorch loads key for key.

/// <summary>nn.MultiheadAttention as TransformerEncoderLayer uses it: one packed (3E, E) input projection
/// (<c>in_proj_weight</c>, <c>in_proj_bias</c>), softmax(QKᵀ/√d_h) with dropout on the probabilities, <c>out_proj</c>.</summary>
public sealed class PrimeSelfAttention : HfModule
{
    public readonly Parameter in_proj_weight, in_proj_bias;
    public readonly Linear out_proj;
    private readonly int _heads;
    private readonly double _dropout;

    public PrimeSelfAttention(int dim, int heads, double dropout, Generator gen) : base(nameof(PrimeSelfAttention))
    {
        if (heads <= 0 || dim % heads != 0) throw new ArgumentException($"embedding width {dim} must be a positive multiple of heads {heads}");
        _heads = heads;
        _dropout = dropout;
        in_proj_weight = register_parameter("in_proj_weight", empty(3L * dim, dim));
        in_proj_bias = register_parameter("in_proj_bias", empty(3L * dim));
        out_proj = register_module("out_proj", nn.Linear(dim, dim));
        // PyTorch's MultiheadAttention._reset_parameters: xavier_uniform_ on the packed projection, zero biases; out_proj
        // keeps nn.Linear's default (kaiming-uniform) weight.
        PrimeInit.xavier_uniform_(in_proj_weight, gen);
        SeededInit.zeros_(in_proj_bias);
        SeededInit.default_linear_(out_proj.weight, null, gen);
        SeededInit.zeros_(out_proj.bias!);
    }

    /// <summary>x (N, S, E), batch first → (N, S, E).</summary>
    public Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (n, s, e) = (x.size(0), x.size(1), x.size(2));
        long hd = e / _heads;
        var qkv = F.linear(x, in_proj_weight, in_proj_bias).view(n, s, 3, _heads, hd).permute(2, 0, 3, 1, 4);  // (3, N, nh, S, hd)
        var (q, k, v) = (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2));                               // (N, nh, S, hd)
        var scores = (q / Math.Sqrt(hd)).matmul(k.transpose(-2, -1));                                        // (N, nh, S, S)
        var probs = F.dropout(scores.softmax(-1), _dropout, training);
        var ctx = probs.matmul(v).permute(0, 2, 1, 3).reshape(n, s, e);                                       // (N, S, E)
        return out_proj.forward(ctx).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The enriched label embedding: tokens [u_l, f_l, c_l] (each (N, E): the encoder's pooled output before normalisation,
/// the label's free vector, its centroid) → post-norm layer (x = LN1(x + Drop(SA(x))); x = LN2(x + Drop(W2 Drop(GELU(W1 x)))))
/// → mean over the three outputs → L2 normalisation (eps 1e-12, as F.normalize). Invariant to the token order.
/// </summary>
public sealed class PrimeCombiner : HfModule
{
    public readonly PrimeSelfAttention self_attn;
    public readonly Linear linear1, linear2;
    public readonly LayerNorm norm1, norm2;
    private readonly double _dropout;

    /// <summary>PyTorch's default for nn.TransformerEncoderLayer.</summary>
    public const double LayerNormEps = 1e-5;

    public int Dim { get; }

    public PrimeCombiner(int dim, int heads, int ffn, double dropout, long seed) : base(nameof(PrimeCombiner))
    {
        Dim = dim;
        _dropout = dropout;
        using var gen = new Generator(unchecked((ulong)seed));
        self_attn = register_module("self_attn", new PrimeSelfAttention(dim, heads, dropout, gen));
        linear1 = register_module("linear1", nn.Linear(dim, ffn));
        linear2 = register_module("linear2", nn.Linear(ffn, dim));
        norm1 = register_module("norm1", nn.LayerNorm(dim, LayerNormEps));
        norm2 = register_module("norm2", nn.LayerNorm(dim, LayerNormEps));
        SeededInit.default_linear_(linear1.weight, linear1.bias, gen);
        SeededInit.default_linear_(linear2.weight, linear2.bias, gen);
        foreach (var norm in new[] { norm1, norm2 })
        {
            SeededInit.ones_(norm.weight!);
            SeededInit.zeros_(norm.bias!);
        }
    }

    /// <summary>The layer's outputs before pooling: tokens (N, S, E) → (N, S, E).</summary>
    public Tensor Layer(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var x = norm1.forward(tokens + F.dropout(self_attn.forward(tokens), _dropout, training));
        var ff = linear2.forward(F.dropout(F.gelu(linear1.forward(x)), _dropout, training));
        return norm2.forward(x + F.dropout(ff, _dropout, training)).MoveToOuterDisposeScope();
    }

    /// <summary>u, free, centroid (N, E) each → enriched unit vectors (N, E).</summary>
    public Tensor forward(Tensor u, Tensor free, Tensor centroid)
    {
        using var scope = NewDisposeScope();
        if (free.dtype != u.dtype) free = free.to(u.dtype);
        if (centroid.dtype != u.dtype) centroid = centroid.to(u.dtype);
        var tokens = stack([u, free, centroid], 1);                                         // (N, 3, E)
        var pooled = Layer(tokens).mean([1]);                                               // (N, E)
        return F.normalize(pooled, p: 2, dim: 1, eps: 1e-12).MoveToOuterDisposeScope();
    }
}

/// <summary>Initialisers the label side needs beyond <see cref="SeededInit"/>, drawn from an explicit generator.</summary>
public static class PrimeInit
{
    /// <summary>PyTorch's xavier_uniform_ with gain 1: U(±√(6 / (fan_in + fan_out))).</summary>
    public static Tensor xavier_uniform_(Tensor t, Generator gen)
    {
        var (fanIn, fanOut) = SeededInit.fans(t);
        double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
        return SeededInit.uniform_(t, -bound, bound, gen);
    }
}
