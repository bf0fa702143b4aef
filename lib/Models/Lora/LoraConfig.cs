using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ViXml.Models.Lora;

/// <summary>
/// A LoRA adapter's settings in PEFT's <c>adapter_config.json</c> vocabulary. Bound strictly: PEFT features we do not
/// implement (DoRA, per-module rank/alpha patterns, trained biases, modules_to_save, fan_in_fan_out layers, layer
/// subsets) are rejected when switched on rather than silently ignored.
/// </summary>
public sealed record LoraConfig
{
    /// <summary>Rank r of the update B·A (A: r × in, B: out × r).</summary>
    public int R { get; init; } = 8;
    /// <summary>lora_alpha: the update is scaled by alpha / r (or alpha / √r with rsLoRA).</summary>
    public double Alpha { get; init; } = 8;
    /// <summary>Dropout on the adapter's input during training (0 in the paper).</summary>
    public double Dropout { get; init; }
    /// <summary>Rank-stabilised LoRA: scale alpha / √r instead of alpha / r (the paper: true).</summary>
    public bool UseRsLora { get; init; }
    /// <summary>Module names adapted: a list matched against the last name component(s) (PEFT: name == t or
    /// name ends with "." + t), or one regular expression that must match the whole module name.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    /// <summary>Set when target_modules was a single string: a regex over the full module name.</summary>
    public string? TargetRegex { get; init; }
    /// <summary>Informative: the base model the adapter was trained on.</summary>
    public string? BaseModelNameOrPath { get; init; }
    /// <summary>PEFT task type written back on save ("FEATURE_EXTRACTION" for an encoder).</summary>
    public string TaskType { get; init; } = "FEATURE_EXTRACTION";

    /// <summary>The factor applied to B·A·x.</summary>
    public double Scale => UseRsLora ? Alpha / Math.Sqrt(R) : Alpha / R;

    /// <summary>The paper's decoder setting: r = 256, alpha = 256, rsLoRA, dropout 0, all seven linear layers.</summary>
    public static LoraConfig Paper => new() { R = 256, Alpha = 256, UseRsLora = true, Dropout = 0 };

    /// <summary>Whether the module with this full dotted name (e.g. "model.layers.3.self_attn.q_proj") is adapted.</summary>
    public bool Targets(string moduleName)
    {
        if (TargetRegex is not null) return Regex.IsMatch(moduleName, "^(?:" + TargetRegex + ")$");
        foreach (var t in TargetModules)
            if (moduleName == t || moduleName.EndsWith("." + t, StringComparison.Ordinal)) return true;
        return false;
    }

