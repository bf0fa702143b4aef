using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Lora;

/// <summary>
/// Attaches, saves, loads, merges and unmerges LoRA adapters on any module tree built from <see cref="LoraLinear"/>
/// layers, in PEFT's format: adapter_config.json + adapter_model.safetensors with keys
/// "base_model.model.{module}.lora_A.weight" / ".lora_B.weight" ({module} as in the HF checkpoint, e.g.
/// "model.layers.0.self_attn.q_proj").
/// </summary>
public static class LoraAdapter
{
    public const string WeightsFile = "adapter_model.safetensors";
    /// <summary>PEFT's wrapper prefix in front of the base model's own key names.</summary>
    public const string PeftPrefix = "base_model.model.";

    /// <summary>
    /// Adds a fresh adapter to every LoraLinear whose checkpoint name (<paramref name="namePrefix"/> + module path)
    /// the config targets, then freezes every other parameter: only A and B train. Returns the adapted module names.
    /// </summary>
    public static IReadOnlyList<string> Apply(nn.Module model, LoraConfig config, string namePrefix = "model.",
                                              ScalarType adapterDtype = ScalarType.Float32, Generator? generator = null)
    {
        config.Validate();
        var adapted = new List<string>();
        foreach (var (name, m) in model.named_modules())
        {
            if (m is not LoraLinear lin || !config.Targets(namePrefix + name)) continue;
            lin.AddAdapter(config.R, config.Scale, config.Dropout, adapterDtype, generator);
            adapted.Add(namePrefix + name);
        }
        if (adapted.Count == 0)
            throw new ArgumentException($"LoRA target_modules [{string.Join(", ", config.TargetModules)}]{(config.TargetRegex is null ? "" : " /" + config.TargetRegex + "/")} " +
                                        "matched no linear layer of the model");
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = IsLoraParameter(name);
        return adapted;
    }

    public static bool IsLoraParameter(string name) =>
        name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || name.EndsWith(".lora_B.weight", StringComparison.Ordinal);

    /// <summary>The adapter parameters (what the optimizer should update) with their dotted names.</summary>
    public static IEnumerable<(string Name, Parameter Param)> Parameters(nn.Module model) =>
        model.named_parameters().Where(p => IsLoraParameter(p.name));

    /// <summary>Writes adapter_config.json and adapter_model.safetensors (float32) in PEFT's key format.</summary>
    public static void Save(nn.Module model, LoraConfig config, string dir, string namePrefix = "model.")
    {
        Directory.CreateDirectory(dir);
        var entries = new List<SafeTensorsWriteEntry>();
        foreach (var (name, p) in Parameters(model))
        {
            using var t = p.detach().to(ScalarType.Float32).contiguous();
            entries.Add(new SafeTensorsWriteEntry(PeftPrefix + namePrefix + name, SafeDType.F32, p.shape, t.to_bytes()));
        }
        if (entries.Count == 0) throw new InvalidOperationException("the model has no LoRA adapter to save");
        SafeTensorsWriter.Write(Path.Combine(dir, WeightsFile), entries, new Dictionary<string, string> { ["format"] = "pt" });
        config.Save(dir);
    }

    /// <summary>
    /// Reads a PEFT adapter folder, attaches adapters to the targeted layers and fills them. Strict: every adapted layer
    /// needs its A and B with the config's rank, and every tensor in the file must belong to an adapted layer.
    /// </summary>
    public static LoraConfig Load(nn.Module model, string dir, string namePrefix = "model.", ScalarType adapterDtype = ScalarType.Float32)
    {
        var config = LoraConfig.Load(dir);
        var file = Path.Combine(dir, WeightsFile);
        if (!File.Exists(file)) throw new FileNotFoundException($"LoRA adapter weights not found: {file}", file);
        using var source = SafeTensorsFile.Open(file);
        Apply(model, config, namePrefix, adapterDtype);
        var own = Parameters(model).ToDictionary(p => PeftPrefix + namePrefix + p.Name, p => p.Param);
        var problems = new List<string>();
        foreach (var key in source.Names)
        {
            // PEFT may save with an adapter name inside the key ("lora_A.default.weight"); the default adapter only.
            var canonical = key.Replace(".lora_A.default.weight", ".lora_A.weight").Replace(".lora_B.default.weight", ".lora_B.weight");
            if (!own.ContainsKey(canonical)) problems.Add($"unexpected: '{key}' (no adapted layer of that name)");
        }
        using (no_grad())
            foreach (var (key, p) in own)
            {
                var stored = source.Contains(key) ? key
                    : source.Contains(key.Replace(".weight", ".default.weight")) ? key.Replace(".weight", ".default.weight") : null;
                if (stored is null) { problems.Add($"missing: '{key}' (shape [{string.Join(", ", p.shape)}])"); continue; }
                var info = source.Info(stored);
                if (!info.Shape.SequenceEqual(p.shape))
                {
                    problems.Add($"mis-shaped: '{stored}' is {info.ShapeString}, the adapter (r={config.R}) needs [{string.Join(", ", p.shape)}]");
                    continue;
                }
                using var scope = NewDisposeScope();
                p.copy_(Qwen2.Qwen2Checkpoint.ReadTensor(source, stored).to(p.dtype));
            }
        if (problems.Count > 0)
            throw new InvalidDataException($"{file}: adapter does not match the model ({problems.Count} problem(s)):\n  " + string.Join("\n  ", problems));
        return config;
    }

    public static void Merge(nn.Module model)
    {
        foreach (var (_, m) in model.named_modules()) if (m is LoraLinear { HasAdapter: true } l) l.Merge();
    }

    public static void Unmerge(nn.Module model)
    {
        foreach (var (_, m) in model.named_modules()) if (m is LoraLinear { HasAdapter: true } l) l.Unmerge();
    }
}
