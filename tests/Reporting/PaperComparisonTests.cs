using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Reporting;

public class PaperComparisonTests
{
    [Fact]
    public void MarkdownShowsDeltaScaleAndNotTranscribed()
    {
        var ci = new Scale("tiny", "ci", [0], "CPU, embedded data, random init");
        var md = new PaperComparison("Text encoders", "Table 2 (illustrative)")
            .Add("DEXML", "P@1", PaperNumbers.Find(PaperNumbers.AmazonTitles131K, "DEXML", "P@1")?.Value, 40.126, ci)
            .Add("DEXML", "P@5", 20.64, 21.0, null)
            .Add("NGAME | ours", "PSP@1", null, 12.0, ci)
            .Add("BM25", "P@1", 10.0, null, null)
            .ToMarkdown();
        Assert.Equal("""
            # Text encoders

            Mirrors: Table 2 (illustrative). Δ = ours − paper.

            | Method | Metric | Paper | Ours | Δ | Scale of ours |
            | --- | --- | ---: | ---: | ---: | --- |
            | DEXML | P@1 | 42.52 | 40.13 | -2.39 | dataset tiny · profile ci · seed 0 · CPU, embedded data, random init |
            | DEXML | P@5 | 20.64 | 21.00 | +0.36 |  |
            | NGAME \| ours | PSP@1 | not transcribed | 12.00 |  | dataset tiny · profile ci · seed 0 · CPU, embedded data, random init |
            | BM25 | P@1 | 10.00 | not run |  |  |

            """.Replace("\r\n", "\n"), md);
        Assert.Null(PaperNumbers.Find(PaperNumbers.AmazonTitles131K, "DEXML", "PSP@1"));
    }

    [Fact]
    public void ReadCsvRoundTripsAndReadsPythonWrittenFiles()
    {
        var dir = Repo.TempDir();
        var path = Path.Combine(dir, "t.csv");
        var t = new ResultTable("t", ["name", "P@1", "n"], new Scale("d,1", "ci", [1, 2], "CPU, \"tiny\""))
            .AddRow("a,b\nc", 0.1 + 0.2, 3).AddRow("", null, -1.5e-7);
        t.SaveCsv(path);
        var back = ResultTable.ReadCsv(path);
        Assert.Equal(t.Columns, back.Columns);
        Assert.Equal("d,1 ci 1;2 CPU, \"tiny\"", $"{back.Scale!.Dataset} {back.Scale.Profile} {back.Scale.SeedsText} {back.Scale.Note}");
        Assert.Equal(["a,b\nc", 0.30000000000000004, 3.0], back.Rows[0]);
        Assert.Equal([null, null, -1.5e-7], back.Rows[1]);

        // Independent writer: Python's csv module with CRLF line ends and quoting of every field.
        var py = Path.Combine(dir, "py.csv");
        var (code, _, err) = Python(
            "import csv,sys\nw=csv.writer(open(sys.argv[1],'w',newline=''),quoting=csv.QUOTE_ALL)\n" +
            "w.writerow(['method','P@1']); w.writerow(['say \"hi\", twice','12.5']); w.writerow(['x\\r\\ny','7'])", py);
        if (code != 0 && err.Contains("No such file")) Assert.Skip("/usr/bin/python3 is missing");
        Assert.Equal(0, code);
        var p = ResultTable.ReadCsv(py);
        Assert.Null(p.Scale);
        Assert.Equal(["say \"hi\", twice", 12.5], p.Rows[0]);
        Assert.Equal(["x\r\ny", 7.0], p.Rows[1]);

        File.WriteAllText(path, "a,b\n1,2\n3\n");
        Assert.Contains("t.csv:3", Assert.Throws<FormatException>(() => ResultTable.ReadCsv(path)).Message);
        File.WriteAllText(path, "a,b\n\"1,2\n");
        Assert.Contains("unterminated", Assert.Throws<FormatException>(() => ResultTable.ReadCsv(path)).Message);
    }
}

public class BinningTests
{
    [Fact]
    public void LogBinsMatchNumpyHistogramOnTheSameEdges()
    {
        // A Zipf-like label-frequency list (integers), a zero-shot label (0) and fractional values.
        var values = Enumerable.Range(0, 1500).Select(i => Math.Floor(1000.0 / (i + 1))).Concat([0, 0.37, 2.5]).ToList();
        var bins = Binning.Log(values, binsPerDecade: 5);
        Assert.Equal(501, bins.NonPositive); // i + 1 > 1000 gives 0, plus the explicit 0
        var arg = string.Join(",", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var (code, stdout, err) = Python(
            "import sys, json, math, numpy as np\n" +
            "v = np.array([float(x) for x in sys.argv[1].split(',')]); v = v[v > 0]\n" +
            "lo = math.floor(math.log10(v.min()) * 5); hi = math.ceil(math.log10(v.max()) * 5)\n" +
            "e = 10 ** (np.arange(lo, hi + 1) / 5)\n" +
            "c, _ = np.histogram(v, bins=e)\n" +
            "print(json.dumps({'counts': c.tolist(), 'edges': e.tolist()}))", arg);
        if (code != 0 && (err.Contains("No module named 'numpy'") || err.Contains("No such file"))) Assert.Skip("Debian's python3-numpy is missing");
        Assert.True(code == 0, err);
        var doc = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(doc.GetProperty("counts").EnumerateArray().Select(x => x.GetInt64()), bins.Counts);
        var edges = doc.GetProperty("edges").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(edges.Length, bins.Edges.Length);
        for (var i = 0; i < edges.Length; i++) Assert.Equal(edges[i], bins.Edges[i], 1e-9 * edges[i]);

        var fig = new Figure("tail").LogHistogram("label frequency", values).ToJson();
        Assert.Equal("log", (string?)fig["layout"]!["xaxis"]!["type"]);
        Assert.Equal("log", (string?)fig["layout"]!["yaxis"]!["type"]);
        Assert.Equal("label frequency (501 values ≤ 0 not shown)", (string?)fig["data"]![0]!["name"]);
        Assert.Equal(bins.Counts.Count(c => c > 0), fig["data"]![0]!["y"]!.AsArray().Count);
    }
}
