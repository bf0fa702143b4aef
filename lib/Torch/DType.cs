namespace ViXml.Torch;

/// <summary>Element types. The numeric values are c10::ScalarType's (stable across libtorch versions: they are
/// part of its serialization format), so they cross the C ABI unchanged.</summary>
public enum DType
{
    uint8 = 0,
    int8 = 1,
    int16 = 2,
    int32 = 3,
    int64 = 4,
    float16 = 5,
    float32 = 6,
    float64 = 7,
    bool_ = 11,
    bfloat16 = 15,
}

public static class DTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType t) => t switch
    {
        DType.uint8 or DType.int8 or DType.bool_ => 1,
        DType.int16 or DType.float16 or DType.bfloat16 => 2,
        DType.int32 or DType.float32 => 4,
        DType.int64 or DType.float64 => 8,
        _ => throw new TorchException($"unknown dtype {(int)t}"),
    };

    public static bool IsFloatingPoint(this DType t) =>
        t is DType.float16 or DType.float32 or DType.float64 or DType.bfloat16;

    /// <summary>The .NET element type that mirrors a dtype in ToArray/tensor(); bfloat16 has none (use ushort raw bits
    /// via bytes() or convert to float32 first).</summary>
    internal static DType ForClr(Type t)
    {
        if (t == typeof(float)) return DType.float32;
        if (t == typeof(double)) return DType.float64;
        if (t == typeof(long)) return DType.int64;
        if (t == typeof(int)) return DType.int32;
        if (t == typeof(short)) return DType.int16;
        if (t == typeof(byte)) return DType.uint8;
        if (t == typeof(sbyte)) return DType.int8;
        if (t == typeof(bool)) return DType.bool_;
        if (t == typeof(Half)) return DType.float16;
        throw new TorchException($"no tensor dtype for .NET type {t.Name}");
    }

    /// <summary>PyTorch's spelling, e.g. "float32"; used in messages.</summary>
    public static string Name(this DType t) => t == DType.bool_ ? "bool" : t.ToString();
}
