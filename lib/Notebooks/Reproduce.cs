using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Common;
using ViXml.Reporting;

namespace ViXml.Notebooks;

/// <summary>How to reproduce: which profile, and where notebooks, results and paper tables live.</summary>
public sealed record ReproduceOptions
{
    /// <summary>smoke (seconds per notebook, a few hundred queries), ci (about a minute per notebook, small data), cpu
    /// (hours on this machine) or paper (the paper's scale); <see cref="Reproduce.Profiles"/>.</summary>
    public required string Profile { get; init; }

    /// <summary>Folder with the numbered notebooks NN-name.ipynb.</summary>
    public required string NotebooksDirectory { get; init; }

    /// <summary>Parent of results/&lt;profile&gt;/.</summary>
    public required string ResultsRoot { get; init; }

    /// <summary>Where paper-table generators write their *.md.</summary>
    public required string PaperTablesDirectory { get; init; }

    /// <summary>The paper's numbers the generators compare with; null = paper-numbers.json in <see cref="PaperTablesDirectory"/>.</summary>
    public string? PaperNumbersFile { get; init; }

    /// <summary>Per-notebook time limit; null = none.</summary>
    public TimeSpan? TimeoutPerNotebook { get; init; }

    /// <summary>Generators to run after the notebooks; null = every <see cref="IPaperTableGenerator"/> in ViXml.Lib.</summary>
    public IReadOnlyList<IPaperTableGenerator>? Generators { get; init; }

    /// <summary>Progress lines; null = silent.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Current directory while cells run; null = each notebook's folder, as a Jupyter kernel would.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Build the results site (results/&lt;profile&gt;/site/) after a successful run.</summary>
    public bool BuildSite { get; init; } = true;
}

/// <summary>One notebook of a reproduce run; <see cref="Results"/> are the files it wrote or rewrote in the results folder.</summary>
public sealed record ReproduceStep(string Notebook, string Output, double Seconds, CellFailure? Failure)
{
    public IReadOnlyList<string> Results { get; init; } = [];
}

/// <summary>A whole reproduce run; <see cref="Failure"/> names the notebook and cell that stopped it.</summary>
public sealed record ReproduceResult(string Profile, string ResultsDirectory, IReadOnlyList<ReproduceStep> Steps,
    IReadOnlyList<string> PaperTables, string? Failure, double Seconds)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// <c>vixml reproduce</c>: runs every notebooks/NN-*.ipynb in order with <c>-p profile=...</c>, writing the executed
/// notebooks (and, through <see cref="Results.Save"/>, their tables and charts) into results/&lt;profile&gt;/; stops at
/// the first failing notebook; then regenerates paper tables through the <see cref="IPaperTableGenerator"/> seam and
/// leaves results/&lt;profile&gt;/reproduce.json with per-notebook timings.
/// </summary>
public static class Reproduce
{
    /// <summary>The profiles every notebook takes (<see cref="ViXml.Experiments.ExperimentProfile.Names"/>).</summary>
    public static readonly string[] Profiles = ViXml.Experiments.ExperimentProfile.Names;

    /// <summary>
    /// Where a profile's paper tables go by default: the committed paper-tables/ for ci, cpu and paper; for smoke
    /// results/smoke/paper-tables/, so a smoke run (numbers that mean nothing) never overwrites the committed tables.
    /// </summary>
    public static string DefaultPaperTablesDirectory(string repoRoot, string resultsRoot, string profile) =>
        profile == "smoke" ? Path.Combine(resultsRoot, profile, "paper-tables") : Path.Combine(repoRoot, "paper-tables");

    private static readonly Regex Numbered = new(@"^\d{2}-.+\.ipynb$", RegexOptions.Compiled);

