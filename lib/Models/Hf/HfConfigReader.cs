using System.Text.Json;

namespace ViXml.Models.Hf;

/// <summary>A config.json (or checkpoint) that does not match what we can load; the message names the file and key.</summary>
public sealed class HfConfigException(string message) : Exception(message);

/// <summary>
/// Strict, field-by-field reader over one config.json object. Every key a config class reads is marked as
/// consumed; <see cref="Finish"/> then rejects whatever is left unless it is on the documented ignore list.
/// A wrong JSON type is an error naming the file and the key (never a silent default or a coercion).
/// </summary>
public sealed class HfConfigReader
{
    private readonly JsonElement _root;
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    /// <summary>The file the object came from (for messages).</summary>
    public string File { get; }

    public HfConfigReader(string file, JsonElement root)
    {
        File = file;
        if (root.ValueKind != JsonValueKind.Object)
            throw new HfConfigException($"{file}: top level must be a JSON object, got {root.ValueKind}");
        _root = root;
    }

    /// <summary>Parses <paramref name="file"/>; unreadable or invalid JSON is an error naming the file.</summary>
    public static HfConfigReader Open(string file)
    {
        if (!System.IO.File.Exists(file)) throw new HfConfigException($"{file}: file not found");
        try
        {
            var bytes = ViXml.Common.InputFile.ReadAllBytes(file, 64L << 20);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new HfConfigException($"{file}: not valid UTF-8 text");
            using var doc = JsonDocument.Parse(bytes,
                new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            return new HfConfigReader(file, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new HfConfigException($"{file}: invalid JSON: {e.Message}");
        }
    }

    public bool Has(string key) => _root.TryGetProperty(key, out _);

    private bool TryGet(string key, out JsonElement v)
    {
        _consumed.Add(key);
        return _root.TryGetProperty(key, out v);
    }

    private HfConfigException TypeError(string key, string want, JsonElement got) =>
        new($"{File}: key '{key}' must be {want}, got {got.ValueKind} {Trim(got.GetRawText())}");

    private static string Trim(string s) => s.Length > 60 ? s[..60] + "..." : s;

    private HfConfigException MissingError(string key) => new($"{File}: required key '{key}' is missing");

    public int Int(string key, int? fallback = null)
    {
        if (!TryGet(key, out var v) || (v.ValueKind == JsonValueKind.Null && fallback is not null))
            return fallback ?? throw MissingError(key);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw TypeError(key, "an integer", v);
        return i;
    }

    public int? IntOrNull(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw TypeError(key, "an integer or null", v);
        return i;
    }

    public double Double(string key, double? fallback = null)
    {
        if (!TryGet(key, out var v)) return fallback ?? throw MissingError(key);
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(key, "a number", v);
        return v.GetDouble();
    }

    public double? DoubleOrNull(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(key, "a number or null", v);
        return v.GetDouble();
    }

    public bool Bool(string key, bool? fallback = null)
    {
        if (!TryGet(key, out var v)) return fallback ?? throw MissingError(key);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw TypeError(key, "true or false", v),
        };
    }

    public string String(string key, string? fallback = null)
    {
        if (!TryGet(key, out var v)) return fallback ?? throw MissingError(key);
        if (v.ValueKind != JsonValueKind.String) throw TypeError(key, "a string", v);
        return v.GetString()!;
    }

    public string? StringOrNull(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw TypeError(key, "a string or null", v);
        return v.GetString();
    }

    public string[]? StringArrayOrNull(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array) throw TypeError(key, "an array of strings", v);
        var list = new List<string>();
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw TypeError(key + "[]", "a string", e);
            list.Add(e.GetString()!);
        }
        return list.ToArray();
    }

    /// <summary>Raises an error naming every key that was neither read nor on <paramref name="ignored"/>.</summary>
    public void Finish(string modelType, IReadOnlySet<string> ignored)
    {
        var unknown = _root.EnumerateObject().Select(p => p.Name)
            .Where(k => !_consumed.Contains(k) && !ignored.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new HfConfigException(
                $"{File}: unknown key(s) for model_type '{modelType}': {string.Join(", ", unknown.Select(k => $"'{k}'"))} " +
                "(not understood by ViXml and not on the list of keys known to be irrelevant; refusing to guess)");
    }

    /// <summary>Error for a value that parsed but is not supported.</summary>
    public HfConfigException Unsupported(string key, string detail) => new($"{File}: key '{key}': {detail}");
}
