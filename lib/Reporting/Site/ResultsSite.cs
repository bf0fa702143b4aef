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
    int Notebooks, int Tables, int Charts, IReadOnlyList<string> Warnings)
{
    /// <summary>Files in the results folder that the run's reproduce.json does not list (an older run's): not shown.</summary>
    public IReadOnlyList<string> Stale { get; init; } = [];
}

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

    /// <summary>Largest table CSV and figure JSON the site reads (ours are kilobytes).</summary>
    public const long MaxDataBytes = 32L << 20;

    public static ResultsSiteResult Build(ResultsSiteOptions o)
    {
        var results = Path.GetFullPath(o.ResultsDirectory);
        if (!Directory.Exists(results))
            throw new DirectoryNotFoundException($"results folder not found: {results} (run ./vixml reproduce first)");
        var site = Path.GetFullPath(o.SiteDirectory ?? Path.Combine(results, "site"));
        var warnings = new List<string>();
        var files = DataFiles(results, warnings);
        var run = RunListing.Read(Path.Combine(results, "reproduce.json"));
        var notebooks = files.Where(f => NumberedNotebook().IsMatch(f)).Order(StringComparer.Ordinal).ToList();
        var items = ResultItems(files, warnings);
        var stale = new List<string>();
        if (run.Fresh is { } fresh)
        {
            // Only what this run wrote: executed notebooks and saved results of an older run stay out of the site.
            stale.AddRange(notebooks.Where(n => !fresh.Contains(n)));
            notebooks = notebooks.Where(fresh.Contains).ToList();
            var kept = new List<ResultItem>();
            foreach (var item in items)
            {
                var current = item.Files.Where(fresh.Contains).ToList();
                stale.AddRange(item.Files.Where(f => !fresh.Contains(f)));
                var table = item.IsTable && current.Contains(item.Name + ".csv");
                var chart = item.IsChart && current.Contains(item.Name + ".plotly.json");
                if (table || chart) kept.Add(item with { IsTable = table, IsChart = chart, Files = current });
                else stale.AddRange(current);
            }
            items = kept;
            stale.Sort(StringComparer.Ordinal);
            if (stale.Count > 0)
                warnings.Add($"{stale.Count} file(s) in {results} were not written by the run reproduce.json describes and are not shown: " +
                             string.Join(", ", stale.Take(8)) + (stale.Count > 8 ? ", …" : ""));
        }
        else warnings.Add(run.Why!);
        if (notebooks.Count == 0 && items.Count == 0)
            throw new FileNotFoundException($"{results} holds no executed notebooks (NN-*.ipynb) and no saved tables or charts" +
                                            (stale.Count > 0 ? $" from the run reproduce.json describes ({stale.Count} stale file(s) ignored)" : ""));

        // Build beside the site, then exchange it in (DirectorySwap), so a failed or killed build never leaves half a
        // site or no site; leftovers of killed builds (ours: .site.build-PID, .site.old-PID, and the site.tmp-XXXXXXXX
        // of earlier versions) are removed here.
        string temp;
        try
        {
            CleanLegacyTemp(site);
            temp = DirectorySwap.Begin(site);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not OutputPathException)
        {
            throw new OutputPathException($"cannot write the results site {site}: {e.Message}", e);
        }
        try
        {
            void Write(string relative, string text) => Out(site, () => File.WriteAllText(Path.Combine(temp, relative), text));
            void Copy(string from, string relative) => Out(site, () => File.Copy(from, Path.Combine(temp, relative)));
            Out(site, () => Directory.CreateDirectory(Path.Combine(temp, "files")));
            Out(site, () => Directory.CreateDirectory(Path.Combine(temp, "notebooks")));
            foreach (var item in items)
                foreach (var f in item.Files)
                    Copy(Path.Combine(results, f), Path.Combine("files", f));

            var pages = new List<string>();
            var rendered = new List<(string File, RenderedNotebook Nb)>();
            foreach (var nbFile in notebooks)
            {
                var nb = Path.Combine(results, nbFile);
                var name = Path.GetFileNameWithoutExtension(nb);
                var r = NotebookHtml.Render(nb);
                Copy(nb, Path.Combine("files", nbFile));
                var page = $"notebooks/{name}.html";
                Write(page, NotebookPage(name, r));
                pages.Add(page);
                rendered.Add((name, r));
                if (r.Errors > 0) warnings.Add($"{nbFile}: {r.Errors} error output(s)");
                warnings.AddRange(r.Notes.Select(n => $"{nbFile}: {n}"));
            }

            var paper = new List<(string Page, string Title)>();
            if (o.PaperTablesDirectory is { } ptd && Directory.Exists(ptd))
            {
                Out(site, () => Directory.CreateDirectory(Path.Combine(temp, "paper")));
                foreach (var md in Directory.GetFiles(ptd, "*.md").Order(StringComparer.Ordinal))
                {
                    if (!IsPlainFile(md)) { warnings.Add($"{md}: not a regular file; skipped"); continue; }
                    var name = Path.GetFileNameWithoutExtension(md);
                    var text = ReadText(md);
                    var title = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith('#'))?.TrimStart('#').Trim() ?? name;
                    var page = $"paper/{Url(name)}.html";
                    Write(Path.Combine("paper", name + ".html"), Page(title, "../", false,
                        $"<p class=\"crumbs\"><a href=\"../index.html\">results</a> · paper-tables/{SiteHtml.E(name)}.md</p>\n" +
                        MiniMarkdown.ToHtml(text)));
                    pages.Add($"paper/{name}.html");
                    paper.Add((page, title));
                }
            }
            else warnings.Add($"paper tables folder not found: {o.PaperTablesDirectory ?? "(none given)"}");

            var (index, tables, charts) = IndexPage(results, run, rendered, items, paper, stale, warnings);
            Write("index.html", index);
            pages.Insert(0, "index.html");

            // One copy of plotly.js for every page that draws (none needed for a site without charts).
            if (charts > 0 || rendered.Any(r => r.Nb.Charts > 0))
            {
                Out(site, () => Directory.CreateDirectory(Path.Combine(temp, "assets")));
                Copy(o.PlotlyJsPath ?? ChartExport.PlotlyJsPath(), PlotlyAsset);
            }

            Out(site, () => DirectorySwap.Commit(temp, site));
            return new ResultsSiteResult(site, Path.Combine(site, "index.html"), pages, notebooks.Count, tables, charts, warnings)
                { Stale = stale };
        }
        catch
        {
            try { Directory.Delete(temp, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>A failure to write the site (disk full, permissions, a file where a folder goes) names the site's path.</summary>
    private static void Out(string site, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not (OutputPathException or FileNotFoundException))
        {
            throw new OutputPathException($"cannot write the results site {site}: {e.Message}", e);
        }
    }

    /// <summary>
    /// site.tmp-XXXXXXXX folders beside the site: what builds before the exchange-rename left when killed. Only that exact
    /// pattern, only beside this site, and only when untouched for 10 minutes (an older ViXml may still be writing one).
    /// </summary>
    private static void CleanLegacyTemp(string site)
    {
        var parent = Path.GetDirectoryName(site)!;
        if (!Directory.Exists(parent)) return;
        var prefix = Path.GetFileName(site) + ".tmp-";
        foreach (var d in Directory.GetDirectories(parent, prefix + "*"))
        {
            var suffix = Path.GetFileName(d)[prefix.Length..];
            if (suffix.Length != 8 || !suffix.All(char.IsAsciiHexDigitLower)) continue;
            var info = new DirectoryInfo(d);
            if (info.LinkTarget is not null || DateTime.UtcNow - info.LastWriteTimeUtc < TimeSpan.FromMinutes(10)) continue;
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// The files of the results folder the site may read and copy: regular files physically inside it (a symbolic link
    /// is never followed: it could point at a key), not empty (devices and pipes show as empty and would block a read).
    /// </summary>
    private static List<string> DataFiles(string results, List<string> warnings)
    {
        var list = new List<string>();
        foreach (var path in Directory.GetFiles(results))
        {
            var file = Path.GetFileName(path);
            var relevant = DataExtensions.Any(e => file.EndsWith(e, StringComparison.Ordinal)) || NumberedNotebook().IsMatch(file);
            if (!relevant) continue;
            var info = new FileInfo(path);
            if (info.LinkTarget is not null) { warnings.Add($"{file}: a symbolic link (to {info.LinkTarget}); not shown or copied: the site takes only regular files inside {results}"); continue; }
            if (info.Length == 0) { warnings.Add($"{file}: empty (or not a regular file); not shown"); continue; }
            list.Add(file);
        }
        return list;
    }

    private static bool IsPlainFile(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null && info.Length > 0;
    }

    /// <summary>A data file's text, refused above <see cref="MaxDataBytes"/> (or <paramref name="max"/>) before reading.</summary>
    private static string ReadText(string path, long max = MaxDataBytes)
    {
        var len = new FileInfo(path).Length;
        if (len > max) throw new InputLimitException($"{path}: {len:N0} bytes; the site reads data files up to {max:N0} bytes");
        return File.ReadAllText(path);
    }

    /// <summary>
    /// What reproduce.json says the run wrote: each notebook's executed copy ("output") and the files it saved
    /// ("results"). <see cref="Fresh"/> is null (everything is shown) when there is no reproduce.json or it predates
    /// the result lists; <see cref="Why"/> says which.
    /// </summary>
    private sealed record RunListing(JsonObject? Json, HashSet<string>? Fresh, string? Why)
    {
        public static RunListing Read(string path)
        {
            if (!File.Exists(path)) return new(null, null, $"no reproduce.json in {Path.GetDirectoryName(path)}: every file there is shown; the site cannot tell which run wrote it");
            var node = ReadJson(path);
            if (node is not JsonObject json) throw new InvalidDataException($"{path}: not a reproduce summary (expected a JSON object)");
            if (json["notebooks"] is not JsonArray nbs || nbs.Count == 0)
                return new(json, null, $"{path} lists no notebooks: every file in the folder is shown, stale or not");
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            foreach (var nb in nbs)
            {
                if (nb is not JsonObject step || step["results"] is not JsonArray written)
                    return new(json, null, $"{path} lists no result files per notebook (written by an older ViXml): every file in the folder is shown, stale or not");
                if (S(step["output"]) is { } output) fresh.Add(Path.GetFileName(output));
                foreach (var w in written) if (S(w) is { } f) fresh.Add(Path.GetFileName(f));
            }
            return new(json, fresh, null);
        }
    }

    private static string? S(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A saved result: NAME with its files; a table when NAME.csv exists, a chart when NAME.plotly.json does.</summary>
    private sealed record ResultItem(string Name, bool IsTable, bool IsChart, List<string> Files);

    private static List<ResultItem> ResultItems(List<string> dataFiles, List<string> warnings)
    {
        var byName = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var file in dataFiles)
        {
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

    private static (string Html, int Tables, int Charts) IndexPage(string results, RunListing run, List<(string File, RenderedNotebook Nb)> notebooks,
        List<ResultItem> items, List<(string Page, string Title)> paper, List<string> stale, List<string> warnings)
    {
        var sb = new StringBuilder();
        var repro = run.Json;
        var profile = S(repro?["profile"]) ?? Path.GetFileName(results);
        sb.Append("<p class=\"scale\">CPU-scale numbers from this repository (embedded Debian data, random init unless a table says otherwise): ")
          .Append("never the paper's numbers. Every table carries its scale line.</p>\n");

        sb.Append("<h2>Run</h2>\n<table class=\"meta\">\n");
        void Meta(string k, string? v) =>
            sb.Append("<tr><th>").Append(SiteHtml.E(k)).Append("</th><td>").Append(SiteHtml.E(v ?? "not recorded")).Append("</td></tr>\n");
        Meta("profile", profile);
        Meta("git commit", S(repro?["git_sha"]));
        Meta("machine", S(repro?["machine"]));
        Meta("reproduce finished (UTC)", S(repro?["finished_utc"]) is { } fin ? Time(fin) : null);
        Meta("reproduce wall time", repro?["seconds"] is JsonValue sv && sv.TryGetValue<double>(out var secs) ? Seconds(secs) : null);
        Meta("outcome", repro is null ? null : repro["succeeded"] is JsonValue ok && ok.TryGetValue<bool>(out var b) && b ? "succeeded" : $"failed: {S(repro["failure"]) ?? "no reason recorded"}");
        Meta("runner", notebooks.Select(n => n.Nb.Runner).FirstOrDefault(r => r is not null));
        sb.Append("</table>\n");
        if (run.Why is { } why) sb.Append("<p class=\"note\">").Append(SiteHtml.E(why)).Append(".</p>\n");
        if (stale.Count > 0)
        {
            sb.Append("<h2 id=\"stale\">Not from this run</h2>\n<p class=\"note\">These files in the results folder are not listed in its ")
              .Append("reproduce.json (an older run, a notebook that did not run this time, or written by hand): they are not shown, not copied ")
              .Append("and not used for the paper tables.</p>\n<ul class=\"files\">\n");
            foreach (var f in stale) sb.Append("<li>").Append(SiteHtml.E(f)).Append("</li>\n");
            sb.Append("</ul>\n");
        }

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
                sb.Append(TableHtml(results, item, warnings));
                sb.Append(Downloads(item));
                sb.Append("</section>\n");
            }
            foreach (var item in g.Where(i => i.IsChart))
            {
                var path = Path.Combine(results, item.Name + ".plotly.json");
                var fig = ReadJson(path) ?? throw new InvalidDataException($"{path}: not a Plotly figure (empty or invalid JSON)");
                if (fig is not JsonObject || fig["data"] is not JsonArray)
                    throw new InvalidDataException($"{path}: not a Plotly figure (no \"data\" array)");
                charts++;
                var notes = new List<string>();
                sb.Append("<section class=\"result\" id=\"").Append(SiteHtml.E(item.Name)).Append("\">\n");
                sb.Append(NotebookHtml.ChartDiv(fig, "chart-" + item.Name, notes));
                sb.Append(Downloads(item));
                sb.Append("</section>\n");
                warnings.AddRange(notes.Select(n => $"{item.Name}.plotly.json: {n}"));
            }
        }
        return (Page($"ViXml results — profile {profile}", "", charts > 0, sb.ToString()), tables, charts);
    }

    /// <summary>
    /// A table rebuilt from its CSV, every cell escaped (never a saved .html: the results folder is data). Title and
    /// display formats come from the Parquet copy's metadata when it is there and readable, else the name is the title.
    /// </summary>
    private static string TableHtml(string results, ResultItem item, List<string> warnings)
    {
        var csv = Path.Combine(results, item.Name + ".csv");
        ReadText(csv); // the size limit, before parsing
        ResultTable table;
        try
        {
            var parquet = item.Files.Contains(item.Name + ".parquet") ? ParquetMetadata(Path.Combine(results, item.Name + ".parquet"), warnings) : null;
            table = ResultTable.ReadCsv(csv, parquet?.GetValueOrDefault(ResultParquet.TitleKey) is { Length: > 0 } t ? t : item.Name);
            if (parquet?.GetValueOrDefault(ResultParquet.FormatsKey) is { } fj)
                foreach (var (column, format) in Formats(fj))
                    if (table.Columns.Contains(column)) table.Format(column, format);
            return table.ToHtml();
        }
        catch (FormatException e)
        {
            throw new InvalidDataException(e.Message.StartsWith(csv, StringComparison.Ordinal) ? e.Message : $"{csv}: {e.Message}", e);
        }
    }

    // Only standard numeric formats with a precision ("F2", "N0", "P1", "E3", "G4", "R"): a custom format is not data we need.
    private static IEnumerable<(string Column, string Format)> Formats(string json)
    {
        JsonNode? node;
        try { node = NotebookHtml.ParseJson(json); }
        catch (System.Text.Json.JsonException) { yield break; }
        if (node is not JsonObject o) yield break;
        foreach (var (column, value) in o)
            if (S(value) is { } f && SafeFormat().IsMatch(f)) yield return (column, f);
    }

    private static Dictionary<string, string>? ParquetMetadata(string path, List<string> warnings)
    {
        try
        {
            if (new FileInfo(path).Length > MaxDataBytes) return null;
            return Task.Run(async () =>
            {
                await using var fs = File.OpenRead(path);
                await using var reader = await Parquet.ParquetReader.CreateAsync(fs).ConfigureAwait(false);
                return new Dictionary<string, string>(reader.CustomMetadata, StringComparer.Ordinal);
            }).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // the title and formats are optional: an unreadable Parquet file leaves the CSV's name as the title
            warnings.Add($"{path}: unreadable Parquet metadata ({e.GetType().Name}); the table is shown with its name as title");
            return null;
        }
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
        .crumbs{font-size:.85rem}.ext{color:#555}.note{background:#fff0f0;border:1px solid #ecc;padding:.3rem .5rem;font-size:.85rem}
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
            return NotebookHtml.ParseJson(ReadText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON: {e.Message}", e);
        }
    }

    [GeneratedRegex(@"^\d{2}-.+\.ipynb$")] private static partial Regex NumberedNotebook();
    [GeneratedRegex(@"^\d{2}-")] private static partial Regex NumberPrefix();
    [GeneratedRegex(@"^(?:[FfNnEePpGg]\d{0,2}|R)$")] private static partial Regex SafeFormat();
}
