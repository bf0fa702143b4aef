using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ViXml.Reporting;

namespace ViXml.Notebooks;

/// <summary>How to run one notebook.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>The -p name=value pairs, injected after the cell tagged "parameters".</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Where the executed notebook goes; null = next to the input as NAME.out.ipynb.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Longest <see cref="Timeout"/> / <see cref="CellTimeout"/> accepted (a week: far beyond any profile, well inside
    /// what timers take).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(7);

    /// <summary>Wall-clock limit for the whole notebook (kernel start included); null = none. Hitting it stops the kernel.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Limit for any one cell (papermill's --execution-timeout); null = none. Hitting it stops the kernel.</summary>
    public TimeSpan? CellTimeout { get; init; }

    /// <summary>Most characters of printed output (stdout/stderr) kept per cell, beyond which text is dropped with a note;
    /// displays and results (tables, charts) have a budget of 8x this.</summary>
    public long OutputCap { get; init; } = DefaultOutputCap;

    /// <summary>Extra environment variables for the kernel process (it inherits the runner's otherwise).</summary>
    public IReadOnlyDictionary<string, string>? KernelEnvironment { get; init; }

    /// <summary>2 M characters (~4 MB in the notebook): far above any table or chart, far below a runaway print loop.</summary>
    public const long DefaultOutputCap = 2_000_000;

    /// <summary>Progress lines ("cell 3 ok 0.12 s"); null = silent.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Echo of cell outputs as they happen (papermill's --log-output); null = silent.</summary>
    public TextWriter? Echo { get; init; }

    /// <summary>Current directory while cells run; null = the notebook's folder (what a Jupyter kernel does).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Folder that <see cref="Results.Save(string, object)"/> writes into; null = the output notebook's folder.</summary>
    public string? ResultsDirectory { get; init; }
}

/// <summary>The cell that stopped a run.</summary>
/// <param name="CellIndex">0-based position in the executed notebook (after parameter injection).</param>
/// <param name="ExecutionCount">Its "In [n]" number.</param>
/// <param name="FirstLine">First non-blank source line, to recognise it.</param>
/// <param name="EName">Exception type (or CompilationError, TimeoutError).</param>
/// <param name="EValue">Exception message.</param>
public sealed record CellFailure(int CellIndex, int ExecutionCount, string FirstLine, string EName, string EValue)
{
    public override string ToString() =>
        $"cell {CellIndex} (In [{ExecutionCount}], first line: {FirstLine}) failed: {EName}: {EValue}";
}

