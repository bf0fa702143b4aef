using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace ViXml.Reporting.Site;

/// <summary>
/// The small Markdown subset our notebooks and paper tables use, to HTML: ATX headings, paragraphs, bullet and
/// numbered lists, GitHub pipe tables (with ---: alignment), fenced code, block quotes, horizontal rules, and inline
/// code, **bold**, *italic*, [in-page links](#anchor). Everything else is text: raw HTML is escaped (only &lt;br&gt; and
/// character entities such as &amp;lt; pass, which our table writers emit), HTML comments are dropped, and other links
/// are shown as "label (target)": a path relative to the notebook's folder would not resolve inside the site, and a
/// link to another host is shown without its scheme, so a page carries no address it could load.
/// </summary>
public static partial class MiniMarkdown
{
    public static string ToHtml(string markdown)
    {
        var lines = StripComments(markdown.Replace("\r\n", "\n")).Split('\n');
        var sb = new StringBuilder();
        var i = 0;
        while (i < lines.Length)
        {
            var line = lines[i];
            var trimmed = line.Trim();
            if (trimmed.Length == 0) { i++; continue; }
            if (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
            {
                var fence = trimmed[..3];
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].Trim().StartsWith(fence, StringComparison.Ordinal); i++) code.Add(lines[i]);
                i++;
                sb.Append("<pre><code>").Append(SiteHtml.E(string.Join("\n", code))).Append("</code></pre>\n");
                continue;
            }
            var h = Heading().Match(trimmed);
            if (h.Success)
            {
                var level = h.Groups[1].Value.Length;
                sb.Append($"<h{level}>").Append(Inline(h.Groups[2].Value.TrimEnd('#', ' '))).Append($"</h{level}>\n");
                i++;
                continue;
            }
            if (Rule().IsMatch(trimmed)) { sb.Append("<hr>\n"); i++; continue; }
            if (trimmed.StartsWith('|') && i + 1 < lines.Length && TableSeparator().IsMatch(lines[i + 1].Trim()))
            {
                i = Table(lines, i, sb);
                continue;
            }
            if (trimmed.StartsWith('>'))
            {
                var quote = new List<string>();
                for (; i < lines.Length && lines[i].TrimStart().StartsWith('>'); i++) quote.Add(lines[i].TrimStart()[1..].TrimStart());
                sb.Append("<blockquote>\n").Append(ToHtml(string.Join("\n", quote))).Append("</blockquote>\n");
                continue;
            }
            if (ListItem().IsMatch(line))
            {
                i = List(lines, i, sb);
                continue;
            }
            var para = new List<string>();
            for (; i < lines.Length && lines[i].Trim().Length > 0 && !StartsBlock(lines, i); i++) para.Add(lines[i].Trim());
            if (para.Count == 0) { para.Add(trimmed); i++; }
            sb.Append("<p>").Append(Inline(string.Join("\n", para))).Append("</p>\n");
        }
        return sb.ToString();
    }

    private static bool StartsBlock(string[] lines, int i)
    {
        var t = lines[i].Trim();
        return Heading().IsMatch(t) || t.StartsWith("```", StringComparison.Ordinal) || t.StartsWith('>') || ListItem().IsMatch(lines[i])
               || (t.StartsWith('|') && i + 1 < lines.Length && TableSeparator().IsMatch(lines[i + 1].Trim()));
    }

    private static int List(string[] lines, int i, StringBuilder sb)
    {
        var ordered = char.IsDigit(lines[i].TrimStart()[0]);
        sb.Append(ordered ? "<ol>\n" : "<ul>\n");
        while (i < lines.Length)
        {
            var m = ListItem().Match(lines[i]);
            if (!m.Success) break;
            var item = new StringBuilder(m.Groups[3].Value.Trim());
            // Continuation lines: indented and not a new item.
            for (i++; i < lines.Length && lines[i].Length > 0 && char.IsWhiteSpace(lines[i][0]) && !ListItem().IsMatch(lines[i]); i++)
                item.Append('\n').Append(lines[i].Trim());
            sb.Append("<li>").Append(Inline(item.ToString())).Append("</li>\n");
            while (i < lines.Length && lines[i].Trim().Length == 0 && i + 1 < lines.Length && ListItem().IsMatch(lines[i + 1])) i++;
        }
        sb.Append(ordered ? "</ol>\n" : "</ul>\n");
        return i;
    }

    private static int Table(string[] lines, int i, StringBuilder sb)
    {
        var header = Cells(lines[i]);
        var align = Cells(lines[i + 1]).Select(c => c.EndsWith(':') ? (c.StartsWith(':') ? "center" : "right") : null).ToList();
        string Attr(int c) => c < align.Count && align[c] is { } a ? $" style=\"text-align:{a}\"" : "";
        sb.Append("<table class=\"md\">\n<thead><tr>");
        for (var c = 0; c < header.Count; c++) sb.Append($"<th{Attr(c)}>").Append(Inline(header[c])).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (i += 2; i < lines.Length && lines[i].Trim().StartsWith('|'); i++)
        {
            var cells = Cells(lines[i]);
            sb.Append("<tr>");
            for (var c = 0; c < header.Count; c++)
                sb.Append($"<td{Attr(c)}>").Append(c < cells.Count ? Inline(cells[c]) : "").Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
        return i;
    }

    /// <summary>A pipe-table row's cells; "\|" is a literal pipe.</summary>
    private static List<string> Cells(string row)
    {
        var t = row.Trim();
        if (t.StartsWith('|')) t = t[1..];
        if (t.EndsWith('|') && !t.EndsWith("\\|", StringComparison.Ordinal)) t = t[..^1];
        var cells = new List<string>();
        var cur = new StringBuilder();
        for (var k = 0; k < t.Length; k++)
        {
            if (t[k] == '\\' && k + 1 < t.Length && t[k + 1] == '|') { cur.Append("\\|"); k++; }
            else if (t[k] == '|') { cells.Add(cur.ToString().Trim()); cur.Clear(); }
            else cur.Append(t[k]);
        }
        cells.Add(cur.ToString().Trim());
        return cells;
    }

    /// <summary>Inline markup of one block: escapes first, then code spans, emphasis and links.</summary>
    public static string Inline(string text)
    {
        // Code spans are cut out first so nothing inside them is interpreted.
        var codes = new List<string>();
        text = CodeSpan().Replace(text, m =>
        {
            codes.Add("<code>" + SiteHtml.E(m.Groups[1].Value) + "</code>");
            return $"\u0001{codes.Count - 1}\u0002";
        });
        // Backslash escapes: keep the character, not as markup.
        var escaped = new List<string>();
        text = BackslashEscape().Replace(text, m =>
        {
            escaped.Add(SiteHtml.E(m.Groups[1].Value));
            return $"\u0003{escaped.Count - 1}\u0004";
        });
        var sb = new StringBuilder();
        var k = 0;
        foreach (Match m in AllowedHtml().Matches(text))
        {
            sb.Append(SiteHtml.E(text[k..m.Index]));
            sb.Append(m.Value.StartsWith('<') ? "<br>" : m.Value);
            k = m.Index + m.Length;
        }
        sb.Append(SiteHtml.E(text[k..]));
        var html = sb.ToString();
        html = Bold().Replace(html, "<strong>$1</strong>");
        html = Italic().Replace(html, "$1<em>$2</em>");
        html = Link().Replace(html, m =>
        {
            var label = m.Groups[1].Value;
            var href = WebUtility.HtmlDecode(m.Groups[2].Value);
            return href.StartsWith('#')
                ? $"<a href=\"{SiteHtml.E(href)}\">{label}</a>"
                : $"{label} <span class=\"ext\">({SiteHtml.E(ShowExternal(href))})</span>";
        });
        html = html.Replace("\n", " ");
        html = Placeholder().Replace(html, m => codes[int.Parse(m.Groups[1].Value)]);
        html = EscPlaceholder().Replace(html, m => escaped[int.Parse(m.Groups[1].Value)]);
        return html;
    }

    // A host is shown without its scheme, so pages carry no fetchable address at all.
    private static string ShowExternal(string href) => SchemePrefix().Replace(href, "");

    private static string StripComments(string s) => Comment().Replace(s, "");

    [GeneratedRegex(@"^(#{1,6})\s+(.*)$")] private static partial Regex Heading();
    [GeneratedRegex(@"^(\*\s*\*\s*\*|-\s*-\s*-|_\s*_\s*_)[\s*_-]*$")] private static partial Regex Rule();
    [GeneratedRegex(@"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")] private static partial Regex TableSeparator();
    [GeneratedRegex(@"^(\s{0,3})([-*+]|\d{1,3}[.)])\s+(.*)$")] private static partial Regex ListItem();
    [GeneratedRegex(@"`([^`]+)`")] private static partial Regex CodeSpan();
    [GeneratedRegex(@"\\([\\`*_{}\[\]()#+\-.!|<>])")] private static partial Regex BackslashEscape();
    [GeneratedRegex(@"<br\s*/?>|&(#[0-9]{1,6}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});", RegexOptions.IgnoreCase)] private static partial Regex AllowedHtml();
    [GeneratedRegex(@"\*\*(.+?)\*\*")] private static partial Regex Bold();
    [GeneratedRegex(@"(^|[^\w*])\*(?!\s)([^*]+?)\*(?!\w)")] private static partial Regex Italic();
    [GeneratedRegex(@"\[([^\]]+)\]\(([^)\s]+)\)")] private static partial Regex Link();
    [GeneratedRegex("\u0001(\\d+)\u0002")] private static partial Regex Placeholder();
    [GeneratedRegex("\u0003(\\d+)\u0004")] private static partial Regex EscPlaceholder();
    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)] private static partial Regex Comment();
    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*://")] private static partial Regex SchemePrefix();
}
