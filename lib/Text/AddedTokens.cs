namespace ViXml.Text;

/// <summary>
/// A token matched as a whole string in the raw input before normalisation and model tokenisation
/// (HF "added_tokens": [CLS], &lt;|im_end|&gt;, …).
/// </summary>
/// <param name="Content">The exact string.</param>
/// <param name="Id">Its id.</param>
/// <param name="Special">Special tokens are dropped by Decode(skipSpecialTokens: true).</param>
/// <param name="LStrip">Also swallow whitespace on its left.</param>
/// <param name="RStrip">Also swallow whitespace on its right.</param>
/// <param name="SingleWord">Only match when not inside a word.</param>
public sealed record AddedToken(string Content, int Id, bool Special, bool LStrip = false, bool RStrip = false,
    bool SingleWord = false);

/// <summary>Finds added tokens in text, leftmost first and longest first at a position (HF's LeftmostLongest).</summary>
public sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    /// <summary>All tokens, by content.</summary>
    public IReadOnlyDictionary<string, AddedToken> ByContent { get; }

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        var list = tokens.ToList();
        ByContent = list.ToDictionary(t => t.Content, StringComparer.Ordinal);
        _byFirstChar = list.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public int Count => ByContent.Count;

    /// <summary>Splits <paramref name="text"/> into plain slices (Token null) and matched added tokens, in order.
    /// With no tokens, or none found, the result is the whole text as one slice.</summary>
    public void Split(string text, List<(int Start, int Length, AddedToken? Token)> parts)
    {
        parts.Clear();
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (_byFirstChar.Count > 0 && _byFirstChar.TryGetValue(text[i], out var cands))
            {
                AddedToken? hit = null;
                foreach (var c in cands)
                {
                    if (text.AsSpan(i).StartsWith(c.Content, StringComparison.Ordinal) &&
                        (!c.SingleWord || IsWordBoundary(text, i, i + c.Content.Length)))
                    {
                        hit = c;
                        break;
                    }
                }
                if (hit is not null)
                {
                    int start = i, end = i + hit.Content.Length;
                    if (hit.LStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
                    if (hit.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
                    if (start > plainStart) parts.Add((plainStart, start - plainStart, null));
                    parts.Add((start, end - start, hit));
                    plainStart = i = end;
                    continue;
                }
            }
            i++;
        }
        if (plainStart < text.Length || parts.Count == 0) parts.Add((plainStart, text.Length - plainStart, null));
    }

    private static bool IsWordBoundary(string s, int start, int end) =>
        (start == 0 || !IsWordChar(s[start - 1])) && (end == s.Length || !IsWordChar(s[end]));

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
