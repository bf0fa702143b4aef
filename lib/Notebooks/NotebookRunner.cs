using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using ViXml.Reporting;

namespace ViXml.Notebooks;

/// <summary>How to run one notebook.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>The -p name=value pairs, injected after the cell tagged "parameters".</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Where the executed notebook goes; null = next to the input as NAME.out.ipynb.</summary>
    public string? OutputPath { get; init; }

    /// <summary>Wall-clock limit for the whole notebook; null = none.</summary>
    public TimeSpan? Timeout { get; init; }

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
/// Headless C# notebook runner on Roslyn scripting, following papermill's conventions: code cells run in order as
/// successive script submissions (state carries from cell to cell), markdown/raw cells pass through, the first failing
/// cell stops the run, and the executed notebook (outputs, execution counts, timings) is always written atomically.
/// </summary>
public static class NotebookRunner
{
    // Runs share the process-wide current directory, so one notebook runs at a time per process.
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

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
        var input = Path.GetFullPath(notebookPath);
        var nb = Notebook.Load(input); // format errors surface before anything runs or is written
        NotebookParameters.Inject(nb, options.Parameters);
        var output = Path.GetFullPath(options.OutputPath ?? DefaultOutputPath(input));
        if (output == input) throw new ArgumentException($"output path {output} would overwrite the input notebook");
        var nbDir = Path.GetDirectoryName(input)!;