/// <summary>Outcome of a run; the executed notebook is written in both cases.</summary>
public sealed record NotebookRunResult(string InputPath, string OutputPath, CellFailure? Failure, int CellsExecuted, TimeSpan Duration)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Headless C# notebook runner following papermill's conventions: code cells run in order in one .NET Interactive C#
/// kernel (the kernel of VS Code's Polyglot Notebooks and Jupyter's .net-csharp), hosted in a worker process
/// (<see cref="KernelProcess"/>); markdown/raw cells pass through; the first failing cell stops the run, and the
/// executed notebook (outputs, execution counts, timings) is always written atomically, also when the kernel dies.
/// </summary>
public static class NotebookRunner
{
    /// <summary>Default output path: NAME.out.ipynb next to the input.</summary>
    public static string DefaultOutputPath(string notebookPath)
    {
        var full = Path.GetFullPath(notebookPath);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".out.ipynb");
    }

    public static NotebookRunResult Run(string notebookPath, NotebookRunOptions? options = null) =>
        RunAsync(notebookPath, options ?? new NotebookRunOptions()).GetAwaiter().GetResult();

    public static async Task<NotebookRunResult> RunAsync(string notebookPath, NotebookRunOptions options, CancellationToken ct = default)
    {
        foreach (var (limit, name) in new[] { (options.Timeout, "timeout"), (options.CellTimeout, "cell timeout") })
            if (limit is { } l && (l <= TimeSpan.Zero || l > NotebookRunOptions.MaxTimeout))
                throw new ArgumentException($"{name} {l.TotalSeconds:R} s: expected above 0 and at most {NotebookRunOptions.MaxTimeout.TotalSeconds:0} s");
        var input = Path.GetFullPath(notebookPath);
        var nb = Notebook.Load(input); // format errors surface before anything runs or is written
        NotebookParameters.Inject(nb, options.Parameters);
        var output = Path.GetFullPath(options.OutputPath ?? DefaultOutputPath(input));
        if (output == input) throw new ArgumentException($"output path {output} would overwrite the input notebook");
        var nbDir = Path.GetDirectoryName(input)!;

        return await Execute(nb, input, output, nbDir, options, ct);
    }

    private static async Task<NotebookRunResult> Execute(Notebook nb, string input, string output, string nbDir,
        NotebookRunOptions options, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        CellFailure? failure = null;
        var count = 0;

        // Fresh slate: a re-run of an executed notebook must not keep stale outputs.
        foreach (var c in nb.Cells.Where(c => c.CellType == "code"))
        {
            c.Json["outputs"] = new JsonArray();
            c.Json["execution_count"] = null;
            c.Metadata.Remove("execution");
            c.Metadata["papermill"] = Timing(null, null, "pending");
        }

        var cwd = options.WorkingDirectory ?? nbDir;
        if (!Directory.Exists(cwd)) throw new DirectoryNotFoundException($"working directory not found: {cwd}");
        var env = new Dictionary<string, string>
        {
            ["VIXML_RESULTS_DIR"] = Path.GetFullPath(options.ResultsDirectory ?? Path.GetDirectoryName(output)!),
            ["VIXML_NBKERNEL_OUTPUT_CAP"] = options.OutputCap.ToString(CultureInfo.InvariantCulture),
        };
        if (ChartExport.RepoRoot() is { } root) env["VIXML_ROOT"] = root;
        foreach (var (k, v) in options.KernelEnvironment ?? new Dictionary<string, string>()) env[k] = v;
        var kernel = KernelProcess.Start(cwd, env);
        try
        {
            var kernelDead = false;
            for (var i = 0; i < nb.Cells.Count && failure is null; i++)
            {
                var cell = nb.Cells[i];
                if (cell.CellType != "code") continue;
                count++;
                // The worker applies the cap and says so; the runner's own cap (a little above, to keep that note) covers
                // text written outside the protocol (native code, the runtime's last words).
                var outputs = new CellOutputs { Echo = options.Echo, Cap = options.OutputCap + 16_000 };
                var cellStart = DateTime.UtcNow;
                var cellClock = Stopwatch.StartNew();
                var cellStartedAt = clock.Elapsed;
                var source = cell.Source;
                string? ename = null, evalue = null;
                var language = KernelOf(cell, source);
                if (language.Foreign is { } foreign)
                {
                    (ename, evalue) = ("UnsupportedLanguage", $"this cell is for the '{foreign}' kernel; the runner's kernel hosts C# (csharp) and value only");
                    outputs.AddError(ename, evalue, [$"{ename}: {evalue}"]);
                }
                else if (kernelDead || !kernel.Submit(i, language.Name, MapLibraryReferences(source, nbDir)))
                {
                    (ename, evalue) = ("KernelDied", "the kernel process is not running");
                    outputs.AddError(ename, evalue, [$"{ename}: {evalue}"]);
                }
                else
                {
                    (string Name, string Value, List<string> Tb)? fatal = null;
                    int? exitingCode = null;
                    var finished = false;
                    while (!finished)
                    {
                        var remaining = Min(
                            options.Timeout is { } t ? t - clock.Elapsed : Timeout.InfiniteTimeSpan,
                            options.CellTimeout is { } t1 ? t1 - (clock.Elapsed - cellStartedAt) : Timeout.InfiniteTimeSpan);
                        var msg = remaining == Timeout.InfiniteTimeSpan || remaining > TimeSpan.Zero
                            ? await kernel.NextAsync(remaining, ct)
                            : null;
                        if (msg is null)
                        {
                            ct.ThrowIfCancellationRequested();
                            // A running cell cannot be interrupted in .NET: end the kernel (papermill does the same on timeout).
                            kernel.Kill();
                            kernelDead = true;
                            var which = options.CellTimeout is { } c1 && clock.Elapsed - cellStartedAt >= c1
                                ? $"cell timeout of {c1.TotalSeconds:0.#} s" : $"notebook timeout of {options.Timeout?.TotalSeconds:0.#} s";
                            (ename, evalue) = ("TimeoutError", $"{which} exceeded while this cell ran; the kernel was stopped");
                            outputs.AddError(ename, evalue, [$"{ename}: {evalue}"]);
                            break;
                        }
                        var b = msg.Body;
                        switch (msg.Kind)
                        {
                            case "stream":
                            case "stray":
                                outputs.WriteStream((string?)b["name"] ?? "stdout", (string?)b["text"] ?? "");
                                break;
                            case "display":
                                outputs.AddDisplay(b["data"] as JsonObject ?? new JsonObject(), (string?)b["id"]);
                                break;
                            case "update":
                                outputs.UpdateDisplay(b["data"] as JsonObject ?? new JsonObject(), (string?)b["id"]);
                                break;
                            case "result":
                                outputs.AddResult(b["data"] as JsonObject ?? new JsonObject(), count);
                                break;
                            case "error":
                                (ename, evalue) = ((string?)b["ename"] ?? "Error", (string?)b["evalue"] ?? "");
                                var name = ename;
                                outputs.AddError(ename, evalue, Strings(b["traceback"]).Select(l => CellPrefix(l, name, i)));
                                break;
                            case "fatal":
                                fatal = ((string?)b["ename"] ?? "UnhandledException", (string?)b["evalue"] ?? "", Strings(b["traceback"]).ToList());
                                break;
                            case "exiting":
                                exitingCode = (int?)b["code"];
                                break;
                            case "done":
                                finished = true;
                                break;
                            case "exited":
                                kernelDead = true;
                                List<string> tb;
                                (ename, evalue, tb) = DeathReport(kernel, (int?)b["code"] ?? kernel.ExitCode(), fatal, exitingCode);
                                outputs.AddError(ename, evalue, tb);
                                finished = true;
                                break;
                        }
                    }
                }
                cellClock.Stop();
                var cellEnd = DateTime.UtcNow;
                cell.Json["execution_count"] = count;
                cell.Json["outputs"] = outputs.ToJson();
                cell.Metadata["papermill"] = Timing(cellStart, cellEnd, ename is null ? "completed" : "failed", cellClock.Elapsed);
                cell.Metadata["execution"] = new JsonObject
                {
                    ["iopub.execute_input"] = Iso(cellStart), ["iopub.status.busy"] = Iso(cellStart),
                    ["shell.execute_reply"] = Iso(cellEnd), ["iopub.status.idle"] = Iso(cellEnd),
                };
                options.Log?.WriteLine($"cell {i} (In [{count}]) {(ename is null ? "ok    " : "FAILED")} {cellClock.Elapsed.TotalSeconds,6:0.00} s  {Abbreviate(cell.FirstLine)}");
                if (ename is not null) failure = new CellFailure(i, count, cell.FirstLine, ename, evalue ?? "");
            }
        }
        finally
        {
            await kernel.DisposeAsync();
        }

        clock.Stop();
        var ended = DateTime.UtcNow;
        nb.Metadata["papermill"] = new JsonObject
        {
            ["runner"] = "vixml nb run (.NET Interactive C# kernel in a worker process)",
            ["input_path"] = input,
            ["output_path"] = output,
            ["parameters"] = new JsonObject(options.Parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            ["start_time"] = Iso(started),
            ["end_time"] = Iso(ended),
            ["duration"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
            ["exception"] = failure is not null,
        };
        nb.Save(output);
        return new NotebookRunResult(input, output, failure, count, clock.Elapsed);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b)
    {
        if (a == Timeout.InfiniteTimeSpan) return b;
        if (b == Timeout.InfiniteTimeSpan) return a;
        var m = a < b ? a : b;
        return m < TimeSpan.Zero ? TimeSpan.Zero : m;
    }

    private static IEnumerable<string> Strings(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => (string?)x ?? "") : [];

    // Compile diagnostics come as "(line,col): error CSxxxx: ..." relative to the cell: name the cell too.
    private static string CellPrefix(string line, string ename, int cellIndex) =>
        ename == "CompilationError" && line.StartsWith('(') ? $"cell {cellIndex} {line}" : line;

    /// <summary>What to say when the kernel process ended while a cell ran: the runtime's own last words if any.</summary>
    private static (string, string, List<string>) DeathReport(KernelProcess kernel, int? exitCode,
        (string Name, string Value, List<string> Tb)? fatal, int? exitingCode)
    {
        var code = exitCode is { } c ? c.ToString(CultureInfo.InvariantCulture) : "unknown";
        var tail = kernel.StderrTail.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        if (fatal is { } f)
            return ("KernelDied", $"the kernel process died (exit code {code}): unhandled exception on a thread the cell started: {f.Name}: {f.Value}",
                [$"KernelDied: an unhandled {f.Name} on a thread the cell started ended the kernel process (exit code {code})", .. f.Tb]);
        if (tail.Any(l => l.StartsWith("Stack overflow", StringComparison.Ordinal)))
        {
            var frames = tail.SkipWhile(l => !l.StartsWith("Stack overflow", StringComparison.Ordinal)).Take(40).ToList();
            return ("KernelDied", $"the kernel process died (exit code {code}): stack overflow",
                ["KernelDied: a stack overflow ended the kernel process", .. frames]);
        }
        if (tail.FirstOrDefault(l => l.StartsWith("Unhandled exception.", StringComparison.Ordinal)) is { } unhandled)
            return ("KernelDied", $"the kernel process died (exit code {code}): {unhandled["Unhandled exception.".Length..].Trim()}",
                ["KernelDied: " + unhandled, .. tail.SkipWhile(l => l != unhandled).Skip(1).Take(40)]);
        if (exitingCode is not null)
            return ("KernelDied", $"the cell ended the kernel process with exit code {code} (Environment.Exit or similar)",
                [$"KernelDied: the kernel process exited with code {code} while this cell ran (Environment.Exit or similar)"]);
        var last = tail.TakeLast(20).ToList();
        return ("KernelDied", $"the kernel process ended with exit code {code} while this cell ran" + (last.Count > 0 ? $": {last[^1]}" : ""),
            [$"KernelDied: the kernel process ended with exit code {code} while this cell ran", .. last]);
    }

    /// <summary>
    /// A notebook's <c>#r "…/ViXml.Lib.dll"</c> (the path an interactive kernel needs) points at the runner's own copy
    /// of the library, whose folder holds all its dependencies (and native libraries); other relative paths resolve
    /// against the notebook's folder, as in VS Code.
    /// </summary>
    internal static string MapLibraryReferences(string source, string nbDir)
    {
        var lib = typeof(NotebookRunner).Assembly.Location;
        return HashR.Replace(source, m =>
        {
            var path = m.Groups["path"].Value;
            if (path.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase)) return m.Value;
            var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(nbDir, path));
            if (!string.IsNullOrEmpty(lib) && string.Equals(Path.GetFileName(path), Path.GetFileName(lib), StringComparison.OrdinalIgnoreCase))
                full = lib;
            return $"{m.Groups["lead"].Value}#r \"{full}\"";
        });
    }

    /// <summary>The same cell with every relative <c>#r "path"</c> made absolute against <paramref name="nbDir"/>
    /// (for a copy of the notebook that runs elsewhere); <c>#r "nuget:…"</c> is left alone.</summary>
    public static string AbsoluteReferences(string source, string nbDir) =>
        HashR.Replace(source, m =>
        {
            var path = m.Groups["path"].Value;
            if (path.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase) || Path.IsPathRooted(path)) return m.Value;
            return $"{m.Groups["lead"].Value}#r \"{Path.GetFullPath(Path.Combine(nbDir, path))}\"";
        });

    private static readonly Regex HashR = new(@"^(?<lead>[ \t]*)#r[ \t]+""(?<path>[^""]+)""", RegexOptions.Compiled | RegexOptions.Multiline);

    private static JsonObject Timing(DateTime? start, DateTime? end, string status, TimeSpan? duration = null) => new()
    {
        ["exception"] = status == "failed",
        ["start_time"] = start is { } s ? Iso(s) : null,
        ["end_time"] = end is { } e ? Iso(e) : null,
        ["duration"] = duration is { } d ? Math.Round(d.TotalSeconds, 4) : null,
        ["status"] = status,
    };

    private static string Iso(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string Abbreviate(string s) => s.Length <= 60 ? s : s[..57] + "...";

    // .NET Interactive kernel selectors other than C#: such cells belong to another language.
    private static readonly HashSet<string> ForeignKernels =
        ["fsharp", "f#", "pwsh", "powershell", "javascript", "js", "html", "markdown", "md", "sql", "kql", "mermaid", "python", "r", "http"];

    private static readonly Regex MagicLine = new(@"^\s*#!", RegexOptions.Compiled);

    /// <summary>
    /// Which kernel of the worker's CompositeKernel runs the cell: the cell's Polyglot metadata, else csharp (a
    /// leading <c>#!csharp</c> / <c>#!value</c> line is handled by the kernel itself). Cells for languages the worker
    /// does not host (F#, PowerShell, ...) are reported instead of sent.
    /// </summary>
    private static (string Name, string? Foreign) KernelOf(NotebookCell cell, string source)
    {
        var meta = cell.Metadata;
        var declared = ((string?)meta["polyglot_notebook"]?["kernelName"] ?? (string?)meta["dotnet_interactive"]?["language"])?.ToLowerInvariant();
        if (declared is not null && ForeignKernels.Contains(declared)) return ("csharp", declared);
        foreach (var line in source.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length == 0) continue;
            if (!t.StartsWith("#!", StringComparison.Ordinal)) break;
            var name = t[2..].Split(' ', 2)[0].ToLowerInvariant();
            if (ForeignKernels.Contains(name)) return ("csharp", name);
        }
        return (declared is "value" ? "value" : "csharp", null);
    }

    /// <summary>
    /// Comments out .NET Interactive magic lines (<c>#!csharp</c>, <c>#!time</c>, ...) so plain Roslyn can parse the
    /// rest (parameter cells are read with it). Line numbers stay the same.
    /// </summary>
    public static string StripMagics(string source) =>
        string.Join('\n', source.Split('\n').Select(l => MagicLine.IsMatch(l) ? "// " + l.TrimStart() : l));
}
