using System.Text;

namespace ViXml.Reporting.Site;

/// <summary>HTML escaping for the site's pages: only &amp; &lt; &gt; " and ' (pages are UTF-8, so "·" stays "·").</summary>
public static class SiteHtml
{
    public static string E(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length + 16);
        foreach (var ch in s)
            sb.Append(ch switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => ch.ToString() });
        return sb.ToString();
    }
}