        await OneAtATime.WaitAsync(ct);
        var oldCwd = Environment.CurrentDirectory;
        try
        {
            var cwd = options.WorkingDirectory ?? nbDir;
            if (!Directory.Exists(cwd)) throw new DirectoryNotFoundException($"working directory not found: {cwd}");
            if (!string.Equals(Path.GetFullPath(cwd), oldCwd, StringComparison.Ordinal)) Environment.CurrentDirectory = cwd;
            using var results = Results.UseDirectory(options.ResultsDirectory ?? Path.GetDirectoryName(output)!);
            return await Execute(nb, input, output, nbDir, options, ct);
        }
        finally
        {
            if (!string.Equals(Environment.CurrentDirectory, oldCwd, StringComparison.Ordinal)) Environment.CurrentDirectory = oldCwd;
            OneAtATime.Release();
        }
    }

    private static async Task<NotebookRunResult> Execute(Notebook nb, string input, string output, string nbDir,
        NotebookRunOptions options, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var scriptOptions = BaseOptions(nbDir);
        var globals = new NotebookGlobals();
        ScriptState<object>? state = null;
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

        for (var i = 0; i < nb.Cells.Count && failure is null; i++)
        {
            var cell = nb.Cells[i];
            if (cell.CellType != "code") continue;
            count++;
            var outputs = new CellOutputs { Echo = options.Echo };
            var cellStart = DateTime.UtcNow;
            var cellClock = Stopwatch.StartNew();
            var source = cell.Source;
            var language = ForeignKernel(cell, source);
            string? ename = null, evalue = null;
            if (language is not null)
            {
                (ename, evalue) = ("UnsupportedLanguage", $"this cell is for the '{language}' kernel; the runner executes C# only");
                outputs.AddError(ename, evalue, [$"{ename}: {evalue}"]);
            }
            else
            {
                var cellOptions = scriptOptions.WithFilePath(Path.Combine(nbDir, $"{Path.GetFileName(input)}[cell {i}]"));
                var code = StripMagics(source);
                var previous = state;
                var run = Task.Run(async () =>
                {
                    using (RoutedConsole.Capture(outputs))
                    {
                        return previous is null
                            ? await CSharpScript.RunAsync(code, cellOptions, globals, typeof(NotebookGlobals), ct)
                            : await previous.ContinueWithAsync(code, cellOptions, ct);
                    }
                }, ct);
                var remaining = options.Timeout is { } t
                    ? TimeSpan.FromTicks(Math.Max(0, (t - clock.Elapsed).Ticks))
                    : System.Threading.Timeout.InfiniteTimeSpan;
                var finished = await Task.WhenAny(run, Task.Delay(remaining, ct));
                if (finished != run)
                {
                    // Roslyn cannot interrupt running code: the cell's thread is abandoned (the CLI exits right after).
                    (ename, evalue) = ("TimeoutError", $"notebook timeout of {options.Timeout!.Value.TotalSeconds:0.#} s exceeded while this cell ran");
                    outputs.AddError(ename, evalue, [$"{ename}: {evalue}"]);
                    ct.ThrowIfCancellationRequested();
                }
                else
                {
                    try
                    {
                        state = await run;
                        if (HasResult(state.Script)) outputs.AddResult(state.ReturnValue, count);
                    }
                    catch (CompilationErrorException e)
                    {
                        (ename, evalue) = ("CompilationError", string.Join("; ", e.Diagnostics.Select(d => d.GetMessage(CultureInfo.InvariantCulture))));
                        outputs.AddError(ename, evalue, e.Diagnostics.Select(d => FormatDiagnostic(d, i)));
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e)
                    {
                        var inner = Unwrap(e);
                        (ename, evalue) = (inner.GetType().FullName ?? inner.GetType().Name, inner.Message);
                        outputs.AddError(ename, evalue, Traceback(inner));
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

        clock.Stop();
        var ended = DateTime.UtcNow;
        nb.Metadata["papermill"] = new JsonObject
        {
            ["runner"] = "vixml nb run (Roslyn scripting)",
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

    /// <summary>
    /// Whether the submission ends in a non-void expression without a semicolon (the script's value), the rule the C#
    /// REPL uses; a null value is then still shown, while a statement shows nothing.
    /// </summary>
    private static bool HasResult(Script script)
    {
        var compilation = script.GetCompilation();
        var tree = compilation.SyntaxTrees.LastOrDefault();
        if (tree?.GetRoot() is not Microsoft.CodeAnalysis.CSharp.Syntax.CompilationUnitSyntax root) return false;
        if (root.Members.LastOrDefault() is not Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax
            { Statement: Microsoft.CodeAnalysis.CSharp.Syntax.ExpressionStatementSyntax { SemicolonToken.IsMissing: true } stmt })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(stmt.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

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

    private static string FormatDiagnostic(Diagnostic d, int cellIndex)
    {
        var pos = d.Location.GetLineSpan().StartLinePosition;
        var severity = d.Severity.ToString().ToLowerInvariant();
        return $"cell {cellIndex} ({pos.Line + 1},{pos.Character + 1}): {severity} {d.Id}: {d.GetMessage(CultureInfo.InvariantCulture)}";
    }

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a: e = a.InnerExceptions[0]; continue;
                case TargetInvocationException { InnerException: { } t }: e = t; continue;
                default: return e;
            }
        }
    }

    /// <summary>"Type: message" then the stack frames that belong to the notebook or the library, not Roslyn's plumbing.</summary>
    private static IEnumerable<string> Traceback(Exception e)
    {
        var lines = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            lines.Add(x == e ? $"{x.GetType().FullName}: {x.Message}" : $" ---> {x.GetType().FullName}: {x.Message}");
            foreach (var frame in (x.StackTrace ?? "").Split('\n'))
            {
                var f = frame.TrimEnd('\r');
                if (f.Length == 0 || f.Contains("Microsoft.CodeAnalysis.Scripting") || f.Contains("ViXml.Notebooks.NotebookRunner") || f.Contains("System.Runtime.CompilerServices")
                    || f.Contains("System.Threading.") || f.StartsWith("--- End of stack trace", StringComparison.Ordinal)) continue;
                lines.Add(f);
            }
        }
        return lines;
    }

    // .NET Interactive kernel selectors other than C#: such cells belong to another language.
    private static readonly HashSet<string> ForeignKernels =
        ["fsharp", "f#", "pwsh", "powershell", "javascript", "js", "html", "markdown", "md", "sql", "kql", "mermaid", "python", "r", "http"];

    private static readonly Regex MagicLine = new(@"^\s*#!", RegexOptions.Compiled);

    private static string? ForeignKernel(NotebookCell cell, string source)
    {
        var meta = cell.Metadata;
        var declared = (string?)meta["polyglot_notebook"]?["kernelName"] ?? (string?)meta["dotnet_interactive"]?["language"];
        if (declared is not null && ForeignKernels.Contains(declared.ToLowerInvariant())) return declared;
        foreach (var line in source.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length == 0) continue;
            if (!t.StartsWith("#!", StringComparison.Ordinal)) break;
            var name = t[2..].Split(' ', 2)[0].ToLowerInvariant();
            if (ForeignKernels.Contains(name)) return name;
        }
        return null;
    }

    /// <summary>
    /// Comments out .NET Interactive magic lines (<c>#!csharp</c>, <c>#!time</c>, ...): C# scripts accept <c>#!</c>
    /// only on the very first line, and these commands mean nothing to plain Roslyn. Line numbers stay the same.
    /// </summary>
    public static string StripMagics(string source) =>
        string.Join('\n', source.Split('\n').Select(l => MagicLine.IsMatch(l) ? "// " + l.TrimStart() : l));

    private static ScriptOptions? _base;
    private static readonly object BaseLock = new();

    private static ScriptOptions BaseOptions(string nbDir)
    {
        lock (BaseLock)
        {
            _base ??= ScriptOptions.Default
                .WithReferences(HostReferences.Value.Values)
                .WithImports(DefaultImports())
                .WithLanguageVersion(Microsoft.CodeAnalysis.CSharp.LanguageVersion.Latest)
                .WithOptimizationLevel(OptimizationLevel.Release)
                .WithAllowUnsafe(true)
                .WithEmitDebugInformation(true) // line numbers in exception tracebacks
                .WithFileEncoding(System.Text.Encoding.UTF8); // required by debug information
        }
        return _base
            .WithMetadataResolver(new NotebookReferenceResolver(nbDir, HostReferences.Value))
            .WithSourceResolver(ScriptSourceResolver.Default.WithBaseDirectory(nbDir));
    }

    /// <summary>System basics plus every public ViXml.* namespace of the library.</summary>
    private static IEnumerable<string> DefaultImports()
    {
        string[] system = ["System", "System.IO", "System.Linq", "System.Text", "System.Collections.Generic", "System.Threading.Tasks"];
        var vixml = typeof(NotebookRunner).Assembly.GetExportedTypes()
            .Select(t => t.Namespace)
            .Where(n => n is not null && n.StartsWith("ViXml", StringComparison.Ordinal) && !n.EndsWith(".Native", StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal);
        return system.Concat(vixml.Select(n => n!));
    }

    /// <summary>ViXml.Lib and everything it references (transitively), keyed by simple assembly name.</summary>
    internal static readonly Lazy<ImmutableDictionary<string, MetadataReference>> HostReferences = new(() =>
    {
        var found = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<Assembly>([typeof(NotebookRunner).Assembly, typeof(object).Assembly, typeof(Console).Assembly,
            typeof(Enumerable).Assembly, typeof(List<>).Assembly, typeof(System.Text.Json.JsonSerializer).Assembly]);
        while (queue.Count > 0)
        {
            var a = queue.Dequeue();
            if (a.IsDynamic || string.IsNullOrEmpty(a.Location) || !found.TryAdd(a.GetName().Name!, a)) continue;
            foreach (var r in a.GetReferencedAssemblies())
            {
                if (found.ContainsKey(r.Name!)) continue;
                try { queue.Enqueue(Assembly.Load(r)); }
                catch (FileNotFoundException) { /* optional dependency not shipped: scripts cannot use it either */ }
            }
        }
        // System.Runtime is the facade compiled code refers to; make sure it is there even if nothing listed it.
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var extra = new[] { "System.Runtime.dll", "netstandard.dll" }.Select(f => Path.Combine(runtimeDir, f)).Where(File.Exists);
        var refs = found.ToDictionary(kv => kv.Key, kv => (MetadataReference)MetadataReference.CreateFromFile(kv.Value.Location),
            StringComparer.OrdinalIgnoreCase);
        foreach (var f in extra) refs.TryAdd(Path.GetFileNameWithoutExtension(f), MetadataReference.CreateFromFile(f));
        return refs.ToImmutableDictionary(StringComparer.OrdinalIgnoreCase);
    });
}

/// <summary>
/// Resolves <c>#r "path.dll"</c> relative to the notebook's folder. A reference to an assembly the runner already
/// hosts (e.g. the notebook's <c>#r "../bin/Release/net10.0/ViXml.Lib.dll"</c>, there so an interactive kernel finds
/// the library) maps to the host's copy, so display() and the notebook agree on one ViXml.Reporting.IRichDisplay.
/// </summary>
internal sealed class NotebookReferenceResolver(string baseDirectory, ImmutableDictionary<string, MetadataReference> host)
    : MetadataReferenceResolver
{
    private readonly ScriptMetadataResolver _inner = ScriptMetadataResolver.Default.WithBaseDirectory(baseDirectory);

    public override ImmutableArray<PortableExecutableReference> ResolveReference(string reference, string? baseFilePath,
        MetadataReferenceProperties properties)
    {
        var resolved = _inner.ResolveReference(reference, baseFilePath, properties);
        return resolved.Select(r =>
        {
            if (r.FilePath is null || !File.Exists(r.FilePath)) return r;
            string? name;
            try { name = AssemblyName.GetAssemblyName(r.FilePath).Name; }
            catch (BadImageFormatException) { return r; }
            return name is not null && host.TryGetValue(name, out var h) && h is PortableExecutableReference pe ? pe : r;
        }).ToImmutableArray();
    }

    public override bool ResolveMissingAssemblies => _inner.ResolveMissingAssemblies;

    public override PortableExecutableReference? ResolveMissingAssembly(MetadataReference definition, AssemblyIdentity referenceIdentity) =>
        _inner.ResolveMissingAssembly(definition, referenceIdentity);

    public override bool Equals(object? other) =>
        other is NotebookReferenceResolver o && o._inner.Equals(_inner);

    public override int GetHashCode() => _inner.GetHashCode();
}
