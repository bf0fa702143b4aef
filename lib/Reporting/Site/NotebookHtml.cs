using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ViXml.Reporting.Site;

/// <summary>What rendering one executed notebook found: its cells, charts, and papermill run times.</summary>
/// <param name="TitleFromHeading">The title is the level-1 heading that opens the notebook's first cell (else the file name).</param>
public sealed record RenderedNotebook(string Title, string BodyHtml, int Cells, int Charts, int Errors,
    string? StartTime, string? EndTime, double? Seconds, IReadOnlyDictionary<string, string> Parameters, string? Runner,
    bool TitleFromHeading)
{
    /// <summary>What rendering changed to keep the page inert (external URLs removed from a figure), one line each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// Renders an executed .ipynb (nbformat 4) as HTML: markdown cells through <see cref="MiniMarkdown"/>, code cells as
/// escaped source with their In [n] and papermill duration, outputs by mime type in the order Jupyter prefers
/// (Plotly JSON drawn with the page's local plotly.js, then HTML, SVG, PNG/JPEG, Markdown, plain text), streams and
/// errors as text (ANSI colour codes removed). Charts become <c>div.vixml-chart</c> elements.
/// </summary>
public static partial class NotebookHtml
{
    public static RenderedNotebook Render(string ipynbPath)
    {
        var info = new FileInfo(ipynbPath);
        if (info.Exists && info.Length > MaxNotebookBytes)
            throw new ViXml.Common.InputLimitException($"{ipynbPath}: {info.Length:N0} bytes; the site renders notebooks up to {MaxNotebookBytes:N0} bytes");
        JsonNode? root;
        try
        {
            root = ParseJson(File.ReadAllText(ipynbPath));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{ipynbPath}: not a notebook (invalid JSON: {e.Message})", e);
        }
        if (root is not JsonObject rootObject || rootObject["cells"] is not JsonArray cells)
            throw new InvalidDataException($"{ipynbPath}: not a notebook (no \"cells\" array)");
        var sb = new StringBuilder();
        int charts = 0, errors = 0, index = 0;
        string? title = null;
        var notes = new List<string>();
        foreach (var cellNode in cells)
        {
            index++;
            if (cellNode is not JsonObject cell) throw new InvalidDataException($"{ipynbPath}: cell {index} is not an object");
            var type = Str(cell["cell_type"]);
            var source = Text(cell["source"]);
            var meta = cell["metadata"] as JsonObject;
            switch (type)
            {
                case "markdown":
                    if (index == 1) title = FirstHeading(source); // a notebook that opens with "# Title"
                    sb.Append("<div class=\"cell md\">\n").Append(MiniMarkdown.ToHtml(source)).Append("</div>\n");
                    break;
                case "code":
                    var count = cell["execution_count"] is JsonValue v && v.TryGetValue<int>(out var n) ? n.ToString(CultureInfo.InvariantCulture) : " ";
                    var seconds = (meta?["papermill"] as JsonObject)?["duration"] is JsonValue d && d.TryGetValue<double>(out var s) ? s : (double?)null;
                    var tags = meta?["tags"] is JsonArray ta ? ta.OfType<JsonValue>().Select(t => t.TryGetValue<string>(out var tag) ? tag : null).Where(t => t is not null).ToList() : [];
                    sb.Append("<div class=\"cell code\">\n<div class=\"prompt\">In [").Append(count).Append(']');
                    if (seconds is { } sec) sb.Append(CultureInfo.InvariantCulture, $" <span class=\"time\">{sec:0.00} s</span>");
                    foreach (var t in tags) sb.Append(" <span class=\"tag\">").Append(SiteHtml.E(t!)).Append("</span>");
                    sb.Append("</div>\n<pre class=\"source\"><code>").Append(SiteHtml.E(source)).Append("</code></pre>\n");
                    if (cell["outputs"] is JsonArray outputs)
                    {
                        var k = 0;
                        foreach (var o in outputs)
                        {
                            k++;
                            if (o is not JsonObject output) continue;
                            try
                            {
                                sb.Append(Output(output, ref charts, ref errors, notes));
                            }
                            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or InvalidDataException)
                            {
                                // a bad output is the notebook's fault: name the file, cell and output (a user error, not a crash)
                                throw new InvalidDataException($"{ipynbPath}: cell {index}, output {k}: {e.Message}", e);
                            }
                        }
                    }
                    sb.Append("</div>\n");
                    break;
                default:
                    sb.Append("<div class=\"cell raw\"><pre>").Append(SiteHtml.E(source)).Append("</pre></div>\n");
                    break;
            }
        }
        var pm = (rootObject["metadata"] as JsonObject)?["papermill"] as JsonObject;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (pm?["parameters"] is JsonObject ps)
            foreach (var (k, val) in ps) parameters[k] = val is JsonValue pv && pv.TryGetValue<string>(out var text) ? text : val?.ToJsonString() ?? "";
        var dur = pm?["duration"] is JsonValue dv && dv.TryGetValue<double>(out var ds) ? ds : (double?)null;
        string? Meta(string key) => pm?[key] is JsonValue mv && mv.TryGetValue<string>(out var ms) ? ms : null;
        return new RenderedNotebook(title ?? Path.GetFileNameWithoutExtension(ipynbPath), sb.ToString(), index, charts, errors,
            Meta("start_time"), Meta("end_time"), dur, parameters, Meta("runner"), title is not null) { Notes = notes };
    }

    /// <summary>The largest executed notebook the site renders (charts and images are inline, but 256 MiB is far beyond ours).</summary>
    public const long MaxNotebookBytes = 256L << 20;

    private static string Output(JsonObject o, ref int charts, ref int errors, List<string> notes)
    {
        switch (Str(o["output_type"]))
        {
            case "stream":
                var name = Str(o["name"]) == "stderr" ? "stderr" : "stdout";
                return $"<pre class=\"output stream {name}\">{SiteHtml.E(StripAnsi(Text(o["text"])))}</pre>\n";
            case "error":
                errors++;
                var tb = o["traceback"] is JsonArray a ? string.Join("\n", a.Select(Str)) : "";
                var head = $"{Str(o["ename"])}: {Str(o["evalue"])}";
                return $"<pre class=\"output error\">{SiteHtml.E(StripAnsi(tb.Length > 0 ? tb : head))}</pre>\n";
            case "display_data" or "execute_result":
                return o["data"] is JsonObject data ? "<div class=\"output\">" + Bundle(data, ref charts, notes) + "</div>\n" : "";
            default:
                return "";
        }
    }

    /// <summary>
    /// One mime bundle, the richest type we can show offline, as inert HTML: Plotly JSON drawn by the page's plotly.js
    /// (external URLs stripped, <see cref="FigureSafety"/>), text/html through <see cref="SiteHtml.Sanitize"/>, SVG as an
    /// image (an &lt;img&gt; runs no script and loads nothing), PNG/JPEG as data URIs, Markdown, plain text, JSON.
    /// Plotly output that is not JSON throws <see cref="System.Text.Json.JsonException"/> (the caller names the cell).
    /// </summary>
    public static string Bundle(JsonObject data, ref int charts, List<string>? notes = null)
    {
        if (data[MimeTypes.Plotly] is { } plotly)
        {
            var fig = plotly is JsonValue str && str.TryGetValue<string>(out var text) ? ParseJson(text) : plotly;
            if (fig is not JsonObject || fig["data"] is not JsonArray)
                throw new InvalidDataException("Plotly output is not a figure (a JSON object with a \"data\" array)");
            charts++;
            return ChartDiv(fig, $"nbchart-{charts}", notes);
        }
        if (data[MimeTypes.Html] is { } html) return SiteHtml.Sanitize(Text(html));
        if (data["image/svg+xml"] is { } svg)
            return $"<img alt=\"output\" src=\"data:image/svg+xml;base64,{Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Text(svg)))}\">";
        foreach (var img in new[] { "image/png", "image/jpeg" })
            if (data[img] is { } b64)
            {
                var payload = Text(b64).Replace("\n", "");
                if (!Base64().IsMatch(payload)) throw new InvalidDataException($"{img} output is not base64");
                return $"<img alt=\"output\" src=\"data:{img};base64,{payload}\">";
            }
        if (data[MimeTypes.Markdown] is { } md) return MiniMarkdown.ToHtml(Text(md));
        if (data[MimeTypes.Plain] is { } plain) return $"<pre class=\"plain\">{SiteHtml.E(StripAnsi(Text(plain)))}</pre>";
        if (data[MimeTypes.Json] is { } json) return $"<pre class=\"plain\">{SiteHtml.E(json.ToJsonString())}</pre>";
        return "";
    }

    /// <summary>
    /// A chart container drawn by the page's plotly.js. The id is escaped for the attribute and passed to the script as
    /// a JavaScript string literal; the figure is embedded script-safe, without external URLs (<see cref="FigureSafety"/>);
    /// when something was removed the chart says so under it and <paramref name="notes"/> gets one line.
    /// </summary>
    public static string ChartDiv(JsonNode figure, string id, List<string>? notes = null)
    {
        var (safe, removed) = FigureSafety.Strip(figure);
        var layout = safe["layout"] as JsonObject;
        var height = layout?["height"] is JsonValue h && h.TryGetValue<double>(out var hv) && double.IsFinite(hv) ? Math.Clamp(hv, 50, 10_000) : 450;
        var html = $"<div class=\"vixml-chart\" id=\"{SiteHtml.E(id)}\" style=\"height:{height.ToString(CultureInfo.InvariantCulture)}px\"></div>\n" +
                   $"<script>vixmlPlot({SiteHtml.JsString(id)}, {ScriptSafe(safe)});</script>\n";
        if (removed.Count == 0) return html;
        var what = $"{removed.Count} external reference(s) removed from this figure ({string.Join(", ", removed.Take(5))}{(removed.Count > 5 ? ", …" : "")}): the site never loads anything from another host";
        notes?.Add($"{id}: {what}");
        return html + $"<p class=\"note\">{SiteHtml.E(what)}</p>\n";
    }

    // JSON inside <script>: also escape "<" entirely ("<!--" and "<script" change how the block is parsed) and the
    // line separators U+2028/U+2029 that old JavaScript treats as line ends.
    private static string ScriptSafe(JsonNode node) =>
        ChartExport.ScriptSafeJson(node.ToJsonString()).Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace("\u2028", "\\u2028", StringComparison.Ordinal).Replace("\u2029", "\\u2029", StringComparison.Ordinal);

    /// <summary>JSON from a results folder: a duplicate key is a parse error here (JsonObject would throw later, on access).</summary>
    public static JsonNode? ParseJson(string text) =>
        JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions { AllowDuplicateProperties = false });

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "";

    /// <summary>nbformat multiline text: a string or an array of strings.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => x is JsonValue v && v.TryGetValue<string>(out var s) ? s : x?.ToJsonString() ?? "")),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static string? FirstHeading(string markdown)
    {
        foreach (var line in markdown.Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith("# ", StringComparison.Ordinal)) return t[2..].Trim();
            if (t.Length > 0) return null;
        }
        return null;
    }

    public static string StripAnsi(string s) => Ansi().Replace(s, "");

    [GeneratedRegex(@"\x1b\[[0-9;]*[A-Za-z]")] private static partial Regex Ansi();
    [GeneratedRegex(@"^[A-Za-z0-9+/=\s]*$")] private static partial Regex Base64();
}
