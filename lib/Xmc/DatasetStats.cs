using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ViXml.Xmc;

/// <summary>One log-scale bin of the training label-frequency histogram: labels with Lo &lt;= freq &lt;= Hi.</summary>
public sealed record FrequencyBin(int Lo, int Hi, int Labels);

/// <summary>Counts and label-frequency statistics of a dataset (what `vixml data stats` prints and notebooks plot).</summary>
public sealed class DatasetStats
{
    public int TrainPoints { get; init; }
    public int TestPoints { get; init; }
    public int Labels { get; init; }
    public long TrainPairs { get; init; }
    public long TestPairs { get; init; }
    /// <summary>Mean number of labels per training point.</summary>
    public double LabelsPerTrainPoint { get; init; }
    /// <summary>Mean number of labels per test point.</summary>
    public double LabelsPerTestPoint { get; init; }
    /// <summary>Mean number of training points per label (over all labels).</summary>
    public double TrainPointsPerLabel { get; init; }
    /// <summary>Median training frequency over labels used in training.</summary>
    public double MedianTrainFrequency { get; init; }
    public int MaxTrainFrequency { get; init; }
    /// <summary>Labels that never occur in training.</summary>
    public int LabelsWithoutTrainPoints { get; init; }
    /// <summary>Labels that occur in test.</summary>
    public int TestLabels { get; init; }
    /// <summary>Labels that occur in test but never in training.</summary>
    public int ZeroShotTestLabels { get; init; }
    /// <summary>ZeroShotTestLabels / TestLabels.</summary>
    public double ZeroShotShare { get; init; }
    /// <summary>Test points whose labels all are zero-shot.</summary>
    public int TestPointsOnlyZeroShot { get; init; }
    /// <summary>Histogram of training frequencies of labels with at least one training point; bins 1, 2-3, 4-7, ...</summary>
    public required IReadOnlyList<FrequencyBin> Histogram { get; init; }

    public static DatasetStats Compute(CsrMatrix train, CsrMatrix test)
    {
        if (train.Cols != test.Cols) throw new ArgumentException($"train has {train.Cols} labels, test has {test.Cols}");
        var f = train.ColumnCounts();
        var ft = test.ColumnCounts();
        var used = f.Where(x => x > 0).Order().ToArray();
        double median = used.Length == 0 ? 0 : used.Length % 2 == 1 ? used[used.Length / 2] : (used[used.Length / 2 - 1] + used[used.Length / 2]) / 2.0;
        int maxF = used.Length == 0 ? 0 : used[^1];
        var bins = new List<FrequencyBin>();
        for (int lo = 1; lo <= Math.Max(1, maxF); lo *= 2)
        {
            int hi = lo * 2 - 1;
            bins.Add(new FrequencyBin(lo, hi, used.Count(x => x >= lo && x <= hi)));
        }
        int testLabels = 0, zeroShot = 0;
        for (int l = 0; l < f.Length; l++)
            if (ft[l] > 0) { testLabels++; if (f[l] == 0) zeroShot++; }
        int onlyZs = 0;
        for (int r = 0; r < test.Rows; r++)
        {
            var y = test.RowIndices(r);
            if (y.Length == 0) continue;
            bool all = true;
            foreach (var l in y) if (f[l] > 0) { all = false; break; }
            if (all) onlyZs++;
        }
        return new DatasetStats
        {
            TrainPoints = train.Rows,
            TestPoints = test.Rows,
            Labels = train.Cols,
            TrainPairs = train.Nnz,
            TestPairs = test.Nnz,
            LabelsPerTrainPoint = train.Rows == 0 ? 0 : (double)train.Nnz / train.Rows,
            LabelsPerTestPoint = test.Rows == 0 ? 0 : (double)test.Nnz / test.Rows,
            TrainPointsPerLabel = train.Cols == 0 ? 0 : (double)train.Nnz / train.Cols,
            MedianTrainFrequency = median,
            MaxTrainFrequency = maxF,
            LabelsWithoutTrainPoints = f.Count(x => x == 0),
            TestLabels = testLabels,
            ZeroShotTestLabels = zeroShot,
            ZeroShotShare = testLabels == 0 ? 0 : (double)zeroShot / testLabels,
            TestPointsOnlyZeroShot = onlyZs,
            Histogram = bins,
        };
    }

    /// <summary>Writes the statistics as JSON properties into an open object (shared by `data stats --json` and manifests).</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteNumber("train_points", TrainPoints);
        w.WriteNumber("test_points", TestPoints);
        w.WriteNumber("labels", Labels);
        w.WriteNumber("train_pairs", TrainPairs);
        w.WriteNumber("test_pairs", TestPairs);
        w.WriteNumber("labels_per_train_point", Math.Round(LabelsPerTrainPoint, 6));
        w.WriteNumber("labels_per_test_point", Math.Round(LabelsPerTestPoint, 6));
        w.WriteNumber("train_points_per_label", Math.Round(TrainPointsPerLabel, 6));
        w.WriteNumber("median_train_frequency", MedianTrainFrequency);
        w.WriteNumber("max_train_frequency", MaxTrainFrequency);
        w.WriteNumber("labels_without_train_points", LabelsWithoutTrainPoints);
        w.WriteNumber("test_labels", TestLabels);
        w.WriteNumber("zero_shot_test_labels", ZeroShotTestLabels);
        w.WriteNumber("zero_shot_share", Math.Round(ZeroShotShare, 6));
        w.WriteNumber("test_points_only_zero_shot", TestPointsOnlyZeroShot);
        w.WriteStartArray("train_frequency_histogram");
        foreach (var b in Histogram)
        {
            w.WriteStartObject();
            w.WriteNumber("lo", b.Lo); w.WriteNumber("hi", b.Hi); w.WriteNumber("labels", b.Labels);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            WriteJson(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Readable summary with a text histogram.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"points: {TrainPoints} train, {TestPoints} test; labels: {Labels}\n");
        sb.Append(c, $"pairs: {TrainPairs} train, {TestPairs} test\n");
        sb.Append(c, $"labels per point: {LabelsPerTrainPoint:F2} train, {LabelsPerTestPoint:F2} test\n");
        sb.Append(c, $"train points per label: {TrainPointsPerLabel:F2} (median frequency {MedianTrainFrequency}, max {MaxTrainFrequency}, {LabelsWithoutTrainPoints} labels without train points)\n");
        sb.Append(c, $"zero-shot: {ZeroShotTestLabels} of {TestLabels} test labels ({ZeroShotShare * 100:F1}%); {TestPointsOnlyZeroShot} test points have only zero-shot labels\n");
        sb.Append("train label frequency histogram:\n");
        int maxCount = Histogram.Count == 0 ? 1 : Math.Max(1, Histogram.Max(b => b.Labels));
        foreach (var b in Histogram)
        {
            var range = b.Lo == b.Hi ? $"{b.Lo}" : $"{b.Lo}-{b.Hi}";
            sb.Append(c, $"  {range,12} {b.Labels,8} {new string('#', (int)Math.Ceiling(40.0 * b.Labels / maxCount))}\n");
        }
        return sb.ToString();
    }
}
