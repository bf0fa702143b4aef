using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;

namespace ViXml.Tests.Xmc;

/// <summary>Our metrics against pyxclib's own outputs (tests/fixtures/xmc-metrics, see its README).</summary>
public class MetricsTests
{
    public static TheoryData<string> Cases => new() { "small-01-basic", "small-02-ties", "small-03-longtail", "small-04-filter", "medium-01" };

    private static JsonElement Load(string @case, string file) =>
        JsonDocument.Parse(File.ReadAllText(Repo.Fixture("xmc-metrics", @case, file))).RootElement;

    private static void Near(double expected, double actual, string what, double tol = 1e-9)
    {
        // Relative where values are large, absolute near zero.
        double err = Math.Abs(expected - actual) / Math.Max(1.0, Math.Abs(expected));
        Assert.True(err <= tol, $"{what}: expected {expected:R}, got {actual:R} (err {err:E2})");
    }

    private static void CheckAgainst(JsonElement exp, XmcMetricsResult r, string tag)
    {
        var d = r.ToDictionary();
        foreach (var k in new[] { 1, 2, 3, 4, 5 })
        {
            Near(exp.GetProperty($"P@{k}").GetDouble(), d[$"P@{k}"], $"{tag} P@{k}");
            Near(exp.GetProperty($"PSP@{k}").GetDouble(), d[$"PSP@{k}"], $"{tag} PSP@{k}");
            Near(exp.GetProperty($"R@{k}").GetDouble(), d[$"R@{k}"], $"{tag} R@{k}");
            var f64 = exp.GetProperty("reimpl_float64");
            Near(f64.GetProperty($"nDCG@{k}").GetDouble(), d[$"nDCG@{k}"], $"{tag} nDCG@{k}");
            Near(f64.GetProperty($"PSnDCG@{k}").GetDouble(), d[$"PSnDCG@{k}"], $"{tag} PSnDCG@{k}");
            // pyxclib's own float32-rounded nDCG values, at float32 precision.
            Near(exp.GetProperty($"nDCG@{k}").GetDouble(), d[$"nDCG@{k}"], $"{tag} nDCG@{k} (float32)", 1e-6);
        }
        Near(exp.GetProperty("R@10").GetDouble(), d["R@10"], $"{tag} R@10");
        Near(exp.GetProperty("R@100").GetDouble(), d["R@100"], $"{tag} R@100");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyxclibFromScoreMatrix(string @case)
    {
        var dir = Repo.Fixture("xmc-metrics", @case);
        var truth = XcSparse.Read(Path.Combine(dir, "tst_X_Y.txt"));
        var train = XcSparse.Read(Path.Combine(dir, "trn_X_Y.txt"));
        var scores = XcSparse.Read(Path.Combine(dir, "score_mat.txt"));
        var filterPath = Path.Combine(dir, "filter_labels_test.txt");
        var filter = File.Exists(filterPath) ? FilterPairs.Read(filterPath, truth.Rows, truth.Cols) : null;

        foreach (var file in new[] { "expected.json", "expected_alt.json" })
        {
            var exp = Load(@case, file);
            var w = Propensity.Inverse(train, exp.GetProperty("A").GetDouble(), exp.GetProperty("B").GetDouble());
            var ew = exp.GetProperty("inv_propensity").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(ew.Length, w.Length);
            for (int l = 0; l < w.Length; l++) Near(ew[l], w[l], $"{@case} inv_propensity[{l}]", 1e-12);
            CheckAgainst(exp, XmcMetrics.Compute(truth, scores, w, 100, filter), $"{@case}/{file}");
        }
        if (filter is not null)
        {
            var exp = Load(@case, "expected_unfiltered.json");
            var w = Propensity.Inverse(train, exp.GetProperty("A").GetDouble(), exp.GetProperty("B").GetDouble());
            CheckAgainst(exp, XmcMetrics.Compute(truth, scores, w, 100, null), $"{@case}/unfiltered");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyxclibFromTopKArrays(string @case)
    {
        // The search hands over [n, k] arrays; pad rows with -1 and apply the filter on the arrays.
        var dir = Repo.Fixture("xmc-metrics", @case);
        var truth = XcSparse.Read(Path.Combine(dir, "tst_X_Y.txt"));
        var train = XcSparse.Read(Path.Combine(dir, "trn_X_Y.txt"));
        var scores = XcSparse.Read(Path.Combine(dir, "score_mat.txt"));
        var filterPath = Path.Combine(dir, "filter_labels_test.txt");
        var filter = File.Exists(filterPath) ? FilterPairs.Read(filterPath) : null;
        var exp = Load(@case, "expected.json");
        var w = Propensity.Inverse(train, exp.GetProperty("A").GetDouble(), exp.GetProperty("B").GetDouble());
        // Keep every stored prediction, so filtering the arrays equals filtering the matrix.
        int kMax = Enumerable.Range(0, scores.Rows).Max(scores.RowLength);
        var top = TopK.FromScores(scores, Math.Max(kMax, 1));
        var r = XmcMetrics.Compute(truth, top, w, 100, filter);
        CheckAgainst(exp, r, @case + "/topk");
    }

    [Fact]
    public void PyxclibFormatStringMatchesRoundedPercentages()
    {
        // pyxclib_format rows: P, nDCG, PSP, PSnDCG in percent with 2 decimals.
        var dir = Repo.Fixture("xmc-metrics", "small-02-ties");
        var exp = Load("small-02-ties", "expected.json");
        var r = XmcMetrics.Compute(XcSparse.Read(Path.Combine(dir, "tst_X_Y.txt")), XcSparse.Read(Path.Combine(dir, "score_mat.txt")),
            Propensity.Inverse(XcSparse.Read(Path.Combine(dir, "trn_X_Y.txt")), PropensityParams.Amazon), 5);
        var lines = exp.GetProperty("pyxclib_format").GetString()!.Trim().Split('\n');
        var ours = new[] { r.P, r.Ndcg, r.Psp!, r.PsNdcg! }
            .Select(v => string.Join(",", v.Select(x => (x * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(lines, ours.ToArray());
    }

    [Fact]
    public void HandComputedTinyCase()
    {
        // 2 rows, 4 labels. Row 0 truth {1, 3}, ranking 3, 0, 1. Row 1 truth {} (counts in n), ranking 2.
        var truth = CsrMatrix.FromRows(4, [new[] { 1, 3 }, Array.Empty<int>()]);
        var top = new TopK(2, 3, [3, 0, 1, 2, -1, -1], [0.9f, 0.8f, 0.7f, 0.5f, 0, 0]);
        var r = XmcMetrics.Compute(truth, top, null, 3);
        static void Eq(double[] e, double[] a) { Assert.Equal(e.Length, a.Length); for (int i = 0; i < e.Length; i++) Assert.Equal(e[i], a[i], 15); }
        Eq([0.5, 0.25, 1.0 / 3], r.P);
        Eq([0.25, 0.25, 0.5], r.R);
        double idcg2 = 1 + 1 / Math.Log2(3);
        Eq([0.5, 0.5 * 1 / idcg2, 0.5 * (1 + 1 / Math.Log2(4)) / idcg2], r.Ndcg);
        Assert.Null(r.Psp);
        Assert.Equal(["P@1", "P@2", "P@3", "nDCG@1", "nDCG@2", "nDCG@3", "R@1", "R@2", "R@3"], r.ToDictionary().Keys.ToArray());
    }
}

public class MetricsEdgeTests
{
    [Fact]
    public void OutOfRangePredictionIsAnError()
    {
        var truth = CsrMatrix.FromRows(3, [new[] { 1 }]);
        var e = Assert.Throws<ArgumentException>(() => XmcMetrics.Compute(truth, new TopK(1, 2, [1, 3], [0.9f, 0.1f]), null, 2));
        Assert.Contains("label 3 out of range", e.Message);
    }

    [Fact]
    public void FilterOnTopKShiftsLaterPredictionsUp()
    {
        // Row 0 truth {2}; ranking 0, 2. Filtering (0, 0) moves label 2 to rank 1: P@1 goes from 0 to 1.
        var truth = CsrMatrix.FromRows(3, [new[] { 2 }]);
        var top = new TopK(1, 2, [0, 2], [0.9f, 0.5f]);
        Assert.Equal(0.0, XmcMetrics.Compute(truth, top, null, 1).P[0]);
        Assert.Equal(1.0, XmcMetrics.Compute(truth, top, null, 1, new FilterPairs([(0, 0)])).P[0]);
    }
}
