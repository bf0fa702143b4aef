using ViXml.Reporting;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Experiments;

/// <summary>Configuration of notebooks/00-datasets.ipynb (the paper's dataset statistics table, on our data).</summary>
public sealed record DatasetsConfig
{
    /// <summary>ci (small embedded datasets), cpu (full embedded datasets) or paper (the user's <see cref="DataDir"/>).</summary>
    public string Profile { get; init; } = "ci";

    /// <summary>The featured dataset: the one the later notebooks train on; its per-label rank-frequency curve is drawn.</summary>
    public string Dataset { get; init; } = "debian-deps-titles";

    /// <summary>Datasets of the statistics table (embedded names); ignored under profile paper.</summary>
    public IReadOnlyList<string> Datasets { get; init; } = DebianDatasets.Names;

    /// <summary>Parent folder of the embedded dataset folders (default &lt;repo&gt;/data).</summary>
    public string? DataRoot { get; init; }

    /// <summary>Build embedded datasets from this apt folder (tests/fixtures/apt-fake layout) instead of the system's apt lists.</summary>
    public string? AptDir { get; init; }

    /// <summary>Profile paper: an XC dataset folder supplied by the user (e.g. LF-AmazonTitles-131K).</summary>
    public string? DataDir { get; init; }

    /// <summary>Parses the notebook's comma-separated <c>datasets</c> parameter ("all" = the three embedded ones).</summary>
    public static IReadOnlyList<string> ParseList(string list) =>
        string.IsNullOrWhiteSpace(list) || list.Trim() == "all"
            ? DebianDatasets.Names
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>One dataset's statistics and its training label frequencies (for the rank-frequency plot).</summary>
public sealed record DatasetSummary(DatasetSource Source, DatasetStats Stats, int[] TrainLabelFrequencies, bool Built);

/// <summary>What notebooks/00-datasets.ipynb shows and saves.</summary>
public sealed record DatasetsResult(
    IReadOnlyList<DatasetSummary> Datasets,
    ResultTable Statistics,
    ResultTable FrequencyBins,
    Figure LongTail,
    Figure RankFrequency,
    Figure ZeroShot);

/// <summary>
/// The paper's dataset statistics table (points, labels, labels per point, points per label), redone on the embedded
/// Debian datasets (or, under profile paper, a user-supplied XC folder), plus the long-tail picture every XMC paper
/// shows: a log-binned label-frequency histogram on log-log axes and the zero-shot share of test labels.
/// </summary>
public static class DatasetsExperiment
{
    /// <summary>Result names (file stems under results/&lt;profile&gt;/) the paper-table generator reads.</summary>
    public const string StatisticsName = "datasets-statistics";
    public const string BinsName = "datasets-label-frequency";

    public static DatasetsResult Run(DatasetsConfig c, TextWriter? log = null)
    {
        ExperimentProfile.Check(c.Profile);
        var root = c.DataRoot ?? Path.Combine(ExperimentProfile.RepoRoot(), "data");
        var names = c.Profile == "paper" ? [c.Dataset] : c.Datasets;
        if (c.Profile != "paper" && !names.Contains(c.Dataset)) names = [.. names, c.Dataset];
        var summaries = new List<DatasetSummary>();
        foreach (var name in names)
        {
            var src = DatasetResolver.Resolve(c.Profile, name, root, c.DataDir);
            var built = DatasetResolver.EnsureBuilt(src, c.AptDir, log);
            var train = XcSparse.Read(Path.Combine(src.Directory, "trn_X_Y.txt"));
            var test = XcSparse.Read(Path.Combine(src.Directory, "tst_X_Y.txt"));
            var stats = DatasetStats.Compute(train, test);
            summaries.Add(new DatasetSummary(src, stats, train.ColumnCounts(), built));
            log?.WriteLine($"{src.Name}: {stats.TrainPoints} train, {stats.TestPoints} test, {stats.Labels} labels");
        }
        var featured = c.Profile == "paper" ? summaries[0] : summaries.First(s => s.Source.EmbeddedName == c.Dataset);
        var scaleName = string.Join(", ", summaries.Select(s => s.Source.Name));
        var scale = new Scale(scaleName, c.Profile, [], c.Profile == "paper" ? "user-supplied XC dataset" : "embedded Debian data (not Amazon)");
        return new DatasetsResult(summaries, StatisticsTable(summaries, scale), BinsTable(summaries, scale),
            LongTailFigure(summaries), RankFrequencyFigure(featured), ZeroShotFigure(summaries));
    }

