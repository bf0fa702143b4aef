using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis.CSharp.Scripting.Hosting;
using Microsoft.CodeAnalysis.Scripting.Hosting;
using ViXml.Reporting;

namespace ViXml.Notebooks;

/// <summary>
/// Collects one cell's outputs in the order they happen: stdout/stderr text (consecutive writes to the same
/// stream merge into one <c>stream</c> output, as Jupyter shows them) interleaved with <c>display_data</c>.
/// Thread-safe: a cell may write from Parallel.For workers.
/// </summary>
public sealed class CellOutputs
{
    private readonly List<JsonObject> _outputs = [];
    private readonly object _lock = new();
    private string? _openStream;
    private StringBuilder? _openText;

    /// <summary>Echo of every output as plain text (the CLI's --log-output); null = silent.</summary>
    public TextWriter? Echo { get; init; }

    public void WriteStream(string name, string text)
    {
        if (text.Length == 0) return;
        lock (_lock)
        {
            if (_openStream != name)
            {
                Close();
                _openStream = name;
                _openText = new StringBuilder();
            }
            _openText!.Append(text);
            EchoWrite(text);
        }
    }

    public void AddDisplay(object? value)
    {
        var data = MimeBundle(value);
        lock (_lock)
        {
            Close();
            _outputs.Add(new JsonObject { ["output_type"] = "display_data", ["data"] = data, ["metadata"] = new JsonObject() });
            EchoWrite(Notebook.JoinMultiline(data[MimeTypes.Plain]) + "\n");
        }
    }

    public void AddResult(object? value, int executionCount)
    {
        var data = MimeBundle(value);
        lock (_lock)
        {
            Close();
            _outputs.Add(new JsonObject
            {
                ["output_type"] = "execute_result", ["execution_count"] = executionCount, ["data"] = data,
                ["metadata"] = new JsonObject(),
            });
            EchoWrite(Notebook.JoinMultiline(data[MimeTypes.Plain]) + "\n");
        }
    }

    public void AddError(string ename, string evalue, IEnumerable<string> traceback)
    {
        lock (_lock)
        {
            Close();
            var tb = traceback.ToList();
            _outputs.Add(new JsonObject
            {
                ["output_type"] = "error", ["ename"] = ename, ["evalue"] = evalue,
                ["traceback"] = new JsonArray(tb.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            });
            EchoWrite(string.Join("\n", tb) + "\n");
        }
    }

    // The echo target is usually Console.Out, i.e. the router itself: bypass routing or the text would come back here.
    private void EchoWrite(string text)
    {
        if (Echo is null) return;
        using (RoutedConsole.Bypass()) Echo.Write(text);
    }

    /// <summary>The outputs so far as an nbformat array (a cell still running on a timed-out thread can keep adding).</summary>
    public JsonArray ToJson()
    {
        lock (_lock)
        {
            Close();
            return new JsonArray(_outputs.Select(o => (JsonNode?)o.DeepClone()).ToArray());
        }
    }

    private void Close()
    {
        if (_openStream is null) return;
        _outputs.Add(new JsonObject
        {
            ["output_type"] = "stream", ["name"] = _openStream, ["text"] = Notebook.SplitMultiline(_openText!.ToString()),
        });
        _openStream = null;
        _openText = null;
    }

    private static readonly ObjectFormatter Formatter = CSharpObjectFormatter.Instance;

    /// <summary>
    /// The mime bundle for a value: an <see cref="IRichDisplay"/> gives its own (text/plain added if missing);
    /// anything else is shown as text/plain the way the C# REPL prints it.
    /// </summary>
    public static JsonObject MimeBundle(object? value)
    {
        var data = new JsonObject();
        if (value is IRichDisplay rich)
        {
            foreach (var (mime, content) in rich.ToMimeBundle())
                data[mime] = MimeTypes.IsJson(mime) ? JsonValueOf(content) : Notebook.SplitMultiline(TextOf(content));
        }
        if (!data.ContainsKey(MimeTypes.Plain))
            data[MimeTypes.Plain] = Notebook.SplitMultiline(value is string s ? s : PlainText(value));
        return data;
    }

    /// <summary>REPL-style text: strings quoted, collections listed.</summary>
    public static string PlainText(object? value)
    {
        try
        {
            return Formatter.FormatObject(value, new PrintOptions { MaximumOutputLength = 20_000 });
        }
        catch (Exception e)
        {
            return $"{value?.GetType().Name} (formatting failed: {e.Message})";
        }
    }

    private static string TextOf(object? content) => content switch
    {
        null => "",
        string s => s,
        IEnumerable<string> lines => string.Concat(lines),
        _ => content.ToString() ?? "",
    };

    private static JsonNode? JsonValueOf(object? content) => content switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonNode.Parse(s),
        JsonElement e => JsonNode.Parse(e.GetRawText()),
        _ => JsonSerializer.SerializeToNode(content, content.GetType()),
    };
}

/// <summary>
/// Process-wide Console.Out/Console.Error replacement that forwards each write to the cell whose code is running on
/// this logical call flow (an AsyncLocal, so it follows tasks the cell starts), else to the original console. This
/// keeps concurrent notebook runs (tests) and unrelated console writes from mixing.
/// </summary>
internal sealed class RoutedConsole : TextWriter
{
    private static readonly AsyncLocal<CellOutputs?> Current = new();
    [ThreadStatic] private static int _bypass;
    private static readonly object InstallLock = new();
    private readonly TextWriter _fallback;
    private readonly string _stream;

    private RoutedConsole(TextWriter fallback, string stream)
    {
        _fallback = fallback;
        _stream = stream;
    }

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>The collector for the current flow (used by display()).</summary>
    public static CellOutputs? Active => Current.Value;

    /// <summary>Routes this flow's console writes to <paramref name="outputs"/> until disposed.</summary>
    public static IDisposable Capture(CellOutputs outputs)
    {
        Install();
        var previous = Current.Value;
        Current.Value = outputs;
        return new Restore(() => Current.Value = previous);
    }

    // What Console.Out/Error returned right after we installed (Console wraps our writer in a synchronized one).
    private static TextWriter? _installedOut, _installedErr;

    /// <summary>Writes on this thread go to the real console until disposed (for echoing captured output).</summary>
    public static IDisposable Bypass()
    {
        _bypass++;
        return new Restore(() => _bypass--);
    }

    private static void Install()
    {
        lock (InstallLock)
        {
            // Someone (a test host, a library) may have replaced the console since; wrap whatever is there now.
            if (!ReferenceEquals(Console.Out, _installedOut))
            {
                Console.SetOut(new RoutedConsole(Console.Out, "stdout"));
                _installedOut = Console.Out;
            }
            if (!ReferenceEquals(Console.Error, _installedErr))
            {
                Console.SetError(new RoutedConsole(Console.Error, "stderr"));
                _installedErr = Console.Error;
            }
        }
    }

    public override void Write(char value) => Write(value.ToString());

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        var target = _bypass > 0 ? null : Current.Value;
        if (target is not null) target.WriteStream(_stream, value);
        else _fallback.Write(value);
    }

    public override void WriteLine(string? value) => Write((value ?? "") + "\n");

    public override void WriteLine() => Write("\n");

    public override void Flush()
    {
        if (_bypass > 0 || Current.Value is null) _fallback.Flush();
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}
