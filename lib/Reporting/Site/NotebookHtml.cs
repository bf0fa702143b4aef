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
    bool TitleFromHeading);

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
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(ipynbPath));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{ipynbPath}: not a notebook (invalid JSON: {e.Message})", e);
        }
        if (root?["cells"] is not JsonArray cells)
            throw new InvalidDataException($"{ipynbPath}: not a notebook (no \"cells\" array)");
        var sb = new StringBuilder();
        int charts = 0, errors = 0, index = 0;
        string? title = null;
        foreach (var cellNode in cells)
        {
            index++;
            if (cellNode is not JsonObject cell) throw new InvalidDataException($"{ipynbPath}: cell {index} is not an object");
            var type = (string?)cell["cell_type"];
            var source = Text(cell["source"]);
            switch (type)
            {
                case "markdown":
                    if (index == 1) title = FirstHeading(source); // a notebook that opens with "# Title"
                    sb.Append("<div class=\"cell md\">\n").Append(MiniMarkdown.ToHtml(source)).Append("</div>\n");
                    break;
                case "code":
                    var count = cell["execution_count"] is JsonValue v && v.TryGetValue<int>(out var n) ? n.ToString(CultureInfo.InvariantCulture) : " ";
                    var seconds = cell["metadata"]?["papermill"]?["duration"] is JsonValue d && d.TryGetValue<double>(out var s) ? s : (double?)null;
                    var tags = cell["metadata"]?["tags"] is JsonArray ta ? ta.Select(t => (string?)t).Where(t => t is not null).ToList() : [];
                    sb.Append("<div class=\"cell code\">\n<div class=\"prompt\">In [").Append(count).Append(']');
                    if (seconds is { } sec) sb.Append(CultureInfo.InvariantCulture, $" <span class=\"time\">{sec:0.00} s</span>");
                    foreach (var t in tags) sb.Append(" <span class=\"tag\">").Append(SiteHtml.E(t!)).Append("</span>");
                    sb.Append("</div>\n<pre class=\"source\"><code>").Append(SiteHtml.E(source)).Append("</code></pre>\n");
                    if (cell["outputs"] is JsonArray outputs)
                        foreach (var o in outputs.OfType<JsonObject>())
                            sb.Append(Output(o, ref charts, ref errors));
                    sb.Append("</div>\n");
                    break;
                default:
                    sb.Append("<div class=\"cell raw\"><pre>").Append(SiteHtml.E(source)).Append("</pre></div>\n");
                    break;
            }
        }
        var pm = root["metadata"]?["papermill"] as JsonObject;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (pm?["parameters"] is JsonObject ps)
            foreach (var (k, val) in ps) parameters[k] = val?.ToString() ?? "";
        var dur = pm?["duration"] is JsonValue dv && dv.TryGetValue<double>(out var ds) ? ds : (double?)null;
        return new RenderedNotebook(title ?? Path.GetFileNameWithoutExtension(ipynbPath), sb.ToString(), index, charts, errors,
            (string?)pm?["start_time"], (string?)pm?["end_time"], dur, parameters, (string?)pm?["runner"], title is not null);
    }

    private static string Output(JsonObject o, ref int charts, ref int errors)
    {
        switch ((string?)o["output_type"])
        {
            case "stream":
                var name = (string?)o["name"] == "stderr" ? "stderr" : "stdout";
                return $"<pre class=\"output stream {name}\">{SiteHtml.E(StripAnsi(Text(o["text"])))}</pre>\n";
            case "error":
                errors++;
                var tb = o["traceback"] is JsonArray a ? string.Join("\n", a.Select(x => (string?)x ?? "")) : "";
                var head = $"{(string?)o["ename"]}: {(string?)o["evalue"]}";
                return $"<pre class=\"output error\">{SiteHtml.E(StripAnsi(tb.Length > 0 ? tb : head))}</pre>\n";
            case "display_data" or "execute_result":
                return o["data"] is JsonObject data ? "<div class=\"output\">" + Bundle(data, ref charts) + "</div>\n" : "";
            default:
                return "";
        }
    }

    /// <summary>One mime bundle, the richest type we can show offline.</summary>
    public static string Bundle(JsonObject data, ref int charts)
    {
        if (data[MimeTypes.Plotly] is { } plotly)
        {
            var fig = plotly is JsonValue str && str.TryGetValue<string>(out var text) ? JsonNode.Parse(text) : plotly;
            charts++;
            return ChartDiv(fig!, $"nbchart-{charts}");
        }
        if (data[MimeTypes.Html] is { } html) return Text(html);
        if (data["image/svg+xml"] is { } svg) return Text(svg);
        foreach (var img in new[] { "image/png", "image/jpeg" })
            if (data[img] is { } b64)
                return $"<img alt=\"output\" src=\"data:{img};base64,{SiteHtml.E(Text(b64).Replace("\n", ""))}\">";
        if (data[MimeTypes.Markdown] is { } md) return MiniMarkdown.ToHtml(Text(md));
        if (data[MimeTypes.Plain] is { } plain) return $"<pre class=\"plain\">{SiteHtml.E(StripAnsi(Text(plain)))}</pre>";
        if (data[MimeTypes.Json] is { } json) return $"<pre class=\"plain\">{SiteHtml.E(json.ToJsonString())}</pre>";
        return "";
    }

    /// <summary>A chart container drawn by the page's plotly.js; the figure JSON is embedded (script-safe).</summary>
    public static string ChartDiv(JsonNode figure, string id)
    {
        var layout = figure["layout"] as JsonObject;
        var height = layout?["height"] is JsonValue h && h.TryGetValue<double>(out var hv) ? hv : 450;
        return $"<div class=\"vixml-chart\" id=\"{id}\" style=\"height:{height.ToString(CultureInfo.InvariantCulture)}px\"></div>\n" +
               $"<script>vixmlPlot(\"{id}\", {ChartExport.ScriptSafeJson(figure.ToJsonString())});</script>\n";
    }

    /// <summary>nbformat multiline text: a string or an array of strings.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => (string?)x ?? "")),
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
}
