using System.Buffers.Binary;
using System.IO.Compression;

namespace ViXml.Xmc.Images;

/// <summary>A decoded image: 8-bit RGBA, row-major (Height, Width, 4).</summary>
public sealed record RgbaImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// A small PNG decoder (non-interlaced; grey, RGB, palette, grey+alpha, RGBA; bit depths 1-16; tRNS transparency).
/// zlib inflation comes from System.IO.Compression; the filters and colour conversion are here.
/// </summary>
public static class Png
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Largest image accepted, in pixels (4096 x 4096; any aspect): the decoder and the model input need about
    /// 20 bytes per pixel, so a small file declaring a huge size is refused before anything is allocated.</summary>
    public const long MaxPixels = 4096L * 4096;

    /// <summary>Largest PNG file read (bytes).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Reads and decodes a PNG file (a regular file of at most <see cref="MaxFileBytes"/>).</summary>
    public static RgbaImage Read(string path) => Decode(ViXml.Common.InputFile.ReadAllBytes(path, MaxFileBytes), path);

    public static RgbaImage Decode(byte[] png, string name)
    {
        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException($"{name}: not a PNG file");
        int pos = 8;
        int width = 0, height = 0, bitDepth = 0, colorType = -1, interlace = 0;
        byte[]? palette = null;
        byte[]? trns = null;
        using var idat = new MemoryStream();
        bool end = false;
        while (!end)
        {
            if (pos + 8 > png.Length) throw new InvalidDataException($"{name}: truncated PNG (no IEND)");
            uint rawLen = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            if (pos + 12 + (long)rawLen > png.Length)
                throw new InvalidDataException($"{name}: {type} chunk declares {rawLen:N0} bytes but the file ends before (truncated or corrupt)");
            int len = (int)rawLen;
            var data = png.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            if (Crc32(png.AsSpan(pos + 4, len + 4)) != crc) throw new InvalidDataException($"{name}: CRC mismatch in {type} chunk");
            switch (type)
            {
                case "IHDR":
                {
                    if (len < 13) throw new InvalidDataException($"{name}: IHDR chunk has {len} bytes, expected 13");
                    uint w = BinaryPrimitives.ReadUInt32BigEndian(data), h = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                    if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue)
                        throw new InvalidDataException($"{name}: bad image size {w}x{h} in IHDR");
                    if ((ulong)w * h > MaxPixels)
                        throw new InvalidDataException($"{name}: declares {w}x{h} pixels, more than the {MaxPixels:N0} ({Math.Sqrt(MaxPixels):F0}x{Math.Sqrt(MaxPixels):F0}) accepted for image inputs");
                    width = (int)w;
                    height = (int)h;
                    bitDepth = data[8]; colorType = data[9]; interlace = data[12];
                    break;
                }
                case "PLTE": palette = data.ToArray(); break;
                case "tRNS": trns = data.ToArray(); break;
                case "IDAT": idat.Write(data); break;
                case "IEND": end = true; break;
            }
            pos += 12 + len;
        }
        if (width <= 0 || height <= 0) throw new InvalidDataException($"{name}: no IHDR chunk (no image size)");
        if (interlace != 0) throw new InvalidDataException($"{name}: interlaced PNGs are not supported");
        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new InvalidDataException($"{name}: bad colour type {colorType}") };
        if (bitDepth is not (1 or 2 or 4 or 8 or 16)) throw new InvalidDataException($"{name}: bad bit depth {bitDepth}");
        if (colorType == 3 && palette is null) throw new InvalidDataException($"{name}: palette image without PLTE");

        int bitsPerPixel = channels * bitDepth;
        int stride = checked((int)(((long)width * bitsPerPixel + 7) / 8));
        int bpp = Math.Max(1, bitsPerPixel / 8);   // filter byte distance
        var raw = new byte[(stride + 1) * height];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true))
        {
            int got = 0;
            while (got < raw.Length)
            {
                int n = z.Read(raw, got, raw.Length - got);
                if (n == 0) throw new InvalidDataException($"{name}: image data ends early ({got} of {raw.Length} bytes)");
                got += n;
            }
        }

        var cur = new byte[stride];
        var prev = new byte[stride];
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                int x = line[i];
                cur[i] = filter switch
                {
                    0 => (byte)x,
                    1 => (byte)(x + a),
                    2 => (byte)(x + b),
                    3 => (byte)(x + ((a + b) >> 1)),
                    4 => (byte)(x + Paeth(a, b, c)),
                    _ => throw new InvalidDataException($"{name}: bad filter type {filter} in row {y}"),
                };
            }
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                int Sample(int ch)
                {
                    int idx = x * channels + ch;
                    if (bitDepth == 8) return cur[idx];
                    if (bitDepth == 16) return cur[idx * 2];   // high byte
                    int bitPos = idx * bitDepth;
                    int v = (cur[bitPos >> 3] >> (8 - bitDepth - (bitPos & 7))) & ((1 << bitDepth) - 1);
                    return colorType == 3 ? v : v * 255 / ((1 << bitDepth) - 1);
                }
                int Full16(int ch) { int idx = (x * channels + ch) * 2; return (cur[idx] << 8) | cur[idx + 1]; }
                switch (colorType)
                {
                    case 0:
                    {
                        int g = Sample(0);
                        rgba[o] = rgba[o + 1] = rgba[o + 2] = (byte)g;
                        bool transparent = trns is { Length: >= 2 } && (bitDepth == 16 ? Full16(0) : RawSample(0)) == BinaryPrimitives.ReadUInt16BigEndian(trns);
                        rgba[o + 3] = transparent ? (byte)0 : (byte)255;
                        break;
                    }
                    case 2:
                    {
                        rgba[o] = (byte)Sample(0); rgba[o + 1] = (byte)Sample(1); rgba[o + 2] = (byte)Sample(2);
                        bool transparent = trns is { Length: >= 6 } && bitDepth == 8
                            && cur[x * 3] == trns[1] && cur[x * 3 + 1] == trns[3] && cur[x * 3 + 2] == trns[5];
                        rgba[o + 3] = transparent ? (byte)0 : (byte)255;
                        break;
                    }
                    case 3:
                    {
                        int p = Sample(0);
                        if (p * 3 + 2 >= palette!.Length) throw new InvalidDataException($"{name}: palette index {p} out of range");
                        rgba[o] = palette[p * 3]; rgba[o + 1] = palette[p * 3 + 1]; rgba[o + 2] = palette[p * 3 + 2];
                        rgba[o + 3] = trns is not null && p < trns.Length ? trns[p] : (byte)255;
                        break;
                    }
                    case 4:
                        rgba[o] = rgba[o + 1] = rgba[o + 2] = (byte)Sample(0);
                        rgba[o + 3] = (byte)Sample(1);
                        break;
                    default:
                        rgba[o] = (byte)Sample(0); rgba[o + 1] = (byte)Sample(1); rgba[o + 2] = (byte)Sample(2); rgba[o + 3] = (byte)Sample(3);
                        break;
                }
                int RawSample(int ch)
                {
                    int idx = x * channels + ch;
                    if (bitDepth == 8) return cur[idx];
                    int bitPos = idx * bitDepth;
                    return (cur[bitPos >> 3] >> (8 - bitDepth - (bitPos & 7))) & ((1 << bitDepth) - 1);
                }
            }
            (cur, prev) = (prev, cur);
        }
        return new RgbaImage(width, height, rgba);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
