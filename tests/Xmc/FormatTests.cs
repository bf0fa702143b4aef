using System.IO.Compression;
using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;

namespace ViXml.Tests.Xmc;

public class FormatTests
{
    [Theory]
    [InlineData("small-01-basic", "score_mat.txt")]
    [InlineData("small-02-ties", "score_mat.txt")]
    [InlineData("small-03-longtail", "tst_X_Y.txt")]
    [InlineData("small-03-longtail", "trn_X_Y.txt")]
    [InlineData("medium-01", "score_mat.txt")]
    [InlineData("medium-01", "tst_X_Y.txt")]
    public void SparseRoundTripIsByteIdentical(string @case, string file)
    {
        var src = Repo.Fixture("xmc-metrics", @case, file);
        var m = XcSparse.Read(src);
        var dir = Repo.TempDir();
        var dst = Path.Combine(dir, file);
        XcSparse.Write(dst, m);
        Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(dst));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void SparseReadsShapeAndEmptyRows()
    {
        // medium-01 has one row with no true labels: an empty line that must not shift later rows.
        var m = XcSparse.Read(Repo.Fixture("xmc-metrics", "medium-01", "tst_X_Y.txt"));
        Assert.Equal(2000, m.Rows);
        Assert.Equal(5000, m.Cols);
        Assert.Contains(Enumerable.Range(0, m.Rows), r => m.RowLength(r) == 0);
        var lines = File.ReadAllLines(Repo.Fixture("xmc-metrics", "medium-01", "tst_X_Y.txt"));
        for (int r = 0; r < m.Rows; r++) Assert.Equal(lines[r + 1].Count(ch => ch == ':'), m.RowLength(r));
    }

