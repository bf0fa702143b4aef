using System.Diagnostics;
using System.Net;
using System.Text;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>Outcome of a PNG export: saved, or why not (the HTML is still there).</summary>
public sealed record PngExport(bool Saved, string Message);

/// <summary>
/// Writes figures as HTML pages that open offline (plotly.js from one shared local copy, or inlined for a single
/// self-contained page) and as PNG through Debian's headless chromium when it is installed.
/// </summary>
public static class ChartExport
{
    /// <summary>The npm package version tools/assets.sh pins (tools/assets/package-lock.json).</summary>
    public const string PlotlyVersion = "4.1.2";

    private const string PlotlyRelative = "tools/assets/node_modules/plotly.js-dist-min/plotly.min.js";

    /// <summary>plotly.min.js: $VIXML_PLOTLY_JS, else the repository's pinned npm copy.</summary>
    public static string PlotlyJsPath()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_PLOTLY_JS");
        if (!string.IsNullOrEmpty(env))
            return File.Exists(env) ? env : throw new FileNotFoundException($"VIXML_PLOTLY_JS points to a missing file: {env}", env);
        return PlotlyJsPath(RepoRoot());
    }

    /// <summary>plotly.min.js under a given repository root, or an error saying to run tools/assets.sh.</summary>
    public static string PlotlyJsPath(string? root)
    {
        var path = root is null ? null : Path.Combine(root, PlotlyRelative);
        if (path is null || !File.Exists(path))
            throw new FileNotFoundException(
                $"plotly.js not found at {path ?? PlotlyRelative} (repository root {(root ?? "not found")}); " +
                "run tools/assets.sh to install the pinned plotly.js-dist-min " + PlotlyVersion, path);
        return path;
    }

    /// <summary>$VIXML_ROOT (set by ./vixml), else the first folder holding ViXml.Lib.csproj above the app or the cwd.</summary>
    public static string? RepoRoot()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_ROOT");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, "ViXml.Lib.csproj"))) return Path.GetFullPath(env);
        // The library's own folder first: a notebook kernel (VS Code, Jupyter) loads it from the repository's build output.
        foreach (var start in new[] { Path.GetDirectoryName(typeof(ChartExport).Assembly.Location), AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        }
        return null;
    }

    /// <summary>
    /// The text/html fallback inside a notebook: a div plus a script that draws when the page has plotly.js (waiting a
    /// few seconds for an earlier output that carries it) and otherwise says where the standalone chart is. Nothing is
    /// fetched from the network (viewers of shared results may be offline). Standalone files use
    /// <see cref="StandaloneHtml"/>; a kernel shows <see cref="KernelHtml"/>.
    /// </summary>
    public static string HtmlSnippet(Figure fig)
    {
        var id = "vixml-" + Guid.NewGuid().ToString("N")[..10];
        var json = fig.ToJsonString();
        return $$"""
            <div id="{{id}}" style="width:{{fig.Width}}px;height:{{fig.Height}}px;"></div>
            <script type="text/javascript">
            (function () {
              var fig = {{json}};
              var tries = 0;
              function draw() {
                var el = document.getElementById("{{id}}");
                if (!el) return;
                if (window.Plotly) { window.Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false}); return; }
                if (++tries < 50) { setTimeout(draw, 100); return; }
                el.textContent = "plotly.js is not loaded in this viewer: open the chart's standalone .html (written beside the results), " +
                  "or a viewer that renders application/vnd.plotly.v1+json.";
              }
              draw();
            })();
            </script>
            """;
    }

    /// <summary>Where chart pages beside the results find plotly.js: one shared copy, relative to the page.</summary>
    public const string SharedPlotlyRelative = "assets/plotly.min.js";

    /// <summary>
    /// The text/html a notebook kernel shows for a figure: <see cref="HtmlSnippet"/>, preceded, for the first figure of
    /// the kernel session, by the pinned local plotly.js (so the notebook renders offline, without a CDN; later
    /// figures reuse it). Without a local plotly.js (tools/assets.sh not run) the snippet alone is shown.
    /// </summary>
    public static string KernelHtml(Figure fig)
    {
        string? plotly = null;
        try { plotly = PlotlyJsPath(); }
        catch (FileNotFoundException) { /* no local copy: the snippet says where the standalone chart is */ }
        var prefix = plotly is not null && PlotlyInNotebook.TakeFirst() ? PlotlyInNotebook.Wrap(File.ReadAllText(plotly)) : "";
        return prefix + HtmlSnippet(fig);
    }

    /// <summary>A self-contained page: plotly.js inlined, the figure drawn at its Width×Height.</summary>
    /// <param name="forImage">Hide the mode bar (zoom/pan buttons) for screenshots.</param>
    public static string StandaloneHtml(Figure fig, string? plotlyJsPath = null, bool forImage = false)
    {
        var plotly = File.ReadAllText(plotlyJsPath ?? PlotlyJsPath());
        // "</script" inside the library would end the inline block early; the minified build does not contain it,
        // but be safe.
        plotly = plotly.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
        return Page(fig, "<script>" + plotly + "</script>", forImage);
    }

    /// <summary>
    /// A page that loads plotly.js from <paramref name="plotlySrc"/> (a relative URL such as
    /// <see cref="SharedPlotlyRelative"/>), so many charts share one copy and the page still opens offline.
    /// </summary>
    public static string LinkedHtml(Figure fig, string plotlySrc = SharedPlotlyRelative, bool forImage = false) =>
        Page(fig, "<script src=\"" + WebUtility.HtmlEncode(plotlySrc) + "\"></script>", forImage);

    private static string Page(Figure fig, string plotlyScript, bool forImage)
    {
        var title = WebUtility.HtmlEncode(fig.Title ?? "figure");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(title).Append("</title>\n");
        sb.Append("<style>html,body{margin:0;padding:0;background:#fff}</style>\n").Append(plotlyScript).Append('\n');
        sb.Append("</head>\n<body>\n");
        sb.Append($"<div id=\"fig\" style=\"width:{fig.Width}px;height:{fig.Height}px;\"></div>\n");
        sb.Append("<script>\nvar fig = ").Append(ScriptSafeJson(fig.ToJsonString())).Append(";\n");
        sb.Append("Plotly.newPlot(\"fig\", fig.data, fig.layout, {displaylogo: false")
          .Append(forImage ? ", displayModeBar: false" : "").Append("});\n</script>\n");
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>JSON placed inside a &lt;script&gt; block: "&lt;/" escaped so a label cannot end the block.</summary>
    public static string ScriptSafeJson(string json) => json.Replace("</", "<\\/", StringComparison.Ordinal);

    /// <summary>
    /// Writes the chart page at <paramref name="path"/> referencing <c>assets/plotly.min.js</c> beside it, copied there
    /// once (<see cref="EnsureSharedPlotly"/>); the folder opens offline and carries plotly.js one time, not per chart.
    /// </summary>
    public static void SaveHtml(Figure fig, string path, string? plotlyJsPath = null)
    {
        EnsureSharedPlotly(Path.GetDirectoryName(Path.GetFullPath(path))!, plotlyJsPath);
        Atomic.WriteAllText(path, LinkedHtml(fig));
    }

    /// <summary>
    /// Copies plotly.min.js to <paramref name="directory"/>/assets/plotly.min.js unless an identical copy is there;
    /// returns its path.
    /// </summary>
    public static string EnsureSharedPlotly(string directory, string? plotlyJsPath = null)
    {
        var source = plotlyJsPath ?? PlotlyJsPath();
        var target = Path.Combine(directory, SharedPlotlyRelative);
        var src = File.ReadAllBytes(source);
        if (File.Exists(target) && new FileInfo(target).Length == src.Length && File.ReadAllBytes(target).AsSpan().SequenceEqual(src))
            return target;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Atomic.WriteAllBytes(target, src);
        return target;
    }

    /// <summary>Chromium's executable: $VIXML_CHROMIUM, else chromium / chromium-browser on PATH; null if absent.</summary>
    public static string? FindChromium()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_CHROMIUM");
        if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : null;
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in new[] { "chromium", "chromium-browser" })
            foreach (var d in dirs)
            {
                var p = Path.Combine(d, name);
                if (File.Exists(p)) return p;
            }
        return null;
    }

    /// <summary>
    /// Renders the figure to PNG with headless chromium (fresh profile folder each time, no network, no GPU).
    /// Never throws for a missing or failing browser: the result says what happened.
    /// </summary>
    public static PngExport SavePng(Figure fig, string path, string? plotlyJsPath = null, TimeSpan? timeout = null)
    {
        var chromium = FindChromium();
        if (chromium is null)
            return new(false, "PNG skipped: chromium is not installed (apt-get install chromium, or tools/setup.sh reproduce); the HTML has the chart");
        var work = Path.Combine(Path.GetTempPath(), "vixml-png-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var html = Path.Combine(work, "figure.html");
            File.WriteAllText(html, StandaloneHtml(fig, plotlyJsPath, forImage: true));
            var png = Path.Combine(work, "figure.png");
            var psi = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                         $"--user-data-dir={Path.Combine(work, "profile")}", $"--window-size={fig.Width},{fig.Height}",
                         "--virtual-time-budget=3000", $"--screenshot={png}", new Uri(html).AbsoluteUri,
                     })
                psi.ArgumentList.Add(a);
            using var proc = Process.Start(psi)!;
            var stderr = proc.StandardError.ReadToEndAsync();
            _ = proc.StandardOutput.ReadToEndAsync();
            if (!proc.WaitForExit((int)(timeout ?? TimeSpan.FromSeconds(60)).TotalMilliseconds))
            {
                try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return new(false, $"PNG skipped: chromium did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s");
            }
            if (!File.Exists(png) || new FileInfo(png).Length == 0)
            {
                var err = stderr.Result.Trim();
                return new(false, $"PNG skipped: chromium exited with {proc.ExitCode} and no screenshot: {(err.Length > 400 ? err[..400] : err)}");
            }
            Atomic.WriteAllBytes(path, File.ReadAllBytes(png));
            return new(true, $"wrote {path}");
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
