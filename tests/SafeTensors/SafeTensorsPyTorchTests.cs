using System.Buffers.Binary;
using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.SafeTensors;

/// <summary>Files and values written by Debian's PyTorch (tests/reference/gen_safetensors.py) read back equal.</summary>
public class SafeTensorsPyTorchTests
{
    private static readonly string AllDtypes = Repo.Fixture("safetensors", "pytorch_all_dtypes.safetensors");

    private static JsonElement LoadJson(params string[] parts) =>
        JsonDocument.Parse(File.ReadAllBytes(Repo.Fixture(parts))).RootElement;

    /// <summary>Checks one tensor against the generator's record: dtype, shape, raw bytes and typed values.</summary>
    internal static void AssertMatches(ISafeTensorsSource src, string name, JsonElement exp)
    {
        var info = src.Info(name);
        Assert.Equal(exp.GetProperty("dtype").GetString(), info.DType.HeaderName());
        Assert.Equal(exp.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(), info.Shape);
        Assert.Equal(Convert.FromHexString(exp.GetProperty("hex").GetString()!), src.ReadBytes(name));
        if (exp.TryGetProperty("f32_bits", out var f32))
        {
            // our widening (bf16/f16 -> f32) against torch's .float(), bit for bit (NaN payloads included)
            var got = src.ReadFloat32(name).Select(BitConverter.SingleToUInt32Bits).ToArray();
            Assert.Equal(f32.EnumerateArray().Select(e => e.GetUInt32()).ToArray(), got);
        }
        else if (exp.TryGetProperty("f64_bits", out var f64))
        {
            var raw = src.ReadBytes(name);
            var got = Enumerable.Range(0, raw.Length / 8).Select(i => BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8 * i))).ToArray();
            Assert.Equal(f64.EnumerateArray().Select(e => e.GetUInt64()).ToArray(), got);
        }
        else
        {
            Assert.Equal(exp.GetProperty("ints").EnumerateArray().Select(e => e.GetInt64()).ToArray(), src.ReadInt64(name));
        }
    }

    [Fact]
    public void PyTorchFileReadsBackEqual()
    {
        var exp = LoadJson("safetensors", "pytorch_all_dtypes.expected.json");
        using var f = SafeTensorsFile.Open(AllDtypes);
        var tensors = exp.GetProperty("tensors");
        var expectedNames = tensors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedNames, f.Names.ToArray());
        foreach (var p in tensors.EnumerateObject())
            AssertMatches(f, p.Name, p.Value);
        // every dtype the project supports is covered by the fixture
        Assert.Equal(Enum.GetValues<SafeDType>().Order(), f.Tensors.Select(t => t.DType).Distinct().Order());
        foreach (var m in exp.GetProperty("metadata").EnumerateObject())
            Assert.Equal(m.Value.GetString(), f.Metadata[m.Name]);
        Assert.Equal(0, f.DataStart % 8); // the generator pads the header like the reference writer
    }

    [Fact]
    public void PyTorchFileSpecialShapes()
    {
        using var f = SafeTensorsFile.Open(AllDtypes);
        Assert.Empty(f.Info("f32.scalar").Shape);
        Assert.Equal(1, f.Info("f32.scalar").ElementCount);
        Assert.Equal([3.25f], f.ReadFloat32("f32.scalar"));
        Assert.Equal(0, f.Info("f32.empty").ByteLength);
        Assert.Empty(f.ReadFloat32("f32.empty"));
        Assert.True(f.Contains("layer.0.ünïcode.weight")); // \u-escaped in the JSON by Python
        var bf = f.ReadFloat32("bf16.special");
        Assert.True(float.IsPositiveInfinity(bf[2]) && float.IsNegativeInfinity(bf[3]) && float.IsNaN(bf[4]));
        Assert.True(float.IsNegative(bf[1]) && bf[1] == 0);
    }

    [Fact]
    public unsafe void ReadIntoNativeMemoryMatchesReadBytes()
    {
        using var f = SafeTensorsFile.Open(AllDtypes);
        var t = f.Info("f16.cube");
        var buf = new byte[t.ByteLength];
        fixed (byte* p = buf) f.ReadInto("f16.cube", p, buf.Length);
        Assert.Equal(f.ReadBytes("f16.cube"), buf);
        Assert.Throws<ArgumentException>(() => f.ReadInto("f16.cube", new byte[3]));
        var ex = Assert.Throws<SafeTensorsException>(() => f.Info("nope"));
        Assert.Contains(AllDtypes, ex.Message);
        Assert.Contains("'nope'", ex.Message);
        Assert.Throws<SafeTensorsException>(() => f.ReadFloat32("i64.vec"));
        Assert.Throws<SafeTensorsException>(() => f.ReadInt64("f32.mat"));
    }

    [Fact]
    public void ReaderLeavesTheFileClosedAfterDispose()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "x.safetensors");
        File.Copy(AllDtypes, p);
        var f = SafeTensorsFile.Open(p);
        f.Dispose();
        f.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => f.Info("u8.vec"));
        File.Delete(p);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void PyTorchWrittenFileRewrittenByUsReadsBackEqual()
    {
        // read torch's file, write it with our writer (different order and layout), read ours: same tensors
        var exp = LoadJson("safetensors", "pytorch_all_dtypes.expected.json").GetProperty("tensors");
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "rewritten.safetensors");
        using (var f = SafeTensorsFile.Open(AllDtypes))
            SafeTensorsWriter.Write(p, f.Tensors.Select(t => new SafeTensorsWriteEntry(t.Name, t.DType, t.Shape, f.ReadBytes(t.Name))).ToList(),
                f.Metadata);
        using (var g = SafeTensorsFile.Open(p))
        {
            foreach (var e in exp.EnumerateObject())
                AssertMatches(g, e.Name, e.Value);
            Assert.Equal("pt", g.Metadata["format"]);
        }
        Directory.Delete(dir, true);
    }
}
