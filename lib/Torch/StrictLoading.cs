using System.Text.RegularExpressions;
using TorchSharp;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Torch;

/// <summary>
/// Strict, loud checkpoint loading. TorchSharp's own load_state_dict(strict) names no key in its error and broadcasts a
/// mis-shaped tensor into a parameter (a (1,3) checkpoint tensor went into a (2,3) weight in a trial), so every load of
/// user-supplied weights goes through this instead.
/// </summary>
public static class StrictLoading
{
    /// <summary>
    /// Copies tensors into the parameters/buffers with the same names (converting dtype/device as needed). Mis-shaped
    /// keys are always an error. With strict (the default), keys the module has but the dictionary lacks (missing)
    /// and keys the dictionary has but the module lacks (unexpected) are errors too, except those matching
    /// allow_unexpected / allow_missing patterns ('*' matches any run of characters, e.g. "pooler.*"). One
    /// <see cref="TorchException"/> names every offending key and the source. Returns the lists for non-strict callers.
    /// </summary>
    public static (List<string> missing, List<string> unexpected) load_hf_state_dict(this nn.Module module,
        IReadOnlyDictionary<string, Tensor> state, bool strict = true, IEnumerable<string>? allow_unexpected = null,
        IEnumerable<string>? allow_missing = null, string? source = null)
    {
        var own = module.state_dict();
        var allowU = Patterns(allow_unexpected);
        var allowM = Patterns(allow_missing);
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = new List<string>();
        foreach (var (k, dst) in own)
        {
            if (!state.TryGetValue(k, out var src)) continue;
            if (!dst.shape.SequenceEqual(src.shape))
                misShaped.Add($"{k}: checkpoint [{string.Join(", ", src.shape)}], model [{string.Join(", ", dst.shape)}]");
        }
        var badMissing = missing.Where(k => !allowM.Any(r => r.IsMatch(k))).ToList();
        var badUnexpected = unexpected.Where(k => !allowU.Any(r => r.IsMatch(k))).ToList();
        if (misShaped.Count > 0 || (strict && (badMissing.Count > 0 || badUnexpected.Count > 0)))
        {
            var msg = $"Error(s) in loading state_dict for {module.GetType().Name}" + (source is null ? "" : $" from {source}") + ":";
            if (strict && badMissing.Count > 0) msg += $"\n  Missing key(s) ({badMissing.Count}): " + string.Join(", ", badMissing);
            if (strict && badUnexpected.Count > 0) msg += $"\n  Unexpected key(s) ({badUnexpected.Count}): " + string.Join(", ", badUnexpected);
            if (misShaped.Count > 0) msg += $"\n  Size mismatch ({misShaped.Count}): " + string.Join("; ", misShaped);
            throw new TorchException(msg);
        }
        using (no_grad())
            foreach (var (k, dst) in own)
                if (state.TryGetValue(k, out var src)) dst.copy_(src);
        return (missing, unexpected);
    }

    private static List<Regex> Patterns(IEnumerable<string>? patterns) =>
        (patterns ?? []).Select(p => new Regex("^" + Regex.Escape(p).Replace("\\*", ".*") + "$", RegexOptions.CultureInvariant)).ToList();
}

public static class ModuleExtensions
{
    /// <summary>Total number of parameter elements (trainable only if requested).</summary>
    public static long num_parameters(this nn.Module m, bool only_trainable = false) =>
        m.parameters().Where(p => !only_trainable || p.requires_grad).Sum(p => p.numel());
}
