using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Reporting;

public class ReportingTests
{
    [Fact]
    public void FigureJsonMatchesHandWrittenPlotlyStructure()
    {
        var fig = new Figure("Training")
            .XAxis("epoch")
            .YAxis("loss", AxisType.Log)
            .Line("train", [1, 2, 3], [0.9, 0.5, double.NaN])
            .Scatter("val", [1, 3], [0.8, 0.4])
            .Legend();
        var expected = JsonNode.Parse("""
            {"data": [
               {"type": "scatter", "mode": "lines", "name": "train", "x": [1, 2, 3], "y": [0.9, 0.5, null]},
               {"type": "scatter", "mode": "markers", "name": "val", "x": [1, 3], "y": [0.8, 0.4]}],
             "layout": {"xaxis": {"title": {"text": "epoch"}},
                        "yaxis": {"type": "log", "title": {"text": "loss"}},
                        "title": {"text": "Training"}, "showlegend": true}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, fig.ToJson()), fig.ToJsonString());

        var hist = new Figure().LogX().LogY().Histogram("labels per point", [1, 1, 2, 5], bins: 20).Legend(false);
        var expectedHist = JsonNode.Parse("""
            {"data": [{"type": "histogram", "name": "labels per point", "x": [1, 1, 2, 5], "nbinsx": 20}],
             "layout": {"xaxis": {"type": "log"}, "yaxis": {"type": "log"}, "showlegend": false}}
            """);
        Assert.True(JsonNode.DeepEquals(expectedHist, hist.ToJson()), hist.ToJsonString());

        Assert.Throws<ArgumentException>(() => new Figure().Line("bad", [1, 2], [1]));
        Assert.Throws<ArgumentException>(() => new Figure().Bar("bad", ["a"], [1, 2]));
        // What a renderer gets: plotly JSON, HTML fallback, text.
        var bundle = fig.ToMimeBundle();
        Assert.Equal([MimeTypes.Plotly, MimeTypes.Html, MimeTypes.Plain], bundle.Keys.Order(StringComparer.Ordinal));
    }

    private static ResultTable Tricky() =>
        new ResultTable("Tricky | table", ["name", "P@1", "note"], new Scale("d,1", "ci", [1, 2], "CPU, \"tiny\""))
            .AddRow("a,b", 0.1 + 0.2, "say \"hi\"")
            .AddRow(" padded ", 1.0, "two\nlines")
            .AddRow("pipe|star*under_score`<b>", null, "back\\slash")
            .Format("P@1", "F2");

    [Fact]
    public void CsvQuotesLikeRfc4180AndPythonReadsItBack()
    {
        var t = Tricky();
        var csv = t.ToCsv();
        Assert.Equal(
            "name,P@1,note,scale_dataset,scale_profile,scale_seeds,scale_note\n" +
            "\"a,b\",0.30000000000000004,\"say \"\"hi\"\"\",\"d,1\",ci,1;2,\"CPU, \"\"tiny\"\"\"\n" +
            "\" padded \",1,\"two\nlines\",\"d,1\",ci,1;2,\"CPU, \"\"tiny\"\"\"\n" +
            "pipe|star*under_score`<b>,,back\\slash,\"d,1\",ci,1;2,\"CPU, \"\"tiny\"\"\"\n",
            csv);

        // Independent reader: Python's csv module must recover every cell exactly.
        var dir = Repo.TempDir();
        var path = Path.Combine(dir, "t.csv");
        t.SaveCsv(path);
        var (code, stdout, err) = Python("import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='')))))", path);
        if (code != 0 && err.Contains("No such file")) Assert.Skip("/usr/bin/python3 is missing");
        Assert.Equal(0, code);
        var rows = JsonSerializer.Deserialize<string[][]>(stdout)!;
        Assert.Equal(["a,b", "0.30000000000000004", "say \"hi\"", "d,1", "ci", "1;2", "CPU, \"tiny\""], rows[1]);
        Assert.Equal(" padded ", rows[2][0]);
        Assert.Equal("two\nlines", rows[2][2]);
        Assert.Equal(["pipe|star*under_score`<b>", "", "back\\slash"], rows[3][..3]);
    }

    [Fact]
    public void MarkdownAndHtmlEscapeCellsAndCarryTheScale()
    {
        var t = Tricky();
        Assert.Equal("""
            **Tricky \| table**

            | name | P@1 | note |
            | --- | ---: | --- |
            | a,b | 0.30 | say "hi" |
            | padded | 1.00 | two<br>lines |
            | pipe\|star\*under\_score\`&lt;b> |  | back\\slash |

            *Scale: dataset d,1 · profile ci · seeds 1, 2 · CPU, "tiny"*

            """.Replace("\r\n", "\n"), t.ToMarkdown());

        var html = t.ToHtml();
        Assert.Contains("<caption>Tricky | table<br><small>dataset d,1 &#183; profile ci &#183; seeds 1, 2 &#183; CPU, &quot;tiny&quot;</small></caption>", html);
        Assert.Contains("<td>pipe|star*under_score`&lt;b&gt;</td>", html);
        Assert.Contains("<td style=\"text-align:right\">0.30</td>", html);
        Assert.Contains("<td>two<br>lines</td>", html);

        var text = new ResultTable("T", ["method", "P@1"]).AddRow("BM25", 12.5).AddRow("NGAME", 3.0).ToText();
        Assert.Equal("T\nmethod   P@1\n------  ----\nBM25    12.5\nNGAME      3\n", text);
        Assert.Throws<ArgumentException>(() => new ResultTable("x", ["a", "b"]).AddRow(1));
        Assert.Throws<ArgumentException>(() => new ResultTable("x", ["a", "a"]));
    }

    [Fact]
    public void ResultsSaveWritesTablesAndChartsIntoTheScopedFolder()
    {
        var dir = Repo.TempDir();
        var plotly = Repo.Path_("tools", "assets", "node_modules", "plotly.js-dist-min", "plotly.min.js");
        using (Results.UseDirectory(dir))
        {
            Assert.Equal(dir, Results.Directory);
            var files = Results.Save("tbl", new ResultTable("T", ["a"]).AddRow(1));
            Assert.Equal([Path.Combine(dir, "tbl.csv"), Path.Combine(dir, "tbl.md"), Path.Combine(dir, "tbl.html"), Path.Combine(dir, "tbl.parquet")], files);
            Assert.Throws<ArgumentException>(() => Results.Save("../escape", "x"));
            if (File.Exists(plotly))
            {
                var fig = new Figure("saved").Line("l", [1, 2], [3, 4]);
                var written = Results.Save("fig", fig);
                Assert.Contains(Path.Combine(dir, "fig.html"), written);
                var html = File.ReadAllText(Path.Combine(dir, "fig.html"));
                // plotly.js is not inlined (4.8 MB per chart) but copied once beside the results and loaded relatively.
                Assert.DoesNotContain(File.ReadAllText(plotly)[..200], html);
                Assert.Contains("<script src=\"assets/plotly.min.js\"></script>", html);
                Assert.Equal(File.ReadAllBytes(plotly), File.ReadAllBytes(Path.Combine(dir, "assets", "plotly.min.js")));
                Assert.True(new FileInfo(Path.Combine(dir, "fig.html")).Length < 10_000);
                Assert.Contains("\"title\":{\"text\":\"saved\"}", html);
                var copied = File.GetLastWriteTimeUtc(Path.Combine(dir, "assets", "plotly.min.js"));
                Results.Save("fig2", fig);
                Assert.Equal(copied, File.GetLastWriteTimeUtc(Path.Combine(dir, "assets", "plotly.min.js"))); // copied once
                var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "fig.plotly.json")));
                Assert.True(JsonNode.DeepEquals(fig.ToJson(), json));
            }
        }
        Assert.NotEqual(dir, Results.Directory);
        var missing = Assert.Throws<FileNotFoundException>(() => ChartExport.PlotlyJsPath(dir));
        Assert.Contains("tools/assets.sh", missing.Message);
    }

    [Fact]
    public void PngExportUsesHeadlessChromiumOrSaysWhyNot()
    {
        var plotly = Repo.Path_("tools", "assets", "node_modules", "plotly.js-dist-min", "plotly.min.js");
        if (!File.Exists(plotly)) Assert.Skip("plotly.js is not installed: run tools/assets.sh");
        var dir = Repo.TempDir();
        var png = Path.Combine(dir, "bars.png");
        var fig = new Figure("bars") { Width = 640, Height = 360 }.Bar("a", ["x", "y"], [1, 2]);
        var result = ChartExport.SavePng(fig, png, plotly);
        if (ChartExport.FindChromium() is null)
        {
            Assert.False(result.Saved);
            Assert.Contains("chromium is not installed", result.Message);
            Assert.False(File.Exists(png));
            return;
        }
        Assert.True(result.Saved, result.Message);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        // IHDR width and height (big-endian at bytes 16..24) equal the requested window size.
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(360, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        // Not a blank page: the bars' colour (Plotly's first default, #1f77b4) is drawn somewhere.
        Assert.Equal(0, Python("import sys,zlib,struct\n" +
            "d=open(sys.argv[1],'rb').read(); i=8; idat=b''\n" +
            "while i < len(d):\n n=struct.unpack('>I',d[i:i+4])[0]; t=d[i+4:i+8]\n if t==b'IHDR': w,h,bd,ct=struct.unpack('>IIBB',d[i+8:i+18])\n if t==b'IDAT': idat+=d[i+8:i+8+n]\n i+=12+n\n" +
            "raw=zlib.decompress(idat); bpp=4 if ct==6 else 3; stride=w*bpp+1\n" +
            "rows=[]; prev=bytearray(w*bpp)\n" +
            "for y in range(h):\n f=raw[y*stride]; line=bytearray(raw[y*stride+1:(y+1)*stride])\n" +
            " for x in range(len(line)):\n  a=line[x-bpp] if x>=bpp else 0; b=prev[x]; c=prev[x-bpp] if x>=bpp else 0\n" +
            "  p=a+b-c; pa,pb,pc=abs(p-a),abs(p-b),abs(p-c)\n" +
            "  pr=a if pa<=pb and pa<=pc else (b if pb<=pc else c)\n" +
            "  line[x]=(line[x]+[0,a,b,(a+b)//2,pr][f])&255\n rows.append(line); prev=line\n" +
            "n=sum(1 for r in rows for x in range(0,len(r),bpp) if abs(r[x]-0x1f)<8 and abs(r[x+1]-0x77)<8 and abs(r[x+2]-0xb4)<8)\n" +
            "sys.exit(0 if n>1000 else 1)", png).Code);
    }
}
