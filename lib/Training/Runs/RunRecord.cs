using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Common;

namespace ViXml.Training.Runs;

/// <summary>
/// The record of one run, kept in &lt;run dir&gt;/run.json and rewritten atomically whenever something changes:
/// resolved configuration and its hash, git SHA, seeds, library versions, machine, timings, parameter count, status.
/// </summary>
public sealed class RunRecord
{
    public string Dir { get; }
    private readonly JsonObject _json;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _secondsBefore; // time spent in earlier (resumed) sessions

    private RunRecord(string dir, JsonObject json, double secondsBefore)
    {
        Dir = dir; _json = json; _secondsBefore = secondsBefore;
    }

    public string RunJsonPath => Path.Combine(Dir, "run.json");

    /// <summary>Starts a new record (or continues the existing one when resuming).</summary>
    public static RunRecord Open(string dir, string name, string configJson, string configHash, string configSource,
        IReadOnlyDictionary<string, long> seeds, bool resume)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "run.json");
        if (resume && File.Exists(path))
        {
            var old = RunFolder.ReadRunJson(dir);
            var oldHash = old["config_hash"]?.GetValue<string>();
            if (oldHash != configHash)
                throw new InvalidOperationException(
                    $"{path}: cannot resume: the configuration changed (hash {oldHash} in the run, {configHash} now)");
            double before = old["timings"]?["total_seconds"]?.GetValue<double>() ?? 0;
            var sessions = old["sessions"] as JsonArray ?? new JsonArray();
            sessions.Add(new JsonObject { ["started_utc"] = Now(), ["git_sha"] = GitSha() });
            old["sessions"] = sessions;
            old["status"] = "running";
            var rec = new RunRecord(dir, old, before);
            rec.Save();
            return rec;
        }
        var json = new JsonObject
        {
            ["name"] = name,
            ["status"] = "running",
            ["config_hash"] = configHash,
            ["config_source"] = configSource,
            ["config"] = JsonNode.Parse(configJson),
            ["git_sha"] = GitSha(),
            ["seeds"] = new JsonObject(seeds.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["versions"] = Versions(),
            ["machine"] = Machine(),
            ["sessions"] = new JsonArray(new JsonObject { ["started_utc"] = Now(), ["git_sha"] = GitSha() }),
            ["timings"] = new JsonObject { ["started_utc"] = Now(), ["total_seconds"] = 0.0 },
        };
        var r = new RunRecord(dir, json, 0);
        r.Save();
        return r;
    }

    public double TotalSeconds => _secondsBefore + _clock.Elapsed.TotalSeconds;

    /// <summary>Sets a top-level field (e.g. "parameter_count", "final_metrics").</summary>
    public void Set(string key, JsonNode? value) { _json[key] = value; Save(); }

    /// <summary>Adds to a named timing bucket (seconds), e.g. "train", "eval", "cluster".</summary>
    public void AddTiming(string bucket, double seconds)
    {
        var t = _json["timings"]!.AsObject();
        double prev = t[bucket]?.GetValue<double>() ?? 0;
        t[bucket] = Math.Round(prev + seconds, 3);
    }

    public void Finish(string status = "finished")
    {
        _json["status"] = status;
        _json["timings"]!["finished_utc"] = Now();
        Save();
    }

    public void Save()
    {
        _json["timings"]!["total_seconds"] = Math.Round(TotalSeconds, 3);
        Atomic.WriteAllText(RunJsonPath, _json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public JsonObject Json => _json;

    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>The repository's HEAD commit (with "-dirty" if tracked files changed), or "unknown" outside git.</summary>
    public static string GitSha()
    {
        try
        {
            string Run(string args)
            {
                var psi = new ProcessStartInfo("git", args)
                {
                    RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                    WorkingDirectory = AppContext.BaseDirectory,
                };
                using var p = Process.Start(psi)!;
                var o = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit(5000);
                return p.ExitCode == 0 ? o : "";
            }
            var sha = Run("rev-parse HEAD");
            if (sha.Length == 0) return "unknown";
            var dirty = Run("status --porcelain --untracked-files=no");
            return dirty.Length > 0 ? sha + "-dirty" : sha;
        }
        catch { return "unknown"; }
    }

    private static JsonObject Versions()
    {
        var o = new JsonObject
        {
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["vixml"] = typeof(RunRecord).Assembly.GetName().Version?.ToString(),
        };
        foreach (var (k, v) in ExtraVersions) o[k] = v;
        return o;
    }

    /// <summary>Other components register their versions here (e.g. libtorch) before a run starts.</summary>
    public static readonly Dictionary<string, string> ExtraVersions = new();

    private static JsonObject Machine()
    {
        string cpu = "unknown";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch { /* not Linux */ }
        return new JsonObject
        {
            ["os"] = RuntimeInformation.OSDescription,
            ["arch"] = RuntimeInformation.OSArchitecture.ToString(),
            ["cpu"] = cpu,
            ["cores"] = Environment.ProcessorCount,
            ["memory_gib"] = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024), 1),
            ["hostname_hash"] = ConfigShortHash(Environment.MachineName),
        };
    }

    private static string ConfigShortHash(string s) => Config.ConfigLoader.Sha256(s)[..12];
}

/// <summary>
/// metrics.csv: one row per evaluation; columns fixed by the first row written. The whole file is rewritten
/// atomically on each append, so a crash never leaves a half row.
/// </summary>
public sealed class MetricsCsv
{
    public string Path { get; }
    private readonly List<string> _columns = new();
    private readonly List<string> _lines = new();

    public MetricsCsv(string path)
    {
        Path = path;
        if (File.Exists(path))
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length > 0)
            {
                _columns.AddRange(lines[0].Split(','));
                _lines.AddRange(lines.Skip(1).Where(l => l.Length > 0));
            }
        }
    }

    public IReadOnlyList<string> Columns => _columns;
    public int Rows => _lines.Count;

    /// <summary>Drops rows whose first column (epoch) is greater than <paramref name="epoch"/> (used when resuming).</summary>
    public void TruncateAfterEpoch(int epoch)
    {
        _lines.RemoveAll(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) > epoch);
        Write();
    }

    public void Append(IReadOnlyList<KeyValuePair<string, double>> row)
    {
        if (_columns.Count == 0) _columns.AddRange(row.Select(kv => kv.Key));
        else if (!row.Select(kv => kv.Key).SequenceEqual(_columns))
            throw new InvalidOperationException($"{Path}: metrics columns changed ({string.Join(",", row.Select(k => k.Key))} vs {string.Join(",", _columns)})");
        _lines.Add(string.Join(",", row.Select(kv => Format(kv.Value))));
        Write();
    }

    private static string Format(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 1e15 ? ((long)v).ToString(CultureInfo.InvariantCulture) : v.ToString("G9", CultureInfo.InvariantCulture);

    private void Write()
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(",", _columns)).Append('\n');
        foreach (var l in _lines) sb.Append(l).Append('\n');
        Atomic.WriteAllText(Path, sb.ToString());
    }
}
