using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using ViXml.Common;

namespace ViXml.Xmc;

/// <summary>Element types we read from .npy files (little-endian only).</summary>
public enum NpyDType { Float32, Float64, Int32, Int64 }

/// <summary>A C-ordered array loaded from a .npy file: shape plus raw little-endian bytes.</summary>
public sealed class NpyArray
{
    public NpyDType DType { get; }
    /// <summary>Shape, outermost first; empty for a scalar.</summary>
    public long[] Shape { get; }
    /// <summary>Raw element bytes in C order, little-endian.</summary>
    public byte[] Data { get; }

    public NpyArray(NpyDType dtype, long[] shape, byte[] data)
    {
        long n;
        try { n = checked(Count(shape) * ElementSize(dtype)) / ElementSize(dtype); }
        catch (OverflowException) { throw new ArgumentException($"shape ({string.Join(", ", shape)}) is too large"); }
        if (shape.Any(d => d < 0)) throw new ArgumentException($"negative dimension in shape ({string.Join(", ", shape)})");
        if (n * ElementSize(dtype) != data.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) needs {n * ElementSize(dtype)} bytes, got {data.Length}");
        DType = dtype; Shape = shape; Data = data;
    }

    public long Length => Count(Shape);

    public static int ElementSize(NpyDType t) => t is NpyDType.Float32 or NpyDType.Int32 ? 4 : 8;
    internal static long Count(long[] shape) => shape.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary>The elements as float32 (float64 is narrowed; integer types are an error).</summary>
    public float[] ToFloat32()
    {
        return DType switch
        {
            NpyDType.Float32 => MemoryMarshal.Cast<byte, float>(Data).ToArray(),
            NpyDType.Float64 => MemoryMarshal.Cast<byte, double>(Data).ToArray().Select(d => (float)d).ToArray(),
            _ => throw new InvalidOperationException($"expected a float array, got {DType}"),
        };
    }

    /// <summary>The elements as int64 (int32 is widened; float types are an error).</summary>
    public long[] ToInt64()
    {
        return DType switch
        {
            NpyDType.Int64 => MemoryMarshal.Cast<byte, long>(Data).ToArray(),
            NpyDType.Int32 => MemoryMarshal.Cast<byte, int>(Data).ToArray().Select(i => (long)i).ToArray(),
            _ => throw new InvalidOperationException($"expected an integer array, got {DType}"),
        };
    }

    public static NpyArray FromFloat32(float[] data, params long[] shape) =>
        new(NpyDType.Float32, shape, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());

