using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ViXml.Xmc;

/// <summary>Metric values for k = 1..K; arrays are indexed by k - 1. PSP arrays are null without propensities.</summary>
public sealed class XmcMetricsResult
{
    /// <summary>Largest cut-off computed.</summary>
    public required int K { get; init; }
    /// <summary>Precision@k.</summary>
    public required double[] P { get; init; }
    /// <summary>nDCG@k.</summary>
    public required double[] Ndcg { get; init; }
    /// <summary>Propensity-scored precision@k (normalised by the best achievable), or null.</summary>
    public double[]? Psp { get; init; }
    /// <summary>Propensity-scored nDCG@k (normalised by the best achievable), or null.</summary>
    public double[]? PsNdcg { get; init; }
    /// <summary>Recall@k (pyxclib's recall(): rows without labels count as 0).</summary>
    public required double[] R { get; init; }

    /// <summary>Keys "P@1".."P@K", then "nDCG@k", "PSP@k", "PSnDCG@k" (only with propensities), "R@k".</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var d = new Dictionary<string, double>();
        void Add(string name, double[]? v)
        {
            if (v is null) return;
            for (int k = 1; k <= K; k++) d[$"{name}@{k}"] = v[k - 1];
        }
        Add("P", P); Add("nDCG", Ndcg); Add("PSP", Psp); Add("PSnDCG", PsNdcg); Add("R", R);
        return d; // Dictionary keeps insertion order when nothing is removed
    }

    /// <summary>One JSON object with the keys of <see cref="ToDictionary"/> (doubles in round-trip form).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (key, v) in ToDictionary()) w.WriteNumber(key, v);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A readable table: one row per metric family, columns k = 1..K, values in percent.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.Append("metric ");
        for (int k = 1; k <= K; k++) sb.Append($"{"@" + k,8}");
        sb.Append('\n');
        void Row(string name, double[]? v)
        {
            if (v is null) return;
            sb.Append($"{name,-7}");
            foreach (var x in v) sb.Append((x * 100).ToString("F2", CultureInfo.InvariantCulture).PadLeft(8));
            sb.Append('\n');
        }
        Row("P", P); Row("nDCG", Ndcg); Row("PSP", Psp); Row("PSnDCG", PsNdcg); Row("R", R);
        return sb.ToString();
    }
}

/// <summary>
/// XMC metrics defined exactly as pyxclib's xc_metrics (see tests/fixtures/xmc-metrics/README.md): every test row
/// counts in the mean (also rows without labels or predictions); PSP@k and PSnDCG@k are ratios against the best
/// achievable ranking; the filter is applied to the predictions before scoring.
/// </summary>
public static class XmcMetrics
{
    /// <summary>Rows per block: partial sums are kept per block and added in block order, so the result is the same
    /// for any number of threads.</summary>
    private const int BlockRows = 8192;

