using System.Globalization;
using ViXml.Reporting;
using ViXml.Training;
using ViXml.Training.Baselines;
using ViXml.Training.Config;
using ViXml.Training.Data;
using ViXml.Xmc;

namespace ViXml.Experiments;

/// <summary>Configuration of notebooks/01-text-encoders.ipynb. Shared settings (profile, data, seeds, k, propensities,
/// folders, overrides): <see cref="ExperimentConfig"/>; runs go to &lt;repo&gt;/results/runs/text-encoders-&lt;profile&gt;
/// by default and are redone from scratch.</summary>
public sealed record TextEncodersConfig : ExperimentConfig
{
    /// <summary>Defaults: debian-deps-titles, every known method (<see cref="TextEncodersExperiment.KnownMethods"/>), seeds 1-2.</summary>
    public TextEncodersConfig()
    {
        Dataset = "debian-deps-titles";
        Methods = TextEncodersExperiment.KnownMethods;
        Seeds = [1, 2];
    }

    /// <summary>Training configuration file (default &lt;repo&gt;/configs/ci.yaml under smoke and ci, configs/cpu.yaml otherwise).</summary>
    public string? TrainConfigPath { get; init; }

    /// <summary>
    /// What the profile changes in the training configuration. ci: 2 epochs on the first 1,000 training queries with
    /// NGAME clustering from epoch 1 every epoch (otherwise a 2-epoch run would never reach configs/ci.yaml's cl_start 4),
    /// batches of 128 with a 2-step warm-up (configs/ci.yaml's 50 warm-up steps would leave the 16 steps of this run
    /// near lr 0: the encoder would not move), and an evaluation after every epoch for the curves;
    /// smoke: one epoch over the smoke subset's 200 training queries (2 steps of 128, NGAME clusters before the first
    /// step, 1 warm-up step): seconds; cpu/paper: configs/cpu.yaml as written, evaluation every epoch.
    /// </summary>
    public static IReadOnlyList<string> ProfileOverrides(string profile) => profile switch
    {
        "ci" => ["optim.epochs=2", "data.max_train=1000", "sampler.ngame.cl_start=1", "sampler.ngame.cl_update=1",
            "sampler.batch_size=128", "optim.warmup_steps=2", "eval.every=1", "run.checkpoint_every=0", "run.save_model=false"],
        "smoke" => SmokeOverrides,
        _ => ["eval.every=1", "run.save_model=false"],
    };

    /// <summary>The smoke schedule every trained notebook shares: one epoch of batches of 128 (the smoke subset's 200
    /// training queries: 2 steps), NGAME clusters before the first step, 1 warm-up step, no checkpoints beyond the last.</summary>
    public static readonly string[] SmokeOverrides =
        ["optim.epochs=1", "sampler.batch_size=128", "sampler.ngame.cl_start=0", "sampler.ngame.cl_update=1",
         "optim.warmup_steps=1", "eval.every=1", "run.checkpoint_every=0", "run.save_model=false"];

    /// <summary>Seeds a profile uses by default: 1 in smoke, 1-2 in ci, 1-3 otherwise.</summary>
    public static IReadOnlyList<int> DefaultSeeds(string profile) => profile switch { "smoke" => [1], "ci" => [1, 2], _ => [1, 2, 3] };

    /// <summary>Parses "1,2,3" or "1-3".</summary>
    public static IReadOnlyList<int> ParseSeeds(string text)
    {
        var t = text.Trim();
        var dash = t.IndexOf('-');
        if (dash > 0 && int.TryParse(t[..dash], out var lo) && int.TryParse(t[(dash + 1)..], out var hi) && hi >= lo)
            return Enumerable.Range(lo, hi - lo + 1).ToList();
        var parts = t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var seeds = new List<int>();
        foreach (var p in parts)
            seeds.Add(int.TryParse(p, out var s) ? s : throw new ArgumentException($"seeds: '{p}' is not an integer (use \"1,2,3\" or \"1-3\")"));
        if (seeds.Count == 0) throw new ArgumentException("seeds: empty list");
        return seeds;
    }
}

/// <summary>One run of one method with one seed: its metrics (percent) and, for trained encoders, its curve.</summary>
public sealed record MethodRun(string Method, int? Seed, IReadOnlyDictionary<string, double> Metrics, double Seconds,
    IReadOnlyList<CurvePoint> Curve, IReadOnlyDictionary<string, double>? Untrained = null, int Epochs = 0);

/// <summary>A point of a training curve: epoch, mean training loss, test P@1 (percent; NaN when not evaluated).</summary>
public sealed record CurvePoint(double Epoch, double Loss, double P1);

