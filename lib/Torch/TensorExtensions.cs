using System.Runtime.InteropServices;
using TorchSharp;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Torch;

/// <summary>What this library adds to TorchSharp's Tensor: raw byte I/O for safetensors, typed copies to arrays, and a
/// shape-checked matmul (TorchSharp 0.107's matmul aborts the process on a shape or dtype mismatch: its native entry
/// has no catch, unlike mm/bmm/linear which throw).</summary>
public static class TensorExtensions
{
    /// <summary>A new CPU tensor from little-endian raw bytes (safetensors payloads), then moved to device.</summary>
    public static Tensor from_bytes(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape, Device? device = null)
    {
        var n = shape.Aggregate(1L, (a, d) => checked(a * d));
        var need = checked(n * dtype.ElementSize());
        if (need != bytes.Length)
            throw new TorchException($"from_bytes: {bytes.Length} bytes for shape [{string.Join(", ", shape)}] of {dtype} (needs {need})");
        var t = empty(shape, dtype);
        if (n > 0) bytes.CopyTo(t.bytes);
        if (device is null || device.type == DeviceType.CPU) return t;
        using (t) return t.to(device);
    }

    /// <summary>The tensor's elements as little-endian bytes (a contiguous CPU copy when needed).</summary>
    public static byte[] to_bytes(this Tensor t)
    {
        using var c = t.device_type == DeviceType.CPU && t.is_contiguous() ? t.alias() : t.detach().cpu().contiguous();
        return c.numel() == 0 ? [] : c.bytes.ToArray();
    }

    /// <summary>The elements in row-major order; T must match the dtype exactly (float for Float32, long for Int64...).</summary>
    public static T[] ToArray<T>(this Tensor t) where T : unmanaged
    {
        if (!ElementMatches<T>(t.dtype)) throw new TorchException($"ToArray<{typeof(T).Name}>() on a {t.dtype.Name()} tensor");
        using var c = t.device_type == DeviceType.CPU ? t.detach().contiguous() : t.detach().cpu().contiguous();
        return c.numel() == 0 ? [] : MemoryMarshal.Cast<byte, T>(c.bytes).ToArray();
    }

    private static bool ElementMatches<T>(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => typeof(T) == typeof(float),
        ScalarType.Float64 => typeof(T) == typeof(double),
        ScalarType.Int64 => typeof(T) == typeof(long),
        ScalarType.Int32 => typeof(T) == typeof(int),
        ScalarType.Int16 => typeof(T) == typeof(short),
        ScalarType.Byte => typeof(T) == typeof(byte),
        ScalarType.Int8 => typeof(T) == typeof(sbyte),
        ScalarType.Bool => typeof(T) == typeof(bool),
        ScalarType.Float16 => typeof(T) == typeof(Half),
        _ => false,
    };

    /// <summary>The precision policy's "in float32": half types (bfloat16, float16) go up to float32, float32 and
    /// float64 stay as they are (a float64 model keeps float64).</summary>
    public static Tensor AtLeastFloat32(this Tensor t) => t.dtype == ScalarType.Float64 ? t.alias() : t.to(ScalarType.Float32);

    public static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new TorchException($"no element size for dtype {t}"),
    };

    /// <summary>PyTorch's short dtype name ("float32", "bfloat16", "int64", ...), for messages and records.</summary>
    public static string Name(this ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32", ScalarType.Float64 => "float64", ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16", ScalarType.Int64 => "int64", ScalarType.Int32 => "int32",
        ScalarType.Int16 => "int16", ScalarType.Int8 => "int8", ScalarType.Byte => "uint8", ScalarType.Bool => "bool",
        _ => t.ToString(),
    };

    /// <summary>torch.matmul with its shape and dtype rules checked first, so a mismatch is a TorchException naming
    /// both shapes instead of a process abort. Every user-reachable matmul in the library goes through this.</summary>
    public static Tensor matmul_checked(this Tensor a, Tensor b)
    {
        var (sa, sb) = (a.shape, b.shape);
        string Shapes() => $"[{string.Join(", ", sa)}] @ [{string.Join(", ", sb)}]";
        if (sa.Length == 0 || sb.Length == 0) throw new TorchException($"matmul: both arguments need at least 1 dimension, got {Shapes()}");
        if (a.dtype != b.dtype) throw new TorchException($"matmul: dtypes differ ({a.dtype.Name()} vs {b.dtype.Name()}) for {Shapes()}");
        if (a.device_type != b.device_type || a.device_index != b.device_index)
            throw new TorchException($"matmul: tensors on different devices ({a.device} vs {b.device})");
        var inner = sa[^1];
        var other = sb.Length == 1 ? sb[0] : sb[^2];
        if (inner != other) throw new TorchException($"matmul: shapes cannot be multiplied {Shapes()} ({inner} vs {other})");
        if (sa.Length > 2 || sb.Length > 2)
        {
            var ba = sa.Length > 2 ? sa[..^2] : [];
            var bb = sb.Length > 2 ? sb[..^2] : [];
            for (int i = 1; i <= Math.Max(ba.Length, bb.Length); i++)
            {
                var x = i <= ba.Length ? ba[^i] : 1;
                var y = i <= bb.Length ? bb[^i] : 1;
                if (x != y && x != 1 && y != 1)
                    throw new TorchException($"matmul: batch dimensions do not broadcast {Shapes()}");
            }
        }
        return a.matmul(b);
    }
}

public static class TensorComparisons
{
    /// <summary>torch.equal: same shape and every element equal (TorchSharp's Tensor.equal is elementwise).</summary>
    public static bool equal_all(this Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }
}
