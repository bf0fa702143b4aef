using System.Text.Json;
using ViXml.Models.Hf;
using ViXml.SafeTensors;

namespace ViXml.Models.Import;

/// <summary>What <c>vixml model info DIR</c> prints: config summary, parameter count, pooling, source, tensors.</summary>
public sealed record ModelFolderInfo(string Dir, string Kind, string ConfigSummary, long Parameters, string Pooling,
    IReadOnlyList<string> Source, IReadOnlyList<CheckpointTensor> Tensors)
{
    /// <summary>
    /// Reads a model folder from its files alone (config.json, safetensors headers, 1_Pooling, SOURCE.md), without
    /// building a model. BERT-family folders are checked strictly: config keys (HfConfig) and, for model_type bert,
    /// the checkpoint's names and shapes against the config (the pooler optional, known buffers allowed).
    /// A ResNet folder written by the importer is checked against the names its config implies.
    /// </summary>
    public static ModelFolderInfo Read(string dir)
    {
        if (!Directory.Exists(dir)) throw new HfConfigException($"{dir}: folder not found");
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new HfConfigException($"{configPath}: file not found");
        string? modelType;
        try
        {
            using var doc = JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(configPath, 64L << 20));
            modelType = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_type", out var mt)
                        && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        }
        catch (JsonException e) { throw new HfConfigException($"{configPath}: invalid JSON: {e.Message}"); }

        var tensors = HfCheckpoint.Inspect(dir);
        long parameters = tensors.Where(t => !t.Name.EndsWith("position_ids", StringComparison.Ordinal))
            .Sum(t => t.Shape.Aggregate(1L, (a, d) => a * d));
        var source = ReadSource(dir);
        if (modelType == "resnet")
        {
            var (summary, expected) = ResNetSummary(configPath);
            CheckNames(dir, tensors, expected, optional: []);
            return new ModelFolderInfo(dir, "resnet", summary, parameters, "global average pool (no L2)", source, tensors);
        }

        var config = HfConfig.Load(dir);
        string configSummary;
        if (config is BertConfig b)
        {
            configSummary = $"bert: {b.NumHiddenLayers} layers, hidden {b.HiddenSize}, {b.NumAttentionHeads} heads, ffn {b.IntermediateSize}, " +
                            $"vocab {b.VocabSize}, max positions {b.MaxPositionEmbeddings}, act {b.HiddenAct}, LayerNorm eps {b.LayerNormEps.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace("E", "e")}";
            var names = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            // Only bare BertModel names are checked here; prefixed layouts (bert., 0.auto_model.) go through the strict loader.
            if (names.Contains("embeddings.word_embeddings.weight"))
                CheckNames(dir, tensors,
                    BertOnnxImporter.ExpectedTensors(b, pooler: names.Contains("pooler.dense.weight")).ToList(),
                    optional: ["embeddings.position_ids"]);
        }
        else configSummary = $"{config.ModelType} (architectures: {string.Join(", ", config.Architectures ?? [])})";
        var pooling = Models.Pooling.FromSentenceTransformers(dir) is { } p
            ? $"{p.ToString().ToLowerInvariant()} + L2 (1_Pooling/config.json)"
            : "not declared (embed defaults to mean)";
        return new ModelFolderInfo(dir, config.ModelType, configSummary, parameters, pooling, source, tensors);
    }

    private static IReadOnlyList<string> ReadSource(string dir)
    {
        var path = Path.Combine(dir, "SOURCE.md");
        if (!File.Exists(path)) return ["(no SOURCE.md)"];
        return ViXml.Common.InputFile.ReadLines(path, 1 << 16).Select(l => l.Text).Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..]).Take(8).ToList();
    }

    private static void CheckNames(string dir, IReadOnlyList<CheckpointTensor> have, IReadOnlyList<(string Name, long[] Shape)> expected, string[] optional)
    {
        var problems = new List<string>();
        var byName = have.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!byName.TryGetValue(name, out var t)) problems.Add($"missing '{name}'");
            else if (!t.Shape.SequenceEqual(shape)) problems.Add($"'{name}' has shape [{string.Join(", ", t.Shape)}], config implies [{string.Join(", ", shape)}]");
        }
        var known = expected.Select(e => e.Name).Concat(optional).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(have.Where(t => !known.Contains(t.Name)).Select(t => $"unexpected '{t.Name}'"));
        if (problems.Count > 0)
            throw new HfConfigException($"{dir}: checkpoint does not match config.json: {string.Join("; ", problems.Take(10))}" +
                                        (problems.Count > 10 ? $" (+{problems.Count - 10} more)" : ""));
    }

    private static (string Summary, List<(string, long[])> Expected) ResNetSummary(string configPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(configPath, 64L << 20));
            var r = doc.RootElement;
            JsonElement P(JsonElement e, string key) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) ? v
                : throw new KeyNotFoundException($"key '{key}' is missing");
            var blocks = P(r, "blocks").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var eps = P(P(r, "batch_norm"), "eps").GetDouble();
            var prep = P(r, "preprocess");
            var expected = new List<(string, long[])>();
            foreach (var c in P(r, "convs").EnumerateObject())
            {
                long o = P(c.Value, "out_channels").GetInt64(), i = P(c.Value, "in_channels").GetInt64();
                var k = P(c.Value, "kernel").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                expected.Add((c.Name + ".weight", [o, i, k[0], k[1]]));
                var bn = c.Name == "conv1" ? "bn1" : c.Name.EndsWith(".downsample.0", StringComparison.Ordinal)
                    ? c.Name[..^2] + ".1" : c.Name[..^".convN".Length] + ".bn" + c.Name[^1];
                foreach (var role in new[] { "weight", "bias", "running_mean", "running_var" }) expected.Add(($"{bn}.{role}", [o]));
            }
            var summary = $"resnet (basic blocks [{string.Join(", ", blocks)}]), output {P(r, "output_dim").GetInt32()}-d, " +
                          $"BatchNorm eps {eps.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace("E", "e")}, input {string.Join("x", P(prep, "input_size").EnumerateArray().Select(e => e.GetInt32()))} " +
                          $"{P(prep, "channel_order").GetString()} minus {P(prep, "mean_image").GetString()}";
            return (summary, expected);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or JsonException or IndexOutOfRangeException)
        {
            throw new HfConfigException($"{configPath}: not a ResNet config written by 'model import': {e.Message}");
        }
    }
}