/// <summary>What notebooks/01-text-encoders.ipynb shows and saves.</summary>
public sealed record TextEncodersResult(
    DatasetSource Dataset,
    IReadOnlyList<MethodRun> Runs,
    ResultTable Summary,
    ResultTable PerRun,
    Figure Bars,
    Figure Curves);

/// <summary>
/// The paper's text-encoder comparison at our scale: a lexical baseline (BM25), the Siamese encoder trained with random
/// batches and trained with NGAME clustered batches. Metrics are P@k and PSP@k (percent, filter applied, propensities
/// A/B from the training labels), mean and sample standard deviation over seeds.
/// </summary>
public static class TextEncodersExperiment
{
    /// <summary>
    /// bm25: lexical baseline; random-batches / ngame: the Siamese encoder without / with NGAME batches, trained with the
    /// paper's triplet loss; infonce-random-batches / infonce-ngame: the same with the in-batch softmax loss
    /// (loss.kind infonce), which does not collapse from random initialisation; the triplet loss does on `small`
    /// (results/training-debian-deps-titles-small.md) but recovers on `full` (results/training-debian-deps-titles-full.md).
    /// </summary>
    public static readonly string[] KnownMethods = ["bm25", "random-batches", "ngame", "infonce-random-batches", "infonce-ngame"];

    /// <summary>Whether a trained method uses NGAME batches.</summary>
    public static bool UsesNgame(string method) => method.EndsWith("ngame", StringComparison.Ordinal);

    /// <summary>The loss a trained method uses (the configuration's loss.kind).</summary>
    public static string LossKind(string method) => method.StartsWith("infonce-", StringComparison.Ordinal) ? "infonce" : "triplet";

    public const string SummaryName = "text-encoders";
    public const string RunsName = "text-encoders-runs";

    /// <summary>Metric columns of the summary table, in order; values in percent.</summary>
    public static IReadOnlyList<string> MetricNames(int k) =>
        [.. Enumerable.Range(1, k).Where(i => i is 1 or 3 or 5 || i == k).Distinct().Select(i => $"P@{i}"),
         .. Enumerable.Range(1, k).Where(i => i is 1 or 3 or 5 || i == k).Distinct().Select(i => $"PSP@{i}")];

    public static TextEncodersResult Run(TextEncodersConfig c, TextWriter? log = null)
    {
        ExperimentProfile.Check(c.Profile);
        if (c.K < 1) throw new ArgumentException($"K must be >= 1, got {c.K}");
        foreach (var m in c.Methods)
            if (!KnownMethods.Contains(m))
                throw new ArgumentException($"unknown method '{m}' (known: {string.Join(", ", KnownMethods)})");
        var root = c.DataRoot ?? Path.Combine(ExperimentProfile.RepoRoot(), "data");
        var built = DatasetResolver.Resolve(c.Profile, c.Dataset, root, c.DataDir);
        DatasetResolver.EnsureBuilt(built, c.AptDir, log);
        var (src, subsetNote) = ExperimentProfile.ForProfile(c.Profile, built, RunsRoot(c), log);
        var data = XmcDataset.Load(src.Directory);

        var runs = new List<MethodRun>();
        foreach (var method in c.Methods)
        {
            switch (method)
            {
                case "bm25":
                    var bm = Bm25Baseline.Run(data, topK: 100, metricsK: c.K, a: c.PropensityA, b: c.PropensityB);
                    runs.Add(new MethodRun("bm25", null, Percent(bm.Metrics), bm.Seconds, []));
                    log?.WriteLine($"bm25: P@1 {runs[^1].Metrics["P@1"]:F2} in {bm.Seconds:F1} s (deterministic: one run)");
                    break;
                default:
                    foreach (var seed in c.Seeds)
                    {
                        runs.Add(Train(c, src, method, seed, log));
                        log?.WriteLine($"{method} seed {seed}: P@1 {runs[^1].Metrics["P@1"]:F2} in {runs[^1].Seconds:F1} s");
                    }
                    break;
            }
        }
        var seeds = c.Methods.Any(m => m != "bm25") ? c.Seeds : [];
        var scale = new Scale(src.Name, c.Profile, seeds, ExperimentProfile.ScaleNote(c.Profile) + subsetNote
            + ExperimentConfig.ScheduleNote(c.TrainConfigPath is { } tc ? Path.GetFileName(tc) : ConfigFile(c.Profile), TextEncodersConfig.ProfileOverrides(c.Profile),
                trained: c.Methods.Any(m => m != "bm25"))
            + c.OverridesNote());
        var summary = SummaryTable(runs, c.K, scale);
        return new TextEncodersResult(src, runs, summary, PerRunTable(runs, c.K, scale), BarChart(summary, c.K), CurveChart(runs));
    }

