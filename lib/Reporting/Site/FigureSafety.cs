using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ViXml.Reporting.Site;

/// <summary>
/// Keeps a Plotly figure from a results folder or a notebook output from reaching another host when a page draws it:
/// every image <c>source</c> that is not an inline <c>data:image/(png|jpeg|gif|webp)</c> URI is removed, every URL in a
/// string (a scheme such as http:, javascript:, file: or data:, or a //host reference) is replaced by
/// "[external URL removed]", and map and geo traces (which fetch tiles or topojson from the network) are dropped with
/// their layout parts. What was removed is reported so the page can say so.
/// </summary>
public static partial class FigureSafety
{
    public const string Replacement = "[external URL removed]";

    private static readonly HashSet<string> NetworkTraceTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "scattergeo", "choropleth", "scattermapbox", "choroplethmapbox", "densitymapbox", "scattermap", "choroplethmap", "densitymap",
    };

    private static readonly string[] NetworkLayoutKeys = ["geo", "mapbox", "map"];

    /// <summary>A copy of <paramref name="figure"/> without external references, and where each one was ("layout.images[0].source").</summary>
    public static (JsonNode Figure, IReadOnlyList<string> Removed) Strip(JsonNode figure)
    {
        var copy = figure.DeepClone();
        var removed = new List<string>();
        if (copy["data"] is JsonArray traces)
            for (var i = traces.Count - 1; i >= 0; i--)
                if (traces[i] is JsonObject t && t["type"] is JsonValue tv && tv.TryGetValue<string>(out var type) && NetworkTraceTypes.Contains(type))
                {
                    traces.RemoveAt(i);
                    removed.Add($"data[{i}] (a {type} trace loads map data from the network)");
                }
        if (copy["layout"] is JsonObject layout)
            foreach (var k in layout.Select(p => p.Key).Where(k => NetworkLayoutKeys.Any(n => k == n || (k.StartsWith(n, StringComparison.Ordinal) && k[n.Length..].All(char.IsAsciiDigit)))).ToList())
            {
                layout.Remove(k);
                removed.Add($"layout.{k}");
            }
        Walk(copy, "", removed, 0);
        return (copy, removed.OrderBy(r => r, StringComparer.Ordinal).ToList());
    }

    private static void Walk(JsonNode? node, string path, List<string> removed, int depth)
    {
        if (depth > 256) return; // System.Text.Json's parser stops at 64 levels anyway
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    var p = path.Length == 0 ? key : $"{path}.{key}";
                    if (key == "source" && value is JsonValue sv && sv.TryGetValue<string>(out var src) && !InlineImage().IsMatch(src))
                    {
                        o.Remove(key);
                        removed.Add(p);
                        continue;
                    }
                    if (value is JsonValue v && v.TryGetValue<string>(out var s)) { if (Clean(s) is { } c) { o[key] = c; removed.Add(p); } }
                    else Walk(value, p, removed, depth + 1);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s)) { if (Clean(s) is { } c) { a[i] = c; removed.Add($"{path}[{i}]"); } }
                    else Walk(a[i], $"{path}[{i}]", removed, depth + 1);
                }
                break;
        }
    }

    /// <summary>The text with its URLs replaced, or null when it holds none (inline images are kept).</summary>
    private static string? Clean(string s)
    {
        if (InlineImage().IsMatch(s)) return null;
        // Browsers ignore tabs and line breaks inside a URL scheme ("java\tscript:"), and Plotly decodes entities.
        var probe = System.Net.WebUtility.HtmlDecode(s);
        if (!Url().IsMatch(probe) && !Url().IsMatch(Controls().Replace(probe, ""))) return null;
        return Url().Replace(Controls().Replace(probe, ""), Replacement);
    }

    [GeneratedRegex(@"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")]
    private static partial Regex InlineImage();

    [GeneratedRegex(@"(?i)(?:\b[a-z][a-z0-9+.\-]*:\s*)?//[^\s""'<>/][^\s""'<>]*|\b(?:javascript|vbscript|livescript)\s*:[^\s""'<>]*|\bdata\s*:\s*[a-z]+/[^\s""'<>]*|\b(?:blob|filesystem):[^\s""'<>]+|\bfile:/[^\s""'<>]*|\bmailto:[^\s""'<>]+")]
    private static partial Regex Url();

    [GeneratedRegex(@"[\t\r\n\u0000-\u001f]")]
    private static partial Regex Controls();
}