    public void Validate()
    {
        if (R <= 0) throw new ArgumentException($"LoRA r must be positive, got {R}");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"LoRA dropout must be in [0, 1), got {Dropout}");
        if (TargetRegex is null && TargetModules.Count == 0) throw new ArgumentException("LoRA target_modules is empty");
    }

    // Keys of PEFT's LoraConfig that do not change the adapted forward (bookkeeping, init recipes, runtime switches).
    private static readonly HashSet<string> InertKeys = new(StringComparer.Ordinal)
    {
        "base_model_name_or_path", "inference_mode", "revision", "task_type", "auto_mapping", "megatron_config",
        "megatron_core", "init_lora_weights", "peft_version", "loftq_config", "eva_config", "corda_config",
        "runtime_config", "layer_replication", "trainable_token_indices", "target_parameters", "qalora_group_size",
        "use_qalora", "lora_bias", "exclude_modules",
    };

    /// <summary>Reads adapter_config.json (a folder or the file).</summary>
    public static LoraConfig Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "adapter_config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"LoRA adapter config not found: {path}", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        if (root is not JsonObject o) throw new InvalidDataException($"{path}: the top level must be a JSON object");
        return FromJson(o, path);
    }

    public static LoraConfig FromJson(JsonObject o, string source)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        JsonNode? Get(string k) { seen.Add(k); return o.TryGetPropertyValue(k, out var v) ? v : null; }
        Exception Bad(string k, string why) => new InvalidDataException($"{source}: key '{k}': {why}");
        bool IsEmpty(JsonNode? v) => v is null || v.GetValueKind() == JsonValueKind.Null ||
                                     (v is JsonObject jo && jo.Count == 0) || (v is JsonArray ja && ja.Count == 0) ||
                                     (v is JsonValue jv && jv.TryGetValue<bool>(out var b) && !b);
        double Num(string k, double d)
        {
            var v = Get(k);
            if (v is null) return d;
            if (v is JsonValue jv && jv.TryGetValue<double>(out var x)) return x;
            throw Bad(k, $"expected a number, got {v.ToJsonString()}");
        }

        var peft = Get("peft_type")?.GetValue<string>();
        if (peft is not null && peft != "LORA") throw Bad("peft_type", $"'{peft}' is not a LoRA adapter");
        var bias = Get("bias")?.GetValue<string>() ?? "none";
        if (bias != "none") throw Bad("bias", $"'{bias}': trained biases are not supported (only \"none\")");
        foreach (var k in new[] { "use_dora", "fan_in_fan_out", "modules_to_save", "rank_pattern", "alpha_pattern",
                                  "layers_to_transform", "layers_pattern" })
            if (!IsEmpty(Get(k))) throw Bad(k, $"{o[k]!.ToJsonString()} is not supported (must be null/false/empty)");
        if (o["lora_bias"] is JsonNode lb && !IsEmpty(lb)) throw Bad("lora_bias", "LoRA bias terms are not supported");
        if (o["exclude_modules"] is JsonNode ex && !IsEmpty(ex)) throw Bad("exclude_modules", "exclusions are not supported");

        var rNode = Get("r") ?? throw Bad("r", "required but missing");
        int r = rNode is JsonValue rv && rv.TryGetValue<int>(out var ri) ? ri : throw Bad("r", $"expected an integer, got {rNode.ToJsonString()}");
        List<string> targets = [];
        string? regex = null;
        switch (Get("target_modules"))
        {
            case JsonArray a: targets = a.Select(x => x?.GetValue<string>() ?? throw Bad("target_modules", "null entry")).ToList(); break;
            case JsonValue s when s.TryGetValue<string>(out var str): regex = str; break;
            case null: throw Bad("target_modules", "required but missing");
            case var other: throw Bad("target_modules", $"expected a list or a regex string, got {other.ToJsonString()}");
        }
        var cfg = new LoraConfig
        {
            R = r,
            Alpha = Num("lora_alpha", 8),
            Dropout = Num("lora_dropout", 0),
            UseRsLora = Get("use_rslora") is JsonNode rs && rs.GetValue<bool>(),
            TargetModules = targets,
            TargetRegex = regex,
            BaseModelNameOrPath = o["base_model_name_or_path"]?.GetValueKind() == JsonValueKind.String ? o["base_model_name_or_path"]!.GetValue<string>() : null,
            TaskType = o["task_type"]?.GetValueKind() == JsonValueKind.String ? o["task_type"]!.GetValue<string>() : "FEATURE_EXTRACTION",
        };
        foreach (var k in o.Select(kv => kv.Key))
            if (!seen.Contains(k) && !InertKeys.Contains(k)) throw Bad(k, "unknown LoRA config key; refusing to ignore it silently");
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
        return cfg;
    }

    /// <summary>The config as PEFT writes it (all the keys PEFT's loader expects).</summary>
    public JsonObject ToJson() => new()
    {
        ["alpha_pattern"] = new JsonObject(),
        ["auto_mapping"] = null,
        ["base_model_name_or_path"] = BaseModelNameOrPath,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = true,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = null,
        ["lora_alpha"] = Alpha,
        ["lora_dropout"] = Dropout,
        ["modules_to_save"] = null,
        ["peft_type"] = "LORA",
        ["r"] = R,
        ["rank_pattern"] = new JsonObject(),
        ["revision"] = null,
        ["target_modules"] = TargetRegex is not null ? JsonValue.Create(TargetRegex) : new JsonArray(TargetModules.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        ["task_type"] = TaskType,
        ["use_dora"] = false,
        ["use_rslora"] = UseRsLora,
    };

    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        ViXml.Common.Atomic.WriteAllText(Path.Combine(dir, "adapter_config.json"),
            ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
