using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Common;

namespace ViXml.Notebooks;

/// <summary>A malformed notebook file: the message names the file and the JSON line or the cell.</summary>
public sealed class NotebookFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One cell of a Jupyter notebook. The JSON object is kept whole so fields we do not know
/// (attachments, extension metadata) survive a read/write round trip unchanged.
/// </summary>
public sealed class NotebookCell
{
    internal NotebookCell(JsonObject json) => Json = json;

    /// <summary>The underlying nbformat cell object.</summary>
    public JsonObject Json { get; }

    /// <summary>"code", "markdown" or "raw".</summary>
    public string CellType => (string?)Json["cell_type"] ?? "";

    public string? Id
    {
        get => (string?)Json["id"];
        set => Json["id"] = value;
    }

    /// <summary>The cell text (nbformat allows a string or a list of lines; we read both, write lines).</summary>
    public string Source
    {
        get => Notebook.JoinMultiline(Json["source"]);
        set => Json["source"] = Notebook.SplitMultiline(value);
    }

    public JsonObject Metadata => Notebook.ObjectProperty(Json, "metadata");

    public IReadOnlyList<string> Tags =>
        Metadata["tags"] is JsonArray a ? a.Select(t => (string?)t ?? "").ToList() : [];

    public bool HasTag(string tag) => Tags.Contains(tag, StringComparer.Ordinal);

    /// <summary>The first non-blank line of the source, for messages that must name the cell.</summary>
    public string FirstLine =>
        Source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith("#!", StringComparison.Ordinal))
        ?? "(empty cell)";

    /// <summary>A fresh code cell (no outputs, not executed).</summary>
    public static NotebookCell NewCode(string source, params string[] tags)
    {
        var meta = new JsonObject();
        if (tags.Length > 0) meta["tags"] = new JsonArray(tags.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        var cell = new NotebookCell(new JsonObject
        {
            ["cell_type"] = "code",
            ["execution_count"] = null,
            ["id"] = Notebook.NewCellId(),
            ["metadata"] = meta,
            ["outputs"] = new JsonArray(),
            ["source"] = new JsonArray(),
        });
        cell.Source = source;
        return cell;
    }

    public static NotebookCell NewMarkdown(string source)
    {
        var cell = new NotebookCell(new JsonObject
        {
            ["cell_type"] = "markdown",
            ["id"] = Notebook.NewCellId(),
            ["metadata"] = new JsonObject(),
            ["source"] = new JsonArray(),
        });
        cell.Source = source;
        return cell;
    }
}

/// <summary>
/// A Jupyter notebook (nbformat 4) read from and written to <c>.ipynb</c> JSON. Reading accepts any 4.x;
/// writing always produces nbformat 4.5 with a unique <c>id</c> on every cell and the .NET Interactive
/// kernelspec, so the file validates with <c>nbformat.validate</c> and opens in VS Code's Polyglot kernel.
/// </summary>
public sealed class Notebook
{
    private Notebook(JsonObject root, List<NotebookCell> cells, string? path)
    {
        Root = root;
        Cells = cells;
        Path = path;
    }

    /// <summary>The whole notebook object; <see cref="Cells"/> replaces its "cells" array on write.</summary>
    public JsonObject Root { get; }

    public List<NotebookCell> Cells { get; }

    /// <summary>The file it was read from (null when built in memory).</summary>
    public string? Path { get; }

    public JsonObject Metadata => ObjectProperty(Root, "metadata");

    public static Notebook Create(IEnumerable<NotebookCell> cells) =>
        new(new JsonObject { ["metadata"] = new JsonObject(), ["nbformat"] = 4, ["nbformat_minor"] = 5 }, cells.ToList(), null);

