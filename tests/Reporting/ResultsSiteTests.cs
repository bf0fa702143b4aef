using System.Buffers.Binary;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Reporting;
using ViXml.Reporting.Site;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Reporting;

/// <summary>
/// The offline results site (<c>vixml report</c>) over a small fake results/ci/ (tests/fixtures/site: an executed
/// notebook and reproduce.json, plus tables and charts saved here through the real Results.Save), and its check in
/// headless Chromium.
/// </summary>
public partial class ResultsSiteTests
{
    private static string PlotlyJs()
    {
        var plotly = Repo.Path_("tools", "assets", "node_modules", "plotly.js-dist-min", "plotly.min.js");
        if (!File.Exists(plotly)) Assert.Skip("plotly.js is not installed: run tools/assets.sh");
        return plotly;
    }

    /// <summary>A results/ci/ folder like reproduce leaves it, and a paper-tables/ folder beside it.</summary>
    private static readonly Lazy<string> Template = new(() => MakeFakeResults().Root);

    /// <summary>A fresh copy of the fake results (figures saved once: their PNG export runs chromium).</summary>
    private static (string Results, string Paper) FakeResults()
    {
        var root = Repo.TempDir("vixml-site");
        foreach (var f in Directory.GetFiles(Template.Value, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(root, Path.GetRelativePath(Template.Value, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        return (Path.Combine(root, "results", "ci"), Path.Combine(root, "paper-tables"));
    }

    private static (string Root, string Results, string Paper) MakeFakeResults()
    {
        var root = Repo.TempDir("vixml-site");
        var results = Path.Combine(root, "results", "ci");
        Directory.CreateDirectory(results);
        foreach (var f in Directory.GetFiles(Repo.Fixture("site", "results-ci")))
            File.Copy(f, Path.Combine(results, Path.GetFileName(f)));
        using (Results.UseDirectory(results))
        {
            var scale = new Scale("tiny", "ci", [1, 2], "CPU, embedded Debian data, random init");
            Results.Save("demo-scores", new ResultTable("Demo: P@k (%)", ["method", "runs", "P@1"], scale)
                .AddRow("bm25", 1, 20.2345).AddRow("ngame <b>", 2, 14.8).Format("P@1", "F2"));
            Results.Save("demo-curve", new Figure("Demo: loss per epoch").XAxis("epoch").IntegerX()
                .Line("a", [0, 1, 2], [double.NaN, 0.5, 0.25], markers: true).Line("b", [0, 1, 2], [double.NaN, 0.6, 0.3]));
            Results.Save("demo-bars", new Figure("Demo: bars").Bar("P@1", ["bm25", "ngame"], [20.2, 14.8]));
            Results.Save("misc", new ResultTable("Unowned table", ["k", "v"]).AddRow("x", 1));
        }
        var paper = Path.Combine(root, "paper-tables");
        Directory.CreateDirectory(paper);
        File.Copy(Repo.Path_("paper-tables", "text-encoders.md"), Path.Combine(paper, "text-encoders.md"));
        return (root, results, paper);
    }

    private static ResultsSiteResult Build(string results, string paper, string plotly) =>
        ResultsSite.Build(new ResultsSiteOptions { ResultsDirectory = results, PaperTablesDirectory = paper, PlotlyJsPath = plotly });

    [GeneratedRegex(@"\b(?:href|src)\s*=\s*""([^""]*)""", RegexOptions.IgnoreCase)]
    private static partial Regex LinkAttr();

    [Fact]
    public void SiteHasEveryPageTableAndChartAndEveryLinkResolvesLocally()
    {
        var plotly = PlotlyJs();
        var (results, paper) = FakeResults();
        var r = Build(results, paper, plotly);
        var site = Path.Combine(results, "site");
        Assert.Equal(site, r.SiteDirectory);
        Assert.Equal(["index.html", "notebooks/01-demo.html", "paper/text-encoders.html"], r.Pages);
        Assert.Equal((1, 2, 2), (r.Notebooks, r.Tables, r.Charts));
        Assert.Empty(r.Warnings);
        foreach (var f in new[] { "assets/plotly.min.js", "files/01-demo.ipynb", "files/demo-scores.csv", "files/demo-scores.parquet",
                     "files/demo-scores.md", "files/demo-curve.plotly.json", "files/demo-bars.plotly.json", "files/misc.csv" })
            Assert.True(File.Exists(Path.Combine(site, f)), f);

        var pages = Directory.GetFiles(site, "*.html", SearchOption.AllDirectories);
        Assert.Equal(3, pages.Length);
        var plotlyHead = File.ReadAllText(plotly)[..200];
        foreach (var page in pages)
        {
            var html = File.ReadAllText(page);
            // Nothing that could reach another host: no scheme-qualified URL anywhere in the page.
            Assert.DoesNotMatch(@"(?i)https?:", html);
            Assert.DoesNotContain("//cdn", html);
            Assert.DoesNotContain(plotlyHead, html); // plotly.js is never inlined
            foreach (Match m in LinkAttr().Matches(html))
            {
                var target = WebUtility.HtmlDecode(m.Groups[1].Value);
                if (target.StartsWith("data:", StringComparison.Ordinal) || target.StartsWith('#')) continue;
                var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(target.Split('#')[0])));
                Assert.True(File.Exists(path), $"{Path.GetRelativePath(site, page)} links to {target}, which does not exist");
                Assert.StartsWith(site + Path.DirectorySeparatorChar, path); // the site is self-contained
            }
        }
        // Exactly one plotly.js in the whole site, loaded once by each page that draws.
        Assert.Single(Directory.GetFiles(site, "*.js", SearchOption.AllDirectories));
        var index = File.ReadAllText(Path.Combine(site, "index.html"));
        var nbPage = File.ReadAllText(Path.Combine(site, "notebooks", "01-demo.html"));
        Assert.Single(Regex.Matches(index, Regex.Escape("<script src=\"assets/plotly.min.js\"></script>")));
        Assert.Single(Regex.Matches(nbPage, Regex.Escape("<script src=\"../assets/plotly.min.js\"></script>")));
        Assert.DoesNotContain("plotly.min.js", File.ReadAllText(Path.Combine(site, "paper", "text-encoders.html"))); // no chart, no script
    }

    [Fact]
    public void IndexCarriesRunMetadataTablesWithTheirScaleAndChartsGroupedByNotebook()
    {
        var (results, paper) = FakeResults();
        Build(results, paper, PlotlyJs());
        var index = File.ReadAllText(Path.Combine(results, "site", "index.html"));
        Assert.Contains("<td>0123456789abcdef0123456789abcdef01234567</td>", index);
        Assert.Contains("<td>2 cores, Unix 6.1.0.0</td>", index);
        Assert.Contains("<td>2026-12-01 10:01:06</td>", index);
        Assert.Contains("<td>succeeded</td>", index);
        Assert.Contains("<a href=\"notebooks/01-demo.html\">01-demo</a> — 01 · Demo — a fixture notebook", index);
        Assert.Contains("<td>2026-12-01 10:00:00</td><td>2026-12-01 10:01:05</td>", index);
        Assert.Contains("<td style=\"text-align:right\">65.5 s</td>", index);
        Assert.Contains("<a href=\"paper/text-encoders.html\">Text encoders (paper: text-only encoder results)</a>", index);
        // The table as our writer renders it (display format F2, scale line, escaped text), with its downloads.
        Assert.Contains("<caption>Demo: P@k (%)<br><small>dataset tiny &#183; profile ci &#183; seeds 1, 2 &#183; CPU, embedded Debian data, random init</small></caption>", index);
        Assert.Contains("<td style=\"text-align:right\">20.23</td>", index);
        Assert.Contains("<td>ngame &lt;b&gt;</td>", index);
        Assert.Contains("<a href=\"files/demo-scores.parquet\">parquet</a>", index);
        // Grouping: demo-* under notebook 01-demo (by name), misc under "Other results", after it.
        var demo = index.IndexOf("<h2>01-demo — 01 · Demo — a fixture notebook</h2>", StringComparison.Ordinal);
        var other = index.IndexOf("<h2>Other results</h2>", StringComparison.Ordinal);
        Assert.True(demo > 0 && other > demo);
        Assert.InRange(index.IndexOf("id=\"chart-demo-curve\"", StringComparison.Ordinal), demo, other);
        Assert.InRange(index.IndexOf("id=\"chart-demo-bars\"", StringComparison.Ordinal), demo, other);
        Assert.True(index.IndexOf("Unowned table", StringComparison.Ordinal) > other);
        // The chart's figure is embedded verbatim: the JSON in the page equals the saved .plotly.json.
        var m = Regex.Match(index, "vixmlPlot\\(\"chart-demo-curve\", (.*)\\);</script>");
        Assert.True(m.Success);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Path.Combine(results, "demo-curve.plotly.json"))),
            JsonNode.Parse(m.Groups[1].Value.Replace("<\\/", "</"))));
        // Integer epoch ticks on the curve.
        Assert.Contains("\"tickmode\":\"linear\",\"tick0\":0,\"dtick\":1", m.Groups[1].Value);
    }

    [Fact]
    public void NotebookPageRendersMarkdownCodeAndEveryOutputSafely()
    {
        var (results, paper) = FakeResults();
        Build(results, paper, PlotlyJs());
        var page = File.ReadAllText(Path.Combine(results, "site", "notebooks", "01-demo.html"));
        Assert.Single(Regex.Matches(page, "<h1>01 · Demo — a fixture notebook</h1>")); // the notebook's heading is the page's
        Assert.Contains("<p>The <strong>demo</strong> trains <code>nothing</code>; see the data README <span class=\"ext\">(../data/README.md)</span> and the paper " +
                        "<span class=\"ext\">(arxiv.org/abs/2511.13189)</span>.</p>", page);
        Assert.Contains("<li>one &lt;b&gt;not bold&lt;/b&gt;</li>", page); // raw HTML in markdown is text
        Assert.Contains("<td>x | y</td><td style=\"text-align:right\">1.5</td>", page);
        Assert.Contains("<tr><th>parameters</th><td>profile=ci</td></tr>", page);
        Assert.Contains("In [1] <span class=\"time\">0.01 s</span> <span class=\"tag\">parameters</span>", page);
        Assert.Contains("<code>var result = Demo.Run(profile, Console.Out);\nif (a &lt; b &amp;&amp; c &gt; d) {}</code>", page);
        Assert.Contains("<pre class=\"output stream stdout\">epoch 1/3 loss 0.5\ndone\n</pre>", page); // ANSI colours stripped
        Assert.Contains("<pre class=\"output stream stderr\">warning: &lt;slow&gt; machine\n</pre>", page);
        Assert.Contains("<caption>Scores<br><small>dataset tiny · profile ci · seeds 1, 2</small></caption>", page); // text/html output
        Assert.DoesNotContain("fallback", page); // the Plotly JSON wins over the bundle's HTML fallback
        Assert.Contains("<pre class=\"plain\">&quot;2 files&quot;</pre>", page);
        // A "</script>" inside the figure cannot end the script block early.
        var m = Regex.Match(page, "vixmlPlot\\(\"nbchart-1\", (.*)\\);</script>");
        Assert.True(m.Success);
        Assert.DoesNotContain("</script>", m.Groups[1].Value);
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(results, "01-demo.ipynb")))!;
        var fig = nb["cells"]![3]!["outputs"]![1]!["data"]!["application/vnd.plotly.v1+json"];
        Assert.True(JsonNode.DeepEquals(fig, JsonNode.Parse(m.Groups[1].Value.Replace("<\\/", "</"))));
    }

    [Fact]
    public void BadInputNamesTheFileAndLeavesThePreviousSiteInPlace()
    {
        var plotly = PlotlyJs();
        var (results, paper) = FakeResults();
        Build(results, paper, plotly);
        var index = Path.Combine(results, "site", "index.html");
        var before = File.ReadAllText(index);
        File.WriteAllText(Path.Combine(results, "demo-bars.plotly.json"), "{\"data\": [");
        var e = Assert.Throws<InvalidDataException>(() => Build(results, paper, plotly));
        Assert.Contains(Path.Combine(results, "demo-bars.plotly.json"), e.Message);
        Assert.Equal(before, File.ReadAllText(index));
        Assert.Equal([Path.Combine(results, "site")], Directory.GetDirectories(results).Where(d => !d.EndsWith("assets", StringComparison.Ordinal)));

        File.Delete(Path.Combine(results, "demo-bars.plotly.json"));
        File.WriteAllText(Path.Combine(results, "02-broken.ipynb"), "{\"cells\": 3}");
        Assert.Contains("02-broken.ipynb", Build(results, paper, plotly).Stale); // not this run's (reproduce.json does not list it)
        var repro = JsonNode.Parse(File.ReadAllText(Path.Combine(results, "reproduce.json")))!;
        repro["notebooks"]!.AsArray().Add(new JsonObject { ["notebook"] = "02-broken.ipynb", ["output"] = "02-broken.ipynb", ["results"] = new JsonArray() });
        File.WriteAllText(Path.Combine(results, "reproduce.json"), repro.ToJsonString());
        e = Assert.Throws<InvalidDataException>(() => Build(results, paper, plotly));
        Assert.Contains("02-broken.ipynb: not a notebook", e.Message);

        var missing = Assert.Throws<DirectoryNotFoundException>(() => Build(Path.Combine(results, "nope"), paper, plotly));
        Assert.Contains("run ./vixml reproduce first", missing.Message);
    }

    [Fact]
    public void ReportCommandBuildsTheSiteAndNamesAMissingResultsFolder()
    {
        PlotlyJs();
        var (results, paper) = FakeResults();
        var root = Path.GetDirectoryName(results)!;
        var (code, stdout, stderr) = ViXml.Tests.Xmc.CliRunner.Run("report", "--profile", "ci", "--results", root, "--paper-tables", paper);
        Assert.True(code == 0, stderr);
        Assert.Contains($"report: 1 notebooks, 2 tables, 2 charts, 3 pages -> {Path.Combine(results, "site", "index.html")}", stdout);
        Assert.True(File.Exists(Path.Combine(results, "site", "notebooks", "01-demo.html")));

        (code, _, stderr) = ViXml.Tests.Xmc.CliRunner.Run("report", "--profile", "cpu", "--results", root);
        Assert.Equal(2, code);
        Assert.Contains($"error: results folder not found: {Path.Combine(root, "cpu")} (run ./vixml reproduce first)", stderr);
    }

    [Fact]
    public void MiniMarkdownCoversWhatOurNotebooksAndPaperTablesUse()
    {
        Assert.Equal("<h2>Title <code>x*y</code></h2>\n", MiniMarkdown.ToHtml("## Title `x*y`"));
        Assert.Equal("<ol>\n<li>one continued</li>\n<li><em>two</em></li>\n</ol>\n",
            MiniMarkdown.ToHtml("1. one\n   continued\n2. *two*"));
        Assert.Equal("<pre><code>a &lt; b\n  c</code></pre>\n", MiniMarkdown.ToHtml("```csharp\na < b\n  c\n```"));
        Assert.Equal("<p>a_b_c and 2 * 3 * 4</p>\n", MiniMarkdown.ToHtml("a_b_c and 2 * 3 * 4"));
        Assert.Equal("<p>kept &lt; and<br>break, escaped *not em*</p>\n",
            MiniMarkdown.ToHtml("kept &lt; and<br>break, escaped \\*not em\\*"));
        Assert.Equal("", MiniMarkdown.ToHtml("<!-- generated, do not edit -->\n"));
        Assert.Equal("<p>x <span class=\"ext\">(example.org/a)</span></p>\n", MiniMarkdown.ToHtml("[x](https://example.org/a)"));
        Assert.Equal("<p>x <span class=\"ext\">(javascript:alert(1)</span>)</p>\n", MiniMarkdown.ToHtml("[x](javascript:alert(1))"));
        Assert.Equal("<blockquote>\n<p>quoted</p>\n</blockquote>\n", MiniMarkdown.ToHtml("> quoted"));
    }

    [Fact]
    public void ResultsBelongToTheNotebookTheirNameStartsWith()
    {
        string[] nbs = ["00-datasets", "01-text-encoders", "02-text"];
        Assert.Equal("00-datasets", ResultsSite.OwnerOf("datasets-statistics", nbs));
        Assert.Equal("01-text-encoders", ResultsSite.OwnerOf("text-encoders-p1-curves", nbs)); // longest match wins
        Assert.Equal("02-text", ResultsSite.OwnerOf("text-bars", nbs));
        Assert.Null(ResultsSite.OwnerOf("datasetsfoo", nbs));
        Assert.Null(ResultsSite.OwnerOf("bm25", nbs));
    }

    [Fact]
    public void ChromiumSeesEveryChartDrawnNoErrorsAndNoRequestOffTheMachine()
    {
        var plotly = PlotlyJs();
        if (ChartExport.FindChromium() is null) Assert.Skip("chromium is not installed (tools/setup.sh tests installs it)");
        var (results, paper) = FakeResults();
        var site = Build(results, paper, plotly).SiteDirectory;
        var shot = Path.Combine(site, "screenshot.png");
        var r = SiteCheck.Run(site, shot);
        Assert.True(r.Ok, string.Join("\n", r.Problems()));
        Assert.Equal(["index.html", "notebooks/01-demo.html", "paper/text-encoders.html"], r.Pages.Select(p => p.Page));
        Assert.Equal([2, 1, 0], r.Pages.Select(p => p.ChartsWithTraces));
        var png = File.ReadAllBytes(shot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Equal(1280, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.True(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)) > 900); // the full page, not one screen

        // The same check fails a page that a CDN would serve, that logs an error, or whose chart draws nothing.
        File.WriteAllText(Path.Combine(site, "bad.html"), """
            <!DOCTYPE html><html><head><script src="assets/plotly.min.js"></script>
            <script src="https://cdn.invalid/plotly.js"></script></head><body>
            <div class="vixml-chart" id="c"></div>
            <script>Plotly.newPlot("c", [], {}); console.error("boom");</script>
            <img src="files/missing.png"></body></html>
            """);
        var bad = SiteCheck.Run(site, shot).Pages.Single(p => p.Page == "bad.html");
        Assert.False(bad.Ok);
        Assert.Contains("https://cdn.invalid/plotly.js", bad.ExternalRequests);
        Assert.Contains(bad.ConsoleErrors, e => e.Contains("boom"));
        Assert.Contains(bad.FailedRequests, f => f.Contains("files/missing.png"));
        Assert.Equal(["c (0 of 0 traces)"], bad.EmptyCharts);
    }
}
