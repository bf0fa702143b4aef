using System.Diagnostics;
using System.Globalization;
using ViXml.Reporting;
using ViXml.Training;
using ViXml.Training.Config;

namespace ViXml.Experiments;

/// <summary>
/// What notebooks 05 (prompt ablations) and 06 (scaling) share: the profiles they accept, one training run of a
/// configuration file plus overrides with its cost (wall time per epoch, peak resident memory), and the table of rows.
/// </summary>
public static class RowRunner
{
    /// <summary>smoke = ci's data and files, seconds of training (256 training queries, one epoch, one seed; its numbers
    /// mean nothing); ci = emoji-mm small, short schedules; cpu = emoji-mm full, the files as written; paper = the dry
    /// run of every row (configurations resolved and validated, parameters counted, the memory plan), no training.</summary>
    public static readonly string[] Profiles = ["smoke", "ci", "cpu", "paper"];

    /// <summary>What smoke adds to ci's overrides (applied after the experiment's own schedule).</summary>
    public static readonly string[] SmokeOverrides = ["data.max_train=256", "optim.epochs=1", "eval.every=0"];

    public static void CheckProfile(string profile)
    {
        if (!Profiles.Contains(profile))
            throw new ArgumentException($"unknown profile '{profile}'; use one of {string.Join(", ", Profiles)}");
    }

    /// <summary>The profile whose data a profile trains on: smoke uses ci's (emoji-mm small).</summary>
    public static string DataProfile(string profile) => profile == "smoke" ? "ci" : profile;

    /// <summary>One trained row: final metrics in percent, wall time, epochs, the largest resident set seen while it trained.</summary>
    public sealed record Run(string Row, int Seed, IReadOnlyDictionary<string, double> Metrics,
        IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> ByImages, double Seconds, int Epochs, double PeakRssMiB)
    {
        public double SecondsPerEpoch => Epochs > 0 ? Seconds / Epochs : double.NaN;
    }

    /// <summary>Trains <paramref name="configPath"/> with <paramref name="overrides"/> into <paramref name="runDir"/> (redone
    /// from scratch), sampling the process's resident set every 100 ms.</summary>
    public static Run Train(string row, int seed, string configPath, IReadOnlyList<string> overrides, string runDir, TextWriter? log)
    {
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var resolved = ConfigLoader.LoadFile<TrainConfig>(configPath, overrides);
        using var rss = new PeakRss();
        var result = new Trainer(resolved, log ?? TextWriter.Null).Run(runDir);
        var final = result.Final ?? throw new InvalidOperationException($"{runDir}: training ended without a final evaluation");
        return new Run(row, seed, TextEncodersExperiment.Percent(final),
            result.FinalByImages.ToDictionary(kv => kv.Key, kv => TextEncodersExperiment.Percent(kv.Value)),
            result.Seconds, result.EpochsDone, rss.PeakMiB);
    }

    /// <summary>The largest <see cref="Environment.WorkingSet"/> (the whole process: the kernel, data, every model alive)
    /// seen between construction and disposal.</summary>
    public sealed class PeakRss : IDisposable
    {
        private readonly Timer _timer;
        private long _peak = Environment.WorkingSet;

        public PeakRss() => _timer = new Timer(_ => Sample(), null, 0, 100);

        private void Sample()
        {
            long now = Environment.WorkingSet;
            long seen;
            do seen = Interlocked.Read(ref _peak);
            while (now > seen && Interlocked.CompareExchange(ref _peak, now, seen) != seen);
        }

        public double PeakMiB { get { Sample(); return Interlocked.Read(ref _peak) / (1024.0 * 1024.0); } }

        public void Dispose() => _timer.Dispose();
    }

    /// <summary>Mean and std over seeds of each metric for the rows, in row order: "row", then the row's descriptive
    /// columns (<paramref name="describe"/>), "runs", metric, metric std, ... .</summary>
    public static ResultTable Summary(string title, IReadOnlyList<Run> runs, int k, Scale scale, IReadOnlyList<string> extraColumns,
        Func<string, IReadOnlyList<object?>> describe, IReadOnlyList<string>? metricNames = null)
    {
        var metrics = metricNames ?? TextEncodersExperiment.MetricNames(k);
        var cols = new List<string> { "row" };
        cols.AddRange(extraColumns);
        cols.Add("runs");
        foreach (var m in metrics) { cols.Add(m); cols.Add(m + " std"); }
        var t = new ResultTable(title, cols, scale);
        foreach (var m in metrics) { t.Format(m, "F2"); t.Format(m + " std", "F2"); }
        foreach (var g in runs.GroupBy(r => r.Row))
        {
            var row = new List<object?> { g.Key };
            row.AddRange(describe(g.Key));
            row.Add(g.Count());
            foreach (var m in metrics)
            {
                var (mean, std) = TextEncodersExperiment.MeanStd(g.Select(r => r.Metrics[m]).ToList());
                row.Add(mean); row.Add(std);
            }
            t.AddRow([.. row]);
        }
        return t;
    }

    /// <summary>Every run: row, seed, metrics, seconds, s/epoch, peak RSS.</summary>
    public static ResultTable PerRun(string title, IReadOnlyList<Run> runs, int k, Scale scale)
    {
        var metrics = TextEncodersExperiment.MetricNames(k);
        var t = new ResultTable(title, ["row", "seed", .. metrics, "epochs", "seconds", "s/epoch", "peak RSS (MiB)"], scale);
        foreach (var m in metrics) t.Format(m, "F2");
        t.Format("seconds", "F1"); t.Format("s/epoch", "F2"); t.Format("peak RSS (MiB)", "F0");
        foreach (var r in runs)
            t.AddRow([r.Row, r.Seed, .. metrics.Select(m => (object?)r.Metrics[m]), r.Epochs, r.Seconds, r.SecondsPerEpoch, r.PeakRssMiB]);
        return t;
    }

    /// <summary>Parses "all", "" (the profile's default) or a comma list against the known row names.</summary>
    public static IReadOnlyList<string> SelectRows(string spec, IReadOnlyList<string> known, IReadOnlyList<string> profileDefault)
    {
        if (string.IsNullOrWhiteSpace(spec)) return profileDefault;
        if (spec.Trim() == "all") return known;
        var list = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var r in list)
            if (!known.Contains(r)) throw new ArgumentException($"unknown row '{r}' (known: {string.Join(", ", known)})");
        return list;
    }

    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The machine line of every scale note: cores and the load average when the run started.</summary>
    public static string MachineNote()
    {
        string load = "";
        try { load = File.ReadAllText("/proc/loadavg").Split(' ')[0]; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Inv($"CPU, {Environment.ProcessorCount} cores{(load.Length > 0 ? ", load " + load + " at start" : "")}");
    }

    /// <summary>A timer for small measurements (ms per call, median of <paramref name="repeats"/> after one warm-up).</summary>
    public static double MedianMs(Action a, int repeats)
    {
        a();
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