    public static Notebook Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"notebook not found: {path}", path);
        byte[] bytes;
        try { bytes = ViXml.Common.InputFile.ReadAllBytes(path, 512L << 20); }
        catch (Exception e) when (e is ViXml.Common.InputFileException or ViXml.Common.InputLimitException)
        {
            throw new NotebookFormatException(e.Message, e);
        }
        return Parse(System.Text.Encoding.UTF8.GetString(bytes), path);
    }

    public static Notebook Parse(string json, string? path = null)
    {
        try { return ParseCore(json, path); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            // e.g. a duplicate key (System.Text.Json builds objects lazily) or a value of an unexpected kind
            throw new NotebookFormatException($"{path ?? "(notebook)"}: malformed notebook ({e.Message})", e);
        }
    }

    private static Notebook ParseCore(string json, string? path)
    {
        var where = path ?? "(notebook)";
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new NotebookFormatException($"{where}: invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message}", e);
        }
        if (node is not JsonObject root) throw new NotebookFormatException($"{where}: top level is not a JSON object");
        var major = root["nbformat"] is JsonValue v && v.TryGetValue<int>(out var m) ? m : -1;
        if (major != 4)
            throw new NotebookFormatException($"{where}: nbformat {(major < 0 ? "missing" : major.ToString())}; only nbformat 4 is supported");
        if (root["cells"] is not JsonArray arr) throw new NotebookFormatException($"{where}: no \"cells\" array");
        var cells = new List<NotebookCell>();
        for (var i = 0; i < arr.Count; i++)
        {
            if (arr[i] is not JsonObject c) throw new NotebookFormatException($"{where}: cell {i} is not an object");
            var type = (string?)c["cell_type"];
            if (type is not ("code" or "markdown" or "raw"))
                throw new NotebookFormatException($"{where}: cell {i} has unknown cell_type '{type}'");
            // nbformat: a string, or a list of strings to concatenate; anything else (a number, an object) is refused
            // here, before anything runs, rather than run as its JSON text.
            switch (c["source"])
            {
                case null:
                    throw new NotebookFormatException($"{where}: cell {i} ({type}) has no \"source\"");
                case JsonValue sv when sv.GetValueKind() == JsonValueKind.String:
                    break;
                case JsonArray parts:
                    for (var k = 0; k < parts.Count; k++)
                        if (parts[k] is not JsonValue pv || pv.GetValueKind() != JsonValueKind.String)
                            throw new NotebookFormatException(
                                $"{where}: cell {i} ({type}): \"source\" item {k} is {Kind(parts[k])}; nbformat wants a string or a list of strings");
                    break;
                default:
                    throw new NotebookFormatException(
                        $"{where}: cell {i} ({type}): \"source\" is {Kind(c["source"])}; nbformat wants a string or a list of strings");
            }
            if (c["metadata"] is { } md and not JsonObject)
                throw new NotebookFormatException($"{where}: cell {i} ({type}): \"metadata\" is {Kind(md)}; nbformat wants an object");
            cells.Add(new NotebookCell((JsonObject)c.DeepClone()));
        }
        root.Remove("cells");
        return new Notebook(root, cells, path);
    }

    private static string Kind(JsonNode? n) => n switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.Number => $"a number ({v.ToJsonString()})",
            JsonValueKind.True or JsonValueKind.False => $"a boolean ({v.ToJsonString()})",
            JsonValueKind.String => "a string",
            _ => v.ToJsonString(),
        },
        _ => n.GetType().Name,
    };

    /// <summary>The notebook as nbformat 4.5 JSON (ids filled in, kernelspec set if absent).</summary>
    public string ToJson()
    {
        Normalize();
        var root = (JsonObject)Root.DeepClone();
        root["cells"] = new JsonArray(Cells.Select(c => (JsonNode?)c.Json.DeepClone()).ToArray());
        // Jupyter's own layout (sorted keys, one-space indent), so a notebook saved by Jupyter and re-run here diffs cleanly.
        var opts = new JsonSerializerOptions
        {
            WriteIndented = true, IndentSize = 1, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        return SortKeys(root)!.ToJsonString(opts) + "\n";
    }

    /// <summary>Writes atomically (temp file + rename): a crash never leaves a half-written notebook.</summary>
    public void Save(string path) => Atomic.WriteAllText(path, ToJson());

    /// <summary>Brings the notebook to nbformat 4.5: unique cell ids, code-cell fields present, C# kernel metadata.</summary>
    public void Normalize()
    {
        Root["nbformat"] = 4;
        var minor = Root["nbformat_minor"] is JsonValue v && v.TryGetValue<int>(out var m) ? m : 0;
        Root["nbformat_minor"] = Math.Max(minor, 5);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Cells)
        {
            var id = c.Id;
            if (id is null || !IsValidId(id) || !seen.Add(id))
            {
                do id = NewCellId(); while (!seen.Add(id));
                c.Id = id;
            }
            ObjectProperty(c.Json, "metadata");
            if (c.CellType == "code")
            {
                if (c.Json["outputs"] is not JsonArray) c.Json["outputs"] = new JsonArray();
                if (!c.Json.ContainsKey("execution_count")) c.Json["execution_count"] = null;
            }
        }
        var meta = Metadata;
        if (meta["kernelspec"] is not JsonObject)
            meta["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" };
        if (meta["language_info"] is not JsonObject)
            meta["language_info"] = new JsonObject
            {
                ["file_extension"] = ".cs", ["mimetype"] = "text/x-csharp", ["name"] = "csharp", ["pygments_lexer"] = "csharp",
            };
        // VS Code's Polyglot Notebooks reads the default kernel from here.
        if (meta["polyglot_notebook"] is not JsonObject)
            meta["polyglot_notebook"] = new JsonObject
            {
                ["kernelInfo"] = new JsonObject
                {
                    ["defaultKernelName"] = "csharp",
                    ["items"] = new JsonArray(new JsonObject { ["aliases"] = new JsonArray(), ["name"] = "csharp" }),
                },
            };
    }

    private static JsonNode? SortKeys(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, SortKeys(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(SortKeys).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    // nbformat 4.5: ids are 1-64 chars of [a-zA-Z0-9-_].
    private static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 64 && id.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_');

    internal static string NewCellId() => Guid.NewGuid().ToString("N")[..12];

    internal static JsonObject ObjectProperty(JsonObject o, string name)
    {
        if (o[name] is JsonObject existing) return existing;
        var created = new JsonObject();
        o[name] = created;
        return created;
    }

    /// <summary>nbformat "multiline string": a string or a list of strings to concatenate.</summary>
    internal static string JoinMultiline(JsonNode? node) => node switch
    {
        null => "",
        JsonArray a => string.Concat(a.Select(x => (string?)x ?? "")),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    /// <summary>Splits text into lines that keep their "\n", as Jupyter writes them.</summary>
    internal static JsonArray SplitMultiline(string text)
    {
        var arr = new JsonArray();
        var sb = new StringBuilder();
        foreach (var ch in text)
        {
            sb.Append(ch);
            if (ch == '\n')
            {
                arr.Add(sb.ToString());
                sb.Clear();
            }
        }
        if (sb.Length > 0) arr.Add(sb.ToString());
        return arr;
    }
}