    /// <summary>
    /// Trains the Siamese encoder once: the profile's configuration file, then the profile's overrides, the dataset, the
    /// seed, the sampler (NGAME on or off) and <see cref="TextEncodersConfig.TrainOverrides"/>; returns its final
    /// metrics and the curve from the run's metrics.csv.
    /// </summary>
    public static MethodRun Train(TextEncodersConfig c, DatasetSource src, string method, int seed, TextWriter? log)
    {
        var root = ExperimentProfile.RepoRoot();
        var configPath = c.TrainConfigPath ?? Path.Combine(root, ConfigFile(c.Profile));
        var runsRoot = RunsRoot(c);
        var runDir = Path.Combine(runsRoot, $"{method}-seed{seed}");
        var overrides = new List<string>(TextEncodersConfig.ProfileOverrides(c.Profile))
        {
            $"name={method}-seed{seed}",
            $"seed={seed}",
            $"data.dir={src.Directory}",
            $"data.vocab={Path.Combine(root, "assets", "vocab", "bert-base-uncased", "vocab.txt")}",
            $"run.out_dir={runsRoot}",
            $"sampler.ngame.enabled={(UsesNgame(method) ? "true" : "false")}",
            $"loss.kind={LossKind(method)}",
            $"eval.propensity_a={c.PropensityA.ToString(CultureInfo.InvariantCulture)}",
            $"eval.propensity_b={c.PropensityB.ToString(CultureInfo.InvariantCulture)}",
        };
        overrides.AddRange(c.TrainOverrides);
        return TrainOnce(configPath, overrides, runDir, method, seed, log);
    }

    /// <summary>The training file of a profile, relative to the repository: configs/ci.yaml under smoke and ci, configs/cpu.yaml otherwise.</summary>
    public static string ConfigFile(string profile) => ExperimentProfile.IsSmall(profile) ? "configs/ci.yaml" : "configs/cpu.yaml";

    /// <summary>Parent of the run folders: <see cref="ExperimentConfig.RunsRoot"/> or &lt;repo&gt;/results/runs/text-encoders-&lt;profile&gt;.</summary>
    public static string RunsRoot(TextEncodersConfig c) =>
        c.RunsRoot ?? Path.Combine(ExperimentProfile.RepoRoot(), "results", "runs", $"text-encoders-{c.Profile}");

    /// <summary>One training run from a configuration file plus overrides: final and untrained (epoch 0) metrics in
    /// percent, wall time, epochs and the curve from the run's metrics.csv. Shared by every experiment that trains.</summary>
    public static MethodRun TrainOnce(string configPath, IReadOnlyList<string> overrides, string runDir, string method, int seed, TextWriter? log)
    {
        // A reproduce run redoes its training: an earlier folder would make the trainer refuse (it protects runs).
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var resolved = ConfigLoader.LoadFile<TrainConfig>(configPath, overrides);
        var result = new Trainer(resolved, log ?? TextWriter.Null).Run(runDir);
        var final = result.Final ?? throw new InvalidOperationException($"{runDir}: training ended without a final evaluation");
        return new MethodRun(method, seed, Percent(final), result.Seconds, ReadCurve(Path.Combine(runDir, "metrics.csv")),
            result.Untrained is { } u ? Percent(u) : null, result.EpochsDone);
    }

    /// <summary>The trainer's metrics.csv (epoch, step, train_loss, seconds, P@1, ...) as curve points, P@1 in percent.</summary>
    public static IReadOnlyList<CurvePoint> ReadCurve(string metricsCsv)
    {
        var csv = ResultCsv.TryRead(metricsCsv) ?? throw new FileNotFoundException($"{metricsCsv} not found", metricsCsv);
        double D(IReadOnlyDictionary<string, string> r, string col) =>
            r.TryGetValue(col, out var t) && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new InvalidDataException($"{metricsCsv}: column '{col}' missing or not a number");
        return csv.Rows.Select(r => new CurvePoint(D(r, "epoch"), D(r, "train_loss"), 100 * D(r, "P@1"))).ToList();
    }

    /// <summary>Metrics as percent, keyed "P@k", "PSP@k", ... like <see cref="XmcMetricsResult.ToDictionary"/>.</summary>
    public static IReadOnlyDictionary<string, double> Percent(XmcMetricsResult m) =>
        m.ToDictionary().ToDictionary(kv => kv.Key, kv => 100.0 * kv.Value);

