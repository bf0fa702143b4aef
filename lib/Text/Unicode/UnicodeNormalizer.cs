using System.Text;

namespace ViXml.Text.Unicode;

/// <summary>
/// Canonical Unicode normalisation (NFD and NFC) from our own tables (UnicodeTables.g.cs).
/// Why not string.Normalize: the project builds with InvariantGlobalization, where Normalize leaves non-ASCII text
/// unchanged. Algorithm as in UAX #15: full canonical decomposition (Hangul algorithmically), canonical ordering
/// by combining class, then (NFC) canonical composition of unblocked pairs.
/// </summary>
public static class UnicodeNormalizer
{
    // Hangul syllable constants (Unicode ch. 3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<int, int[]> Decomp = BuildDecomp();
    private static readonly byte[] CccBmp = new byte[0x10000];          // combining class for U+0000..U+FFFF
    private static readonly Dictionary<int, byte> CccAstral = new();     // combining class above U+FFFF
    private static readonly Dictionary<long, int> Compose = BuildCompose();

    /// <summary>Unicode version of the decomposition data.</summary>
    public static string DataVersion => UnicodeTables.Version;

    static UnicodeNormalizer()
    {
        var t = UnicodeTables.CombiningClasses;
        for (int i = 0; i < t.Length; i += 2)
        {
            if (t[i] < 0x10000) CccBmp[t[i]] = (byte)t[i + 1];
            else CccAstral[t[i]] = (byte)t[i + 1];
        }
    }

    private static Dictionary<int, int[]> BuildDecomp()
    {
        var t = UnicodeTables.Decompositions;
        var d = new Dictionary<int, int[]>(2100);
        for (int i = 0; i < t.Length;)
        {
            int cp = t[i], n = t[i + 1];
            d[cp] = t.AsSpan(i + 2, n).ToArray();
            i += 2 + n;
        }
        return d;
    }

    private static Dictionary<long, int> BuildCompose()
    {
        var t = UnicodeTables.Compositions;
        var d = new Dictionary<long, int>(t.Length / 3);
        for (int i = 0; i < t.Length; i += 3) d[Key(t[i], t[i + 1])] = t[i + 2];
        return d;
    }

    private static long Key(int a, int b) => ((long)a << 21) | (uint)b;

    /// <summary>Canonical combining class of a code point (0 for starters).</summary>
    public static int CombiningClass(int cp) =>
        cp < 0x10000 ? CccBmp[cp] : CccAstral.TryGetValue(cp, out var c) ? c : 0;

    /// <summary>Canonical decomposition (NFD).</summary>
    public static string Nfd(string s)
    {
        // Fast path: code points below U+00C0 have no decomposition and class 0.
        if (AllBelow(s, 0xC0)) return s;
        return ToString(Decompose(s));
    }

    /// <summary>Canonical composition (NFC).</summary>
    public static string Nfc(string s)
    {
        // Fast path: code points below U+0300 are NFC-stable starters.
        if (AllBelow(s, 0x300)) return s;
        var d = Decompose(s);
        ComposeInPlace(d);
        return ToString(d);
    }

    private static bool AllBelow(string s, int limit)
    {
        foreach (var c in s) if (c >= limit) return false;
        return true;
    }

    /// <summary>Full canonical decomposition followed by canonical ordering, as code points.</summary>
    private static List<int> Decompose(string s)
    {
        var outp = new List<int>(s.Length + 8);
        foreach (var r in s.EnumerateRunes())
        {
            int cp = r.Value;
            int si = cp - SBase;
            if (si >= 0 && si < SCount)
            {
                outp.Add(LBase + si / NCount);
                outp.Add(VBase + si % NCount / TCount);
                if (si % TCount != 0) outp.Add(TBase + si % TCount);
            }
            else if (Decomp.TryGetValue(cp, out var d)) outp.AddRange(d);
            else outp.Add(cp);
        }
        // Canonical ordering: stable sort of each run of non-starters by combining class (runs are short).
        for (int i = 1; i < outp.Count; i++)
        {
            int cc = CombiningClass(outp[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0)
            {
                int prev = CombiningClass(outp[j - 1]);
                if (prev <= cc) break;
                (outp[j - 1], outp[j]) = (outp[j], outp[j - 1]);
                j--;
            }
        }
        return outp;
    }

    /// <summary>Canonical composition: each character joins the last starter unless blocked by an intervening
    /// character of class 0 or of class ≥ its own.</summary>
    private static void ComposeInPlace(List<int> d)
    {
        int w = 0;              // write index into d
        int starter = -1;       // index (in the written prefix) of the last starter
        int lastCc = 0;         // class of the last written character
        for (int i = 0; i < d.Count; i++)
        {
            int cp = d[i];
            int cc = CombiningClass(cp);
            if (starter >= 0)
            {
                bool adjacent = w - 1 == starter;
                if ((adjacent || (lastCc != 0 && lastCc < cc)) && TryCompose(d[starter], cp, out int c))
                {
                    d[starter] = c;
                    continue;
                }
            }
            if (cc == 0) starter = w;
            lastCc = cc;
            d[w++] = cp;
        }
        d.RemoveRange(w, d.Count - w);
    }

    private static bool TryCompose(int a, int b, out int c)
    {
        int li = a - LBase, vi = b - VBase;
        if (li >= 0 && li < LCount && vi >= 0 && vi < VCount)
        {
            c = SBase + (li * VCount + vi) * TCount;
            return true;
        }
        int si = a - SBase, ti = b - TBase;
        if (si >= 0 && si < SCount && si % TCount == 0 && ti > 0 && ti < TCount)
        {
            c = a + ti;
            return true;
        }
        return Compose.TryGetValue(Key(a, b), out c);
    }

    private static string ToString(List<int> cps)
    {
        var sb = new StringBuilder(cps.Count + 4);
        foreach (var cp in cps)
        {
            if (cp < 0x10000) sb.Append((char)cp);
            else { sb.Append((char)(0xD7C0 + (cp >> 10))); sb.Append((char)(0xDC00 | (cp & 0x3FF))); }
        }
        return sb.ToString();
    }
}
