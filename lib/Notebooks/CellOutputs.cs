using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Reporting;

namespace ViXml.Notebooks;

/// <summary>
/// Collects one cell's outputs in the order the kernel reports them: stdout/stderr text (consecutive writes to the
/// same stream merge into one <c>stream</c> output, as Jupyter shows them) interleaved with <c>display_data</c>,
/// <c>execute_result</c> and <c>error</c>. Stream text is capped (<see cref="Cap"/> characters per cell, a note says
/// how much was dropped) so a cell printing millions of lines cannot blow up the runner or the notebook.
/// </summary>
public sealed class CellOutputs
{
    private readonly List<JsonObject> _outputs = [];
    private readonly object _lock = new();
    private string? _openStream;
    private StringBuilder? _openText;
    private long _kept, _dropped;

    /// <summary>Echo of every output as plain text (the CLI's --log-output); null = silent.</summary>
    public TextWriter? Echo { get; init; }

    /// <summary>Most stream characters kept for this cell.</summary>
    public long Cap { get; init; } = NotebookRunOptions.DefaultOutputCap;

    public void WriteStream(string name, string text)
    {
        if (text.Length == 0) return;
        lock (_lock)
        {
            var room = Cap - _kept;
            if (room <= 0)
            {
                _dropped += text.Length;
                return;
            }
            if (text.Length > room)
            {
                _dropped += text.Length - room;
                text = text[..(int)room];
            }
            _kept += text.Length;
            if (_openStream != name)
            {
                Close();
                _openStream = name;
                _openText = new StringBuilder();
            }
            _openText!.Append(text);
            Echo?.Write(text);
        }
    }

    private readonly Dictionary<string, JsonObject> _byDisplayId = new(StringComparer.Ordinal);

    /// <summary>A display_data output from a mime bundle as the kernel sent it (mime type → string).</summary>
    public void AddDisplay(JsonObject bundle, string? displayId = null)
    {
        var o = AddData("display_data", bundle, null);
        if (displayId is not null) lock (_lock) _byDisplayId[displayId] = o;
    }

    /// <summary>Replaces the data of an earlier display (Jupyter's update_display_data); unknown ids add a new one.</summary>
    public void UpdateDisplay(JsonObject bundle, string? displayId)
    {
        lock (_lock)
        {
            if (displayId is not null && _byDisplayId.TryGetValue(displayId, out var existing))
            {
                existing["data"] = ToNbformat(bundle);
                return;
            }
        }
        AddDisplay(bundle, displayId);
    }

    /// <summary>An execute_result output (the cell's value).</summary>
    public void AddResult(JsonObject bundle, int executionCount) => AddData("execute_result", bundle, executionCount);

    private JsonObject AddData(string type, JsonObject bundle, int? executionCount)
    {
        var data = ToNbformat(bundle);
        lock (_lock)
        {
            Close();
            var o = new JsonObject { ["output_type"] = type };
            if (executionCount is { } n) o["execution_count"] = n;
            o["data"] = data;
            o["metadata"] = new JsonObject();
            _outputs.Add(o);
            if (Echo is not null && data[MimeTypes.Plain] is { } plain) Echo.Write(Notebook.JoinMultiline(plain) + "\n");
            return o;
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
            Echo?.Write(string.Join("\n", tb) + "\n");
        }
    }

    /// <summary>The outputs so far as an nbformat array, with the truncation note when text was dropped.</summary>
    public JsonArray ToJson()
    {
        lock (_lock)
        {
            Close();
            var list = _outputs.Select(o => (JsonNode?)o.DeepClone()).ToList();
            if (_dropped > 0)
                list.Add(new JsonObject
                {
                    ["output_type"] = "stream", ["name"] = "stderr",
                    ["text"] = Notebook.SplitMultiline($"[vixml nb run: output truncated at {Cap:N0} characters; {_dropped:N0} more were not kept]\n"),
                });
            return new JsonArray(list.ToArray());
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

    /// <summary>
    /// nbformat's mime bundle: JSON mime types (application/json, application/*+json) as JSON values, text as a list of
    /// lines; a text/plain is always present (Jupyter front ends and nbconvert fall back to it).
    /// </summary>
    public static JsonObject ToNbformat(JsonObject bundle)
    {
        var data = new JsonObject();
        foreach (var (mime, value) in bundle)
        {
            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
            if (MimeTypes.IsJson(mime))
            {
                try
                {
                    data[mime] = JsonNode.Parse(text);
                    continue;
                }
                catch (JsonException) { /* not JSON after all: keep the text */ }
            }
            data[mime] = Notebook.SplitMultiline(text);
        }
        if (!data.ContainsKey(MimeTypes.Plain)) data[MimeTypes.Plain] = new JsonArray();
        return data;
    }
}
