using ViXml.Xmc;

namespace ViXml.Training.Data;

/// <summary>What training and evaluation need on top of <see cref="XmcDataset"/>.</summary>
public static class DatasetExtensions
{
    /// <summary>Label texts (lbl.raw.txt), required for training and text baselines.</summary>
    public static string[] RequireLabelTexts(this XmcDataset d) =>
        d.LabelTexts ?? throw new FileNotFoundException($"{Path.Combine(d.Dir, "lbl.raw.txt")} not found: label texts are needed");

    /// <summary>Training rows with at least one label (rows without labels cannot give a positive).</summary>
    public static int[] TrainRowsWithLabels(this XmcDataset d) =>
        Enumerable.Range(0, d.TrainY.Rows).Where(r => d.TrainY.RowLength(r) > 0).ToArray();

    /// <summary>Evaluates ranked predictions for the test split (or its first rows): filter first, PSP from training labels.</summary>
    public static XmcMetricsResult Evaluate(this XmcDataset d, TopK predictions, int k, double a, double b, int? firstRows = null)
    {
        var truth = d.TestY;
        if (firstRows is int n && n < d.TestY.Rows)
            truth = new CsrMatrix(n, d.TestY.Cols, d.TestY.Indptr[..(n + 1)], d.TestY.Indices[..d.TestY.Indptr[n]],
                d.TestY.Values[..d.TestY.Indptr[n]]);
        return XmcMetrics.Compute(truth, predictions, Propensity.Inverse(d.TrainY, a, b), k, d.Filter);
    }
}
