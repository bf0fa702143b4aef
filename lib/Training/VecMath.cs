using System.Numerics;
using System.Runtime.InteropServices;

namespace ViXml.Training;

/// <summary>Small SIMD float helpers for the pure-C# parts (clustering, BM25); tensors go through TorchSharp.</summary>
public static class VecMath
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"length mismatch {a.Length} vs {b.Length}");
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var acc = Vector<float>.Zero;
        for (int i = 0; i < va.Length; i++) acc += va[i] * vb[i];
        float s = Vector.Dot(acc, Vector<float>.One);
        for (int i = va.Length * Vector<float>.Count; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    public static float Norm(ReadOnlySpan<float> a) => MathF.Sqrt(Dot(a, a));

    /// <summary>Scales <paramref name="v"/> to unit length (left unchanged if it is zero).</summary>
    public static void Normalise(Span<float> v)
    {
        float n = Norm(v);
        if (n <= 0) return;
        float inv = 1f / n;
        for (int i = 0; i < v.Length; i++) v[i] *= inv;
    }

    /// <summary>acc += v</summary>
    public static void Add(Span<float> acc, ReadOnlySpan<float> v)
    {
        for (int i = 0; i < acc.Length; i++) acc[i] += v[i];
    }
}
