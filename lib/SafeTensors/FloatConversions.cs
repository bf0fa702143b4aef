using System.Buffers.Binary;

namespace ViXml.SafeTensors;

/// <summary>
/// bfloat16 / float16 &lt;-&gt; float32 on raw little-endian storage, matching PyTorch bit for bit
/// (tests compare against Debian's torch, exhaustively for the 16-bit -> 32-bit direction).
/// </summary>
public static class FloatConversions
{
    /// <summary>bfloat16 is the top half of a float32, so widening is exact: shift into the high 16 bits.</summary>
    public static float Bf16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>float32 -> bfloat16 with round-to-nearest-even; NaN stays a (quiet) NaN with its sign.</summary>
    public static ushort FloatToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | 0x0040); // set the quiet bit so truncating the payload cannot make it inf
        // Adding 0x7FFF plus the lowest kept bit rounds half to even; a carry into the exponent is correct (up to inf).
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>IEEE half -> float32 (exact; subnormals, infinities and NaN included).</summary>
    public static float F16ToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>float32 -> IEEE half, round-to-nearest-even, overflow to infinity (System.Half's conversion).</summary>
    public static ushort FloatToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Widens little-endian bf16 storage (2 bytes per element) into <paramref name="destination"/>.</summary>
    public static void Bf16ToFloat(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source.Length, 2, destination.Length);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2 * i, 2)));
    }

    /// <summary>Widens little-endian f16 storage (2 bytes per element) into <paramref name="destination"/>.</summary>
    public static void F16ToFloat(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source.Length, 2, destination.Length);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = F16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2 * i, 2)));
    }

    /// <summary>Narrows float32 values into little-endian bf16 storage.</summary>
    public static void FloatToBf16(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckLengths(destination.Length, 2, source.Length);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2 * i, 2), FloatToBf16(source[i]));
    }

    /// <summary>Narrows float32 values into little-endian f16 storage.</summary>
    public static void FloatToF16(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckLengths(destination.Length, 2, source.Length);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2 * i, 2), FloatToF16(source[i]));
    }

    /// <summary>Reinterprets little-endian float32 storage.</summary>
    public static void F32ToFloat(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source.Length, 4, destination.Length);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source.Slice(4 * i, 4));
    }

    /// <summary>Little-endian float64 storage narrowed to float32 (round-to-nearest-even, as a C# cast does).</summary>
    public static void F64ToFloat(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source.Length, 8, destination.Length);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source.Slice(8 * i, 8));
    }

    private static void CheckLengths(int bytes, int itemSize, int elements)
    {
        if (bytes != (long)itemSize * elements)
            throw new ArgumentException($"{bytes} bytes of storage do not hold {elements} elements of {itemSize} bytes");
    }
}
