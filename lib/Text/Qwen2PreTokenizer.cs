using System.Globalization;
using System.Text;

namespace ViXml.Text;

/// <summary>
/// Qwen2's pre-tokeniser split, hand-coded over code points with the regex's exact backtracking semantics
/// (HF "Split" with behaviour Isolated; every character ends up in some piece):
/// <code>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</code>
/// Why not System.Text.RegularExpressions: .NET's \p{L}/\p{N} test UTF-16 code units, so letters and digits outside
/// the BMP (surrogate pairs) would be misclassified, while HF's Oniguruma works on code points.
/// \s is Unicode White_Space (Rune.IsWhiteSpace, the same set as Oniguruma's and Rust's).
/// </summary>
public static class Qwen2PreTokenizer
{
    /// <summary>The pattern as it appears in Qwen2/2.5/3 tokenizer.json files.</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Appends the (start, length) pieces of <paramref name="s"/>, in order, covering all of it.</summary>
    public static void Split(string s, List<(int Start, int Length)> pieces)
    {
        int i = 0;
        while (i < s.Length)
        {
            int len = MatchAt(s, i);
            pieces.Add((i, len));
            i += len;
        }
    }

    private enum Kind : byte { Letter, Number, CrLf, Space, Symbol }

    private static Kind KindAt(string s, int i, out int n)
    {
        Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out n);
        if (r.Value is '\r' or '\n') return Kind.CrLf;
        switch (Rune.GetUnicodeCategory(r))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                return Kind.Letter;
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                return Kind.Number;
        }
        return Rune.IsWhiteSpace(r) ? Kind.Space : Kind.Symbol;
    }

    /// <summary>End (exclusive) of the run of characters of kind <paramref name="k"/> starting at <paramref name="i"/>.</summary>
    private static int RunEnd(string s, int i, Kind k)
    {
        while (i < s.Length)
        {
            if (KindAt(s, i, out int n) != k) break;
            i += n;
        }
        return i;
    }

    private static int RunEndCrLf(string s, int i)
    {
        while (i < s.Length && s[i] is '\r' or '\n') i++;
        return i;
    }

    /// <summary>Length of the match at <paramref name="i"/>: the first alternative of the pattern that matches.</summary>
    private static int MatchAt(string s, int i)
    {
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d) — case-insensitive under Unicode simple case folding (ſ folds to s).
        if (s[i] == '\'' && i + 1 < s.Length)
        {
            char a = char.ToLowerInvariant(s[i + 1]);
            char b = i + 2 < s.Length ? char.ToLowerInvariant(s[i + 2]) : '\0';
            if (a is 's' or 't' or 'm' or 'd' or '\u017F') return 2;
            if ((a == 'r' || a == 'v') && b == 'e') return 3;
            if (a == 'l' && b == 'l') return 3;
        }
        var k = KindAt(s, i, out int n);
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+ — an optional non-letter/digit/newline prefix, then letters.
        if (k == Kind.Letter) return RunEnd(s, i, Kind.Letter) - i;
        if (k is Kind.Space or Kind.Symbol && i + n < s.Length && KindAt(s, i + n, out _) == Kind.Letter)
            return RunEnd(s, i + n, Kind.Letter) - i;
        // 3. \p{N} — one digit.
        if (k == Kind.Number) return n;
        // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*' — optional space, symbols, trailing newlines.
        if (k == Kind.Symbol) return RunEndCrLf(s, RunEnd(s, i, Kind.Symbol)) - i;
        if (s[i] == ' ' && i + 1 < s.Length && KindAt(s, i + 1, out _) == Kind.Symbol)
            return RunEndCrLf(s, RunEnd(s, i + 1, Kind.Symbol)) - i;
        // Now s[i] is whitespace (CR/LF included). j = end of the whitespace run.
        int j = i;
        while (j < s.Length && KindAt(s, j, out int m) is Kind.Space or Kind.CrLf) j += m;
        // 5. \s*[\r\n]+ — backtracks to end right after the run's last CR/LF.
        for (int q = j - 1; q >= i; q--)
            if (s[q] is '\r' or '\n') return q + 1 - i;
        // 6. \s+(?!\S) — the whole run at the end of text, else the run minus its last character.
        if (j == s.Length) return j - i;
        if (j - 1 > i) return j - 1 - i;
        // 7. \s+
        return j - i;
    }
}
