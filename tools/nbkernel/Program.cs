using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace ViXml.NbKernel;

/// <summary>
/// The kernel worker behind <c>vixml nb run</c>: one process per notebook run, hosting the .NET Interactive C# kernel
/// (a <see cref="CSharpKernel"/> with #r "nuget:", kernel helpers, #!who/#!whos, #!set/#!share, #!import, inside a
/// <see cref="CompositeKernel"/> with a "value" kernel), the same kernel VS Code's Polyglot Notebooks and Jupyter's
/// .net-csharp kernel run. The runner sends one JSON line per cell on stdin ({"cell": i, "kernel": "csharp",
/// "code": "..."}); the worker answers with JSON lines on its original stdout, each prefixed with the token the runner
/// gave in VIXML_NBKERNEL_TOKEN (so stray native writes to fd 1 are never taken for protocol):
/// ready, stream, display, result, error, done. Anything that kills this process (stack overflow, Environment.Exit,
/// an exception on a raw thread) ends the run of that cell only: the runner reports it and keeps the notebook.
/// </summary>
public static class Program
{
    private static TextWriter _protocol = TextWriter.Null;
    private static string _token = "";
    private static readonly object WriteLock = new();

    public static async Task<int> Main()
    {
        _token = Environment.GetEnvironmentVariable("VIXML_NBKERNEL_TOKEN") ?? "";
        var cap = long.TryParse(Environment.GetEnvironmentVariable("VIXML_NBKERNEL_OUTPUT_CAP"), out var c) && c > 0 ? c : 2_000_000;
        // Protocol on the original stdout; everything else that writes to Console outside a cell goes to stderr.
        _protocol = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        Console.SetOut(Console.Error);
        using var stdin = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);

