using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Common;

namespace ViXml.Reporting.Site;

/// <summary>Inputs of <see cref="ResultsSite.Build"/>.</summary>
public sealed record ResultsSiteOptions
{
    /// <summary>results/&lt;profile&gt;/: executed notebooks NN-*.ipynb, saved tables and charts, reproduce.json.</summary>
    public required string ResultsDirectory { get; init; }

    /// <summary>paper-tables/ (its *.md are rendered); null or missing = no comparison pages.</summary>
    public string? PaperTablesDirectory { get; init; }

    /// <summary>plotly.min.js to copy once into the site; null = <see cref="ChartExport.PlotlyJsPath()"/>.</summary>
    public string? PlotlyJsPath { get; init; }

    /// <summary>Output folder; null = &lt;ResultsDirectory&gt;/site.</summary>
    public string? SiteDirectory { get; init; }
}

/// <summary>What was built: the site folder, its pages and how many tables and charts they carry.</summary>
public sealed record ResultsSiteResult(string SiteDirectory, string IndexPage, IReadOnlyList<string> Pages,
    int Notebooks, int Tables, int Charts, IReadOnlyList<string> Warnings);

/// <summary>
/// <c>vixml report</c>: a static, offline results site under results/&lt;profile&gt;/site/ — an index with the run's
/// metadata (git SHA, machine, times from reproduce.json and the notebooks' papermill metadata) and every saved table and
/// chart grouped by notebook, each executed notebook rendered with its outputs, and the paper-table comparison. Data
/// files (CSV, Parquet, Markdown, PNG, Plotly JSON, the executed .ipynb) are copied under files/ so the folder can be
/// zipped and shared; plotly.js is copied once to assets/ and every page loads it by relative path. Nothing in the
/// pages points to another host.
/// </summary>
public static partial class ResultsSite
{
    public const string PlotlyAsset = "assets/plotly.min.js";

    private static readonly string[] DataExtensions = [".csv", ".parquet", ".md", ".png", ".plotly.json"];

