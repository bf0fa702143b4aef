using ViXml.Models.Bert;
using ViXml.Models.DistilBert;
using ViXml.Models.Hf;

namespace ViXml.Models;

/// <summary>Building encoders from HF folders, configs or named presets.</summary>
public static class Encoders
{
    /// <summary>Named presets with exact HF config values.</summary>
    public static readonly IReadOnlyDictionary<string, Func<HfConfig>> Presets = new Dictionary<string, Func<HfConfig>>
    {
        ["minilm-l3"] = () => BertConfig.MiniLmL3,
        ["bert-base-uncased"] = () => BertConfig.BertBaseUncased,
        ["distilbert-base-uncased"] = () => DistilBertConfig.BaseUncased,
    };

    /// <summary>Loads an HF model folder strictly, dispatching on config.json's model_type.</summary>
    public static IEncoder Load(string dir) => HfConfig.Load(dir) switch
    {
        BertConfig => BertModel.from_pretrained(dir),
        DistilBertConfig => DistilBertModel.from_pretrained(dir),
        // A Qwen2 decoder: a trained ViXml folder (prompt template, LoRA adapter) reloads with them; Forward stays template-free.
        Qwen2.Qwen2Config when File.Exists(Path.Combine(dir, Qwen2TemplateEncoder.TemplateFile)) => Qwen2.Qwen2Encoders.Load(dir, Qwen2.Qwen2Encoders.Tokenizer(dir)),
        Qwen2.Qwen2Config => Qwen2.Qwen2Checkpoint.Load(dir),
        var c => throw new HfConfigException($"{Path.Combine(dir, "config.json")}: model_type '{c.ModelType}' is not a text encoder"),
    };

    /// <summary>A freshly initialised encoder (HF init scheme, seeded).</summary>
    public static IEncoder FromConfig(HfConfig config, long seed) => config switch
    {
        BertConfig b => new BertModel(b, addPoolingLayer: true, seed: seed),
        DistilBertConfig d => new DistilBertModel(d, seed),
        _ => throw new ArgumentException($"model_type '{config.ModelType}' is not a text encoder"),
    };

    public static IEncoder FromPreset(string name, long seed) =>
        Presets.TryGetValue(name, out var make) ? FromConfig(make(), seed)
            : throw new ArgumentException($"unknown preset '{name}' (known: {string.Join(", ", Presets.Keys)})");
}
