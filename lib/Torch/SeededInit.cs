using TorchSharp;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Torch;

/// <summary>
/// Parameter initialisers that draw from an explicit generator (TorchSharp's nn.init ignores a generator argument and
/// its layer constructors draw from the global RNG), so the same seed and thread count give the same weights.
/// In place, under no_grad.
/// </summary>
public static class SeededInit
{
    public static Tensor normal_(Tensor t, double mean, double std, Generator generator)
    {
        using var _ = no_grad();
        return t.normal_(mean, std, generator);
    }

    public static Tensor uniform_(Tensor t, double a, double b, Generator generator)
    {
        using var _ = no_grad();
        return t.uniform_(a, b, generator);
    }

    public static Tensor zeros_(Tensor t) { using var _ = no_grad(); return t.zero_(); }
    public static Tensor ones_(Tensor t) { using var _ = no_grad(); return t.fill_(1.0); }

    /// <summary>(fan_in, fan_out) as PyTorch computes them: dims 1 and 0 times the receptive field.</summary>
    public static (long fan_in, long fan_out) fans(Tensor t)
    {
        var s = t.shape;
        if (s.Length < 2) throw new TorchException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
        long receptive = 1;
        for (var i = 2; i < s.Length; i++) receptive *= s[i];
        return (s[1] * receptive, s[0] * receptive);
    }

    /// <summary>PyTorch's default nn.Linear / nn.Conv2d init: weight U(±gain·√(3/fan_in)) with a=√5, bias U(±1/√fan_in).</summary>
    public static void default_linear_(Tensor weight, Tensor? bias, Generator generator)
    {
        var (fanIn, _) = fans(weight);
        var gain = Math.Sqrt(2.0 / (1 + 5.0));
        var bound = fanIn == 0 ? 0 : gain * Math.Sqrt(3.0 / fanIn);
        uniform_(weight, -bound, bound, generator);
        if (bias is not null)
        {
            var b = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            uniform_(bias, -b, b, generator);
        }
    }

}

/// <summary>nn.Embedding with its padding row remembered: TorchSharp's native Embedding does not expose padding_idx,
/// and a seeded re-initialisation must zero that row again (HF's _init_weights does).</summary>
public static class HfEmbedding
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TorchSharp.Modules.Embedding, object> Padding = new();

    public static TorchSharp.Modules.Embedding Create(long num_embeddings, long embedding_dim, long? padding_idx = null,
        ScalarType? dtype = null)
    {
        var e = nn.Embedding(num_embeddings, embedding_dim, padding_idx: padding_idx, dtype: dtype);
        if (padding_idx is long p) Padding.AddOrUpdate(e, p < 0 ? p + num_embeddings : p);
        return e;
    }

    /// <summary>The padding row given at creation, or -1.</summary>
    public static long PaddingIdx(TorchSharp.Modules.Embedding e) => Padding.TryGetValue(e, out var p) ? (long)p : -1;
}
