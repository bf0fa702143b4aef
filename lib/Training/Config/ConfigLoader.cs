using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ViXml.Training.Config;

/// <summary>A configuration error: names the file, the line and the key.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>A loaded configuration with its canonical JSON and that JSON's sha256.</summary>
public sealed record ResolvedConfig<T>(T Value, string Json, string Hash, string Source)
{
    /// <summary>Where each dotted key was set ("file:line" or "--set 'k=v'"); empty for configurations built in code.</summary>
    public IReadOnlyDictionary<string, string> Locations { get; init; } = new Dictionary<string, string>();

    /// <summary>Prefixes a cross-field error ("images.bank: ...") with the place that key was set, when known.</summary>
    public ConfigException Locate(ConfigException e)
    {
        int colon = e.Message.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0) return e;
        var key = e.Message[..colon];
        return Locations.TryGetValue(key, out var where) ? new ConfigException($"{where}: {e.Message}") : e;
    }
}

/// <summary>
/// Strict YAML → typed configuration binding. Keys are snake_case property names; an unknown key, a wrong type or a
/// malformed value is an error naming file, line and dotted key. <c>--set a.b=value</c> overrides are applied to the
/// YAML tree before binding (the value is parsed as YAML, so lists work: <c>x=[1,2]</c>) and are checked the same way.
/// The resolved object is written as canonical JSON (declaration order, snake_case, enums as strings); its sha256
/// identifies the configuration of a run.
/// </summary>
public static class ConfigLoader
{
    public static readonly JsonSerializerOptions CanonicalJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static ResolvedConfig<T> LoadFile<T>(string path, IEnumerable<string>? overrides = null) where T : new()
    {
        if (Directory.Exists(path)) throw new ConfigException($"{path}: is a folder, expected a YAML config file");
        if (!File.Exists(path)) throw new ConfigException($"config file not found: {path}");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ViXml.Common.InputFile.ReadAllBytes(path, MaxConfigBytes)); }
        catch (ViXml.Common.InputFileException e) { throw new ConfigException(e.Message); }
        catch (ViXml.Common.InputLimitException) { throw new ConfigException($"{path}: larger than {MaxConfigBytes:N0} bytes; is this a config file?"); }
        catch (DecoderFallbackException) { throw new ConfigException($"{path}: not UTF-8 text (is this a YAML file?)"); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (text.Contains('\0')) throw new ConfigException($"{path}: contains NUL bytes (binary, not a YAML file)");
        // An empty file would silently mean "every default" (150 epochs at batch 2048): almost always a mistake.
        if (IsEmptyYaml(text))
            throw new ConfigException($"{path}: the configuration is empty (no keys); start from configs/ci.yaml or configs/cpu.yaml");
        return LoadText<T>(text, path, overrides);
    }

    /// <summary>Largest config file read.</summary>
    public const long MaxConfigBytes = 1 << 20;

    private static bool IsEmptyYaml(string text) =>
        text.Split('\n').All(l => l.Trim() is "" or "---" or "..." || l.TrimStart().StartsWith('#'));

    /// <summary>Where a dotted key of a loaded configuration was set ("file:line" or "--set 'k=v'"), or null for a
    /// default value or an object not made by this loader.</summary>
    public static string? Location(object config, string dottedKey) =>
        Locations.TryGetValue(config, out var d) && d.TryGetValue(dottedKey, out var w) ? w : null;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, Dictionary<string, string>> Locations = new();

    public static ResolvedConfig<T> LoadText<T>(string yaml, string source, IEnumerable<string>? overrides = null) where T : new()
    {
        var root = Parse(yaml, source);
        foreach (var o in overrides ?? []) ApplyOverride(root, o);
        var value = new T();
        var locations = new Dictionary<string, string>(StringComparer.Ordinal);
        Bind(root, value, source, "", locations);
        Locations.AddOrUpdate(value, locations);
        return Resolve(value, source) with { Locations = locations };
    }

    /// <summary>Canonical JSON and hash for an already built object.</summary>
    public static ResolvedConfig<T> Resolve<T>(T value, string source)
    {
        var json = JsonSerializer.Serialize(value, CanonicalJson);
        return new ResolvedConfig<T>(value, json, Sha256(json), source);
    }

    public static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, CanonicalJson) ?? throw new ConfigException("empty configuration JSON");

    public static string Sha256(string text) =>
        System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static YamlMappingNode Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException($"{source}:{e.Start.Line}: YAML syntax error: {e.Message}"); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // YamlDotNet's scanner throws these on some malformed inputs instead of a YamlException
            throw new ConfigException($"{source}: YAML syntax error ({e.Message})");
        }
        if (stream.Documents.Count == 0) return new YamlMappingNode();
        if (stream.Documents.Count > 1) throw new ConfigException($"{source}: expected one YAML document, found {stream.Documents.Count}");
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new ConfigException($"{source}:{stream.Documents[0].RootNode.Start.Line}: the top level must be a mapping of keys");
    }

    /// <summary>Applies <c>a.b.c=value</c> to the YAML tree, creating intermediate mappings as needed.</summary>
    public static void ApplyOverride(YamlMappingNode root, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set '{assignment}': expected key.sub=value");
        var path = assignment[..eq].Trim().Split('.');
        var text = assignment[(eq + 1)..];
        YamlNode value;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader($"v: {text}"));
            value = ((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("v")];
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException)
        {
            value = new YamlScalarNode(text);
        }
        if (value is YamlScalarNode { Value: null or "" } && text.Length == 0) value = new YamlScalarNode("");
        MarkOverride(value, assignment);
        var node = root;
        for (int i = 0; i < path.Length - 1; i++)
        {
            var key = new YamlScalarNode(path[i]);
            if (!node.Children.TryGetValue(key, out var child))
            {
                child = new YamlMappingNode();
                MarkOverride(child, assignment);
                node.Children[key] = child;
            }
            node = child as YamlMappingNode
                ?? throw new ConfigException($"--set '{assignment}': '{string.Join('.', path[..(i + 1)])}' is not a section");
        }
        var last = new YamlScalarNode(path[^1]);
        MarkOverride(last, assignment);
        node.Children[last] = value;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<YamlNode, string> OverrideOrigin = new();
    private static void MarkOverride(YamlNode n, string assignment) => OverrideOrigin.AddOrUpdate(n, assignment);

    private static string Where(YamlNode node, string source) =>
        OverrideOrigin.TryGetValue(node, out var a) ? $"--set '{a}'" : $"{source}:{node.Start.Line}";

    private static string Snake(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static void Bind(YamlMappingNode map, object target, string source, string prefix, Dictionary<string, string>? locations = null)
    {
        var props = target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite).ToDictionary(p => Snake(p.Name));
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? throw new ConfigException($"{Where(k, source)}: keys must be plain names");
            var dotted = prefix + key;
            if (!props.TryGetValue(key, out var prop))
                throw new ConfigException($"{Where(k, source)}: unknown key '{dotted}' (known here: {string.Join(", ", props.Keys)})");
            if (locations is not null) locations[dotted] = OverrideOrigin.TryGetValue(v, out _) ? Where(v, source) : Where(k, source);
            prop.SetValue(target, Convert(v, prop.PropertyType, prop.GetValue(target), source, dotted, locations));
        }
    }

    private static object? Convert(YamlNode node, Type type, object? current, string source, string key,
        Dictionary<string, string>? locations = null)
    {
        if (type.IsArray)
        {
            var seq = node as YamlSequenceNode ?? throw new ConfigException($"{Where(node, source)}: '{key}' must be a list");
            var elem = type.GetElementType()!;
            var arr = Array.CreateInstance(elem, seq.Children.Count);
            for (int i = 0; i < seq.Children.Count; i++)
                arr.SetValue(Convert(seq.Children[i], elem, null, source, $"{key}[{i}]", locations), i);
            return arr;
        }
        if (type.IsClass && type != typeof(string))
        {
            var map = node as YamlMappingNode ?? throw new ConfigException($"{Where(node, source)}: '{key}' must be a section (mapping)");
            var obj = current ?? Activator.CreateInstance(type)!;
            Bind(map, obj, source, key + ".", locations);
            return obj;
        }
        var scalar = node as YamlScalarNode ?? throw new ConfigException($"{Where(node, source)}: '{key}' must be a single value");
        var s = scalar.Value ?? "";
        var inv = CultureInfo.InvariantCulture;
        object? result = null;
        bool ok;
        if (type == typeof(string)) { result = s; ok = true; }
        else if (type == typeof(int)) { ok = int.TryParse(s, NumberStyles.Integer, inv, out var x); result = x; }
        else if (type == typeof(long)) { ok = long.TryParse(s, NumberStyles.Integer, inv, out var x); result = x; }
        else if (type == typeof(double)) { ok = double.TryParse(s, NumberStyles.Float, inv, out var x) && double.IsFinite(x); result = x; }
        else if (type == typeof(bool))
        {
            ok = s is "true" or "false";
            result = s == "true";
        }
        else if (type.IsEnum)
        {
            var names = Enum.GetNames(type).ToDictionary(Snake);
            ok = names.TryGetValue(s, out var name);
            if (ok) result = Enum.Parse(type, name!);
            else throw new ConfigException($"{Where(node, source)}: '{key}' = '{s}' is not one of {string.Join(", ", names.Keys)}");
        }
        else throw new ConfigException($"{Where(node, source)}: '{key}' has an unsupported type {type.Name}");
        if (!ok) throw new ConfigException($"{Where(node, source)}: '{key}' = '{s}' is not a valid {TypeName(type)}");
        return result;
    }

    private static string TypeName(Type t) => t == typeof(int) || t == typeof(long) ? "integer"
        : t == typeof(double) ? "number" : t == typeof(bool) ? "boolean (true/false)" : t.Name;
}
