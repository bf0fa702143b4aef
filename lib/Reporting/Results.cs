using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>
/// Where notebooks and experiments save their tables and charts. Inside <c>vixml nb run</c> / <c>vixml reproduce</c>
/// it is the executed notebook's folder (results/&lt;profile&gt;/); elsewhere $VIXML_RESULTS_DIR, else
/// ./results/interactive. The folder is per logical call flow, so concurrent runs do not mix.
/// </summary>
public static class Results
{
    private static readonly AsyncLocal<string?> Scoped = new();
    private static readonly Regex SafeName = new(@"^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.Compiled);

    public static string Directory
    {
        get
        {
            if (Scoped.Value is { } scoped) return scoped;
            var env = Environment.GetEnvironmentVariable("VIXML_RESULTS_DIR");
            return Path.GetFullPath(string.IsNullOrEmpty(env) ? Path.Combine("results", "interactive") : env);
        }
    }

    /// <summary>PNG export of charts: on unless $VIXML_PNG is "0" (chromium must also be installed).</summary>
    public static bool PngEnabled => Environment.GetEnvironmentVariable("VIXML_PNG") != "0";

    /// <summary>Sends saves in this call flow to <paramref name="directory"/> until disposed.</summary>
    public static IDisposable UseDirectory(string directory)
    {
        var previous = Scoped.Value;
        Scoped.Value = Path.GetFullPath(directory);
        return new Restore(() => Scoped.Value = previous);
    }

    /// <summary>
    /// Saves <paramref name="value"/> under <see cref="Directory"/> as NAME.*: a <see cref="ResultTable"/> as .csv, .md,
    /// .html and .parquet (typed columns, title and scale in the file metadata); a <see cref="Figure"/> as .html,
    /// .plotly.json and .png (when chromium is installed; otherwise a note on stderr); a string as .txt; anything else as
    /// .json. Returns the files written. All writes are atomic.
    /// </summary>
    public static IReadOnlyList<string> Save(string name, object value)
    {
        if (!SafeName.IsMatch(name))
            throw new ArgumentException($"result name '{name}' must be letters, digits, '.', '_' or '-' (it becomes a file name)");
        var dir = Directory;
        System.IO.Directory.CreateDirectory(dir);
        string P(string ext) => Path.Combine(dir, name + ext);
        var written = new List<string>();
        switch (value)
        {
            case ResultTable t:
                t.SaveCsv(P(".csv"));
                t.SaveMarkdown(P(".md"));
                t.SaveHtml(P(".html"));
                t.SaveParquet(P(".parquet"));
                written.AddRange([P(".csv"), P(".md"), P(".html"), P(".parquet")]);
                break;
            case Figure f:
                ChartExport.SaveHtml(f, P(".html"));
                Atomic.WriteAllText(P(".plotly.json"), f.ToJsonString(indented: true) + "\n");
                written.AddRange([P(".html"), P(".plotly.json")]);
                if (PngEnabled)
                {
                    var png = ChartExport.SavePng(f, P(".png"));
                    if (png.Saved) written.Add(P(".png"));
                    else Console.Error.WriteLine($"{name}: {png.Message}");
                }
                break;
            case string s:
                Atomic.WriteAllText(P(".txt"), s);
                written.Add(P(".txt"));
                break;
            case JsonNode n:
                Atomic.WriteAllText(P(".json"), n.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                written.Add(P(".json"));
                break;
            default:
                Atomic.WriteAllText(P(".json"), JsonSerializer.Serialize(value, value.GetType(), new JsonSerializerOptions { WriteIndented = true }) + "\n");
                written.Add(P(".json"));
                break;
        }
        return written;
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}