    /// <summary>NN-*.ipynb in the folder, in name order (executed copies *.out.ipynb are skipped).</summary>
    public static IReadOnlyList<string> FindNotebooks(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"notebooks folder not found: {directory}");
        return Directory.GetFiles(directory, "*.ipynb")
            .Where(p => Numbered.IsMatch(Path.GetFileName(p)) && !p.EndsWith(".out.ipynb", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Every public concrete IPaperTableGenerator in ViXml.Lib, ordered by Name.</summary>
    public static IReadOnlyList<IPaperTableGenerator> DiscoverGenerators() =>
        typeof(IPaperTableGenerator).Assembly.GetExportedTypes()
            .Where(t => typeof(IPaperTableGenerator).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }
                        && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IPaperTableGenerator)Activator.CreateInstance(t)!)
            .OrderBy(g => g.Name, StringComparer.Ordinal)
            .ToList();

    public static ReproduceResult Run(ReproduceOptions o)
    {
        if (!Profiles.Contains(o.Profile))
            throw new ArgumentException($"unknown profile '{o.Profile}'; use one of {string.Join(", ", Profiles)}");
        var notebooks = FindNotebooks(o.NotebooksDirectory);
        if (notebooks.Count == 0)
            throw new FileNotFoundException($"no numbered notebooks (NN-name.ipynb) in {o.NotebooksDirectory}");
        var resultsDir = Path.GetFullPath(Path.Combine(o.ResultsRoot, o.Profile));
        Directory.CreateDirectory(resultsDir);
        var clock = Stopwatch.StartNew();
        var steps = new List<ReproduceStep>();
        string? failure = null;
        var warnedNoNbformat = false;
        foreach (var nb in notebooks)
        {
            var output = Path.Combine(resultsDir, Path.GetFileName(nb));
            o.Log?.WriteLine($"== {Path.GetFileName(nb)} (profile {o.Profile}) -> {output}");
            var before = Snapshot(resultsDir);
            var result = NotebookRunner.Run(nb, new NotebookRunOptions
            {
                Parameters = [new("profile", o.Profile)],
                OutputPath = output,
                ResultsDirectory = resultsDir,
                Timeout = o.TimeoutPerNotebook,
                Log = o.Log,
                WorkingDirectory = o.WorkingDirectory,
            });
            var written = Written(before, Snapshot(resultsDir)).Where(f => f != Path.GetFileName(output) && f != SummaryFile).ToList();
            steps.Add(new ReproduceStep(nb, output, Math.Round(result.Duration.TotalSeconds, 2), result.Failure) { Results = written });
            o.Log?.WriteLine($"   {(result.Succeeded ? "ok" : "FAILED")} in {result.Duration.TotalSeconds:0.0} s");
            if (result.Failure is { } f)
            {
                failure = $"{Path.GetFileName(nb)}: {f} (executed notebook: {output})";
                break;
            }
            // What CI checks: the executed notebook opens in Jupyter.
            var check = NbformatCheck.Validate(output);
            if (!check.Checked && !warnedNoNbformat)
            {
                o.Log?.WriteLine("   nbformat check skipped: /usr/bin/python3 lacks nbformat (apt-get install python3-nbformat)");
                warnedNoNbformat = true;
            }
            if (check.Error is { } invalid)
            {
                failure = invalid;
                break;
            }
        }

        var tables = new List<string>();
        if (failure is null)
        {
            var generators = o.Generators ?? DiscoverGenerators();
            if (generators.Count == 0) o.Log?.WriteLine("paper tables: no IPaperTableGenerator implemented yet; nothing to regenerate");
            Directory.CreateDirectory(o.PaperTablesDirectory);
            var ctx = new PaperTableContext(o.Profile, resultsDir, Path.GetFullPath(o.PaperTablesDirectory), o.Log ?? TextWriter.Null,
                CuratedDirectory: Path.GetFullPath(o.ResultsRoot),    // the curated multi-seed tables sit in results/ itself
                PaperNumbersFile: o.PaperNumbersFile is { } pn ? Path.GetFullPath(pn) : null)
            {
                // only what this run wrote feeds the paper tables: a CSV of an older run is stale, not this run's number
                RunFiles = steps.SelectMany(s => s.Results).ToHashSet(StringComparer.Ordinal),
            };
            foreach (var g in generators)
            {
                try
                {
                    var written = g.Generate(ctx);
                    tables.AddRange(written);
                    o.Log?.WriteLine($"paper tables: {g.Name} wrote {string.Join(", ", written.Select(Path.GetFileName))}");
                }
                catch (Exception e)
                {
                    failure = $"paper-table generator '{g.Name}' failed: {e.GetType().Name}: {e.Message}";
                    break;
                }
            }
        }
        clock.Stop();
        var res = new ReproduceResult(o.Profile, resultsDir, steps, tables, failure, Math.Round(clock.Elapsed.TotalSeconds, 2));
        WriteSummary(res);
        return res.Succeeded && o.BuildSite ? BuildSite(res, o) : res;
    }

