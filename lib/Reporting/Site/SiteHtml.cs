using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ViXml.Reporting.Site;

/// <summary>
/// HTML for the site's pages, where everything read from a results folder is data: <see cref="E"/> escapes text and
/// attribute values, <see cref="JsString"/> makes a JavaScript string literal, and <see cref="Sanitize"/> keeps only a
/// small allow-list of formatting tags from a notebook's text/html output (no script, no event handler, no URL).
/// </summary>
public static partial class SiteHtml
{
    /// <summary>Escapes only &amp; &lt; &gt; " and ' (pages are UTF-8, so "·" stays "·"). Safe in text and in quoted attributes.</summary>
    public static string E(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length + 16);
        foreach (var ch in s)
            sb.Append(ch switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => ch.ToString() });
        return sb.ToString();
    }

    /// <summary>
    /// A JavaScript string literal for any text, safe inside a &lt;script&gt; block: JSON-encoded with every character
    /// outside printable ASCII and every &lt; &gt; &amp; ' " as a \u escape, so it can neither end the string nor the block.
    /// </summary>
    public static string JsString(string s) => JsonSerializer.Serialize(s, JsOptions);

    private static readonly JsonSerializerOptions JsOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default };

    /// <summary>Tags kept from notebook HTML (formatting only); everything else is shown as text.</summary>
    private static readonly HashSet<string> AllowedTags = new(StringComparer.OrdinalIgnoreCase)
    {
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "colgroup", "col", "br", "hr", "small", "b", "strong",
        "i", "em", "u", "s", "code", "pre", "kbd", "samp", "p", "span", "div", "ul", "ol", "li", "dl", "dt", "dd",
        "details", "summary", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup", "blockquote",
    };

    /// <summary>Elements dropped with their content (their text would be noise: code, CSS, embedded documents).</summary>
    private static readonly HashSet<string> DroppedWithContent = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "template", "iframe", "object", "noscript", "svg", "math", "textarea", "title", "xmp", "noembed", "noframes",
    };

    private static readonly HashSet<string> AllowedAttributes = new(StringComparer.OrdinalIgnoreCase)
    {
        "class", "title", "colspan", "rowspan", "align", "style", "open",
    };

    /// <summary>
    /// Notebook text/html as inert HTML: tags on the allow-list are rebuilt with their allowed attributes (class, title,
    /// colspan, rowspan, align, open; style only when it is plain declarations without parentheses, backslashes or
    /// "@", so no url() or expression()); every other tag is dropped (script, style, iframe and the like with their
    /// content), comments are dropped, and all text and attribute values are decoded and re-escaped. No attribute can
    /// carry a URL or an event handler, so the result runs nothing and loads nothing.
    /// </summary>
    public static string Sanitize(string html)
    {
        var sb = new StringBuilder(html.Length);
        var pos = 0;
        while (pos < html.Length)
        {
            var lt = html.IndexOf('<', pos);
            if (lt < 0) { sb.Append(Text(html[pos..])); break; }
            sb.Append(Text(html[pos..lt]));
            if (string.CompareOrdinal(html, lt, "<!--", 0, 4) == 0)
            {
                var end = html.IndexOf("-->", lt + 4, StringComparison.Ordinal);
                pos = end < 0 ? html.Length : end + 3;
                continue;
            }
            var m = Tag().Match(html, lt);
            if (!m.Success || m.Index != lt)
            {
                // "<!doctype>", "<?xml>", "</ >", a lone "<": not a tag we keep; skip a declaration, else show "<" as text
                if (lt + 1 < html.Length && html[lt + 1] is '!' or '?')
                {
                    var gt = html.IndexOf('>', lt);
                    pos = gt < 0 ? html.Length : gt + 1;
                }
                else { sb.Append("&lt;"); pos = lt + 1; }
                continue;
            }
            pos = m.Index + m.Length;
            var closing = m.Groups[1].Length > 0;
            var name = m.Groups[2].Value.ToLowerInvariant();
            if (!closing && DroppedWithContent.Contains(name))
            {
                var close = CloseTag(name).Match(html, pos);
                pos = close.Success ? close.Index + close.Length : html.Length;
                continue;
            }
            if (!AllowedTags.Contains(name)) continue;
            if (closing) { if (name is not ("br" or "hr" or "col")) sb.Append("</").Append(name).Append('>'); continue; }
            sb.Append('<').Append(name);
            foreach (Match a in Attribute().Matches(m.Groups[3].Value))
            {
                var attr = a.Groups[1].Value.ToLowerInvariant();
                if (!AllowedAttributes.Contains(attr)) continue;
                var raw = a.Groups[2].Success ? a.Groups[2].Value : a.Groups[3].Success ? a.Groups[3].Value : a.Groups[4].Value;
                var value = WebUtility.HtmlDecode(raw);
                if (attr == "style" && !SafeStyle().IsMatch(value)) continue;
                if (attr is "colspan" or "rowspan" && !int.TryParse(value, out _)) continue;
                sb.Append(' ').Append(attr).Append("=\"").Append(E(value)).Append('"');
            }
            sb.Append('>');
        }
        return sb.ToString();
    }

    private static string Text(string s) => s.Length == 0 ? "" : E(WebUtility.HtmlDecode(s));

    [GeneratedRegex(@"\G<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[^\s""'<>/=]+(?:\s*=\s*(?:""[^""]*""|'[^']*'|[^\s""'=<>`]+))?)*)\s*/?>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"([^\s""'<>/=]+)(?:\s*=\s*(?:""([^""]*)""|'([^']*)'|([^\s""'=<>`]+)))?")]
    private static partial Regex Attribute();

    private static Regex CloseTag(string name) => new($@"</{Regex.Escape(name)}\s*>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    [GeneratedRegex(@"^[A-Za-z0-9\s:;.,%#\-]*$")]
    private static partial Regex SafeStyle();
}
