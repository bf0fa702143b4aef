using System.Text;

namespace ViXml.Models.Hf;

/// <summary>One tensor as a checkpoint file declares it (header only: no data).</summary>
public sealed record CheckpointTensor(string Name, string DType, long[] Shape, string File);

/// <summary>One tensor our module wants: its name relative to the encoder (HF BertModel naming) and its shape.</summary>
public sealed record ExpectedTensor(string Name, long[] Shape);

/// <summary>A checkpoint tensor we may skip, with the reason (shown by <see cref="KeyMapping.Describe"/>).</summary>
/// <param name="Pattern">Exact key, or a prefix ending in ".*" (e.g. "cls.*").</param>
/// <param name="AfterPrefix">True: matched against the key with the encoder prefix stripped ("embeddings.position_ids");
/// false: matched against the full key (heads live beside the encoder, e.g. "cls.predictions.bias").</param>
public sealed record IgnorableTensor(string Pattern, bool AfterPrefix, string Reason)
{
    public bool Matches(string key) =>
        Pattern.EndsWith(".*", StringComparison.Ordinal) ? key.StartsWith(Pattern[..^1], StringComparison.Ordinal) : key == Pattern;
}

/// <summary>How one model family's checkpoints are laid out.</summary>
/// <param name="ModelName">For messages ("BertModel").</param>
/// <param name="Prefixes">Encoder prefixes to try, "" included (e.g. "bert." in BertForMaskedLM checkpoints).</param>
/// <param name="Ignorable">The written allow-list of tensors that may be present and unused.</param>
public sealed record CheckpointLayout(string ModelName, IReadOnlyList<string> Prefixes, IReadOnlyList<IgnorableTensor> Ignorable);

/// <summary>The result of matching: for every expected key, the checkpoint tensor that fills it.</summary>
public sealed record KeyMapping(string Prefix, IReadOnlyDictionary<string, CheckpointTensor> Sources,
    IReadOnlyList<(CheckpointTensor Tensor, string Reason)> Ignored)
{
    public string Describe() =>
        $"prefix '{Prefix}', {Sources.Count} tensors loaded, {Ignored.Count} ignored" +
        (Ignored.Count == 0 ? "" : ": " + string.Join(", ", Ignored.Select(i => $"{i.Tensor.Name} ({i.Reason})")));
}

/// <summary>A checkpoint whose tensors do not match the model. The message lists every problem with its file.</summary>
public sealed class CheckpointMismatchException(string message) : Exception(message);

/// <summary>
/// Strict matching of checkpoint tensor names to a model's parameter names: detects the encoder prefix, renames the
/// legacy LayerNorm "gamma"/"beta" spelling (old Google checkpoints) to "weight"/"bias", skips only tensors on the
/// layout's allow-list, and fails naming every missing, unexpected, mis-shaped or wrongly typed tensor.
/// </summary>
public static class CheckpointKeys
{
    /// <summary>Storage dtypes a float parameter may come from (converted to float32 on load).</summary>
    public static readonly IReadOnlySet<string> FloatStorage = new HashSet<string> { "F32", "F16", "BF16", "F64" };

    /// <summary>HF's legacy spelling: "LayerNorm.gamma" / "LayerNorm.beta" mean weight / bias.</summary>
    public static string Canonical(string key)
    {
        if (key.EndsWith(".gamma", StringComparison.Ordinal)) return key[..^".gamma".Length] + ".weight";
        if (key.EndsWith(".beta", StringComparison.Ordinal)) return key[..^".beta".Length] + ".bias";
        return key;
    }

    public static KeyMapping Match(string where, IEnumerable<CheckpointTensor> checkpoint, IReadOnlyList<ExpectedTensor> expected,
        CheckpointLayout layout)
    {
        // Canonical names; a name appearing twice (e.g. in two shards, or as gamma and weight) is itself an error.
        var byName = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var t in checkpoint)
        {
            var name = Canonical(t.Name);
            if (byName.TryGetValue(name, out var other))
                problems.Add($"duplicate: '{t.Name}' in {t.File} and '{other.Name}' in {other.File}");
            else byName[name] = t; // keyed by the canonical name, keeps the stored name for reading and messages
        }

        // The prefix under which most expected keys exist; ties prefer the earlier (bare) candidate.
        var prefix = layout.Prefixes.OrderByDescending(p => expected.Count(e => byName.ContainsKey(p + e.Name)))
            .ThenBy(p => layout.Prefixes.ToList().IndexOf(p)).First();
        var found = expected.Count(e => byName.ContainsKey(prefix + e.Name));
        if (found == 0 && expected.Count > 0)
        {
            var sample = string.Join(", ", byName.Keys.Order(StringComparer.Ordinal).Take(8));
            throw new CheckpointMismatchException(
                $"{where}: no {layout.ModelName} tensor found under any known prefix " +
                $"({string.Join(", ", layout.Prefixes.Select(p => $"'{p}'"))}); the checkpoint holds e.g. {sample}");
        }

        var sources = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var e in expected)
        {
            if (!byName.TryGetValue(prefix + e.Name, out var t))
            {
                problems.Add($"missing: '{prefix + e.Name}' (model expects shape [{string.Join(", ", e.Shape)}])");
                continue;
            }
            if (!FloatStorage.Contains(t.DType))
                problems.Add($"wrong dtype: '{t.Name}' in {t.File} is {t.DType}, a float parameter needs F32, F16, BF16 or F64");
            else if (!t.Shape.SequenceEqual(e.Shape))
                problems.Add($"mis-shaped: '{t.Name}' in {t.File} has shape [{string.Join(", ", t.Shape)}], " +
                             $"model expects [{string.Join(", ", e.Shape)}]");
            sources[e.Name] = t;
        }

        var expectedNames = expected.Select(e => prefix + e.Name).ToHashSet(StringComparer.Ordinal);
        var ignored = new List<(CheckpointTensor, string)>();
        foreach (var (name, t) in byName.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (expectedNames.Contains(name)) continue;
            var inner = name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : null;
            var rule = layout.Ignorable.FirstOrDefault(r => r.AfterPrefix ? inner is not null && r.Matches(inner) : r.Matches(name));
            if (rule is not null) ignored.Add((t, rule.Reason));
            else problems.Add($"unexpected: '{t.Name}' in {t.File} (shape [{string.Join(", ", t.Shape)}], {t.DType})");
        }

        if (problems.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append($"{where}: checkpoint does not match {layout.ModelName} (prefix '{prefix}'; {problems.Count} problem(s)):");
            foreach (var p in problems) sb.Append("\n  ").Append(p);
            throw new CheckpointMismatchException(sb.ToString());
        }
        return new KeyMapping(prefix, sources, ignored);
    }
}
