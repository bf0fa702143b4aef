using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.SafeTensors;

public class SafeTensorsWriterTests
{
    /// <summary>Random bytes valid for the dtype (bools are 0/1).</summary>
    private static byte[] RandomData(Random rng, SafeDType dtype, long[] shape)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d);
        var b = new byte[n * dtype.ItemSize()];
        rng.NextBytes(b);
        if (dtype == SafeDType.BOOL)
            for (int i = 0; i < b.Length; i++) b[i] &= 1;
        return b;
    }

    [Fact]
    public void RoundTripEveryDtype()
    {
        var rng = new Random(7);
        var shapes = new[] { new long[] { 3, 5 }, [], [0, 4], [2, 3, 4], [17] };
        var entries = new List<SafeTensorsWriteEntry>();
        var data = new Dictionary<string, byte[]>();
        foreach (var dt in Enum.GetValues<SafeDType>())
            for (int s = 0; s < shapes.Length; s++)
            {
                var name = $"{dt}.t{s}";
                data[name] = RandomData(rng, dt, shapes[s]);
                entries.Add(new SafeTensorsWriteEntry(name, dt, shapes[s], data[name]));
            }
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "rt.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };
        SafeTensorsWriter.Write(p, entries, meta);
        using (var f = SafeTensorsFile.Open(p))
        {
            Assert.Equal(entries.Count, f.Names.Count);
            foreach (var e in entries)
            {
                var t = f.Info(e.Name);
                Assert.Equal(e.DType, t.DType);
                Assert.Equal(e.Shape, t.Shape);
                Assert.Equal(data[e.Name], f.ReadBytes(e.Name));
                Assert.Equal(0, t.FileOffset % t.DType.ItemSize()); // aligned: widest dtypes first, header padded
            }
            Assert.Equal(meta, f.Metadata);
            Assert.Equal(0, f.HeaderLength % 8);
        }
        Assert.Single(Directory.GetFiles(dir)); // no temp file left behind
        Directory.Delete(dir, true);
    }

    [Fact]
    public void WriterProducesTheReferenceLayoutByteForByte()
    {
        // reference_layout.safetensors was laid out by the Python generator following the reference writer's rules
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "ours.safetensors");
        using (var f = SafeTensorsFile.Open(Repo.Fixture("safetensors", "pytorch_all_dtypes.safetensors")))
            SafeTensorsWriter.Write(p, f.Tensors.Select(t => new SafeTensorsWriteEntry(t.Name, t.DType, t.Shape, f.ReadBytes(t.Name))),
                f.Metadata);
        var ours = File.ReadAllBytes(p);
        var reference = File.ReadAllBytes(Repo.Fixture("safetensors", "reference_layout.safetensors"));
        Assert.Equal(Encoding.UTF8.GetString(reference, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(reference)),
            Encoding.UTF8.GetString(ours, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(ours)));
        Assert.Equal(reference, ours);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesAndOrderedWidestFirst()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "pad.safetensors");
        SafeTensorsWriter.Write(p, [
            new SafeTensorsWriteEntry("a", SafeDType.U8, [3], new byte[3]),
            new SafeTensorsWriteEntry("z", SafeDType.I64, [1], new byte[8]),
            new SafeTensorsWriteEntry("m", SafeDType.BF16, [2], new byte[4]),
            new SafeTensorsWriteEntry("b", SafeDType.BF16, [1], new byte[2]),
        ]);
        var bytes = File.ReadAllBytes(p);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        var json = header.TrimEnd(' ');
        Assert.Equal(new string(' ', header.Length - json.Length), header[json.Length..]);
        Assert.Equal(["z", "b", "m", "a"], JsonDocument.Parse(json).RootElement.EnumerateObject().Select(q => q.Name));
        Assert.Equal(8 + n + 8 + 2 + 4 + 3, bytes.Length);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void StreamingEntryMustWriteExactlyItsLengthAndFailureLeavesOldFile()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "s.safetensors");
        SafeTensorsWriter.Write(p, [new SafeTensorsWriteEntry("ok", SafeDType.F32, [2], 8, s => s.Write(new byte[8]))]);
        var before = File.ReadAllBytes(p);
        var ex = Assert.Throws<InvalidOperationException>(() => SafeTensorsWriter.Write(p,
            [new SafeTensorsWriteEntry("short", SafeDType.F32, [2], 8, s => s.Write(new byte[5]))]));
        Assert.Contains("'short'", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(p)); // atomic: the failed write changed nothing
        Assert.Single(Directory.GetFiles(dir));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void WriterRejectsInconsistentEntries()
    {
        Assert.Contains("needs 12 bytes", Assert.Throws<ArgumentException>(
            () => new SafeTensorsWriteEntry("a", SafeDType.F32, [3], new byte[8])).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(
            () => new SafeTensorsWriteEntry("a", SafeDType.F32, [-1], new byte[0])).Message);
        Assert.Contains("overflows", Assert.Throws<ArgumentException>(
            () => new SafeTensorsWriteEntry("a", SafeDType.F32, [1L << 62], 0, _ => { })).Message);
        Assert.Throws<ArgumentException>(() => new SafeTensorsWriteEntry("__metadata__", SafeDType.U8, [0], new byte[0]));
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "dup.safetensors");
        Assert.Contains("duplicate", Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(p, [
            new SafeTensorsWriteEntry("a", SafeDType.U8, [1], new byte[1]),
            new SafeTensorsWriteEntry("a", SafeDType.U8, [1], new byte[1])])).Message);
        Assert.False(File.Exists(p));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void EmptyFileWithNoTensorsRoundTrips()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "none.safetensors");
        SafeTensorsWriter.Write(p, []);
        using (var f = SafeTensorsFile.Open(p))
        {
            Assert.Empty(f.Names);
            Assert.Equal(0, f.DataLength);
        }
        Directory.Delete(dir, true);
    }
}