    /// <summary>The results site (<c>vixml report</c>) over what this run wrote; a failure to build it fails the run.</summary>
    private static ReproduceResult BuildSite(ReproduceResult res, ReproduceOptions o)
    {
        try
        {
            var site = ViXml.Reporting.Site.ResultsSite.Build(new() { ResultsDirectory = res.ResultsDirectory, PaperTablesDirectory = o.PaperTablesDirectory });
            foreach (var w in site.Warnings) o.Log?.WriteLine($"site: warning: {w}");
            o.Log?.WriteLine($"site: {site.Tables} tables, {site.Charts} charts, {site.Pages.Count} pages -> {site.IndexPage}");
            return res;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or FormatException or UnauthorizedAccessException)
        {
            var failed = res with { Failure = $"results site: {e.Message}" };
            WriteSummary(failed);
            return failed;
        }
    }

    private const string SummaryFile = "reproduce.json";

    /// <summary>Length and modification time of each file directly in <paramref name="dir"/> (what a notebook's saves change).</summary>
    public static Dictionary<string, (long Length, long Ticks)> Snapshot(string dir)
    {
        var map = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var f in new DirectoryInfo(dir).EnumerateFiles())
            map[f.Name] = (f.Length, f.LastWriteTimeUtc.Ticks);
        return map;
    }

    /// <summary>Files new in <paramref name="after"/> or changed since <paramref name="before"/> (saves are atomic renames: a
    /// rewritten file always has a new modification time), in name order.</summary>
    public static IReadOnlyList<string> Written(IReadOnlyDictionary<string, (long Length, long Ticks)> before,
        IReadOnlyDictionary<string, (long Length, long Ticks)> after) =>
        after.Where(kv => !before.TryGetValue(kv.Key, out var old) || old != kv.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>results/&lt;profile&gt;/reproduce.json: what ran, how long each notebook took, what failed, and which files
    /// each notebook wrote ("results"; the site shows only those and the executed notebooks, anything else is stale).</summary>
    private static void WriteSummary(ReproduceResult r)
    {
        var json = new JsonObject
        {
            ["profile"] = r.Profile,
            ["finished_utc"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["seconds"] = r.Seconds,
            ["succeeded"] = r.Succeeded,
            ["failure"] = r.Failure,
            ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            ["git_sha"] = ViXml.Training.Runs.RunRecord.GitSha(),
            ["notebooks"] = new JsonArray(r.Steps.Select(s => (JsonNode?)new JsonObject
            {
                ["notebook"] = Path.GetFileName(s.Notebook),
                ["output"] = Path.GetFileName(s.Output),
                ["seconds"] = s.Seconds,
                ["failure"] = s.Failure?.ToString(),
                ["results"] = new JsonArray(s.Results.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
            }).ToArray()),
            ["paper_tables"] = new JsonArray(r.PaperTables.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()),
        };
        Atomic.WriteAllText(Path.Combine(r.ResultsDirectory, SummaryFile),
            json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
