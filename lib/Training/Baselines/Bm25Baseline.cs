using ViXml.Training.Data;
using ViXml.Xmc;

namespace ViXml.Training.Baselines;

/// <summary>BM25 from each test query's text to the labels' texts, through the same metrics path as trained models.</summary>
public static class Bm25Baseline
{
    public sealed record Result(TopK Predictions, XmcMetricsResult Metrics, double Seconds, int Vocabulary);

    public static Result Run(XmcDataset data, int topK = 100, int metricsK = 5, double a = 0.6, double b = 2.6,
        double k1 = 1.2, double bm25B = 0.75)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var bm = new Bm25(data.LabelTexts, k1, bm25B);
        // Search a few extra so that filtered pairs do not leave holes in the top-k.
        int extra = data.Filter is null ? 0 : 10;
        var top = bm.Search(data.TestTexts, topK + extra);
        var metrics = data.Evaluate(top, metricsK, a, b);
        return new Result(top, metrics, sw.Elapsed.TotalSeconds, bm.VocabularySize);
    }
}
