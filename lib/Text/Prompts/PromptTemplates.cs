using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ViXml.Text.Prompts;

/// <summary>
/// Loads prompt templates from YAML (strict: unknown keys, bad slot names or values are errors naming the file and
/// line). The built-in set is lib/Text/Prompts/templates.yaml; configs may name one of them, point to another file
/// ("file.yaml#name") or give a template inline as a mapping.
/// </summary>
public static class PromptTemplates
{
    public const string BuiltInRelativePath = "lib/Text/Prompts/templates.yaml";

    private static readonly Lazy<IReadOnlyDictionary<string, PromptTemplate>> _builtIn = new(() => Load(LocateBuiltIn()));

    /// <summary>The templates of lib/Text/Prompts/templates.yaml, by name.</summary>
    public static IReadOnlyDictionary<string, PromptTemplate> BuiltIn => _builtIn.Value;

    /// <summary>Names of the built-in variants (the paper's ablation set).</summary>
    public static IEnumerable<string> Names => BuiltIn.Keys;

    /// <summary>A built-in template by name, or "path.yaml#name" from another file.</summary>
    public static PromptTemplate Get(string name)
    {
        int hash = name.IndexOf('#');
        if (hash > 0)
        {
            var file = name[..hash];
            var all = Load(file);
            return all.TryGetValue(name[(hash + 1)..], out var t)
                ? t : throw new ArgumentException($"{file}: no template '{name[(hash + 1)..]}' (has: {string.Join(", ", all.Keys)})");
        }
        return BuiltIn.TryGetValue(name, out var b)
            ? b : throw new ArgumentException($"unknown prompt template '{name}' (built-in: {string.Join(", ", BuiltIn.Keys)})");
    }

    /// <summary>Finds templates.yaml: next to the running assembly's repository root (the folder with ViXml.Lib.csproj),
    /// or under the VIXML_ROOT environment variable.</summary>
    public static string LocateBuiltIn()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_ROOT");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, BuiltInRelativePath))) return Path.Combine(env, BuiltInRelativePath);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var p = Path.Combine(dir.FullName, BuiltInRelativePath);
                if (File.Exists(p)) return p;
            }
        }
        throw new FileNotFoundException($"cannot find {BuiltInRelativePath} above {AppContext.BaseDirectory} (set VIXML_ROOT)");
    }

    /// <summary>Reads a templates file: a top-level mapping with key "templates" (name → template mapping).</summary>
    public static IReadOnlyDictionary<string, PromptTemplate> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"prompt template file not found: {path}", path);
        return Parse(System.Text.Encoding.UTF8.GetString(ViXml.Common.InputFile.ReadAllBytes(path, 64L << 20)), path);
    }

    public static IReadOnlyDictionary<string, PromptTemplate> Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new InvalidDataException($"{source}:{e.Start.Line}: invalid YAML ({e.Message})", e); }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InvalidDataException($"{source}: expected one YAML document holding a mapping");
        var result = new Dictionary<string, PromptTemplate>(StringComparer.Ordinal);
        foreach (var (k, v) in root.Children)
        {
            var key = Scalar(k, source);
            if (key != "templates") throw Error(source, k, $"unknown key '{key}' (expected 'templates')");
            if (v is not YamlMappingNode map) throw Error(source, v, "'templates' must be a mapping of name → template");
            foreach (var (nk, nv) in map.Children)
            {
                var name = Scalar(nk, source);
                if (result.ContainsKey(name)) throw Error(source, nk, $"template '{name}' defined twice");
                result[name] = FromNode(name, nv, source);
            }
        }
        return result;
    }

    /// <summary>One template from its YAML mapping (also used for templates given inline in a training config).</summary>
    public static PromptTemplate FromNode(string name, YamlNode node, string source)
    {
        if (node is not YamlMappingNode m) throw Error(source, node, $"template '{name}' must be a mapping");
        string? description = null, prefix = null, imagePrefix = null, suffix = null;
        List<PromptSlot>? order = null;
        int maxImages = 3;
        var positions = PositionMode.Padded;
        foreach (var (k, v) in m.Children)
        {
            var key = Scalar(k, source);
            switch (key)
            {
                case "description": description = Scalar(v, source); break;
                case "prefix": prefix = Scalar(v, source); break;
                case "image_prefix": imagePrefix = Scalar(v, source); break;
                case "suffix": suffix = Scalar(v, source); break;
                case "max_images":
                    if (!int.TryParse(Scalar(v, source), NumberStyles.Integer, CultureInfo.InvariantCulture, out maxImages) || maxImages <= 0)
                        throw Error(source, v, $"template '{name}': max_images must be a positive integer");
                    break;
                case "positions":
                    positions = Scalar(v, source) switch
                    {
                        "padded" => PositionMode.Padded,
                        "compact" => PositionMode.Compact,
                        var s => throw Error(source, v, $"template '{name}': positions '{s}' is not padded|compact"),
                    };
                    break;
                case "order":
                    if (v is not YamlSequenceNode seq) throw Error(source, v, $"template '{name}': order must be a list of slots");
                    order = seq.Children.Select(c => Scalar(c, source) switch
                    {
                        "prefix" => PromptSlot.Prefix,
                        "text" => PromptSlot.Text,
                        "image_prefix" => PromptSlot.ImagePrefix,
                        "images" => PromptSlot.Images,
                        "suffix" => PromptSlot.Suffix,
                        var s => throw Error(source, c, $"template '{name}': unknown slot '{s}' (prefix, text, image_prefix, images, suffix)"),
                    }).ToList();
                    break;
                default:
                    throw Error(source, k, $"template '{name}': unknown key '{key}'");
            }
        }
        if (order is null) throw Error(source, node, $"template '{name}': 'order' is required");
        var t = new PromptTemplate
        {
            Name = name, Description = description ?? "", Order = order, Prefix = prefix, ImagePrefix = imagePrefix,
            Suffix = suffix, MaxImages = maxImages, Positions = positions,
        };
        try { t.Validate(); }
        catch (ArgumentException e) { throw Error(source, node, e.Message); }
        return t;
    }

    private static string Scalar(YamlNode n, string source) =>
        n is YamlScalarNode s ? s.Value ?? "" : throw Error(source, n, "expected a scalar value");

    private static InvalidDataException Error(string source, YamlNode n, string message) =>
        new($"{source}:{n.Start.Line}: {message}");
}
