using ViXml.Xmc;
using ViXml.Xmc.Search;

namespace ViXml.Training.Baselines;

/// <summary>
/// Okapi BM25 from query texts to label texts, computed sparsely: an inverted index over the label texts, then for each
/// query only the labels sharing a term are scored. Parameters: k1 = 1.2, b = 0.75 (the usual defaults, e.g. Lucene's
/// and Robertson &amp; Zaragoza's); idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)) (never negative, as Lucene).
/// score(q, d) = Σ over distinct terms t of q: idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d| / avgdl)).
/// Tokens: lower-cased maximal runs of letters or digits (so "libssl-dev" gives "libssl", "dev").
/// </summary>
public sealed class Bm25
{
    public double K1 { get; }
    public double B { get; }
    public int NumDocs { get; }
    private readonly Dictionary<string, int> _termId = new(StringComparer.Ordinal);
    private readonly int[][] _postDoc;   // per term: documents containing it (ascending)
    private readonly float[][] _postTf;  // per term: term frequency in each of those documents
    private readonly float[] _idf;
    private readonly float[] _docNorm;   // k1·(1 − b + b·|d|/avgdl) per document

    /// <summary>Largest k1 accepted: beyond a few, term frequency saturates nowhere and the scores only lose precision
    /// (float accumulators); usual values are 0.5-3.</summary>
    public const double MaxK1 = 100;

    /// <summary>Why (k1, b) are not BM25 parameters, or null: k1 finite in [0, <see cref="MaxK1"/>], b in [0, 1].</summary>
    public static string? ParameterProblem(double k1, double b) =>
        !double.IsFinite(k1) || k1 < 0 || k1 > MaxK1 ? $"k1 must be a number in [0, {MaxK1}] (usually 1.2), got {k1}"
        : !double.IsFinite(b) || b < 0 || b > 1 ? $"b must be a number in [0, 1] (usually 0.75), got {b}"
        : null;

    public Bm25(IReadOnlyList<string> documents, double k1 = 1.2, double b = 0.75)
    {
        if (ParameterProblem(k1, b) is string why) throw new ArgumentException(why);
        K1 = k1; B = b; NumDocs = documents.Count;
        var postings = new List<List<(int Doc, int Tf)>>();
        var lengths = new int[documents.Count];
        for (int d = 0; d < documents.Count; d++)
        {
            var counts = new Dictionary<int, int>();
            foreach (var tok in Tokenize(documents[d]))
            {
                if (!_termId.TryGetValue(tok, out int t)) { t = _termId.Count; _termId[tok] = t; postings.Add(new()); }
                counts[t] = counts.GetValueOrDefault(t) + 1;
                lengths[d]++;
            }
            foreach (var (t, tf) in counts) postings[t].Add((d, tf));
        }
        double avgdl = documents.Count == 0 ? 0 : lengths.Average();
        _docNorm = lengths.Select(len => (float)(k1 * (1 - b + (avgdl > 0 ? b * len / avgdl : 0)))).ToArray();
        _postDoc = postings.Select(p => p.Select(x => x.Doc).ToArray()).ToArray();
        _postTf = postings.Select(p => p.Select(x => (float)x.Tf).ToArray()).ToArray();
        _idf = postings.Select(p => (float)Math.Log(1 + (NumDocs - p.Count + 0.5) / (p.Count + 0.5))).ToArray();
    }

    public int VocabularySize => _termId.Count;

    /// <summary>Lower-cased maximal runs of letters or digits.</summary>
    public static IEnumerable<string> Tokenize(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && !char.IsLetterOrDigit(text[i])) i++;
            int start = i;
            while (i < text.Length && char.IsLetterOrDigit(text[i])) i++;
            if (i > start) yield return text[start..i].ToLowerInvariant();
        }
    }

    /// <summary>BM25 score of one query against every document (dense; for tests and small inputs).</summary>
    public float[] ScoreAll(string query)
    {
        var s = new float[NumDocs];
        Accumulate(query, s, null);
        return s;
    }

    private void Accumulate(string query, float[] acc, List<int>? touched)
    {
        foreach (var tok in Tokenize(query).Distinct())
        {
            if (!_termId.TryGetValue(tok, out int t)) continue;
            var docs = _postDoc[t]; var tfs = _postTf[t];
            float idf = _idf[t], k1p1 = (float)(K1 + 1);
            for (int j = 0; j < docs.Length; j++)
            {
                int d = docs[j];
                if (touched is not null && acc[d] == 0) touched.Add(d);
                acc[d] += idf * tfs[j] * k1p1 / (tfs[j] + _docNorm[d]);
            }
        }
    }

    /// <summary>Top-k labels per query (only labels sharing a term; fewer than k are padded with −1).</summary>
    public TopK Search(IReadOnlyList<string> queries, int k)
    {
        var labels = new int[queries.Count * k];
        var scores = new float[queries.Count * k];
        Parallel.For(0, queries.Count,
            () => (Acc: new float[NumDocs], Touched: new List<int>(), Heap: new TopKHeap(k)),
            (q, _, local) =>
            {
                Accumulate(queries[q], local.Acc, local.Touched);
                var heap = local.Heap;
                foreach (var d in local.Touched)
                {
                    if (local.Acc[d] > 0) heap.Push(local.Acc[d], d);
                    local.Acc[d] = 0;
                }
                local.Touched.Clear();
                heap.Drain(labels.AsSpan(q * k, k), scores.AsSpan(q * k, k));
                return local;
            },
            _ => { });
        return new TopK(queries.Count, k, labels, scores);
    }
}