    /// <summary>Mean and sample standard deviation (n - 1; 0 for a single value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> v)
    {
        if (v.Count == 0) throw new ArgumentException("no values");
        var mean = v.Average();
        if (v.Count == 1) return (mean, 0);
        var ss = v.Sum(x => (x - mean) * (x - mean));
        return (mean, Math.Sqrt(ss / (v.Count - 1)));
    }

    /// <summary>
    /// One row per method: runs, then each metric's mean and "± std" column (CSV keeps both as numbers, so the paper
    /// tables and other tools can read them).
    /// </summary>
    public static ResultTable SummaryTable(IReadOnlyList<MethodRun> runs, int k, Scale scale,
        string title = "Text encoders: P@k and PSP@k (%), mean and std over seeds")
    {
        var metrics = MetricNames(k);
        var cols = new List<string> { "method", "runs" };
        foreach (var m in metrics) { cols.Add(m); cols.Add(m + " std"); }
        var t = new ResultTable(title, cols, scale);
        foreach (var c in cols.Skip(2)) t.Format(c, "F2");
        foreach (var g in runs.GroupBy(r => r.Method))
        {
            var row = new List<object?> { g.Key, g.Count() };
            foreach (var m in metrics)
            {
                var (mean, std) = MeanStd(g.Select(r => r.Metrics.TryGetValue(m, out var v) ? v
                    : throw new KeyNotFoundException($"run {g.Key}/{r.Seed} has no metric {m}")).ToList());
                row.Add(mean);
                row.Add(std);
            }
            t.AddRow([.. row]);
        }
        return t;
    }

    private static ResultTable PerRunTable(IReadOnlyList<MethodRun> runs, int k, Scale scale)
    {
        var metrics = MetricNames(k);
        var t = new ResultTable("Text encoders: every run (%)", ["method", "seed", .. metrics, "seconds"], scale);
        foreach (var m in metrics) t.Format(m, "F2");
        t.Format("seconds", "F1");
        foreach (var r in runs)
            t.AddRow([r.Method, r.Seed is { } s ? s : "deterministic", .. metrics.Select(m => (object?)r.Metrics[m]), r.Seconds]);
        return t;
    }

    private static Figure BarChart(ResultTable summary, int k)
    {
        var f = new Figure("P@k and PSP@k by method (mean over seeds)").YAxis("%");
        var metrics = MetricNames(k);
        var col = summary.Columns.ToList();
        foreach (var row in summary.Rows)
            f.Bar((string)row[0]!, metrics, metrics.Select(m => Convert.ToDouble(row[col.IndexOf(m)])));
        return f.Legend();
    }

    private static Figure CurveChart(IReadOnlyList<MethodRun> runs)
    {
        // Epoch 0 is the untrained model: no loss yet (NaN → a gap), but its P@1 is the curve's start.
        // Log scale: the triplet loss (~0.2) and InfoNCE (~8) differ by 40x; on a linear axis the triplet runs are a flat line.
        var f = new Figure("Training curves: mean training loss per epoch").XAxis("epoch").YAxis("training loss (log scale)", AxisType.Log)
            .IntegerX().Legend();
        foreach (var r in runs.Where(r => r.Curve.Count > 0))
            f.Line($"{r.Method} seed {r.Seed}", r.Curve.Select(p => p.Epoch), r.Curve.Select(p => p.Loss), markers: true);
        return f;
    }

    /// <summary>Test P@1 after every epoch (epoch 0 = untrained), one line per trained run.</summary>
    public static Figure P1Curves(IReadOnlyList<MethodRun> runs)
    {
        var f = new Figure("Training curves: test P@1 per epoch").XAxis("epoch").YAxis("P@1 (%)").IntegerX().Legend();
        foreach (var r in runs.Where(r => r.Curve.Count > 0))
            f.Line($"{r.Method} seed {r.Seed}", r.Curve.Select(p => p.Epoch), r.Curve.Select(p => p.P1), markers: true);
        return f;
    }

    public static IReadOnlyList<string> Save(TextEncodersResult r)
    {
        var files = new List<string>();
        files.AddRange(DatasetsExperiment.SaveTable(SummaryName, r.Summary));
        files.AddRange(DatasetsExperiment.SaveTable(RunsName, r.PerRun));
        files.AddRange(Results.Save("text-encoders-bars", r.Bars));
        if (r.Curves.TraceCount > 0)
        {
            files.AddRange(Results.Save("text-encoders-curves", r.Curves));
            files.AddRange(Results.Save("text-encoders-p1-curves", P1Curves(r.Runs)));
        }
        return files;
    }
}
