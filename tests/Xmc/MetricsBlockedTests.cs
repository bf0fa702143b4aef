using ViXml.Xmc;

namespace ViXml.Tests.Xmc;

/// <summary>
/// The blocked, multi-threaded XmcMetrics.Compute against a plain one-row-at-a-time transcription of the pyxclib
/// definitions (tests/fixtures/xmc-metrics/README.md), on seeded random data with empty rows, empty slots and k larger
/// than the prediction width; and its values do not depend on the thread count.
/// </summary>
public class MetricsBlockedTests
{
    private static (CsrMatrix, TopK, double[]) Random(int n, int labels, int kp, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<IEnumerable<int>>();
        var pred = new int[n * kp];
        for (int i = 0; i < n; i++)
        {
            var y = Enumerable.Range(0, rng.Next(0, 12)).Select(_ => rng.Next(labels)).ToHashSet();
            rows.Add(y);
            var cand = y.Concat(Enumerable.Range(0, 3 * kp).Select(_ => rng.Next(labels))).Distinct().OrderBy(_ => rng.Next()).ToList();
            int have = rng.Next(10) == 0 ? rng.Next(kp) : kp;
            for (int j = 0; j < kp; j++) pred[i * kp + j] = j < have && j < cand.Count ? cand[j] : -1;
        }
        var w = Enumerable.Range(0, labels).Select(_ => 1 + 3 * rng.NextDouble()).ToArray();
        return (CsrMatrix.FromRows(labels, rows), new TopK(n, kp, pred, new float[n * kp]), w);
    }

    /// <summary>pyxclib's definitions, literally: per row, per cut-off.</summary>
    private static Dictionary<string, double> Reference(CsrMatrix truth, TopK top, double[] w, int k)
    {
        int n = truth.Rows;
        var d = new Dictionary<string, double>();
        for (int kk = 1; kk <= k; kk++)
        {
            double p = 0, nd = 0, r = 0, psNum = 0, psDen = 0, psnNum = 0, psnDen = 0;
            for (int i = 0; i < n; i++)
            {
                var y = truth.RowIndices(i).ToArray().ToHashSet();
                var ranked = Enumerable.Range(0, kk).Select(j => j < top.K ? top.Indices[i * top.K + j] : -1).ToArray();
                var rel = ranked.Select(l => l >= 0 && y.Contains(l)).ToArray();
                double hits = rel.Count(b => b);
                p += hits / kk;
                var ideal = y.Select(l => w[l]).OrderByDescending(v => v).Take(kk).ToArray();
                psNum += Enumerable.Range(0, kk).Sum(j => rel[j] ? w[ranked[j]] : 0) / kk;
                psDen += ideal.Sum() / kk;
                if (y.Count == 0) continue;
                double idcg = Enumerable.Range(0, Math.Min(kk, y.Count)).Sum(j => 1 / Math.Log2(j + 2));
                nd += Enumerable.Range(0, kk).Sum(j => rel[j] ? 1 / Math.Log2(j + 2) : 0) / idcg;
                r += hits / y.Count;
                psnNum += Enumerable.Range(0, kk).Sum(j => rel[j] ? w[ranked[j]] / Math.Log2(j + 2) : 0) / idcg;
                psnDen += Enumerable.Range(0, ideal.Length).Sum(j => ideal[j] / Math.Log2(j + 2)) / idcg;
            }
            d[$"P@{kk}"] = p / n; d[$"nDCG@{kk}"] = nd / n; d[$"R@{kk}"] = r / n;
            d[$"PSP@{kk}"] = psNum / psDen; d[$"PSnDCG@{kk}"] = psnNum / psnDen;
        }
        return d;
    }

    [Theory]
    [InlineData(20_000, 300, 8, 5, 1)]    // several blocks of 8192 rows
    [InlineData(500, 40, 3, 7, 2)]        // k wider than the predictions
    [InlineData(1, 5, 5, 5, 3)]
    public void MatchesTheDefinitionsOnRandomData(int n, int labels, int kp, int k, int seed)
    {
        var (truth, top, w) = Random(n, labels, kp, seed);
        var exp = Reference(truth, top, w, k);
        var got = XmcMetrics.Compute(truth, top, w, k).ToDictionary();
        foreach (var (key, v) in exp)
            Assert.True(Math.Abs(v - got[key]) <= 1e-12, $"{key}: expected {v:R}, got {got[key]:R}");
    }

    [Fact]
    public void SameValuesForAnyThreadCount()
    {
        var (truth, top, w) = Random(50_000, 2000, 20, 11);
        var one = XmcMetrics.Compute(truth, top, w, 10, maxThreads: 1).ToDictionary();
        foreach (var t in new[] { 2, 3, 8 })
        {
            var many = XmcMetrics.Compute(truth, top, w, 10, maxThreads: t).ToDictionary();
            foreach (var (key, v) in one) Assert.Equal(v, many[key]); // bit-identical, not just close
        }
    }

    [Fact]
    public void NonFiniteInversePropensityIsRefused()
    {
        var (truth, top, w) = Random(10, 20, 5, 4);
        w[3] = double.NaN;
        var e = Assert.Throws<ArgumentException>(() => XmcMetrics.Compute(truth, top, w, 5));
        Assert.Contains("label 3", e.Message);
    }
}