    public static ResultsSiteResult Build(ResultsSiteOptions o)
    {
        var results = Path.GetFullPath(o.ResultsDirectory);
        if (!Directory.Exists(results))
            throw new DirectoryNotFoundException($"results folder not found: {results} (run ./vixml reproduce first)");
        var site = Path.GetFullPath(o.SiteDirectory ?? Path.Combine(results, "site"));
        var warnings = new List<string>();
        var notebooks = Directory.GetFiles(results, "*.ipynb").Where(p => NumberedNotebook().IsMatch(Path.GetFileName(p)))
            .Order(StringComparer.Ordinal).ToList();
        var items = ResultItems(results, warnings);
        if (notebooks.Count == 0 && items.Count == 0)
            throw new FileNotFoundException($"{results} holds no executed notebooks (NN-*.ipynb) and no saved tables or charts");

        // Build into a sibling temp folder, then swap it in, so a failed build never leaves half a site.
        var temp = site + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(temp);
        try
        {
            Directory.CreateDirectory(Path.Combine(temp, "files"));
            Directory.CreateDirectory(Path.Combine(temp, "notebooks"));
            foreach (var item in items)
                foreach (var f in item.Files)
                    File.Copy(Path.Combine(results, f), Path.Combine(temp, "files", f));

            var pages = new List<string>();
            var rendered = new List<(string File, RenderedNotebook Nb)>();
            foreach (var nb in notebooks)
            {
                var name = Path.GetFileNameWithoutExtension(nb);
                var r = NotebookHtml.Render(nb);
                File.Copy(nb, Path.Combine(temp, "files", Path.GetFileName(nb)));
                var page = $"notebooks/{name}.html";
                File.WriteAllText(Path.Combine(temp, page), NotebookPage(name, r));
                pages.Add(page);
                rendered.Add((name, r));
                if (r.Errors > 0) warnings.Add($"{Path.GetFileName(nb)}: {r.Errors} error output(s)");
            }

            var paper = new List<(string Page, string Title)>();
            if (o.PaperTablesDirectory is { } ptd && Directory.Exists(ptd))
            {
                Directory.CreateDirectory(Path.Combine(temp, "paper"));
                foreach (var md in Directory.GetFiles(ptd, "*.md").Order(StringComparer.Ordinal))
                {
                    var name = Path.GetFileNameWithoutExtension(md);
                    var text = File.ReadAllText(md);
                    var title = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith('#'))?.TrimStart('#').Trim() ?? name;
                    var page = $"paper/{name}.html";
                    File.WriteAllText(Path.Combine(temp, page), Page(title, "../", false,
                        $"<p class=\"crumbs\"><a href=\"../index.html\">results</a> · paper-tables/{SiteHtml.E(name)}.md</p>\n" +
                        MiniMarkdown.ToHtml(text)));
                    pages.Add(page);
                    paper.Add((page, title));
                }
            }
            else warnings.Add($"paper tables folder not found: {o.PaperTablesDirectory ?? "(none given)"}");

            var (index, tables, charts) = IndexPage(results, rendered, items, paper);
            File.WriteAllText(Path.Combine(temp, "index.html"), index);
            pages.Insert(0, "index.html");

            // One copy of plotly.js for every page that draws (none needed for a site without charts).
            if (charts > 0 || rendered.Any(r => r.Nb.Charts > 0))
            {
                Directory.CreateDirectory(Path.Combine(temp, "assets"));
                File.Copy(o.PlotlyJsPath ?? ChartExport.PlotlyJsPath(), Path.Combine(temp, PlotlyAsset));
            }

            if (Directory.Exists(site)) Directory.Delete(site, true);
            Directory.Move(temp, site);
            return new ResultsSiteResult(site, Path.Combine(site, "index.html"), pages, notebooks.Count, tables, charts, warnings);
        }
        catch
        {
            try { Directory.Delete(temp, true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>A saved result: NAME with its files; a table when NAME.csv exists, a chart when NAME.plotly.json does.</summary>
    private sealed record ResultItem(string Name, bool IsTable, bool IsChart, List<string> Files);

    private static List<ResultItem> ResultItems(string results, List<string> warnings)
    {
        var byName = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in Directory.GetFiles(results))
        {
            var file = Path.GetFileName(path);
            var ext = DataExtensions.FirstOrDefault(e => file.EndsWith(e, StringComparison.Ordinal));
            if (ext is null) continue;
            var name = file[..^ext.Length];
            if (!byName.TryGetValue(name, out var list)) byName[name] = list = [];
            list.Add(file);
        }
        var items = new List<ResultItem>();
        foreach (var (name, files) in byName)
        {
            var table = files.Contains(name + ".csv");
            var chart = files.Contains(name + ".plotly.json");
            if (!table && !chart) continue; // e.g. a README.md: not a result
            if (table && chart) warnings.Add($"{name}: both a table (.csv) and a chart (.plotly.json); shown as both");
            files.Sort(StringComparer.Ordinal);
            items.Add(new ResultItem(name, table, chart, files));
        }
        return items;
    }

    /// <summary>
    /// Results belong to the notebook whose name without its NN- prefix starts their file name (00-datasets →
    /// datasets-*), the naming the notebooks follow; others are listed under "Other results".
    /// </summary>
    public static string? OwnerOf(string resultName, IEnumerable<string> notebookNames) =>
        notebookNames.Select(n => (Notebook: n, Slug: NumberPrefix().Replace(n, "")))
            .Where(x => resultName == x.Slug || resultName.StartsWith(x.Slug + "-", StringComparison.Ordinal))
            .OrderByDescending(x => x.Slug.Length).Select(x => x.Notebook).FirstOrDefault();

    private static (string Html, int Tables, int Charts) IndexPage(string results, List<(string File, RenderedNotebook Nb)> notebooks,
        List<ResultItem> items, List<(string Page, string Title)> paper)
    {
        var sb = new StringBuilder();
        var repro = ReadJson(Path.Combine(results, "reproduce.json"));
        var profile = (string?)repro?["profile"] ?? Path.GetFileName(results);
        sb.Append("<p class=\"scale\">CPU-scale numbers from this repository (embedded Debian data, random init unless a table says otherwise): ")
          .Append("never the paper's numbers. Every table carries its scale line.</p>\n");

        sb.Append("<h2>Run</h2>\n<table class=\"meta\">\n");
        void Meta(string k, string? v) =>
            sb.Append("<tr><th>").Append(SiteHtml.E(k)).Append("</th><td>").Append(SiteHtml.E(v ?? "not recorded")).Append("</td></tr>\n");
        Meta("profile", profile);
        Meta("git commit", (string?)repro?["git_sha"]);
        Meta("machine", (string?)repro?["machine"]);
        Meta("reproduce finished (UTC)", repro?["finished_utc"] is null ? null : Time((string?)repro["finished_utc"]));
        Meta("reproduce wall time", repro?["seconds"] is JsonValue sv && sv.TryGetValue<double>(out var secs) ? Seconds(secs) : null);
        Meta("outcome", repro is null ? null : (bool?)repro["succeeded"] == true ? "succeeded" : $"failed: {(string?)repro["failure"]}");
        Meta("runner", notebooks.Select(n => n.Nb.Runner).FirstOrDefault(r => r is not null));
        sb.Append("</table>\n");

        if (notebooks.Count > 0)
        {
            sb.Append("<h2>Notebooks</h2>\n<table class=\"meta\">\n<thead><tr><th>notebook</th><th>started (UTC)</th><th>finished (UTC)</th><th>time</th><th>cells</th><th>charts</th><th>errors</th></tr></thead>\n<tbody>\n");
            foreach (var (file, nb) in notebooks)
                sb.Append("<tr><td><a href=\"notebooks/").Append(Url(file)).Append(".html\">").Append(SiteHtml.E(file)).Append("</a> — ")
                  .Append(SiteHtml.E(nb.Title)).Append("</td><td>").Append(SiteHtml.E(Time(nb.StartTime))).Append("</td><td>")
                  .Append(SiteHtml.E(Time(nb.EndTime))).Append("</td><td style=\"text-align:right\">").Append(nb.Seconds is { } s ? Seconds(s) : "")
                  .Append("</td><td style=\"text-align:right\">").Append(nb.Cells).Append("</td><td style=\"text-align:right\">").Append(nb.Charts)
                  .Append("</td><td style=\"text-align:right\">").Append(nb.Errors).Append("</td></tr>\n");
            sb.Append("</tbody>\n</table>\n");
        }
        if (paper.Count > 0)
        {
            sb.Append("<h2>Paper comparison</h2>\n<ul>\n");
            foreach (var (page, title) in paper)
                sb.Append("<li><a href=\"").Append(Url(page)).Append("\">").Append(SiteHtml.E(title)).Append("</a></li>\n");
            sb.Append("</ul>\n");
        }

        int tables = 0, charts = 0;
        var names = notebooks.Select(n => n.File).ToList();
        var groups = items.GroupBy(i => OwnerOf(i.Name, names)).OrderBy(g => g.Key is null ? 1 : 0).ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var g in groups)
        {
            var nb = notebooks.FirstOrDefault(n => n.File == g.Key);
            sb.Append("<h2>").Append(g.Key is null ? "Other results" : SiteHtml.E($"{g.Key} — {nb.Nb.Title}")).Append("</h2>\n");
            if (g.Key is not null) sb.Append("<p><a href=\"notebooks/").Append(Url(g.Key)).Append(".html\">the executed notebook</a></p>\n");
            foreach (var item in g.Where(i => i.IsTable))
            {
                tables++;
                sb.Append("<section class=\"result\" id=\"").Append(SiteHtml.E(item.Name)).Append("\">\n");
                sb.Append(TableHtml(results, item.Name));
                sb.Append(Downloads(item));
                sb.Append("</section>\n");
            }
            foreach (var item in g.Where(i => i.IsChart))
            {
                var fig = ReadJson(Path.Combine(results, item.Name + ".plotly.json"))
                          ?? throw new InvalidDataException($"{Path.Combine(results, item.Name + ".plotly.json")}: not a Plotly figure (empty or invalid JSON)");
                if (fig["data"] is not JsonArray)
                    throw new InvalidDataException($"{Path.Combine(results, item.Name + ".plotly.json")}: not a Plotly figure (no \"data\" array)");
                charts++;
                sb.Append("<section class=\"result\" id=\"").Append(SiteHtml.E(item.Name)).Append("\">\n");
                sb.Append(NotebookHtml.ChartDiv(fig, "chart-" + item.Name));
                sb.Append(Downloads(item));
                sb.Append("</section>\n");
            }
        }
        return (Page($"ViXml results — profile {profile}", "", charts > 0, sb.ToString()), tables, charts);
    }

    // Our own table writer's HTML when it is there (it keeps display formats and the caption); otherwise the CSV.
    private static string TableHtml(string results, string name)
    {
        var html = Path.Combine(results, name + ".html");
        if (File.Exists(html))
        {
            var text = File.ReadAllText(html);
            if (text.StartsWith("<table class=\"vixml-result\">", StringComparison.Ordinal)) return text;
        }
        return ResultTable.ReadCsv(Path.Combine(results, name + ".csv"), name).ToHtml();
    }

    private static string Downloads(ResultItem item) =>
        "<p class=\"files\">" + string.Join(" · ", item.Files.Select(f =>
            $"<a href=\"files/{Url(f)}\">{SiteHtml.E(f[item.Name.Length..].TrimStart('.'))}</a>")) + "</p>\n";

    private static string NotebookPage(string name, RenderedNotebook nb)
    {
        var head = new StringBuilder();
        head.Append("<p class=\"crumbs\"><a href=\"../index.html\">results</a> · ").Append(SiteHtml.E(name))
            .Append(".ipynb · <a href=\"../files/").Append(Url(name)).Append(".ipynb\">download the executed notebook</a></p>\n");
        head.Append("<table class=\"meta\">\n");
        void Row(string k, string? v) { if (v is not null) head.Append("<tr><th>").Append(k).Append("</th><td>").Append(SiteHtml.E(v)).Append("</td></tr>\n"); }
        Row("started (UTC)", nb.StartTime is null ? null : Time(nb.StartTime));
        Row("finished (UTC)", nb.EndTime is null ? null : Time(nb.EndTime));
        Row("time", nb.Seconds is { } s ? Seconds(s) : null);
        Row("runner", nb.Runner);
        if (nb.Parameters.Count > 0) Row("parameters", string.Join(", ", nb.Parameters.Select(kv => $"{kv.Key}={kv.Value}")));
        head.Append("</table>\n");
        // The notebook's own first heading is the page's heading; crumbs and run times go right under it.
        var body = nb.BodyHtml;
        var firstHeading = body.IndexOf("</h1>", StringComparison.Ordinal);
        if (nb.TitleFromHeading && firstHeading >= 0)
            return Page(nb.Title, "../", nb.Charts > 0, body.Insert(firstHeading + 5, "\n" + head), heading: false);
        return Page(nb.Title, "../", nb.Charts > 0, head + body);
    }

    private const string Css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#222;line-height:1.45}
        h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
        table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}
        th{background:#f4f4f4;text-align:left}caption{text-align:left;font-weight:600;padding:.3rem 0;white-space:nowrap}caption small{font-weight:400;color:#555}
        pre{background:#f7f7f7;padding:.5rem;overflow-x:auto;font-size:.82rem}.output pre,.output.stream{background:#fff;border-left:3px solid #ddd}
        .output.stderr{border-left-color:#e0a000}.output.error{border-left-color:#c00;color:#900}
        .cell{margin:1rem 0}.prompt{color:#666;font-size:.8rem}.time,.tag{background:#eef;border-radius:3px;padding:0 .3rem}
        .vixml-chart{width:100%;min-height:300px}.files{font-size:.85rem;color:#555}.scale{background:#fff8e0;padding:.5rem;border:1px solid #eed}
        .crumbs{font-size:.85rem}.ext{color:#555}
        """;

    // Charts draw through one function so a page without plotly.js says so instead of failing silently.
    private const string PlotScript = """
        function vixmlPlot(id, fig) {
          var el = document.getElementById(id);
          if (!window.Plotly) { el.textContent = "plotly.js did not load"; console.error("plotly.js did not load"); return; }
          Plotly.newPlot(el, fig.data, fig.layout, {displaylogo: false, responsive: true});
        }
        """;

    private static string Page(string title, string rootPrefix, bool charts, string body, bool heading = true)
    {
        var sb = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(SiteHtml.E(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n");
        if (charts)
            sb.Append("<script src=\"").Append(rootPrefix).Append(PlotlyAsset).Append("\"></script>\n<script>\n").Append(PlotScript).Append("</script>\n");
        sb.Append("</head>\n<body>\n");
        if (heading) sb.Append("<h1>").Append(SiteHtml.E(title)).Append("</h1>\n");
        sb.Append(body).Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>An ISO-8601 UTC time as "yyyy-MM-dd HH:mm:ss" (papermill writes microseconds); other text unchanged.</summary>
    public static string Time(string? iso) =>
        iso is null ? "" : DateTime.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : iso;

    private static string Seconds(double s) =>
        s < 120 ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s"
            : $"{(int)(s / 60)} min {(s % 60).ToString("00", CultureInfo.InvariantCulture)} s";

    private static string Url(string relative) => string.Join('/', relative.Split('/').Select(Uri.EscapeDataString));

    private static JsonNode? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON: {e.Message}", e);
        }
    }

    [GeneratedRegex(@"^\d{2}-.+\.ipynb$")] private static partial Regex NumberedNotebook();
    [GeneratedRegex(@"^\d{2}-")] private static partial Regex NumberPrefix();
}
