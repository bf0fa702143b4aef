namespace ViXml.Torch;

/// <summary>A number argument to an op. Integers stay integers (int64 tensor + 1 is int64, + 1.0 is float32),
/// exactly like Python scalars in PyTorch.</summary>
public readonly struct Scalar
{
    internal readonly double D;
    internal readonly long L;
    internal readonly int Kind; // 0 floating, 1 integer, 2 bool

    private Scalar(double d, long l, int kind) { D = d; L = l; Kind = kind; }

    public static implicit operator Scalar(double v) => new(v, 0, 0);
    public static implicit operator Scalar(float v) => new(v, 0, 0);
    public static implicit operator Scalar(long v) => new(v, v, 1);
    public static implicit operator Scalar(int v) => new(v, v, 1);
    public static implicit operator Scalar(bool v) => new(v ? 1 : 0, v ? 1 : 0, 2);

    public double ToDouble() => Kind == 0 ? D : L;
    public override string ToString() => Kind switch { 0 => D.ToString("R"), 2 => L != 0 ? "True" : "False", _ => L.ToString() };
}