    /// <summary>
    /// Metrics from ranked predictions. <paramref name="invPropensity"/> (one weight per label) enables PSP.
    /// Runs on up to <paramref name="maxThreads"/> threads (0 = all cores); the values do not depend on it.
    /// </summary>
    public static XmcMetricsResult Compute(CsrMatrix truth, TopK predictions, double[]? invPropensity, int k, FilterPairs? filter = null,
        int maxThreads = 0)
    {
        if (k < 1) throw new ArgumentException("k must be at least 1");
        if (truth.Rows == 0)   // every metric is a mean over rows: 0/0
            throw new InvalidDataException("the ground truth has no rows (no test points): the metrics are means over rows and undefined for none");
        if (predictions.Rows != truth.Rows)
            throw new ArgumentException($"predictions have {predictions.Rows} rows but the ground truth has {truth.Rows}");
        if (invPropensity is not null && invPropensity.Length != truth.Cols)
            throw new ArgumentException($"{invPropensity.Length} propensities for {truth.Cols} labels");
        if (invPropensity is not null)
            for (int l = 0; l < invPropensity.Length; l++)
                if (!double.IsFinite(invPropensity[l]))
                    throw new ArgumentException($"inverse propensity of label {l} is {invPropensity[l]} (check the propensity A and B)");
        if (filter is not null) predictions = predictions.WithoutPairs(filter);

        int n = truth.Rows;
        var discount = new double[k];                  // 1 / log2(j + 2) for 0-based rank j
        for (int j = 0; j < k; j++) discount[j] = 1.0 / Math.Log2(j + 2);
        var idcgPrefix = new double[k + 1];            // idcgPrefix[m] = sum of the first m discounts
        for (int j = 0; j < k; j++) idcgPrefix[j + 1] = idcgPrefix[j] + discount[j];

        // Block size depends only on n and k (never on the thread count): at most ~7 x 512K partial sums (29 MB) in all.
        int blockRows = (int)Math.Max(BlockRows, ((long)n + Math.Max(1, (1 << 19) / k) - 1) / Math.Max(1, (1 << 19) / k));
        int blocks = n == 0 ? 0 : (int)(((long)n + blockRows - 1) / blockRows);
        var partial = new Sums[blocks];
        int threads = Math.Min(maxThreads > 0 ? maxThreads : Environment.ProcessorCount, blocks);
        int next = -1;
        Exception? error = null;
        void Worker()
        {
            var scratch = new Scratch(truth.Cols, k);
            try
            {
                for (int b; (b = Interlocked.Increment(ref next)) < blocks;)
                {
                    if (Volatile.Read(ref error) is not null) return;
                    partial[b] = Block(truth, predictions, invPropensity, k, discount, idcgPrefix, b * blockRows,
                        (int)Math.Min(n, (long)(b + 1) * blockRows), scratch);
                }
            }
            catch (Exception e) { Interlocked.CompareExchange(ref error, e, null); }
        }
        if (threads <= 1) Worker();
        else
        {
            var ts = new Thread[threads - 1];
            for (int t = 0; t < ts.Length; t++) { ts[t] = new Thread(Worker) { IsBackground = true }; ts[t].Start(); }
            Worker();
            foreach (var t in ts) t.Join();
        }
        if (error is not null) throw error;

        var total = new Sums(k);
        foreach (var p in partial) total.Add(p);           // block order: deterministic
        double[] Mean(double[] s) => s.Select(v => v / n).ToArray();
        double[] Ratio(double[] num, double[] den) => num.Zip(den, (a, b) => b > 0 ? (a / n) / (b / n) : 0.0).ToArray();
        return new XmcMetricsResult
        {
            K = k,
            P = Mean(total.P),
            Ndcg = Mean(total.N),
            R = Mean(total.R),
            Psp = invPropensity is null ? null : Ratio(total.PsNum, total.PsDen),
            PsNdcg = invPropensity is null ? null : Ratio(total.PsnNum, total.PsnDen),
        };
    }

    private sealed class Sums(int k)
    {
        public readonly double[] P = new double[k], N = new double[k], R = new double[k];
        public readonly double[] PsNum = new double[k], PsDen = new double[k];     // PSP: weighted hits / ideal weighted hits
        public readonly double[] PsnNum = new double[k], PsnDen = new double[k];   // PSnDCG: per-row ratios to the unweighted IDCG

        public void Add(Sums o)
        {
            for (int j = 0; j < P.Length; j++)
            {
                P[j] += o.P[j]; N[j] += o.N[j]; R[j] += o.R[j];
                PsNum[j] += o.PsNum[j]; PsDen[j] += o.PsDen[j]; PsnNum[j] += o.PsnNum[j]; PsnDen[j] += o.PsnDen[j];
            }
        }
    }

    /// <summary>Per-thread buffers: the row stamp of true labels and the ideal (descending) weights of a row.</summary>
    private sealed class Scratch(int cols, int k)
    {
        public readonly int[] IsTrue = new int[cols];      // IsTrue[l] == row + 1 when l is a true label of the row
        public readonly double[] Ideal = new double[k];    // the row's k largest true-label weights, descending
        public readonly double[] Hit = new double[k];      // per slot: 1 if the prediction is a true label
        public readonly double[] WHit = new double[k];     // per slot: its weight if it is a hit
    }