    public static NpyArray FromInt64(long[] data, params long[] shape) =>
        new(NpyDType.Int64, shape, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
}

/// <summary>
/// NumPy .npy reader/writer (format versions 1.0, 2.0 and 3.0). Reads little-endian f4/f8/i4/i8 in C order; writes
/// version 1.0 when the header fits (as numpy does), else 2.0, with the header padded so the data starts at a
/// multiple of 64 bytes.
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Largest .npy file read (one .NET array holds the data): larger files are refused with their size.</summary>
    public static readonly long MaxFileBytes = Array.MaxLength;

    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try { bytes = InputFile.ReadAllBytes(path, MaxFileBytes); }
        catch (InputFileException e) { throw new XmcFormatException(e.File, 0, e.Detail); }
        catch (InputLimitException)
        {
            throw new XmcFormatException(path, 0, $"{new FileInfo(path).Length:N0} bytes: .npy files over {MaxFileBytes:N0} bytes (2 GiB) are not supported; split the array");
        }
        return Read(bytes, path);
    }

    public static NpyArray Read(byte[] bytes, string name)
    {
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new XmcFormatException(name, 0, "not a .npy file (missing \\x93NUMPY magic)");
        int major = bytes[6];
        long headerLen;
        int headerStart;
        switch (major)
        {
            case 1: headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; break;
            case 2 or 3:
                if (bytes.Length < 12) throw new XmcFormatException(name, 0, "truncated .npy header");
                headerLen = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); headerStart = 12; break;
            default: throw new XmcFormatException(name, 0, $"unsupported .npy format version {major}.{bytes[7]}");
        }
        if (headerStart + headerLen > bytes.Length)
            throw new XmcFormatException(name, 0, $"truncated .npy header: it declares {headerLen} bytes, the file has {bytes.Length - headerStart} after the prefix");
        var enc = major == 3 ? new UTF8Encoding(false, throwOnInvalidBytes: true) : Encoding.Latin1;
        string header;
        try { header = enc.GetString(bytes, headerStart, (int)headerLen); }
        catch (DecoderFallbackException) { throw new XmcFormatException(name, 0, "the version 3.0 .npy header is not valid UTF-8"); }

        var descr = Regex.Match(header, @"'descr'\s*:\s*'([^']*)'");
        var fortran = Regex.Match(header, @"'fortran_order'\s*:\s*(True|False)");
        var shapeM = Regex.Match(header, @"'shape'\s*:\s*\(([^)]*)\)");
        if (!descr.Success || !fortran.Success || !shapeM.Success)
            throw new XmcFormatException(name, 0, $"malformed .npy header: {header.Trim()}");
        if (fortran.Groups[1].Value == "True")
            throw new XmcFormatException(name, 0, "Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray");
        var dtype = descr.Groups[1].Value switch
        {
            "<f4" => NpyDType.Float32,
            "<f8" => NpyDType.Float64,
            "<i4" => NpyDType.Int32,
            "<i8" => NpyDType.Int64,
            var d => throw new XmcFormatException(name, 0, $"unsupported dtype '{d}' (expected little-endian <f4, <f8, <i4 or <i8)"),
        };
        var shape = shapeM.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new XmcFormatException(name, 0, $"bad shape entry '{s}'")).ToArray();
        long need;
        try { need = checked(NpyArray.Count(shape) * NpyArray.ElementSize(dtype)); }
        catch (OverflowException) { throw new XmcFormatException(name, 0, $"shape ({string.Join(", ", shape)}) holds more elements than 2^63 bytes can store"); }
        long dataStart = headerStart + headerLen;
        if (bytes.Length - dataStart != need)
            throw new XmcFormatException(name, 0, $"data size {bytes.Length - dataStart} bytes does not match shape ({string.Join(", ", shape)}) of {dtype} ({need} bytes)");
        return new NpyArray(dtype, shape, bytes.AsSpan((int)dataStart).ToArray());
    }

    public static void Write(string path, NpyArray a) => Atomic.WriteAllBytes(path, ToBytes(a));

    public static void WriteFloat32(string path, float[] data, params long[] shape) => Write(path, NpyArray.FromFloat32(data, shape));
    public static void WriteInt64(string path, long[] data, params long[] shape) => Write(path, NpyArray.FromInt64(data, shape));

    public static byte[] ToBytes(NpyArray a)
    {
        string descr = a.DType switch
        {
            NpyDType.Float32 => "<f4", NpyDType.Float64 => "<f8", NpyDType.Int32 => "<i4", _ => "<i8",
        };
        string shape = a.Shape.Length switch
        {
            0 => "()",
            1 => $"({a.Shape[0]},)",
            _ => "(" + string.Join(", ", a.Shape) + ")",
        };
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        // Data must start at a multiple of 64; the header ends with '\n' after space padding.
        int pre = 10;
        int total = pre + dict.Length + 1;
        int major = 1;
        if (total + (64 - total % 64) % 64 - pre > ushort.MaxValue) { major = 2; pre = 12; total = pre + dict.Length + 1; }
        int pad = (64 - total % 64) % 64;
        var header = dict + new string(' ', pad) + "\n";
        var hb = Encoding.Latin1.GetBytes(header);
        var outb = new byte[pre + hb.Length + a.Data.Length];
        Magic.CopyTo(outb, 0);
        outb[6] = (byte)major; outb[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(outb.AsSpan(8), (ushort)hb.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(outb.AsSpan(8), (uint)hb.Length);
        hb.CopyTo(outb, pre);
        a.Data.CopyTo(outb, pre + hb.Length);
        return outb;
    }
}
