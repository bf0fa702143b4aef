using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ViXml.Models.Qwen2;

/// <summary>
/// The Qwen2 architecture as described by a Hugging Face <c>config.json</c> (model_type "qwen2").
/// Bound strictly: every key of the file must be known (used, checked, or on the written allow-list of keys that do not
/// change the numbers of an embedding forward); a missing required key, a wrong type or an unsupported setting
/// (sliding-window attention switched on, rope scaling, a non-SiLU activation) is an error naming the file and the key.
/// </summary>
public sealed record Qwen2Config
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

    /// <summary>Keys accepted without effect on an embedding forward pass (generation, bookkeeping).</summary>
    private static readonly HashSet<string> InertKeys = new(StringComparer.Ordinal)
    {
        "transformers_version", "use_cache", "_name_or_path", "pad_token_id", "output_attentions",
        "output_hidden_states", "return_dict", "bos_token_ids", "generation_config", "tokenizer_class",
    };

    /// <summary>Reads and validates a config.json.</summary>
    public static Qwen2Config Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Qwen2 config not found: {path}", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        if (root is not JsonObject obj) throw new InvalidDataException($"{path}: the top level must be a JSON object");
        return FromJson(obj, path);
    }

    /// <summary>Binds a parsed config object; <paramref name="source"/> names the file in errors.</summary>
    public static Qwen2Config FromJson(JsonObject obj, string source)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        JsonNode? Get(string key) { seen.Add(key); return obj.TryGetPropertyValue(key, out var v) ? v : null; }
        Exception Bad(string key, string why) => new InvalidDataException($"{source}: key '{key}': {why}");

        int ReqInt(string key)
        {
            var v = Get(key) ?? throw Bad(key, "required but missing");
            return AsInt(v, key);
        }
        int AsInt(JsonNode v, string key)
        {
            if (v is JsonValue jv && jv.TryGetValue<long>(out var l) && l is >= int.MinValue and <= int.MaxValue) return (int)l;
            if (v is JsonValue jd && jd.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue) return (int)d;
            throw Bad(key, $"expected an integer, got {v.ToJsonString()}");
        }
        int? OptInt(string key) { var v = Get(key); return v is null ? null : AsInt(v, key); }
        double OptDouble(string key, double dflt)
        {
            var v = Get(key);
            if (v is null) return dflt;
            if (v is JsonValue jv && jv.TryGetValue<double>(out var d)) return d;
            throw Bad(key, $"expected a number, got {v.ToJsonString()}");
        }
        bool OptBool(string key, bool dflt)
        {
            var v = Get(key);
            if (v is null) return dflt;
            if (v is JsonValue jv && jv.TryGetValue<bool>(out var b)) return b;
            throw Bad(key, $"expected true/false, got {v.ToJsonString()}");
        }
        string? OptString(string key)
        {
            var v = Get(key);
            if (v is null) return null;
            if (v is JsonValue jv && jv.TryGetValue<string>(out var s)) return s;
            throw Bad(key, $"expected a string, got {v.ToJsonString()}");
        }

        var modelType = OptString("model_type") ?? throw Bad("model_type", "required but missing");
        if (modelType != "qwen2") throw Bad("model_type", $"'{modelType}' is not a Qwen2 config (expected \"qwen2\")");
        if (Get("architectures") is JsonNode arch)
        {
            if (arch is not JsonArray arr || arr.Count == 0) throw Bad("architectures", "expected a non-empty array");
            foreach (var a in arr)
            {
                var name = a?.GetValue<string>();
                if (name is not ("Qwen2ForCausalLM" or "Qwen2Model"))
                    throw Bad("architectures", $"unsupported architecture '{name}' (Qwen2ForCausalLM or Qwen2Model)");
            }
        }
        var act = OptString("hidden_act") ?? "silu";
        if (act != "silu") throw Bad("hidden_act", $"'{act}' is not supported (Qwen2 uses silu)");
        if (Get("rope_scaling") is JsonNode rs && rs.GetValueKind() != JsonValueKind.Null)
            throw Bad("rope_scaling", $"rope scaling {rs.ToJsonString()} is not supported (plain RoPE only)");
        if (OptBool("use_mrope", false)) throw Bad("use_mrope", "multimodal RoPE is not supported");

        var eos = Get("eos_token_id");
        int? eosId = eos switch
        {
            null => null,
            JsonArray a when a.Count > 0 => AsInt(a[0]!, "eos_token_id"),
            _ => AsInt(eos, "eos_token_id"),
        };

        var cfg = new Qwen2Config
        {
            HiddenSize = ReqInt("hidden_size"),
            IntermediateSize = ReqInt("intermediate_size"),
            NumHiddenLayers = ReqInt("num_hidden_layers"),
            NumAttentionHeads = ReqInt("num_attention_heads"),
            NumKeyValueHeads = OptInt("num_key_value_heads") ?? ReqInt("num_attention_heads"),
            VocabSize = ReqInt("vocab_size"),
            RmsNormEps = OptDouble("rms_norm_eps", 1e-6),
            RopeTheta = OptDouble("rope_theta", 10000.0),
            TieWordEmbeddings = OptBool("tie_word_embeddings", false),
            MaxPositionEmbeddings = OptInt("max_position_embeddings") ?? 32768,
            UseSlidingWindow = OptBool("use_sliding_window", false),
            SlidingWindow = OptInt("sliding_window"),
            MaxWindowLayers = OptInt("max_window_layers"),
            BosTokenId = OptInt("bos_token_id"),
            EosTokenId = eosId,
            TorchDtype = OptString("torch_dtype") ?? "float32",
            AttentionDropout = OptDouble("attention_dropout", 0.0),
            InitializerRange = OptDouble("initializer_range", 0.02),
        };
        if (cfg.UseSlidingWindow)
            throw Bad("use_sliding_window", $"sliding-window attention (window {cfg.SlidingWindow}, from layer " +
                                            $"{cfg.MaxWindowLayers}) is enabled but not implemented; only full causal attention is supported");
        foreach (var key in obj.Select(kv => kv.Key))
            if (!seen.Contains(key) && !InertKeys.Contains(key))
                throw Bad(key, "unknown Qwen2 config key (not used, checked or allow-listed); refusing to ignore it silently");
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
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

    /// <summary>The config as an HF config.json object (the fields the published Qwen2.5 files carry).</summary>
    public JsonObject ToJson() => new()
    {
        ["architectures"] = new JsonArray("Qwen2ForCausalLM"),
        ["attention_dropout"] = AttentionDropout,
        ["bos_token_id"] = BosTokenId,
        ["eos_token_id"] = EosTokenId,
        ["hidden_act"] = "silu",
        ["hidden_size"] = HiddenSize,
        ["initializer_range"] = InitializerRange,
        ["intermediate_size"] = IntermediateSize,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["max_window_layers"] = MaxWindowLayers,
        ["model_type"] = "qwen2",
        ["num_attention_heads"] = NumAttentionHeads,
        ["num_hidden_layers"] = NumHiddenLayers,
        ["num_key_value_heads"] = NumKeyValueHeads,
        ["rms_norm_eps"] = RmsNormEps,
        ["rope_theta"] = RopeTheta,
        ["sliding_window"] = SlidingWindow,
        ["tie_word_embeddings"] = TieWordEmbeddings,
        ["torch_dtype"] = TorchDtype,
        ["use_cache"] = true,
        ["use_sliding_window"] = UseSlidingWindow,
        ["vocab_size"] = VocabSize,
    };

    /// <summary>Writes config.json (atomically).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var text = ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        ViXml.Common.Atomic.WriteAllText(Path.Combine(dir, "config.json"), text);
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
