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
    /// <summary>Metrics from ranked predictions. <paramref name="invPropensity"/> (one weight per label) enables PSP.</summary>
    public static XmcMetricsResult Compute(CsrMatrix truth, TopK predictions, double[]? invPropensity, int k, FilterPairs? filter = null)
    {
        if (k < 1) throw new ArgumentException("k must be at least 1");
        if (predictions.Rows != truth.Rows)
            throw new ArgumentException($"predictions have {predictions.Rows} rows but the ground truth has {truth.Rows}");
        if (invPropensity is not null && invPropensity.Length != truth.Cols)
            throw new ArgumentException($"{invPropensity.Length} propensities for {truth.Cols} labels");
        if (filter is not null) predictions = predictions.WithoutPairs(filter);

        int n = truth.Rows;
        var discount = new double[k];                  // 1 / log2(j + 2) for 0-based rank j
        for (int j = 0; j < k; j++) discount[j] = 1.0 / Math.Log2(j + 2);
        var idcgPrefix = new double[k + 1];            // idcgPrefix[m] = sum of the first m discounts
        for (int j = 0; j < k; j++) idcgPrefix[j + 1] = idcgPrefix[j] + discount[j];

        var pSum = new double[k]; var nSum = new double[k]; var rSum = new double[k];
        var psNum = new double[k]; var psDen = new double[k];     // PSP: summed weighted hits / ideal weighted hits
        var psnNum = new double[k]; var psnDen = new double[k];   // PSnDCG: summed per-row ratios to the unweighted IDCG

        var isTrue = new int[truth.Cols];              // row stamp: isTrue[l] == row + 1 when l is a true label of the row
        var ideal = new List<double>();
        int kp = predictions.K;
        for (int i = 0; i < n; i++)
        {
            var y = truth.RowIndices(i);
            foreach (var l in y) isTrue[l] = i + 1;
            int ny = y.Length;

            double hits = 0, dcg = 0, wHits = 0, wDcg = 0;
            double wIdeal = 0, wIdealDcg = 0;
            if (invPropensity is not null)
            {
                ideal.Clear();
                foreach (var l in y) ideal.Add(invPropensity[l]);
                ideal.Sort((a, b) => b.CompareTo(a));
            }
            for (int j = 0; j < k; j++)
            {
                int l = j < kp ? predictions.Indices[i * kp + j] : -1;
                if (l >= truth.Cols)
                    throw new ArgumentException($"prediction row {i} slot {j}: label {l} out of range (the ground truth has {truth.Cols} labels)");
                if (l >= 0 && isTrue[l] == i + 1)
                {
                    hits += 1;
                    dcg += discount[j];
                    if (invPropensity is not null) { wHits += invPropensity[l]; wDcg += invPropensity[l] * discount[j]; }
                }
                if (invPropensity is not null && j < ny) { wIdeal += ideal[j]; wIdealDcg += ideal[j] * discount[j]; }

                int kk = j + 1;
                pSum[j] += hits / kk;
                if (ny > 0)
                {
                    double idcg = idcgPrefix[Math.Min(kk, ny)];
                    nSum[j] += dcg / idcg;
                    rSum[j] += hits / ny;
                    if (invPropensity is not null)
                    {
                        psnNum[j] += wDcg / idcg;
                        psnDen[j] += wIdealDcg / idcg;
                    }
                }
                if (invPropensity is not null) { psNum[j] += wHits / kk; psDen[j] += wIdeal / kk; }
            }
        }

        double[] Mean(double[] s) => s.Select(v => v / n).ToArray();
        double[] Ratio(double[] num, double[] den) => num.Zip(den, (a, b) => b > 0 ? (a / n) / (b / n) : 0.0).ToArray();
        return new XmcMetricsResult
        {
            K = k,
            P = Mean(pSum),
            Ndcg = Mean(nSum),
            R = Mean(rSum),
            Psp = invPropensity is null ? null : Ratio(psNum, psDen),
            PsNdcg = invPropensity is null ? null : Ratio(psnNum, psnDen),
        };
    }

    /// <summary>Metrics from a sparse score matrix: the filter is removed first, then each row's top k is ranked.</summary>
    public static XmcMetricsResult Compute(CsrMatrix truth, CsrMatrix scores, double[]? invPropensity, int k, FilterPairs? filter = null)
    {
        if (scores.Rows != truth.Rows)
            throw new ArgumentException($"the score matrix has {scores.Rows} rows but the ground truth has {truth.Rows}");
        if (scores.Cols != truth.Cols)
            throw new ArgumentException($"the score matrix has {scores.Cols} columns but the ground truth has {truth.Cols}");
        if (filter is not null) scores = scores.WithoutPairs(filter);
        return Compute(truth, TopK.FromScores(scores, k), invPropensity, k, null);
    }
}
