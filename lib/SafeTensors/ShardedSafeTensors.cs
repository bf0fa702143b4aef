using System.Text.Json;

namespace ViXml.SafeTensors;

/// <summary>
/// A sharded checkpoint: `model.safetensors.index.json` ({"metadata": {...}, "weight_map": {name: shard file}})
/// beside its shard files. Open() validates the index, opens every referenced shard (headers only) and checks that
/// the index and the shards agree exactly: every listed tensor is in its shard, and every shard tensor is listed.
/// </summary>
public sealed class ShardedSafeTensors : ISafeTensorsSource
{
    private readonly Dictionary<string, SafeTensorsFile> _shards; // shard file name -> open file
    private readonly Dictionary<string, string> _weightMap;       // tensor name -> shard file name
    private bool _disposed;

    /// <summary>The index file.</summary>
    public string Path { get; }
    public IReadOnlyList<string> Names { get; }

    /// <summary>The index's "metadata" object: string values as they are, other values as JSON text (e.g. total_size).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Shard file names in name order.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    private ShardedSafeTensors(string path, Dictionary<string, SafeTensorsFile> shards, Dictionary<string, string> weightMap,
        Dictionary<string, string> metadata)
    {
        Path = path;
        _shards = shards;
        _weightMap = weightMap;
        Metadata = metadata;
        var names = weightMap.Keys.ToList();
        names.Sort(StringComparer.Ordinal);
        Names = names;
        var files = shards.Keys.ToList();
        files.Sort(StringComparer.Ordinal);
        ShardFiles = files;
    }

    public static ShardedSafeTensors Open(string indexPath)
    {
        if (!System.IO.File.Exists(indexPath))
            throw new SafeTensorsException(indexPath, null, "index file not found");
        byte[] indexBytes;
        try { indexBytes = ViXml.Common.InputFile.ReadAllBytes(indexPath, 64L << 20); }
        catch (Exception e) when (e is ViXml.Common.InputFileException or ViXml.Common.InputLimitException)
        {
            throw new SafeTensorsException(indexPath, null, e is ViXml.Common.InputFileException f ? f.Detail : e.Message, e);
        }
        var (weightMap, metadata) = ParseIndex(indexPath, indexBytes);
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                string shardPath = System.IO.Path.Combine(dir, shard);
                if (!System.IO.File.Exists(shardPath))
                {
                    var needing = weightMap.Where(kv => kv.Value == shard).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
                    throw new SafeTensorsException(indexPath, null,
                        $"shard '{shard}' is missing (expected at {shardPath}); it should hold {needing.Count} tensor(s), " +
                        $"e.g. '{needing[0]}'");
                }
                shards.Add(shard, SafeTensorsFile.Open(shardPath));
            }
            foreach (var (name, shard) in weightMap.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                if (!shards[shard].Contains(name))
                    throw new SafeTensorsException(indexPath, name, $"listed in weight_map under shard '{shard}' but missing from that shard");
            foreach (var (shard, file) in shards)
                foreach (var name in file.Names)
                    if (!weightMap.TryGetValue(name, out var listed) || listed != shard)
                        throw new SafeTensorsException(indexPath, name, listed is null
                            ? $"present in shard '{shard}' but not listed in weight_map"
                            : $"present in shard '{shard}' but weight_map assigns it to '{listed}'");
        }
        catch
        {
            foreach (var f in shards.Values) f.Dispose();
            throw;
        }
        return new ShardedSafeTensors(indexPath, shards, weightMap, metadata);
    }

    internal static (Dictionary<string, string> WeightMap, Dictionary<string, string> Metadata) ParseIndex(string path, byte[] json)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw new SafeTensorsException(path, null, "index is not valid JSON: it is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException(path, null, $"index is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            try
            {
                return ParseIndexRoot(path, doc.RootElement);
            }
            catch (InvalidOperationException e)
            {
                throw new SafeTensorsException(path, null, $"index is not valid JSON text: {e.Message}", e);
            }
        }
    }

    private static (Dictionary<string, string>, Dictionary<string, string>) ParseIndexRoot(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, null, $"index must be a JSON object, found {root.ValueKind}");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("metadata", out var meta))
        {
            if (meta.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(path, "metadata", $"must be a JSON object, found {meta.ValueKind}");
            foreach (var p in meta.EnumerateObject())
                metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        }
        if (!root.TryGetProperty("weight_map", out var wm))
            throw new SafeTensorsException(path, null, "index has no 'weight_map'");
        if (wm.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, "weight_map", $"must be a JSON object, found {wm.ValueKind}");
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in wm.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsException(path, p.Name, $"weight_map value must be a shard file name, found {p.Value.ValueKind}");
            string shard = p.Value.GetString()!;
            // Shards live beside the index: a path component could read files elsewhere on the machine.
            if (ViXml.Common.FolderName.Problem(shard, subfolders: false) is string why)
                throw new SafeTensorsException(path, p.Name, $"shard name '{ViXml.Common.FolderName.Printable(shard)}' {why}: it must be a plain file name in the index's folder");
            if (!weightMap.TryAdd(p.Name, shard))
                throw new SafeTensorsException(path, p.Name, "duplicate key in weight_map");
        }
        if (weightMap.Count == 0)
            throw new SafeTensorsException(path, "weight_map", "is empty");
        return (weightMap, metadata);
    }

    /// <summary>The shard file name holding <paramref name="name"/>.</summary>
    public string ShardOf(string name) =>
        _weightMap.TryGetValue(name, out var s) ? s : throw new SafeTensorsException(Path, name, "not in weight_map");

    public bool Contains(string name) => _weightMap.ContainsKey(name);

    public TensorInfo Info(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _shards[ShardOf(name)].Info(name);
    }

    public void ReadInto(string name, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _shards[ShardOf(name)].ReadInto(name, destination);
    }

    public unsafe void ReadInto(string name, byte* destination, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _shards[ShardOf(name)].ReadInto(name, destination, length);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var f in _shards.Values) f.Dispose();
    }
}

/// <summary>Opens the weights of a Hugging Face model folder.</summary>
public static class SafeTensorsCheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>
    /// `model.safetensors` if present, else `model.safetensors.index.json` (the order Hugging Face uses);
    /// otherwise an error saying what was looked for and what was found instead.
    /// </summary>
    public static ISafeTensorsSource OpenFolder(string folder)
    {
        if (!Directory.Exists(folder))
            throw new SafeTensorsException(folder, null, "model folder not found");
        string single = System.IO.Path.Combine(folder, SingleFileName);
        if (System.IO.File.Exists(single)) return SafeTensorsFile.Open(single);
        string index = System.IO.Path.Combine(folder, IndexFileName);
        if (System.IO.File.Exists(index)) return ShardedSafeTensors.Open(index);
        var others = Directory.GetFiles(folder)
            .Select(System.IO.Path.GetFileName)
            .Where(f => f!.EndsWith(".bin") || f.EndsWith(".pt") || f.EndsWith(".safetensors") || f.EndsWith(".index.json"))
            .Order(StringComparer.Ordinal).ToList();
        throw new SafeTensorsException(folder, null,
            $"no {SingleFileName} or {IndexFileName} in the model folder" +
            (others.Count > 0 ? $" (found: {string.Join(", ", others)}; only safetensors weights are supported)" : ""));
    }
}