    /// <summary>Columns of the statistics table, in the order of the paper's dataset table where it has them.</summary>
    public static readonly string[] StatisticsColumns =
    [
        "dataset", "train points", "test points", "labels", "labels per train point", "train points per label",
        "median label frequency", "max label frequency", "labels without train points", "test labels",
        "zero-shot test labels", "zero-shot share %", "test points with only zero-shot labels",
    ];

    private static ResultTable StatisticsTable(IReadOnlyList<DatasetSummary> ds, Scale scale)
    {
        var t = new ResultTable("Dataset statistics", StatisticsColumns, scale)
            .Format("labels per train point", "F2").Format("train points per label", "F2").Format("zero-shot share %", "F1");
        foreach (var d in ds)
        {
            var s = d.Stats;
            t.AddRow(d.Source.Name, s.TrainPoints, s.TestPoints, s.Labels, s.LabelsPerTrainPoint, s.TrainPointsPerLabel,
                s.MedianTrainFrequency, s.MaxTrainFrequency, s.LabelsWithoutTrainPoints, s.TestLabels,
                s.ZeroShotTestLabels, 100.0 * s.ZeroShotShare, s.TestPointsOnlyZeroShot);
        }
        return t;
    }

    private static ResultTable BinsTable(IReadOnlyList<DatasetSummary> ds, Scale scale)
    {
        var t = new ResultTable("Training label frequency, log2 bins", ["dataset", "frequency from", "frequency to", "labels"], scale);
        foreach (var d in ds)
            foreach (var b in d.Stats.Histogram)
                t.AddRow(d.Source.Name, b.Lo, b.Hi, b.Labels);
        return t;
    }

    /// <summary>Geometric centre of a log2 bin [lo, hi]: where its point sits on a log axis.</summary>
    public static double BinCentre(FrequencyBin b) => Math.Sqrt((double)b.Lo * b.Hi);

    private static Figure LongTailFigure(IReadOnlyList<DatasetSummary> ds)
    {
        var f = new Figure("Long tail: labels per training-frequency bin (log-log)")
            .XAxis("label frequency in training (log2 bins, bin centre)", AxisType.Log)
            .YAxis("number of labels", AxisType.Log).Legend();
        foreach (var d in ds)
        {
            // Empty bins cannot sit on a log axis: NaN becomes a gap (null) in the Plotly JSON.
            f.Line(d.Source.Name, d.Stats.Histogram.Select(BinCentre),
                d.Stats.Histogram.Select(b => b.Labels > 0 ? b.Labels : double.NaN), markers: true);
        }
        return f;
    }

    private static Figure RankFrequencyFigure(DatasetSummary d)
    {
        // (L,) training frequencies sorted descending: the Zipf-like curve; labels never seen in training are left out.
        var freq = d.TrainLabelFrequencies.Where(x => x > 0).OrderDescending().Select(x => (double)x).ToArray();
        return new Figure($"{d.Source.Name}: label frequency by rank (log-log)")
            .XAxis("label rank", AxisType.Log).YAxis("training points with the label", AxisType.Log)
            .Line(d.Source.Name, Enumerable.Range(1, freq.Length).Select(r => (double)r), freq);
    }

    private static Figure ZeroShotFigure(IReadOnlyList<DatasetSummary> ds) =>
        new Figure("Zero-shot share: test labels never seen in training")
            .YAxis("% of test labels")
            .Bar("zero-shot share %", ds.Select(d => d.Source.Name), ds.Select(d => 100.0 * d.Stats.ZeroShotShare));

    /// <summary>Saves the tables and charts with <see cref="Results.Save"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Save(DatasetsResult r)
    {
        var files = new List<string>();
        files.AddRange(SaveTable(StatisticsName, r.Statistics));
        files.AddRange(SaveTable(BinsName, r.FrequencyBins));
        files.AddRange(Results.Save("datasets-long-tail", r.LongTail));
        files.AddRange(Results.Save("datasets-rank-frequency", r.RankFrequency));
        files.AddRange(Results.Save("datasets-zero-shot", r.ZeroShot));
        return files;
    }

    /// <summary>A table as .csv, .md, .html and .parquet (<see cref="Results.Save"/>).</summary>
    public static IReadOnlyList<string> SaveTable(string name, ResultTable t) => Results.Save(name, t);
}
