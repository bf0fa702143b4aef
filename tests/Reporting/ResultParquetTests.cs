using System.Reflection;
using System.Text.Json;
using ParquetSharp;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Reporting;

/// <summary>
/// Parquet copies of result tables, written by Parquet.Net and read back by ParquetSharp (Arrow C++ underneath, an
/// independent implementation): every value, its physical/logical type, nulls, and the footer metadata.
/// </summary>
public class ResultParquetTests
{
    private static ResultTable Mixed() =>
        new ResultTable("Text encoders: every run (%) — ü, \"quotes\"", ["method", "seed", "P@1", "runs", "converged", "empty", "f32", "big", "note"],
                new Scale("debian-deps-titles-small", "ci", [1, 2], "CPU, embedded Debian data, \"random\" init"))
            .AddRow("bm25", "deterministic", 20.234567890123457, 1, true, null, 0.1f, long.MaxValue, "a,b\nc")
            .AddRow("ngame", 1, double.NaN, 3L, false, null, 1.5f, -7L, null)
            .AddRow("infonce-ngame, ε", 2, 17, null, null, null, null, 0, "")
            .AddRow(null, 3, 0.1 + 0.2, (short)4, true, null, float.PositiveInfinity, 12345678901L, "x")
            .Format("P@1", "F2");

    private static void SameText(string?[] expected, string?[] actual) => Assert.Equal(expected.AsEnumerable(), actual.AsEnumerable());

    private static string Write(ResultTable t)
    {
        var dir = Repo.TempDir("vixml-parquet");
        using (Results.UseDirectory(dir)) Results.Save("table", t);
        return Path.Combine(dir, "table.parquet");
    }

    [Fact]
    public void ParquetSharpReadsBackEveryValueTypeAndTheScaleMetadata()
    {
        var t = Mixed();
        var path = Write(t);
        using var file = new ParquetFileReader(path);
        var meta = file.FileMetaData;
        Assert.Equal(4, meta.NumRows);
        Assert.Equal(1, meta.NumRowGroups);
        var kv = meta.KeyValueMetadata;
        Assert.Equal(t.Title, kv["vixml.title"]);
        Assert.Equal("dataset debian-deps-titles-small · profile ci · seeds 1, 2 · CPU, embedded Debian data, \"random\" init", kv["vixml.scale"]);
        Assert.Equal("debian-deps-titles-small", kv["vixml.scale.dataset"]);
        Assert.Equal("ci", kv["vixml.scale.profile"]);
        Assert.Equal("1;2", kv["vixml.scale.seeds"]);
        Assert.Equal("CPU, embedded Debian data, \"random\" init", kv["vixml.scale.note"]);
        Assert.Equal("{\"P@1\":\"F2\"}", kv["vixml.formats"]);

        var schema = meta.Schema;
        Assert.Equal(t.Columns, Enumerable.Range(0, schema.NumColumns).Select(i => schema.Column(i).Name));
        (PhysicalType, string) Type(int i) => (schema.Column(i).PhysicalType, schema.Column(i).LogicalType.Type.ToString());
        Assert.Equal((PhysicalType.ByteArray, "String"), Type(0)); // method
        Assert.Equal((PhysicalType.ByteArray, "String"), Type(1)); // seed: "deterministic" and integers → text
        Assert.Equal(PhysicalType.Double, Type(2).Item1);           // P@1: doubles and an int → double
        Assert.Equal(PhysicalType.Int64, Type(3).Item1);            // runs: int, long, short, null → int64
        Assert.Equal(PhysicalType.Boolean, Type(4).Item1);
        Assert.Equal((PhysicalType.ByteArray, "String"), Type(5)); // no values at all
        Assert.Equal(PhysicalType.Double, Type(6).Item1);           // float → double
        Assert.Equal(PhysicalType.Int64, Type(7).Item1);
        Assert.Equal((PhysicalType.ByteArray, "String"), Type(8));
        for (var i = 0; i < schema.NumColumns; i++)
            Assert.Equal(Repetition.Optional, schema.Column(i).SchemaNode.Repetition);

        using var rg = file.RowGroup(0);
        T[] Read<T>(int c) => rg.Column(c).LogicalReader<T>().ReadAll(4);
        SameText(["bm25", "ngame", "infonce-ngame, ε", null], Read<string?>(0));
        SameText(["deterministic", "1", "2", "3"], Read<string?>(1));
        var p1 = Read<double?>(2);
        Assert.Equal(20.234567890123457, p1[0]);
        Assert.True(double.IsNaN(p1[1]!.Value));
        Assert.Equal(17.0, p1[2]);
        Assert.Equal(0.30000000000000004, p1[3]); // bit-exact, not the display format
        Assert.Equal([1L, 3L, null, 4L], Read<long?>(3));
        Assert.Equal([true, false, null, true], Read<bool?>(4));
        SameText([null, null, null, null], Read<string?>(5));
        Assert.Equal([0.1, 1.5, null, double.PositiveInfinity], Read<double?>(6)); // 0.1f as the CSV shows it
        Assert.Equal([long.MaxValue, -7L, 0L, 12345678901L], Read<long?>(7));
        SameText(["a,b\nc", null, "", "x"], Read<string?>(8)); // null stays null, "" stays ""
    }

