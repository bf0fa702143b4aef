using System.Buffers.Binary;

namespace ViXml.SafeTensors;

/// <summary>Typed reads on top of the raw byte access every source provides.</summary>
public static class SafeTensorsSourceExtensions
{
    /// <summary>The tensor's raw little-endian bytes in a new array.</summary>
    public static byte[] ReadBytes(this ISafeTensorsSource source, string name)
    {
        var t = source.Info(name);
        if (t.ByteLength > Array.MaxLength)
            throw new SafeTensorsException(t.File, name,
                $"{t.ByteLength} bytes do not fit a managed array; read it with ReadInto into native memory");
        var bytes = new byte[t.ByteLength];
        source.ReadInto(name, bytes);
        return bytes;
    }

    /// <summary>Any floating-point tensor (F32, F16, BF16, F64) as float32 values in row-major order.</summary>
    public static float[] ReadFloat32(this ISafeTensorsSource source, string name)
    {
        var t = source.Info(name);
        if (!t.DType.IsFloatingPoint())
            throw new SafeTensorsException(t.File, name, $"dtype {t.DType} is not floating point; cannot read as float32");
        var raw = source.ReadBytes(name);
        var values = new float[t.ElementCount];
        switch (t.DType)
        {
            case SafeDType.F32: FloatConversions.F32ToFloat(raw, values); break;
            case SafeDType.F16: FloatConversions.F16ToFloat(raw, values); break;
            case SafeDType.BF16: FloatConversions.Bf16ToFloat(raw, values); break;
            case SafeDType.F64: FloatConversions.F64ToFloat(raw, values); break;
        }
        return values;
    }

    /// <summary>Any integer or bool tensor (I64, I32, U8, BOOL) widened to int64.</summary>
    public static long[] ReadInt64(this ISafeTensorsSource source, string name)
    {
        var t = source.Info(name);
        var raw = source.ReadBytes(name);
        var values = new long[t.ElementCount];
        switch (t.DType)
        {
            case SafeDType.I64:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(8 * i));
                break;
            case SafeDType.I32:
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4 * i));
                break;
            case SafeDType.U8:
            case SafeDType.BOOL:
                for (int i = 0; i < values.Length; i++) values[i] = raw[i];
                break;
            default:
                throw new SafeTensorsException(t.File, name, $"dtype {t.DType} is not an integer type; cannot read as int64");
        }
        return values;
    }
}
