using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Common;
using ViXml.Reporting;
using ViXml.Reporting.Site;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Reporting;

/// <summary>
/// Issue 20's site classes: everything in a results folder is data (escaped, tables rebuilt from CSV, only regular
/// files copied, figures without external URLs), only what the run's reproduce.json lists is shown, and the build
/// cleans its own leftovers and names the path it cannot write.
/// </summary>
public partial class ResultsSiteTests
{
    // Every payload tries to leave one of two marks: document.title "PWNED" or window.PWNED.
    internal const string Pwn = "window.PWNED=1;document.title='PWNED'";
    internal const string ImgPwn = "<img src=x onerror=\"" + Pwn + "\">";
    internal const string ScriptPwn = "<script>" + Pwn + "</script>";

    internal static JsonObject HostileFigure() => new()
    {
        ["data"] = new JsonArray(new JsonObject
        {
            ["type"] = "scatter", ["name"] = ScriptPwn, ["x"] = new JsonArray(0, 1, 2), ["y"] = new JsonArray(1.0, 0.5, 0.25),
            ["hovertemplate"] = "<a href=\"javascript:" + Pwn + "\">x</a>",
        }),
        ["layout"] = new JsonObject
        {
            ["title"] = new JsonObject { ["text"] = "</script>" + ScriptPwn + "<!--" },
            ["images"] = new JsonArray(
                new JsonObject { ["source"] = "https://evil.invalid/track.png", ["x"] = 0, ["y"] = 1, ["sizex"] = 1, ["sizey"] = 1 },
                new JsonObject { ["source"] = "//evil.invalid/track2.png", ["x"] = 0, ["y"] = 1, ["sizex"] = 1, ["sizey"] = 1 }),
            ["annotations"] = new JsonArray(new JsonObject
            {
                ["text"] = "<a href=\"javascript:" + Pwn + "\">click</a> see http://evil.invalid/page", ["x"] = 1, ["y"] = 1, ["showarrow"] = false,
            }),
            ["height"] = 300,
        },
    };

    private static JsonObject Output(string mime, JsonNode value) => new()
    {
        ["output_type"] = "display_data", ["metadata"] = new JsonObject(), ["data"] = new JsonObject { [mime] = value },
    };