    [Fact]
    public void EveryValueAgreesWithTheCsvWrittenBesideIt()
    {
        // The CSV is the long-standing format: the Parquet copy must say the same thing, cell by cell.
        var t = new ResultTable("Summary", ["method", "runs", "P@1", "P@1 std"], new Scale("d", "ci", [1, 2, 3]))
            .AddRow("bm25", 1, 20.23456789, 0.0)
            .AddRow("ngame", 3, 14.8, 0.123456789012345);
        var path = Write(t);
        var csv = ResultTable.ReadCsv(Path.ChangeExtension(path, ".csv"));
        using var file = new ParquetFileReader(path);
        using var rg = file.RowGroup(0);
        var methods = rg.Column(0).LogicalReader<string?>().ReadAll(2);
        var runs = rg.Column(1).LogicalReader<long?>().ReadAll(2);
        var p1 = rg.Column(2).LogicalReader<double?>().ReadAll(2);
        var std = rg.Column(3).LogicalReader<double?>().ReadAll(2);
        for (var r = 0; r < 2; r++)
        {
            Assert.Equal(csv.Rows[r][0], methods[r]);
            Assert.Equal(csv.Rows[r][1], (double?)runs[r]);
            Assert.Equal(csv.Rows[r][2], p1[r]);
            Assert.Equal(csv.Rows[r][3], std[r]);
        }
        Assert.Equal(csv.Scale!.ToString(), file.FileMetaData.KeyValueMetadata["vixml.scale"]);
    }

    [Fact]
    public void ATableWithoutScaleOrFormatsHasOnlyItsTitleAndResultsSaveWritesAllFourFormats()
    {
        var dir = Repo.TempDir("vixml-parquet");
        var t = new ResultTable("plain", ["k"]).AddRow(1).AddRow(2);
        IReadOnlyList<string> files;
        using (Results.UseDirectory(dir)) files = Results.Save("plain", t);
        Assert.Equal(["plain.csv", "plain.md", "plain.html", "plain.parquet"], files.Select(Path.GetFileName));
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
        Assert.Equal(files.Order(StringComparer.Ordinal), Directory.GetFiles(dir).Order(StringComparer.Ordinal)); // no temp files left
        using var file = new ParquetFileReader(Path.Combine(dir, "plain.parquet"));
        Assert.Equal(new Dictionary<string, string> { ["vixml.title"] = "plain" }, file.FileMetaData.KeyValueMetadata);
    }

    [Fact]
    public void AnEmptyTableIsAValidFileWithZeroRows()
    {
        var path = Write(new ResultTable("nothing yet", ["method", "P@1"]));
        using var file = new ParquetFileReader(path);
        Assert.Equal(0, file.FileMetaData.NumRows);
        Assert.Equal(2, file.FileMetaData.Schema.NumColumns);
    }

    [Fact]
    public void ParquetNetNeedsNoFSharpCoreAndNothingOutsideTheSharedFramework()
    {
        // The .NET Interactive kernel (VS Code, Jupyter) ships FSharp.Core 10.0.0 and loads our library into itself: the
        // writer must not pull in FSharp.Core or anything that would clash there. Walk the reference closure.
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var thirdParty = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<Assembly>([typeof(Parquet.ParquetWriter).Assembly]);
        while (queue.Count > 0)
        {
            foreach (var r in queue.Dequeue().GetReferencedAssemblies())
            {
                if (!seen.Add(r.Name!)) continue;
                Assert.False(r.Name!.StartsWith("FSharp", StringComparison.Ordinal), $"Parquet.Net's closure references {r.FullName}");
                var a = Assembly.Load(r);
                if (Path.GetDirectoryName(a.Location) == framework) continue; // the shared framework the kernel runs on
                thirdParty.Add(r.Name!);
                queue.Enqueue(a);
            }
        }
        Assert.Equal(["CommunityToolkit.HighPerformance", "K4os.Compression.LZ4", "Microsoft.IO.RecyclableMemoryStream", "Snappier", "ZstdSharp"],
            thirdParty);
    }

    [Fact]
    public void FormatsMetadataIsJsonAndColumnKindsFollowTheValues()
    {
        var t = new ResultTable("f", ["a", "b"]).AddRow(1.5, 2).Format("a", "F1").Format("b", "N0");
        var meta = ResultParquet.Metadata(t);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "F1", ["b"] = "N0" },
            JsonSerializer.Deserialize<Dictionary<string, string>>(meta[ResultParquet.FormatsKey]));
        Assert.Equal(ParquetColumnKind.Double, ResultParquet.KindOf(t, 0));
        Assert.Equal(ParquetColumnKind.Int64, ResultParquet.KindOf(t, 1));
        Assert.Equal(ParquetColumnKind.Double, ResultParquet.KindOf(new ResultTable("u", ["u"]).AddRow(ulong.MaxValue), 0));
    }
}
