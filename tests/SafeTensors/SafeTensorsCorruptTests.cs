using System.Buffers.Binary;
using System.Text;
using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.SafeTensors;

/// <summary>
/// Hand-built broken and hostile files. Each must fail in Open() with a SafeTensorsException whose message names
/// the file and the problem (and the tensor when one is concerned), never a crash or a huge allocation.
/// </summary>
public class SafeTensorsCorruptTests
{
    /// <summary>8-byte length prefix + header + data; <paramref name="length"/> overrides the prefix.</summary>
    private static byte[] Build(string header, int dataBytes, ulong? length = null) => Build(Encoding.UTF8.GetBytes(header), dataBytes, length);

    private static byte[] Build(byte[] header, int dataBytes, ulong? length = null)
    {
        var b = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, length ?? (ulong)header.Length);
        header.CopyTo(b, 8);
        for (int i = 0; i < dataBytes; i++) b[8 + header.Length + i] = (byte)i;
        return b;
    }

    private static string E(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    // A valid two-tensor file: a = F32[2] at [0,8), b = I64[1] at [8,16).
    private static readonly string A = E("a", "F32", "[2]", 0, 8), B = E("b", "I64", "[1]", 8, 16);
    private static readonly byte[] Valid = Build("{" + A + "," + B + "}", 16);

    /// <summary>(case, file bytes, expected message fragment, expected key or null).</summary>
    public static TheoryData<string, byte[], string, string?> Cases() => new()
    {
        { "empty file", [], "file is empty", null },
        { "shorter than the length prefix", [1, 2, 3, 4, 5], "shorter than the 8-byte", null },
        { "header length 2^63", Build("{}", 0, 1UL << 63), "exceeds the 100000000-byte limit", null },
        { "header length 2^64-1", Build("{}", 0, ulong.MaxValue), "exceeds the 100000000-byte limit", null },
        { "header length zero", Build("{}", 0, 0), "header length is 0", null },
        { "header length > file", Build("{}", 0, 5000), "exceeds the 2 bytes after the length prefix", null },
        { "truncated header", Valid[..40], "truncated file?", null },
        { "truncated data", Valid[..^4], "lie outside the data section", "b" },
        { "bad JSON", Build("{\"a\":{\"dtype\":", 0), "not valid JSON", null },
        { "trailing garbage after JSON", Build("{}xyz", 0), "not valid JSON", null },
        { "invalid UTF-8", Build(new byte[] { (byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}' }, 0), "not valid JSON", null },
        { "lone surrogate escape in a name", Build("{" + E("\\ud800", "F32", "[2]", 0, 8) + "}", 8), "not valid JSON text", null },
        { "JSON not an object", Build("[1,2]", 0), "must be a JSON object, found an array", null },
        { "JSON null", Build("null", 0), "found null", null },
        { "entry not an object", Build("{\"a\":5}", 0), "entry must be a JSON object", "a" },
        { "missing dtype", Build("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "missing field 'dtype'", "a" },
        { "missing shape", Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), "missing field 'shape'", "a" },
        { "missing data_offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "missing field 'data_offsets'", "a" },
        { "unknown dtype", Build("{" + E("a", "F17", "[2]", 0, 8) + "}", 8), "unknown dtype 'F17'", "a" },
        { "unsupported dtype", Build("{" + E("a", "I8", "[8]", 0, 8) + "}", 8), "'I8' is valid safetensors but not supported", "a" },
        { "dtype not a string", Build("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "'dtype' must be a string", "a" },
        { "shape not an array", Build("{" + E("a", "F32", "2", 0, 8) + "}", 8), "'shape' must be an array", "a" },
        { "negative dim", Build("{" + E("a", "F32", "[-2]", 0, 8) + "}", 8), "negative dimension", "a" },
        { "fractional dim", Build("{" + E("a", "F32", "[2.5]", 0, 8) + "}", 8), "shape[0] must be an integer", "a" },
        { "string dim", Build("{" + E("a", "F32", "[\"2\"]", 0, 8) + "}", 8), "shape[0] must be an integer", "a" },
        { "shape element overflow", Build("{" + E("a", "F32", "[4294967296,4294967296]", 0, 8) + "}", 8), "overflows a 64-bit", "a" },
        { "shape byte overflow", Build("{" + E("a", "F32", "[4611686018427387904]", 0, 8) + "}", 8), "overflows a 64-bit", "a" },
        { "offsets reversed", Build("{" + E("a", "F32", "[2]", 8, 0) + "}", 8), "reversed", "a" },
        { "offsets out of range", Build("{" + E("a", "F32", "[2]", 8, 16) + "}", 8), "outside the data section", "a" },
        { "offset beyond int64", Build("{" + E("a", "F32", "[2]", 0, 0) .Replace("[0,0]", "[0,18446744073709551615]") + "}", 8), "non-negative integer", "a" },
        { "negative offset", Build("{" + E("a", "F32", "[2]", -8, 0) + "}", 8), "non-negative integer", "a" },
        { "non-numeric offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",\"8\"]}}", 8), "non-negative integer", "a" },
        { "one offset only", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8), "two integers", "a" },
        { "overlapping offsets", Build("{" + A + "," + E("b", "F32", "[2]", 4, 12) + "}", 12), "overlap tensor 'a'", "b" },
        { "same range twice", Build("{" + A + "," + E("b", "F32", "[2]", 0, 8) + "}", 8), "overlap tensor", null },
        { "size/shape mismatch", Build("{" + E("a", "F32", "[3]", 0, 8) + "}", 8), "needs 12 bytes but data_offsets [0, 8] span 8", "a" },
        { "gap in data", Build("{" + A + "," + E("b", "I64", "[1]", 12, 20) + "}", 20), "gap in the data section: bytes [8, 12)", "b" },
        { "data not starting at 0", Build("{" + E("a", "F32", "[2]", 4, 12) + "}", 12), "gap in the data section: bytes [0, 4)", "a" },
        { "trailing bytes", Build("{" + A + "," + B + "}", 24), "trailing bytes [16, 24)", null },
        { "duplicate key", Build("{" + A + "," + A.Replace("[0,8]", "[8,16]") + "}", 16), "duplicate key", "a" },
        { "duplicate field", Build("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "duplicate field 'dtype'", "a" },
        { "unknown field", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8), "unknown field 'extra'", "a" },
        { "metadata not an object", Build("{\"__metadata__\":[1]," + A + "}", 8), "must be a JSON object of strings", "__metadata__" },
        { "metadata value not a string", Build("{\"__metadata__\":{\"n\":1}," + A + "}", 8), "value of 'n' must be a string", "__metadata__" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CorruptFileGivesClearError(string name, byte[] bytes, string fragment, string? key)
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "corrupt-" + string.Concat(name.Where(char.IsLetterOrDigit)) + ".safetensors");
        File.WriteAllBytes(p, bytes);
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Open(p).Dispose());
        Assert.Equal(p, ex.File);
        Assert.StartsWith(p + ": ", ex.Message);
        Assert.Contains(fragment, ex.Message);
        if (key is not null)
        {
            Assert.Equal(key, ex.Key);
            Assert.Contains($"'{key}'", ex.Message);
        }
        File.Delete(p); // the failed Open released its handle
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TheValidBaseFileOpens()
    {
        // guards the corrupt cases: they differ from a file that is accepted
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "valid.safetensors");
        File.WriteAllBytes(p, Valid);
        using (var f = SafeTensorsFile.Open(p))
        {
            Assert.Equal(["a", "b"], f.Names);
            Assert.Equal(new byte[] { 0, 1, 2, 3, 4, 5, 6, 7 }, f.ReadBytes("a"));
            Assert.Equal(0x0F0E0D0C0B0A0908L, f.ReadInt64("b")[0]); // data bytes 8..15, little-endian
        }
        // zero-size tensors may share an offset with a neighbour, and unpadded headers are accepted
        File.WriteAllBytes(p, Build("{" + E("e", "F32", "[0,5]", 0, 0) + "," + A + "," + E("z", "I64", "[0]", 8, 8) + "}", 8));
        using (var f = SafeTensorsFile.Open(p))
            Assert.Equal(0, f.Info("e").ByteLength);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var p = Path.Combine(Repo.TempDir(), "absent.safetensors");
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Open(p));
        Assert.Contains(p, ex.Message);
        Assert.Contains("not found", ex.Message);
    }

    [Fact]
    public void EveryCaseIsDistinctAndThereAreAtLeastTwenty()
    {
        var cases = Cases().Select(r => (byte[])r.Data.Item2).ToList();
        Assert.True(cases.Count >= 20);
        Assert.Equal(cases.Count, cases.Select(Convert.ToHexString).Distinct().Count());
    }
}
