using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Models.Hf;

namespace ViXml.Models.Qwen2;

/// <summary>
/// The Qwen2 architecture as described by a Hugging Face <c>config.json</c> (model_type "qwen2").
/// Bound strictly: every key of the file must be known (used, checked, or on the written allow-list of keys that do not
/// change the numbers of an embedding forward); a missing required key, a wrong type or an unsupported setting
/// (sliding-window attention switched on, rope scaling, a non-SiLU activation) is an error naming the file and the key.
/// </summary>
[HfModelType("qwen2")]
public sealed record Qwen2Config : HfConfig, IEncoderConfig
{
    /// <summary>Width of the residual stream (H).</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Width of the SwiGLU MLP's gate/up projections.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Number of decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }
    /// <summary>Query heads; head_dim = HiddenSize / NumAttentionHeads.</summary>
    public required int NumAttentionHeads { get; init; }
    /// <summary>Key/value heads (grouped-query attention: each kv head serves NumAttentionHeads / NumKeyValueHeads queries).</summary>
    public required int NumKeyValueHeads { get; init; }
    /// <summary>Rows of embed_tokens (Qwen2.5: 151,936, padded beyond the 151,665 real tokens).</summary>
    public required int VocabSize { get; init; }
    /// <summary>RMSNorm epsilon (added to the mean square before the reciprocal square root).</summary>
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary>RoPE base: inv_freq[i] = 1 / theta^(2i / head_dim).</summary>
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>LM head shares embed_tokens (then lm_head.weight is absent from the checkpoint).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Longest position the model was trained for (only checked against, RoPE itself has no table).</summary>
    public int MaxPositionEmbeddings { get; init; } = 32768;
    /// <summary>Sliding-window attention switch; true is rejected (full causal attention only).</summary>
    public bool UseSlidingWindow { get; init; }
    /// <summary>Window size if sliding-window attention were used; read for completeness, inert while UseSlidingWindow is false.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Layers from which a sliding window would apply; inert while UseSlidingWindow is false.</summary>
    public int? MaxWindowLayers { get; init; }
    /// <summary>Beginning-of-sequence id (Qwen2.5: 151643, never prepended by its tokenizer).</summary>
    public int? BosTokenId { get; init; }
    /// <summary>End-of-sequence id (base: 151643 &lt;|endoftext|&gt;; -Instruct: 151645 &lt;|im_end|&gt;).</summary>
    public int? EosTokenId { get; init; }
    /// <summary>Storage dtype named by the checkpoint ("bfloat16", "float32", ...); informative.</summary>
    public string TorchDtype { get; init; } = "bfloat16";
    /// <summary>Dropout on attention probabilities during training (0 for all Qwen2.5 checkpoints).</summary>
    public double AttentionDropout { get; init; }
    /// <summary>Std of the normal init for from-scratch weights.</summary>
    public double InitializerRange { get; init; } = 0.02;

    public int HeadDim => HiddenSize / NumAttentionHeads;

    public override string ModelType => "qwen2";

    /// <summary>Architectures whose checkpoints hold a Qwen2 decoder under "model." (the LM head is on the allow-list).</summary>
    public static readonly IReadOnlyList<string> Architectures_ = ["Qwen2ForCausalLM", "Qwen2Model"];
    public override IReadOnlyList<string> KnownArchitectures => Architectures_;

    /// <summary>Reads and validates a config.json (a model folder or the file).</summary>
    public static new Qwen2Config Load(string dirOrFile) => HfConfig.Load(dirOrFile) as Qwen2Config
        ?? throw new HfConfigException($"{dirOrFile}: not a Qwen2 config (model_type must be \"qwen2\")");

    /// <summary>Binds a parsed config object; <paramref name="source"/> names the file in errors.</summary>
    public static Qwen2Config FromJson(JsonObject obj, string source)
    {
        using var doc = JsonDocument.Parse(obj.ToJsonString());
        var r = new HfConfigReader(source, doc.RootElement.Clone());
        var mt = r.String("model_type");
        if (mt != "qwen2") throw r.Unsupported("model_type", $"'{mt}' is not a Qwen2 config (expected \"qwen2\")");
        return (Qwen2Config)Read(r);
    }

