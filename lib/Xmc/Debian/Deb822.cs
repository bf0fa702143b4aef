namespace ViXml.Xmc.Debian;

/// <summary>
/// Streaming reader for Debian control-file stanzas (Packages, Translation-en): "Field: value" lines, continuation
/// lines start with a space or tab, stanzas are separated by blank lines. Only the requested fields are kept
/// (the Packages file is ~100 MB of text, most of it hashes and file names we never need).
/// </summary>
public static class Deb822
{
    /// <summary>One stanza: the kept fields (continuation lines joined with "\n", leading space kept) and its first line.</summary>
    public sealed record Stanza(Dictionary<string, string> Fields, int Line)
    {
        public string? Get(string key) => Fields.TryGetValue(key, out var v) ? v : null;
    }

    public static IEnumerable<Stanza> Read(TextReader reader, IReadOnlySet<string> keep, string name)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? currentKey = null;               // the field that continuation lines extend (null if not kept)
        System.Text.StringBuilder? current = null;
        int lineNo = 0, stanzaStart = 0;
        bool inStanza = false;
        string? line;
        void Flush()
        {
            if (currentKey is not null && current is not null) fields[currentKey] = current.ToString();
            currentKey = null; current = null;
        }
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0 || line.AsSpan().Trim().IsEmpty)
            {
                if (inStanza)
                {
                    Flush();
                    yield return new Stanza(fields, stanzaStart);
                    fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    inStanza = false;
                }
                continue;
            }
            if (!inStanza) { inStanza = true; stanzaStart = lineNo; }
            if (line[0] == ' ' || line[0] == '\t')
            {
                if (lineNo == stanzaStart)
                    throw new XmcFormatException(name, lineNo, "continuation line before any field");
                current?.Append('\n').Append(line);
                continue;
            }
            if (line[0] == '#') continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) throw new XmcFormatException(name, lineNo, $"expected 'Field: value', got '{XcSparse.Trunc(line)}'");
            Flush();
            var key = line[..colon];
            if (keep.Contains(key))
            {
                currentKey = key;
                current = new System.Text.StringBuilder(line.AsSpan(colon + 1).Trim().ToString());
            }
        }
        if (inStanza)
        {
            Flush();
            yield return new Stanza(fields, stanzaStart);
        }
    }

    /// <summary>
    /// Package names of a relationship field ("a (>= 1), b | c:any [amd64] &lt;!nocheck&gt;"), every alternative included,
    /// without version, architecture qualifier or restrictions.
    /// </summary>
    public static IEnumerable<string> RelationNames(string? field)
    {
        if (string.IsNullOrWhiteSpace(field)) yield break;
        foreach (var group in field.Split(','))
            foreach (var alt in group.Split('|'))
            {
                var s = alt.AsSpan().Trim();
                int end = s.IndexOfAny(" (:[<\n\t");
                if (end >= 0) s = s[..end];
                if (!s.IsEmpty) yield return s.ToString();
            }
    }

    /// <summary>
    /// A description's long part as one line: continuation lines are unindented, " ." paragraph separators dropped,
    /// whitespace collapsed.
    /// </summary>
    public static string LongDescription(string fullValue)
    {
        int nl = fullValue.IndexOf('\n');
        if (nl < 0) return "";
        var parts = new List<string>();
        foreach (var raw in fullValue[(nl + 1)..].Split('\n'))
        {
            var t = raw.Trim();
            if (t == ".") continue;
            parts.Add(t);
        }
        return RawText.Clean(string.Join(" ", parts));
    }

    /// <summary>The first (short) line of a description value.</summary>
    public static string ShortDescription(string fullValue)
    {
        int nl = fullValue.IndexOf('\n');
        return RawText.Clean(nl < 0 ? fullValue : fullValue[..nl]);
    }
}