        CellRun? current = null;
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            // A raw thread's exception ends the process; say which exception first (the runner names the cell).
            var ex = e.ExceptionObject as Exception;
            Send(new JsonObject
            {
                ["ev"] = "fatal", ["ename"] = ex?.GetType().FullName ?? "UnhandledException",
                ["evalue"] = ex?.Message ?? e.ExceptionObject?.ToString() ?? "",
                ["traceback"] = Lines(ex?.ToString() ?? ""),
            });
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (current is { Finished: false })
                Send(new JsonObject { ["ev"] = "exiting", ["code"] = Environment.ExitCode });
        };

        using var kernel = CreateKernel();
        using var subscription = kernel.KernelEvents.Subscribe(e => current?.On(e));
        Send(new JsonObject { ["ev"] = "ready", ["pid"] = Environment.ProcessId });

        while (await stdin.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            var request = JsonNode.Parse(line)!.AsObject();
            if ((string?)request["op"] == "quit") break;
            var code = (string?)request["code"] ?? "";
            var target = (string?)request["kernel"] ?? "csharp";
            current = new CellRun(cap);
            var command = new SubmitCode(code, target);
            current.Command = command;
            KernelCommandResult result;
            try
            {
                result = await kernel.SendAsync(command);
            }
            catch (Exception e)
            {
                current.Error(e.GetType().FullName ?? "Exception", e.Message, Lines(e.ToString()));
                current.Finish();
                continue;
            }
            // Events arrive through the subscription as they happen; the result repeats them all. Only a failure the
            // subscription did not see (none observed so far) is taken from it, so nothing is kept per event.
            current.TakeFailureFrom(result.Events);
            current.Finish();
        }
        return 0;
    }

    private static CompositeKernel CreateKernel()
    {
        var csharp = new CSharpKernel()
            .UseNugetDirective((k, resolved) =>
            {
                // What the dotnet-interactive tool does: reference every assembly of the restored packages.
                k.AddAssemblyReferences(resolved.SelectMany(r => r.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseWho()
            .UseValueSharing();
        var composite = new CompositeKernel { csharp, new KeyValueStoreKernel() };
        composite.DefaultKernelName = csharp.Name;
        composite.UseImportMagicCommand();
        return composite;
    }

    internal static JsonArray Lines(string text) =>
        new(text.Replace("\r\n", "\n").Split('\n').Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());

    internal static void Send(JsonObject message)
    {
        var json = message.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
        lock (WriteLock) _protocol.WriteLine(_token + json);
    }

    /// <summary>One cell's events: turned into protocol messages, with captured output capped.</summary>
    private sealed class CellRun(long cap)
    {
        private readonly object _lock = new();
        private long _sent, _dropped;
        private bool _failed;
        public KernelCommand? Command { get; set; }
        public bool Finished { get; private set; }

        public void On(KernelEvent e)
        {
            lock (_lock)
            {
                if (Finished) return;
                switch (e)
                {
                    case StandardOutputValueProduced o: Stream("stdout", o.FormattedValues); break;
                    case StandardErrorValueProduced o: Stream("stderr", o.FormattedValues); break;
                    case ReturnValueProduced r: Bundle("result", r.FormattedValues, r.Value, null); break;
                    // An update replaces the display it names (Jupyter's update_display_data), e.g. #r nuget progress.
                    case DisplayedValueUpdated d: Bundle("update", d.FormattedValues, d.Value, d.ValueId); break;
                    case DisplayedValueProduced d: Bundle("display", d.FormattedValues, d.Value, d.ValueId); break;
                    case ErrorProduced err:
                        Stream("stderr", [new FormattedValue(PlainTextFormatter.MimeType, err.Message + "\n")]);
                        break;
                    case CommandFailed f when f.Command == Command:
                        Failed(f);
                        break;
                }
            }
        }

        private static string Text(IEnumerable<FormattedValue> values) =>
            values.FirstOrDefault(v => v.MimeType == PlainTextFormatter.MimeType)?.Value ?? values.FirstOrDefault()?.Value ?? "";

        // Displays and results (tables, charts: the first chart carries plotly.js, ~4.8 MB) have their own, larger budget
        // than printed text, so a runaway print loop cannot crowd out a chart and vice versa.
        private long _displaySent;

        private bool SpendDisplay(long size)
        {
            if (_displaySent + size > cap * 8) return false;
            _displaySent += size;
            return true;
        }

        private void Stream(string name, IEnumerable<FormattedValue> values)
        {
            var text = Text(values);
            if (text.Length == 0) return;
            var room = cap - _sent;
            if (text.Length > room)
            {
                if (room > 0) Send(new JsonObject { ["ev"] = "stream", ["name"] = name, ["text"] = text[..(int)room] });
                _sent = cap;
                _dropped += text.Length - Math.Max(0, room);
                return;
            }
            _sent += text.Length;
            Send(new JsonObject { ["ev"] = "stream", ["name"] = name, ["text"] = text });
        }

        private void Bundle(string kind, IEnumerable<FormattedValue> values, object? value, string? id)
        {
            var data = new JsonObject();
            long size = 0;
            foreach (var v in values)
            {
                if (data.ContainsKey(v.MimeType)) continue;
                data[v.MimeType] = v.Value;
                size += v.Value?.Length ?? 0;
            }
            // nbformat readers (nbconvert, papermill, GitHub) fall back to text/plain: always include one, formatted by
            // the kernel's own plain-text formatter (the one Jupyter's .net-csharp kernel uses for it).
            if (!data.ContainsKey(PlainTextFormatter.MimeType))
            {
                string plain;
                try { plain = value.ToDisplayString(PlainTextFormatter.MimeType); }
                catch (Exception e) { plain = $"{value?.GetType().Name} (plain-text formatting failed: {e.Message})"; }
                data[PlainTextFormatter.MimeType] = plain;
                size += plain.Length;
            }
            if (!SpendDisplay(size))
            {
                Send(new JsonObject
                {
                    ["ev"] = "stream", ["name"] = "stderr",
                    ["text"] = $"[vixml nb run: a {kind} of {size:N0} characters was dropped: this cell's display budget of {cap * 8:N0} characters is used up]\n",
                });
                return;
            }
            Send(new JsonObject { ["ev"] = kind, ["data"] = data, ["id"] = id });
        }

        private void Failed(CommandFailed f)
        {
            _failed = true;
            var ex = f.Exception;
            if (ex is null || ex.GetType().Name == "CodeSubmissionCompilationErrorException")
            {
                // Compile errors: the kernel's message lists the diagnostics as "(line,col): error CSxxxx: ...".
                var lines = f.Message.Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
                var compile = lines.Any(l => l.Contains(": error CS", StringComparison.Ordinal));
                Error(compile ? "CompilationError" : "KernelError",
                    compile ? string.Join("; ", lines.Where(l => l.Contains(": error ", StringComparison.Ordinal))) : f.Message,
                    new JsonArray(lines.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()));
                return;
            }
            var tb = new JsonArray();
            for (var x = ex; x is not null; x = x.InnerException)
            {
                tb.Add(x == ex ? $"{x.GetType().FullName}: {x.Message}" : $" ---> {x.GetType().FullName}: {x.Message}");
                foreach (var frame in (x.StackTrace ?? "").Split('\n'))
                {
                    var t = frame.TrimEnd('\r');
                    if (t.Length == 0 || t.Contains("Microsoft.CodeAnalysis.Scripting", StringComparison.Ordinal)
                        || t.Contains("Microsoft.DotNet.Interactive", StringComparison.Ordinal)
                        || t.Contains("System.Runtime.CompilerServices", StringComparison.Ordinal)
                        || t.Contains("System.Threading.", StringComparison.Ordinal)
                        || t.StartsWith("--- End of stack trace", StringComparison.Ordinal)) continue;
                    tb.Add(t);
                }
            }
            Error(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, tb);
        }

        public void TakeFailureFrom(IEnumerable<KernelEvent> events)
        {
            lock (_lock)
            {
                if (_failed || Finished) return;
                if (events.OfType<CommandFailed>().FirstOrDefault(f => f.Command == Command) is { } failed) Failed(failed);
            }
        }

        public void Error(string ename, string evalue, JsonArray traceback)
        {
            _failed = true;
            Send(new JsonObject { ["ev"] = "error", ["ename"] = ename, ["evalue"] = evalue, ["traceback"] = traceback });
        }

        public void Finish()
        {
            lock (_lock)
            {
                if (Finished) return;
                if (_dropped > 0)
                    Send(new JsonObject
                    {
                        ["ev"] = "stream", ["name"] = "stderr",
                        ["text"] = $"\n[vixml nb run: this cell's output was truncated at {cap:N0} characters; {_dropped:N0} more were not kept]\n",
                    });
                Finished = true;
                Send(new JsonObject { ["ev"] = "done", ["ok"] = !_failed });
            }
        }
    }
}