    /// <summary>Strict binding (found by <see cref="HfConfig.Load"/> through [HfModelType("qwen2")]).</summary>
    public static HfConfig Read(HfConfigReader r)
    {
        var arch = ReadArchitectures(r, Architectures_);
        var act = r.String("hidden_act", "silu");
        if (act != "silu") throw r.Unsupported("hidden_act", $"'{act}' is not supported (Qwen2 uses silu)");
        // rope_scaling must be absent or null: any scaling block (yarn, dynamic, linear) changes the rotary angles.
        string? ropeScaling;
        try { ropeScaling = r.StringOrNull("rope_scaling"); }
        catch (HfConfigException) { ropeScaling = "(an object)"; }
        if (ropeScaling is not null) throw r.Unsupported("rope_scaling", $"rope scaling {ropeScaling} is not supported (plain RoPE only)");
        if (r.Bool("use_mrope", false)) throw r.Unsupported("use_mrope", "multimodal RoPE is not supported");
        var cfg = new Qwen2Config
        {
            Architectures = arch,
            HiddenSize = r.Int("hidden_size"),
            IntermediateSize = r.Int("intermediate_size"),
            NumHiddenLayers = r.Int("num_hidden_layers"),
            NumAttentionHeads = r.Int("num_attention_heads"),
            NumKeyValueHeads = r.IntOrNull("num_key_value_heads") ?? r.Int("num_attention_heads"),
            VocabSize = r.Int("vocab_size"),
            RmsNormEps = r.Double("rms_norm_eps", 1e-6),
            RopeTheta = r.Double("rope_theta", 10000.0),
            TieWordEmbeddings = r.Bool("tie_word_embeddings", false),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 32768),
            UseSlidingWindow = r.Bool("use_sliding_window", false),
            SlidingWindow = r.IntOrNull("sliding_window"),
            MaxWindowLayers = r.IntOrNull("max_window_layers"),
            BosTokenId = r.IntOrNull("bos_token_id"),
            EosTokenId = r.IntOrNull("eos_token_id"),
            TorchDtype = r.StringOrNull("torch_dtype") ?? "float32",
            AttentionDropout = r.Double("attention_dropout", 0.0),
            InitializerRange = r.Double("initializer_range", 0.02),
        };
        if (cfg.UseSlidingWindow)
            throw r.Unsupported("use_sliding_window", $"sliding-window attention (window {cfg.SlidingWindow}, from layer " +
                                $"{cfg.MaxWindowLayers}) is enabled but not implemented; only full causal attention is supported");
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw r.Unsupported("shape", e.Message); }
        r.Finish("qwen2", IgnoredKeys);
        return cfg;
    }

    /// <summary>Shape consistency checks shared by loaded configs and presets.</summary>
    public void Validate()
    {
        if (HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 ||
            NumKeyValueHeads <= 0 || VocabSize <= 0)
            throw new ArgumentException("hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, " +
                                        "num_key_value_heads and vocab_size must be positive");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ArgumentException($"num_attention_heads {NumAttentionHeads} is not divisible by num_key_value_heads {NumKeyValueHeads}");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head_dim {HeadDim} must be even for rotary embeddings");
        if (RmsNormEps <= 0) throw new ArgumentException("rms_norm_eps must be positive");
        if (RopeTheta <= 0) throw new ArgumentException("rope_theta must be positive");
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Fields() =>
    [
        new("attention_dropout", AttentionDropout), new("bos_token_id", BosTokenId), new("eos_token_id", EosTokenId),
        new("hidden_act", "silu"), new("hidden_size", HiddenSize), new("initializer_range", InitializerRange),
        new("intermediate_size", IntermediateSize), new("max_position_embeddings", MaxPositionEmbeddings),
        new("max_window_layers", MaxWindowLayers), new("num_attention_heads", NumAttentionHeads),
        new("num_hidden_layers", NumHiddenLayers), new("num_key_value_heads", NumKeyValueHeads),
        new("rms_norm_eps", RmsNormEps), new("rope_theta", RopeTheta), new("sliding_window", SlidingWindow),
        new("tie_word_embeddings", TieWordEmbeddings), new("use_cache", true), new("use_sliding_window", UseSlidingWindow),
        new("vocab_size", VocabSize),
    ];

    /// <summary>Writes config.json (atomically) in HF's layout.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        ViXml.Common.Atomic.WriteAllText(Path.Combine(dir, "config.json"), ToJson("Qwen2ForCausalLM"));
    }

    /// <summary>Parameter count of the backbone (no LM head), for memory planning.</summary>
    public long ParameterCount()
    {
        long H = HiddenSize, I = IntermediateSize, kv = (long)NumKeyValueHeads * HeadDim;
        long attn = H * H + H + 2 * (H * kv + kv) + H * H; // q (w+b), k and v (w+b), o (no bias)
        long mlp = 3 * H * I;
        long perLayer = attn + mlp + 2 * H;
        return (long)VocabSize * H + NumHiddenLayers * perLayer + H;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Qwen2(H={HiddenSize}, L={NumHiddenLayers}, heads={NumAttentionHeads}/{NumKeyValueHeads}, I={IntermediateSize}, V={VocabSize}, theta={RopeTheta}, tied={TieWordEmbeddings})");
}
