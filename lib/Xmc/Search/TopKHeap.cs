namespace ViXml.Xmc.Search;

/// <summary>A fixed-size selection of the k best (score, label) pairs; a small binary min-heap keyed on rank.</summary>
public sealed class TopKHeap
{
    private readonly float[] _s;
    private readonly int[] _l;
    private int _n;
    public TopKHeap(int k) { _s = new float[k]; _l = new int[k]; _n = 0; }

    /// <summary>Is candidate (label a, score sa) ranked before (b, sb)? Higher score first, then the smaller label id
    /// (the same tie-break as <see cref="ViXml.Xmc.TopK.FromScores"/>), so results are deterministic.</summary>
    public static bool Before(float sa, int a, float sb, int b) => sa > sb || (sa == sb && a < b);
    public int Count => _n;
    /// <summary>The worst kept score (−∞ while fewer than k are kept).</summary>
    public float Threshold => _n < _s.Length ? float.NegativeInfinity : _s[0];

    public void Push(float score, int label)
    {
        if (_s.Length == 0 || float.IsNaN(score)) return;
        if (_n < _s.Length)
        {
            int i = _n++;
            _s[i] = score; _l[i] = label;
            while (i > 0)
            {
                int p = (i - 1) >> 1;
                if (!Worse(i, p)) break;
                Swap(i, p); i = p;
            }
            return;
        }
        // Replace the root (worst kept) only if the newcomer ranks before it.
        if (!Before(score, label, _s[0], _l[0])) return;
        _s[0] = score; _l[0] = label;
        int c = 0;
        while (true)
        {
            int a = 2 * c + 1, b = a + 1, w = c;
            if (a < _n && Worse(a, w)) w = a;
            if (b < _n && Worse(b, w)) w = b;
            if (w == c) break;
            Swap(c, w); c = w;
        }
    }

    /// <summary>i ranks after j (it is "worse").</summary>
    private bool Worse(int i, int j) => Before(_s[j], _l[j], _s[i], _l[i]);

    private void Swap(int i, int j)
    {
        (_s[i], _s[j]) = (_s[j], _s[i]);
        (_l[i], _l[j]) = (_l[j], _l[i]);
    }

    /// <summary>Writes the kept pairs best first into the destination spans (padding −1/−∞) and empties the heap.</summary>
    public void Drain(Span<int> labels, Span<float> scores)
    {
        labels.Fill(-1); scores.Fill(float.NegativeInfinity);
        var idx = new int[_n];
        for (int i = 0; i < _n; i++) idx[i] = i;
        var s = _s; var l = _l;
        Array.Sort(idx, (x, y) => Before(s[x], l[x], s[y], l[y]) ? -1 : Before(s[y], l[y], s[x], l[x]) ? 1 : 0);
        for (int i = 0; i < _n; i++) { labels[i] = l[idx[i]]; scores[i] = s[idx[i]]; }
        _n = 0;
    }
}