    private static Sums Block(CsrMatrix truth, TopK predictions, double[]? w, int k, double[] discount, double[] idcgPrefix,
        int from, int to, Scratch sc)
    {
        var s = new Sums(k);
        var isTrue = sc.IsTrue;
        var ideal = sc.Ideal;
        var hit = sc.Hit;
        var whit = sc.WHit;
        int kp = predictions.K, cols = truth.Cols;
        int slots = Math.Min(k, kp);
        var indptr = truth.Indptr;
        var tIdx = truth.Indices;
        var pIdx = predictions.Indices;
        for (int i = from; i < to; i++)
        {
            int y0 = indptr[i], y1 = indptr[i + 1], ny = y1 - y0, stamp = i + 1;
            for (int p = y0; p < y1; p++) isTrue[tIdx[p]] = stamp;

            int nh = 0;                                    // hits in the first `slots` ranks
            long rowBase = (long)i * kp;
            for (int j = 0; j < slots; j++)
            {
                int l = pIdx[rowBase + j];
                if ((uint)l < (uint)cols && isTrue[l] == stamp)
                {
                    hit[j] = 1; whit[j] = w is null ? 0 : w[l]; nh++;
                }
                else
                {
                    if (l >= cols)
                        throw new ArgumentException($"prediction row {i} slot {j}: label {l} out of range (the ground truth has {cols} labels)");
                    hit[j] = 0; whit[j] = 0;
                }
            }
            for (int j = slots; j < k; j++) { hit[j] = 0; whit[j] = 0; }

            int m = Math.Min(k, ny);                       // ideal ranking length
            if (w is not null && ny > 0)
            {
                // the m largest weights among the true labels, descending (insertion into a sorted prefix)
                int filled = 0;
                for (int p = y0; p < y1; p++)
                {
                    double v = w[tIdx[p]];
                    if (filled == m && v <= ideal[m - 1]) continue;
                    int q = filled < m ? filled++ : m - 1;
                    while (q > 0 && ideal[q - 1] < v) { ideal[q] = ideal[q - 1]; q--; }
                    ideal[q] = v;
                }
            }

            if (nh == 0 && (w is null || ny == 0))
                continue;                                  // nothing but zeros to add

            double hits = 0, dcg = 0, wHits = 0, wDcg = 0, wIdeal = 0, wIdealDcg = 0;
            for (int j = 0; j < k; j++)
            {
                if (hit[j] != 0) { hits += 1; dcg += discount[j]; wHits += whit[j]; wDcg += whit[j] * discount[j]; }
                if (j < m && w is not null) { wIdeal += ideal[j]; wIdealDcg += ideal[j] * discount[j]; }
                int kk = j + 1;
                s.P[j] += hits / kk;
                if (ny > 0)
                {
                    double idcg = idcgPrefix[Math.Min(kk, ny)];
                    s.N[j] += dcg / idcg;
                    s.R[j] += hits / ny;
                    if (w is not null) { s.PsnNum[j] += wDcg / idcg; s.PsnDen[j] += wIdealDcg / idcg; }
                }
                if (w is not null) { s.PsNum[j] += wHits / kk; s.PsDen[j] += wIdeal / kk; }
            }
        }
        return s;
    }

    /// <summary>Metrics from a sparse score matrix: the filter is removed first, then each row's top k is ranked.</summary>
    public static XmcMetricsResult Compute(CsrMatrix truth, CsrMatrix scores, double[]? invPropensity, int k, FilterPairs? filter = null)
    {
        if (scores.Rows != truth.Rows)
            throw new ArgumentException($"the score matrix has {scores.Rows} rows but the ground truth has {truth.Rows}");
        if (scores.Cols != truth.Cols)
            throw new ArgumentException($"the score matrix has {scores.Cols} columns but the ground truth has {truth.Cols}");
        if (filter is not null) scores = scores.WithoutPairs(filter);
        int widest = 0;
        for (int r = 0; r < scores.Rows; r++) widest = Math.Max(widest, scores.RowLength(r));
        // slots past a row's predictions are empty: the top-k arrays need no more than the longest row
        return Compute(truth, TopK.FromScores(scores, Math.Max(1, Math.Min(k, widest))), invPropensity, k, null);
    }
}