    [Theory]
    [InlineData("2 3\n0:1\n", 3, "file ends after 1 rows")]
    [InlineData("1 3\n0:1\n\n", 3, "more lines than the 1 rows")]
    [InlineData("1 3\n0:1 3:1\n", 2, "column 3 out of range")]
    [InlineData("1 3\n0:1 0:1\n", 2, "duplicate column 0")]
    [InlineData("1 3\n0:abc\n", 2, "not a finite number")]
    [InlineData("1 3\n0:NaN\n", 2, "not a finite number")]
    [InlineData("1 3\n1\n", 2, "is not 'col:value'")]
    [InlineData("x 3\n", 1, "bad header")]
    [InlineData("1 3\n-1:1\n", 2, "not a non-negative integer")]
    public void SparseValidationNamesFileAndLine(string content, int line, string message)
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "m.txt");
        File.WriteAllText(p, content);
        var e = Assert.Throws<XmcFormatException>(() => XcSparse.Read(p));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"{p}:{line}: ", e.Message);
        Assert.Contains(message, e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void FilterFileReadsAndValidates()
    {
        var f = FilterPairs.Read(Repo.Fixture("xmc-metrics", "small-04-filter", "filter_labels_test.txt"), 15, 40);
        Assert.Equal(11, f.Count);
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "filter.txt");
        File.WriteAllText(p, "0 1\n3 99\n");
        var e = Assert.Throws<XmcFormatException>(() => FilterPairs.Read(p, 5, 40));
        Assert.Equal(2, e.Line);
        File.WriteAllText(p, "0 1\nfoo\n");
        Assert.Equal(2, Assert.Throws<XmcFormatException>(() => FilterPairs.Read(p)).Line);
        Directory.Delete(dir, true);
    }

    private static JsonElement NpyValues() =>
        JsonDocument.Parse(File.ReadAllText(Repo.Fixture("xmc-npy", "values.json"))).RootElement;

    [Theory]
    [InlineData("f32_v1.npy")]
    [InlineData("f32_v2.npy")]
    [InlineData("f32_v3.npy")]
    public void NpyReadsNumpyFloat32AllVersions(string file)
    {
        var a = Npy.Read(Repo.Fixture("xmc-npy", file));
        var v = NpyValues();
        Assert.Equal(NpyDType.Float32, a.DType);
        Assert.Equal(v.GetProperty("f32_shape").EnumerateArray().Select(x => x.GetInt64()), a.Shape);
        Assert.Equal(v.GetProperty("f32").EnumerateArray().Select(x => (float)x.GetDouble()), a.ToFloat32());
    }

    [Theory]
    [InlineData("i64_v1.npy")]
    [InlineData("i64_v2.npy")]
    [InlineData("i64_v3.npy")]
    public void NpyReadsNumpyInt64AllVersions(string file)
    {
        var a = Npy.Read(Repo.Fixture("xmc-npy", file));
        Assert.Equal(NpyValues().GetProperty("i64").EnumerateArray().Select(x => x.GetInt64()), a.ToInt64());
    }

    [Fact]
    public void NpyReadsFloat64AndInt32()
    {
        var v = NpyValues();
        Assert.Equal(v.GetProperty("f64").EnumerateArray().Select(x => (float)x.GetDouble()), Npy.Read(Repo.Fixture("xmc-npy", "f64_v1.npy")).ToFloat32());
        Assert.Equal(v.GetProperty("i32").EnumerateArray().Select(x => x.GetInt64()), Npy.Read(Repo.Fixture("xmc-npy", "i32_v1.npy")).ToInt64());
    }

    [Theory]
    [InlineData("f32_v1.npy")]
    [InlineData("i64_v1.npy")]
    [InlineData("vec_v1.npy")]
    public void NpyWriterMatchesNumpyBytes(string file)
    {
        var src = Repo.Fixture("xmc-npy", file);
        Assert.Equal(File.ReadAllBytes(src), Npy.ToBytes(Npy.Read(src)));
    }

    [Fact]
    public void NpyRejectsCorruption()
    {
        var bytes = File.ReadAllBytes(Repo.Fixture("xmc-npy", "f32_v1.npy"));
        Assert.Contains("data size", Assert.Throws<XmcFormatException>(() => Npy.Read(bytes[..^4], "t.npy")).Message);
        var big = (byte[])bytes.Clone();
        var hdr = System.Text.Encoding.Latin1.GetString(big);
        var i = hdr.IndexOf("<f4", StringComparison.Ordinal);
        big[i] = (byte)'>';
        Assert.Contains("unsupported dtype", Assert.Throws<XmcFormatException>(() => Npy.Read(big, "t.npy")).Message);
        Assert.Contains("magic", Assert.Throws<XmcFormatException>(() => Npy.Read(new byte[20], "t.npy")).Message);
    }

    [Fact]
    public void ImageMapValidatesIndices()
    {
        var dir = Repo.TempDir();
        new ImageBank(2, 3, [1, 0, 0, 0, 1, 0]).Write(Path.Combine(dir, "bank.npy"));
        new ImageMap(3, 2, [0, -1, 1, 0, -1, -1]).Write(Path.Combine(dir, "map.npy"));
        var bank = ImageBank.Read(Path.Combine(dir, "bank.npy"));
        var map = ImageMap.Read(Path.Combine(dir, "map.npy"), bank.NumImages, 3);
        Assert.Equal(new[] { 1, 0 }, map.ImagesOf(1));
        Assert.Empty(map.ImagesOf(2));
        new ImageMap(1, 2, [0, 2]).Write(Path.Combine(dir, "bad.npy"));
        var e = Assert.Throws<XmcFormatException>(() => ImageMap.Read(Path.Combine(dir, "bad.npy"), bank.NumImages));
        Assert.Contains("item 0 slot 1: image index 2 out of range", e.Message);
        Assert.Contains("has 3 rows but there are 4 items",
            Assert.Throws<XmcFormatException>(() => ImageMap.Read(Path.Combine(dir, "map.npy"), 2, 4)).Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void JsonLinesConvertToRawAndSparse()
    {
        var dir = Repo.TempDir();
        void Gz(string name, string text)
        {
            using var fs = File.Create(Path.Combine(dir, name));
            using var gz = new GZipStream(fs, CompressionLevel.Optimal);
            gz.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }
        Gz("lbl.json.gz", "{\"uid\":\"L0\",\"title\":\"red\",\"content\":\"the colour\"}\n{\"uid\":\"L1\",\"title\":\"blue\",\"content\":\"\"}\n{\"uid\":\"L2\",\"title\":\"green\",\"content\":\"x\"}\n");
        Gz("trn.json.gz", "{\"uid\":\"a\",\"title\":\"A  title\",\"content\":\"line1\\nline2\",\"target_ind\":[2,0],\"target_rel\":[1.0,1.0]}\n{\"uid\":\"b\",\"title\":\"B\",\"content\":\"\",\"target_ind\":[],\"target_rel\":[]}\n");
        Gz("tst.json.gz", "{\"uid\":\"c\",\"title\":\"C\",\"content\":\"cc\",\"target_ind\":[1],\"target_rel\":[1.0]}\n");
        var outDir = Path.Combine(dir, "out");
        XcJsonLines.ConvertFolder(dir, outDir, withContent: true);
        Assert.Equal("A title line1 line2\nB\n", File.ReadAllText(Path.Combine(outDir, "trn.raw.txt")));
        Assert.Equal("red the colour\nblue\ngreen x\n", File.ReadAllText(Path.Combine(outDir, "lbl.raw.txt")));
        Assert.Equal("2 3\n0:1 2:1\n\n", File.ReadAllText(Path.Combine(outDir, "trn_X_Y.txt")));
        Assert.Equal("1 3\n1:1\n", File.ReadAllText(Path.Combine(outDir, "tst_X_Y.txt")));
        XcJsonLines.ConvertFolder(dir, outDir, withContent: false);
        Assert.Equal("A title\nB\n", File.ReadAllText(Path.Combine(outDir, "trn.raw.txt")));

        Gz("tst.json.gz", "{\"uid\":\"c\",\"title\":\"C\",\"target_ind\":[1]}\n{\"uid\":\"d\",\"title\":\"D\",\"target_ind\":[5]}\n");
        var e = Assert.Throws<XmcFormatException>(() => XcJsonLines.ConvertFolder(dir, outDir, false));
        Assert.Equal(2, e.Line);
        Assert.Contains("target_ind 5 out of range", e.Message);
        Directory.Delete(dir, true);
    }
}