    internal static string HostileNotebook()
    {
        var nb = new JsonObject
        {
            ["nbformat"] = 4, ["nbformat_minor"] = 5,
            ["metadata"] = new JsonObject
            {
                ["papermill"] = new JsonObject
                {
                    ["runner"] = ScriptPwn, ["parameters"] = new JsonObject { ["profile"] = ImgPwn },
                    ["start_time"] = ScriptPwn, ["duration"] = 1.5,
                },
            },
            ["cells"] = new JsonArray(
                new JsonObject
                {
                    ["cell_type"] = "markdown", ["metadata"] = new JsonObject(),
                    ["source"] = $"# Evil {ScriptPwn}\n\n[x](javascript:{Pwn}) {ImgPwn} <a href=\"javascript:{Pwn}\">a</a>",
                },
                new JsonObject
                {
                    ["cell_type"] = "code", ["execution_count"] = 1,
                    ["metadata"] = new JsonObject { ["tags"] = new JsonArray(ImgPwn) },
                    ["source"] = ScriptPwn,
                    ["outputs"] = new JsonArray(
                        Output("text/html", $"{ImgPwn}{ScriptPwn}<b onclick=\"{Pwn}\" style=\"color:red\">kept</b><a href=\"javascript:{Pwn}\">link</a>" +
                                            $"<div style=\"background:url(http://evil.invalid/bg.png)\">bg</div><iframe src=\"javascript:{Pwn}\"></iframe>" +
                                            $"<svg onload=\"{Pwn}\"></svg><img src=\"https://evil.invalid/i.png\"><object data=\"x.swf\"></object>"),
                        Output("image/svg+xml", $"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"{Pwn}\">{ScriptPwn}<image href=\"http://evil.invalid/s.png\"/></svg>"),
                        Output("text/markdown", ScriptPwn + " [m](javascript:" + Pwn + ")"),
                        Output("application/vnd.plotly.v1+json", HostileFigure()),
                        new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = ScriptPwn },
                        new JsonObject { ["output_type"] = "error", ["ename"] = ScriptPwn, ["evalue"] = ImgPwn, ["traceback"] = new JsonArray(ScriptPwn) }),
                }),
        };
        return nb.ToJsonString();
    }

    /// <summary>A results folder a hostile or careless user could leave, with a secret outside it that a symlink points at.</summary>
    private static (string Results, string Paper, string Secret) HostileResults()
    {
        var root = Repo.TempDir("vixml-hostile");
        var results = Path.Combine(root, "results", "ci");
        Directory.CreateDirectory(results);
        var secret = Path.Combine(root, "outside", "id_key.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(secret)!);
        File.WriteAllText(secret, "k,v\nSECRET-KEY-0123456789,1\n");

        File.WriteAllText(Path.Combine(results, "01-evil.ipynb"), HostileNotebook());
        // A chart whose name breaks out of an attribute and out of a JavaScript string.
        var quoteName = "evil\"+(window.PWNED=1,document.title='PWNED')+\"";
        var tagName = "evil2\"><img src=x onerror=" + Pwn.Replace("'", "") + ">";
        foreach (var n in new[] { quoteName, tagName, "evil-figure" })
            File.WriteAllText(Path.Combine(results, n + ".plotly.json"), HostileFigure().ToJsonString());
        // A table whose saved .html starts like ours but carries script; its CSV carries script in cells and the scale line.
        File.WriteAllText(Path.Combine(results, "evil-table.html"), $"<table class=\"vixml-result\"><caption>{ImgPwn}</caption></table>");
        File.WriteAllText(Path.Combine(results, "evil-table.csv"),
            $"method,\"{ImgPwn.Replace("\"", "\"\"")}\",scale_dataset,scale_profile,scale_seeds,scale_note\n" +
            $"{ScriptPwn},1,{ScriptPwn},ci,1,\"{ImgPwn.Replace("\"", "\"\"")}\"\n");
        File.WriteAllBytes(Path.Combine(results, "evil-table.parquet"), [0x50, 0x41, 0x52, 0x31, 1, 2, 3]); // not Parquet
        // Symbolic links: to a key outside the folder (as a table and as a download), and a notebook link.
        File.CreateSymbolicLink(Path.Combine(results, "leak.csv"), secret);
        File.CreateSymbolicLink(Path.Combine(results, "evil-table.md"), secret);
        File.CreateSymbolicLink(Path.Combine(results, "02-leak.ipynb"), secret);
        var listed = Directory.GetFiles(results).Select(Path.GetFileName).Where(f => f != "01-evil.ipynb").ToList();
        var repro = new JsonObject
        {
            ["profile"] = "ci", ["git_sha"] = ImgPwn, ["machine"] = ScriptPwn, ["finished_utc"] = ScriptPwn, ["succeeded"] = false,
            ["failure"] = ScriptPwn, ["seconds"] = 3.5,
            ["notebooks"] = new JsonArray(
                new JsonObject { ["notebook"] = "01-evil.ipynb", ["output"] = "01-evil.ipynb", ["results"] = new JsonArray(listed.Select(f => (JsonNode?)f).ToArray()) },
                new JsonObject { ["notebook"] = "02-leak.ipynb", ["output"] = "02-leak.ipynb", ["results"] = new JsonArray() }),
        };
        File.WriteAllText(Path.Combine(results, "reproduce.json"), repro.ToJsonString());
        var paper = Path.Combine(root, "paper-tables");
        Directory.CreateDirectory(paper);
        File.WriteAllText(Path.Combine(paper, "evil.md"), $"# Evil {ImgPwn}\n\n{ScriptPwn}\n\n[x](javascript:{Pwn}) ![i](https://evil.invalid/i.png)\n");
        return (results, paper, secret);
    }

    [GeneratedRegex(@"<script\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptOpen();

    [GeneratedRegex(@"\s(on[a-z]+)\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex EventAttr();

    [GeneratedRegex(@"<[A-Za-z][^>]*>")]
    private static partial Regex RealTag();

    [Fact]
    public void AHostileResultsFolderIsDataEscapedCopiedOnlyIfRegularAndNeverReachesAnotherHost()
    {
        var (results, paper, _) = HostileResults();
        var r = Build(results, paper, PlotlyJs());
        var site = r.SiteDirectory;
        Assert.Equal((1, 1, 3), (r.Notebooks, r.Tables, r.Charts));
        // Symlinks are never followed: the key is nowhere in the site, and the build says why each link was skipped.
        foreach (var f in Directory.GetFiles(site, "*", SearchOption.AllDirectories))
        {
            Assert.False(new FileInfo(f).LinkTarget is not null, f);
            if (!f.EndsWith(".js", StringComparison.Ordinal)) Assert.DoesNotContain("SECRET-KEY", File.ReadAllText(f));
        }
        Assert.False(File.Exists(Path.Combine(site, "files", "leak.csv")));
        Assert.False(File.Exists(Path.Combine(site, "files", "evil-table.md")));
        Assert.False(File.Exists(Path.Combine(site, "notebooks", "02-leak.html")));
        foreach (var link in new[] { "leak.csv", "evil-table.md", "02-leak.ipynb" })
            Assert.Contains(r.Warnings, w => w.StartsWith(link + ": a symbolic link", StringComparison.Ordinal));
        // External references in figures are removed, and the page and the build say so.
        Assert.Contains(r.Warnings, w => w.Contains("evil-figure.plotly.json") && w.Contains("external reference(s) removed") && w.Contains("layout.images[0].source"));
        Assert.Contains(r.Warnings, w => w.StartsWith("01-evil.ipynb: nbchart-1: ", StringComparison.Ordinal));
        Assert.Contains(r.Warnings, w => w.Contains("evil-table.parquet: unreadable Parquet metadata"));

        var index = File.ReadAllText(Path.Combine(site, "index.html"));
        Assert.Contains("external reference(s) removed from this figure", index);
        // The table comes from the CSV, escaped (title = its name: the Parquet copy is unreadable), never the saved .html.
        Assert.Contains("<caption>evil-table<br><small>", index);
        Assert.Contains("<td>&lt;script&gt;window.PWNED=1;document.title=&#39;PWNED&#39;&lt;/script&gt;</td>", index);
        foreach (var page in Directory.GetFiles(site, "*.html", SearchOption.AllDirectories))
        {
            var html = File.ReadAllText(page);
            var rel = Path.GetRelativePath(site, page);
            Assert.DoesNotMatch(@"(?i)https?:", html);
            if (!rel.StartsWith("paper", StringComparison.Ordinal))
                Assert.DoesNotContain("evil.invalid", html); // figures and notebook outputs keep no host, not even as text
            // Only our own script blocks: plotly.js by relative path, the vixmlPlot helper, and vixmlPlot calls.
            foreach (Match m in ScriptOpen().Matches(html))
            {
                var after = html.AsSpan(m.Index + m.Length, Math.Min(40, html.Length - m.Index - m.Length)).ToString();
                Assert.True(m.Value.Contains("plotly.min.js") || after.StartsWith("\nfunction vixmlPlot", StringComparison.Ordinal)
                            || after.StartsWith("vixmlPlot(", StringComparison.Ordinal), $"{rel}: unexpected script {m.Value}{after}");
            }
            // Every real tag (text has its "<" escaped), with its quoted values blanked: no event handler attribute.
            foreach (Match tag in RealTag().Matches(Regex.Replace(html, "<script>.*?</script>", "", RegexOptions.Singleline)))
                Assert.False(EventAttr().IsMatch(Regex.Replace(tag.Value, "\"[^\"]*\"", "\"\"")), $"{rel}: an event handler in {tag.Value}");
            foreach (Match m in LinkAttr().Matches(html))
            {
                var target = WebUtility.HtmlDecode(m.Groups[1].Value);
                Assert.True(target.StartsWith("data:image/", StringComparison.Ordinal) || !target.Contains(':'), $"{rel}: {target}");
            }
        }
    }

    [Fact]
    public void ChromiumWithoutNetworkRunsNoPayloadOfAHostileResultsFolder()
    {
        var plotly = PlotlyJs();
        if (ChartExport.FindChromium() is null) Assert.Skip("chromium is not installed (tools/setup.sh tests installs it)");
        var (results, paper, _) = HostileResults();
        var site = Build(results, paper, plotly).SiteDirectory;
        var check = SiteCheck.Run(site, Path.Combine(site, "screenshot.png"), probe: "window.PWNED");
        Assert.Equal(["index.html", "notebooks/01-evil.html", "paper/evil.html"], check.Pages.Select(p => p.Page));
        foreach (var p in check.Pages)
        {
            Assert.True(p.Probe == "undefined", $"{p.Page}: a payload ran (window.PWNED = {p.Probe})");
            Assert.NotEqual("PWNED", p.Title);
        }
        // Nothing failed, nothing left the machine, and every chart (external images stripped) still drew its trace.
        Assert.True(check.Ok, string.Join("\n", check.Problems()));
        Assert.Equal([3, 1, 0], check.Pages.Select(p => p.ChartsWithTraces));
    }

    [Fact]
    public void OnlyWhatReproduceJsonListsIsShownAndTheRestIsNamedAsStale()
    {
        var (results, paper) = FakeResults();
        // An older run's notebook and table, and an older PNG beside a current chart: none listed in reproduce.json.
        File.Copy(Path.Combine(results, "01-demo.ipynb"), Path.Combine(results, "02-old.ipynb"));
        File.WriteAllText(Path.Combine(results, "old-scores.csv"), "method,P@1\nbm25,99\n");
        File.WriteAllText(Path.Combine(results, "demo-extra.plotly.json"), "{\"data\": []}");
        var r = Build(results, paper, PlotlyJs());
        Assert.Equal((1, 2, 2), (r.Notebooks, r.Tables, r.Charts));
        Assert.Equal(["02-old.ipynb", "demo-extra.plotly.json", "old-scores.csv"], r.Stale);
        Assert.Contains(r.Warnings, w => w.Contains("3 file(s)") && w.Contains("not written by the run reproduce.json describes"));
        var site = r.SiteDirectory;
        Assert.False(File.Exists(Path.Combine(site, "notebooks", "02-old.html")));
        Assert.False(File.Exists(Path.Combine(site, "files", "old-scores.csv")));
        var index = File.ReadAllText(Path.Combine(site, "index.html"));
        Assert.DoesNotContain("<td style=\"text-align:right\">99</td>", index);
        Assert.Contains("<h2 id=\"stale\">Not from this run</h2>", index);
        Assert.Contains("<li>old-scores.csv</li>", index);
        Assert.Contains("<li>02-old.ipynb</li>", index);

        // A reproduce.json from before the result lists: everything is shown, and the site says it cannot tell.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(results, "reproduce.json")))!;
        json["notebooks"]![0]!.AsObject().Remove("results");
        File.WriteAllText(Path.Combine(results, "reproduce.json"), json.ToJsonString());
        r = Build(results, paper, PlotlyJs());
        Assert.Equal((2, 3, 3), (r.Notebooks, r.Tables, r.Charts));
        Assert.Empty(r.Stale);
        Assert.Contains(r.Warnings, w => w.Contains("lists no result files per notebook"));
        Assert.Contains("lists no result files per notebook", File.ReadAllText(Path.Combine(site, "index.html")));
    }

    [Fact]
    public void PaperTablesIgnoreAResultsCsvThisRunDidNotWrite()
    {
        var root = Repo.TempDir("vixml-stale-pt");
        var results = Path.Combine(root, "results", "ci");
        var paper = Path.Combine(root, "paper-tables");
        Directory.CreateDirectory(results);
        Directory.CreateDirectory(paper);
        File.Copy(Repo.Path_("paper-tables", "paper-numbers.json"), Path.Combine(paper, "paper-numbers.json"));
        File.WriteAllText(Path.Combine(results, PaperTablesGenerator.DatasetsCsv),
            "dataset,labels,train points,test points,labels per train point,train points per label,zero-shot share %,scale_dataset,scale_profile,scale_seeds,scale_note\n" +
            "stale-set,777,10,5,1.5,2.5,3,stale-set,ci,,\n");
        var log = new StringWriter();
        string Datasets(IReadOnlySet<string>? runFiles)
        {
            var ctx = new PaperTableContext("ci", results, paper, log) { RunFiles = runFiles };
            new PaperTablesGenerator().Generate(ctx);
            return File.ReadAllText(Path.Combine(paper, "datasets.md"));
        }
        var stale = Datasets(new HashSet<string>());
        Assert.Contains($"Ignored as stale (in results/ci/ but not written by this run): {PaperTablesGenerator.DatasetsCsv}.", stale);
        Assert.Contains($"ignoring {Path.Combine(results, PaperTablesGenerator.DatasetsCsv)}: not written by this run (stale)", log.ToString());
        var fresh = Datasets(new HashSet<string> { PaperTablesGenerator.DatasetsCsv });
        Assert.DoesNotContain("Ignored as stale", fresh);
        Assert.Contains("ours: stale-set", fresh);
        Assert.DoesNotContain("stale-set", stale);
        Assert.Equal(fresh, Datasets(null)); // no run record: every file counts, as before
    }

    [Fact]
    public void AKilledReportsLeftoversAreRemovedOnlyTheirsAndTheSiteIsSwappedIn()
    {
        var plotly = PlotlyJs();
        var (results, paper) = FakeResults();
        var first = Build(results, paper, plotly);
        var dead = Path.Combine(results, ".site.build-999999");      // a killed build of this version (no such pid)
        var legacy = Path.Combine(results, "site.tmp-0123abcd");     // a killed build of an earlier version
        var fresh = Path.Combine(results, "site.tmp-89abcdef");      // maybe still being written by an earlier version
        var notOurs = Path.Combine(results, "site.tmp-notours1");
        var alive = Path.Combine(results, $".site.build-{Environment.ProcessId}x");
        foreach (var d in new[] { dead, legacy, fresh, notOurs, alive }) Directory.CreateDirectory(d);
        Directory.SetLastWriteTimeUtc(legacy, DateTime.UtcNow.AddHours(-2));
        Directory.SetLastWriteTimeUtc(notOurs, DateTime.UtcNow.AddHours(-2));
        var r = Build(results, paper, plotly);
        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(legacy));
        Assert.True(Directory.Exists(fresh));
        Assert.True(Directory.Exists(notOurs));
        Assert.True(Directory.Exists(alive));
        Assert.Equal(first.Pages, r.Pages);
        Assert.True(File.Exists(r.IndexPage));
        Assert.Equal([alive], Directory.GetDirectories(results, ".site.*")); // not a PID: not ours to remove
    }

    [Fact]
    public void AnUnwritableSiteNamesItsPathAsAnEnvironmentError()
    {
        var plotly = PlotlyJs();
        var (results, paper) = FakeResults();
        var file = Path.Combine(results, "a-file");
        File.WriteAllText(file, "x");
        foreach (var target in new[] { Path.Combine(file, "site"), "/proc/vixml-no-such-place/site" })
        {
            var e = Assert.ThrowsAny<IOException>(() => ResultsSite.Build(new ResultsSiteOptions
                { ResultsDirectory = results, PaperTablesDirectory = paper, PlotlyJsPath = plotly, SiteDirectory = target }));
            Assert.IsType<OutputPathException>(e);
            Assert.Contains(target, e.Message);
            Assert.Equal(ErrorKind.Environment, UserError.Classify(e));
        }
        // The CLI: exit 74 (environment), one line naming the site's path.
        var site = Path.Combine(results, "site");
        if (Directory.Exists(site)) Directory.Delete(site, true);
        File.WriteAllText(site, "a file where the site goes");
        var (code, _, stderr) = ViXml.Tests.Xmc.CliRunner.Run("report", "--profile", "ci", "--results", Path.GetDirectoryName(results)!, "--paper-tables", paper);
        Assert.Equal(74, code);
        Assert.Contains($"error: cannot write {site}: it is a file", stderr);
    }

    [Fact]
    public void APlotlyOutputThatIsNotJsonNamesTheNotebookAndCellAsAUserError()
    {
        var (results, paper) = FakeResults();
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(results, "01-demo.ipynb")))!;
        nb["cells"]![3]!["outputs"]![1]!["data"]!["application/vnd.plotly.v1+json"] = "{not json";
        File.WriteAllText(Path.Combine(results, "01-demo.ipynb"), nb.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => Build(results, paper, PlotlyJs()));
        Assert.StartsWith($"{Path.Combine(results, "01-demo.ipynb")}: cell 4, output 2: ", e.Message);
        Assert.Equal(ErrorKind.Input, UserError.Classify(e));

        var (code, _, stderr) = ViXml.Tests.Xmc.CliRunner.Run("report", "--profile", "ci", "--results", Path.GetDirectoryName(results)!, "--paper-tables", paper);
        Assert.Equal(2, code);
        Assert.Contains($"error: {Path.Combine(results, "01-demo.ipynb")}: cell 4, output 2: ", stderr);
        Assert.DoesNotContain("internal error", stderr);
    }

    [Fact]
    public void SanitizedNotebookHtmlKeepsFormattingAndDropsEverythingActive()
    {
        Assert.Equal("<table class=\"vixml-result\"><caption>T<br><small>a · b</small></caption><tr><td style=\"text-align:right\">1 &lt; 2</td></tr></table>",
            SiteHtml.Sanitize("<table class=\"vixml-result\"><caption>T<br><small>a &#183; b</small></caption><tr><td style=\"text-align:right\">1 &lt; 2</td></tr></table>"));
        Assert.Equal("<b>kept</b>link", SiteHtml.Sanitize("<b onclick=\"x()\">kept</b><a href=\"javascript:x()\">link</a><script>x()</script>"));
        Assert.Equal("<div>bg</div>", SiteHtml.Sanitize("<div style=\"background:url(http://h/x.png)\">bg</div>"));
        Assert.Equal("a &lt; b", SiteHtml.Sanitize("a < b"));
        Assert.Equal("x", SiteHtml.Sanitize("<!-- c -->x<style>body{}</style><iframe src=x></iframe>"));
        Assert.Equal("\"a\\u0022);x(\\u0022\"", SiteHtml.JsString("a\");x(\""));
        Assert.Equal("\"\\u003C/script\\u003E\"", SiteHtml.JsString("</script>"));
    }
}
