using System.Buffers.Binary;
using System.Text;
using ViXml.Common;
using ViXml.Models;
using ViXml.Tests.TestSupport;
using ViXml.Text;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Tests.Xmc;

/// <summary>Regression tests for issue 15's bad inputs: each gives one of our clear errors naming the file (and line),
/// before any allocation the declared sizes would imply.</summary>
public class InputHardeningTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-harden");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    private string W(string name, string text) => Wb(name, Encoding.UTF8.GetBytes(text));
    private string Wb(string name, byte[] bytes)
    {
        var p = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static long Allocated(Action a)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { a(); } catch { /* measured either way */ }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Theory]
    [InlineData("2147483647 5\n1:1\n", "at most")]
    [InlineData("2147483000 5\n1:1\n", "file has only")]
    [InlineData("1 2147483647\n1:1\n", "columns; at most")]
    [InlineData("99999999999 5\n", "below 2^31")]
    public void XcHeadersNearIntMaxAreRefusedWithoutAllocating(string text, string expected)
    {
        var p = W("y.txt", text);
        var e = Assert.Throws<XmcFormatException>(() => XcSparse.Read(p));
        Assert.StartsWith($"{p}:1:", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.True(Allocated(() => XcSparse.Read(p)) < 4 << 20);
    }

    [Fact]
    public void MissingFolderFolderAsFileAndEndlessLine()
    {
        Assert.Contains("the folder", Assert.Throws<XmcFormatException>(() => XcSparse.Read(Path.Combine(_dir, "no", "y.txt"))).Message);
        Assert.Contains("is a folder", Assert.Throws<XmcFormatException>(() => XcSparse.Read(_dir)).Message);
        var e = Assert.Throws<XmcFormatException>(() => XcSparse.Read("/dev/zero"));
        Assert.StartsWith("/dev/zero: is a device", e.Message);   // refused by stat(2) before a byte is read (issue 20)
        Assert.Contains("is a device", Assert.Throws<XmcFormatException>(() => RawText.Read("/dev/zero")).Message);
        Assert.Contains("device", Assert.Throws<XmcFormatException>(() => Npy.Read("/dev/zero")).Message);
    }

    [Fact]
    public void DuplicateColumnsStillNamed()
    {
        var p = W("d.txt", "1 10\n3:1 4:1 3:0.5\n");
        Assert.Equal($"{p}:2: duplicate column 3", Assert.Throws<XmcFormatException>(() => XcSparse.Read(p)).Message);
    }

    private static byte[] NpyV2(uint headerLen, string header, int dataBytes)
    {
        var h = Encoding.Latin1.GetBytes(header);
        var b = new byte[12 + h.Length + dataBytes];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0 }.CopyTo(b, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), headerLen);
        h.CopyTo(b, 12);
        return b;
    }

    [Fact]
    public void NpyHeaderLengthFFFFFFFFAndWrappingShapes()
    {
        var p = Wb("a.npy", NpyV2(0xFFFFFFFF, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8));
        Assert.Contains("truncated .npy header", Assert.Throws<XmcFormatException>(() => Npy.Read(p)).Message);
        // 2^32 * 2^32 wraps int64 to 0: it must not be accepted as an empty array
        var h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
        var q = Wb("b.npy", NpyV2((uint)h.Length, h, 0));
        Assert.Contains("2^63", Assert.Throws<XmcFormatException>(() => Npy.Read(q)).Message);
        var h3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3074457345618258603, 3), }\n";
        var r = Wb("c.npy", NpyV2((uint)h3.Length, h3, 0));
        Assert.Throws<XmcFormatException>(() => Npy.Read(r));
    }

    [Fact]
    public void NpyOver2GiBIsRefusedBeforeReading()
    {
        var p = Path.Combine(_dir, "big.npy");
        using (var fs = File.Create(p)) fs.SetLength(Array.MaxLength + 4096L);   // sparse: no disk used
        long alloc = Allocated(() => Npy.Read(p));
        var e = Assert.Throws<XmcFormatException>(() => Npy.Read(p));
        Assert.Contains("2 GiB", e.Message);
        Assert.True(alloc < 1 << 20, $"allocated {alloc}");
    }

    [Fact]
    public void TextsWithInvalidUtf8OrNulNameFileAndLine()
    {
        var p = Wb("trn.raw.txt", [(byte)'o', (byte)'k', (byte)'\n', (byte)'b', 0xC3, 0x28, (byte)'\n']);
        Assert.Equal($"{p}:2: invalid UTF-8 at byte 2 of the line", Assert.Throws<XmcFormatException>(() => RawText.Read(p)).Message);
        var q = W("tst.raw.txt", "a\nb\0c\n");
        Assert.StartsWith($"{q}:2: NUL byte", Assert.Throws<XmcFormatException>(() => RawText.Read(q)).Message);
    }

    [Fact]
    public void BinaryVocabNamesTheFile()
    {
        var p = Wb("vocab.txt", [0x7F, (byte)'E', (byte)'L', (byte)'F', 0, 0, 1, 0xFF, (byte)'\n']);
        var e = Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromVocabFile(p));
        Assert.StartsWith($"{p}:1:", e.Message);
    }

    [Fact]
    public void EmbedInputWithInvalidUtf8IsRefusedNotReplaced()
    {
        var p = Wb("in.txt", [(byte)'h', (byte)'i', (byte)'\n', 0xFF, (byte)'x', (byte)'\n']);
        Assert.StartsWith($"{p}:2: invalid UTF-8", Assert.Throws<EmbedInputException>(() => EmbedInputs.ReadTexts(p)).Message);
        var crlf = W("crlf.txt", "a\r\nb\r\n");
        Assert.Equal(["a", "b"], EmbedInputs.ReadTexts(crlf));
    }

    private string BuildDataset(string name = "ds")
    {
        var dir = Path.Combine(_dir, name);
        DebianDatasets.BuildTo("debian-deps-titles", "full", AptInputs.FromDirectory(Repo.Fixture("apt-fake")), dir);
        return dir;
    }

    [Fact]
    public void StatsOnALabelCountMismatchIsAClearError()
    {
        var dir = BuildDataset();
        var tst = Path.Combine(dir, "tst_X_Y.txt");
        var lines = File.ReadAllLines(tst);
        var hdr = lines[0].Split(' ');
        lines[0] = $"{hdr[0]} {int.Parse(hdr[1]) + 3}";
        File.WriteAllLines(tst, lines);
        var e = Assert.Throws<XmcFormatException>(() => DatasetCheck.Stats(dir));
        Assert.StartsWith($"{tst}:1:", e.Message);
    }

    [Fact]
    public void LoadingVerifiesTheManifestCheaply()
    {
        var dir = BuildDataset();
        XmcDataset.Load(dir);                                  // consistent: loads
        File.AppendAllText(Path.Combine(dir, "trn.raw.txt"), "x"); // half-rebuilt or modified folder
        var e = Assert.Throws<XmcFormatException>(() => XmcDataset.Load(dir));
        Assert.Contains("does not match its manifest", e.Message);
        Assert.Contains("trn.raw.txt", e.Message);
        Assert.Contains("no such dataset folder", Assert.Throws<XmcFormatException>(() => XmcDataset.Load(Path.Combine(_dir, "none"))).Message);
    }

    [Theory]
    [InlineData("{\"outputs\": {\"file\": \"trn.raw.txt\"}}", "'outputs' must be a list")]
    [InlineData("{\"outputs\": [{\"file\": 3, \"sha256\": \"x\"}]}", "'file' must be a non-empty string")]
    [InlineData("{\"outputs\": [{\"file\": \"trn.raw.txt\", \"sha256\": 5}]}", "'sha256' must be")]
    [InlineData("{\"outputs\": [{\"file\": \"../etc/passwd\", \"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}]}", "inside the dataset folder")]
    [InlineData("[1, 2]", "expected a JSON object")]
    public void ManifestOfTheWrongShapeIsAnErrorNotASkippedCheck(string manifest, string expected)
    {
        var dir = BuildDataset();
        File.WriteAllText(Path.Combine(dir, "manifest.json"), manifest);
        Assert.Contains(DatasetManifest.Verify(dir, checksums: true), m => m.Contains(expected));
        Assert.Contains(DatasetCheck.Run(dir).Errors, m => m.Contains(expected));
    }

    [Fact]
    public void TruncatedPackagesFileIsRefused()
    {
        var apt = Path.Combine(_dir, "apt");
        Directory.CreateDirectory(apt);
        foreach (var f in Directory.GetFiles(Repo.Fixture("apt-fake"))) File.Copy(f, Path.Combine(apt, Path.GetFileName(f)));
        var pk = Path.Combine(apt, "Packages");
        var bytes = File.ReadAllBytes(pk);
        File.WriteAllBytes(pk, bytes[..(bytes.Length / 2)]);
        if (bytes[bytes.Length / 2 - 1] == '\n') File.WriteAllBytes(pk, bytes[..(bytes.Length / 2 + 1)]);
        var e = Assert.Throws<XmcFormatException>(() => DebianDatasets.Build("debian-deps-titles", "full", AptInputs.FromDirectory(apt)));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CorruptIconsTarballIsAClearError()
    {
        var apt = Path.Combine(_dir, "apt");
        Directory.CreateDirectory(apt);
        foreach (var f in Directory.GetFiles(Repo.Fixture("apt-fake"))) File.Copy(f, Path.Combine(apt, Path.GetFileName(f)));
        var icons = Path.Combine(apt, "icons-64x64.tar.gz");
        var b = File.ReadAllBytes(icons);
        for (int i = 20; i < b.Length; i += 7) b[i] ^= 0x5A;
        File.WriteAllBytes(icons, b);
        var e = Assert.Throws<XmcFormatException>(() => DebianDatasets.Build("debian-apps-mm", "full", AptInputs.FromDirectory(apt)));
        Assert.Contains("corrupt icons tarball", e.Message);
    }

    [Fact]
    public void TopKOfTooManySlotsIsRefusedNotOverflowed()
    {
        var m = new CsrMatrix(1 << 20, 5, new int[(1 << 20) + 1], [], []);
        Assert.Throws<InputLimitException>(() => TopK.FromScores(m, 1 << 12));
    }

    [Fact]
    public void PropensityParametersMustBePositive()
    {
        var y = CsrMatrix.FromRows(3, [new[] { 0 }, new[] { 1 }]);
        Assert.Contains("A must be", Assert.Throws<ArgumentException>(() => Propensity.Inverse(y, double.NaN, 2.6)).Message);
        Assert.Contains("B must be", Assert.Throws<ArgumentException>(() => Propensity.Inverse(y, 0.6, -5)).Message);
    }
}
