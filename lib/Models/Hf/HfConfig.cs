using System.Reflection;
using System.Text;
using System.Text.Json;

namespace ViXml.Models.Hf;

/// <summary>Marks an <see cref="HfConfig"/> subclass as the binding for one HF <c>model_type</c>. The class must
/// have <c>public static HfConfig Read(HfConfigReader r)</c>; <see cref="HfConfig.Load"/> finds it by reflection, so a
/// new model family (e.g. qwen2) adds its own config file without touching this one.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class HfModelTypeAttribute(string modelType) : Attribute
{
    public string ModelType { get; } = modelType;
}

/// <summary>What every encoder config exposes to pooling and training code.</summary>
public interface IEncoderConfig
{
    /// <summary>Width of the hidden states the encoder outputs (H).</summary>
    int HiddenSize { get; }
    /// <summary>Longest sequence the position table covers.</summary>
    int MaxPositionEmbeddings { get; }
    /// <summary>Token vocabulary size.</summary>
    int VocabSize { get; }
}

/// <summary>
/// A Hugging Face <c>config.json</c> bound field by field. Subclasses (BertConfig, DistilBertConfig, later Qwen2Config)
/// read exactly the keys they understand; anything else must be on <see cref="IgnoredKeys"/> or on the subclass's own
/// ignore list, otherwise loading fails naming the key. Unknown <c>model_type</c> or architecture is an error.
/// </summary>
public abstract record HfConfig
{
    /// <summary>The <c>transformers_version</c> we write: the HF config schema our writers follow.</summary>
    public const string SchemaTransformersVersion = "4.44.2";

    /// <summary>HF <c>model_type</c> ("bert", "distilbert", ...).</summary>
    public abstract string ModelType { get; }

    /// <summary>HF <c>architectures</c>: the class that saved the checkpoint (decides prefixes and heads). Null if absent.</summary>
    public string[]? Architectures { get; init; }

    /// <summary>Architectures this binding accepts (any other is an error).</summary>
    public abstract IReadOnlyList<string> KnownArchitectures { get; }

    /// <summary>
    /// Keys of a PretrainedConfig that never change an encoder's forward pass or its weights, so ignoring them is safe:
    /// bookkeeping (versions, names, dtype hints, hub hashes), task-head labels, tokenizer hints, generation settings,
    /// and output toggles. Anything not listed here and not read by the model's config class is rejected.
    /// </summary>
    public static readonly IReadOnlySet<string> IgnoredKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        // bookkeeping
        "transformers_version", "_name_or_path", "_commit_hash", "torch_dtype", "dtype", "use_bfloat16",
        "_attn_implementation", "_attn_implementation_autoset", "attn_implementation",
        // training-time switches that do not change numerics
        "gradient_checkpointing", "use_cache", "torchscript", "xla_device", "tf_legacy_loss", "chunk_size_feed_forward",
        // output toggles
        "output_hidden_states", "output_attentions", "return_dict", "output_past", "output_scores", "return_dict_in_generate",
        // task heads (we build encoders only; head weights are on the tensor allow-list)
        "id2label", "label2id", "num_labels", "problem_type", "finetuning_task", "classifier_dropout", "pruned_heads",
        "tie_word_embeddings",
        // tokenizer hints (the tokenizer reads its own files)
        "tokenizer_class", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id", "prefix",
        // generation settings (decoders' sampling, irrelevant to an encoder forward)
        "task_specific_params", "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
        "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty",
        "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
        "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
        "suppress_tokens", "begin_suppress_tokens", "cross_attention_hidden_size", "is_encoder_decoder",
    };

    private static readonly Lazy<Dictionary<string, Func<HfConfigReader, HfConfig>>> Bindings = new(() =>
    {
        var map = new Dictionary<string, Func<HfConfigReader, HfConfig>>(StringComparer.Ordinal);
        foreach (var t in typeof(HfConfig).Assembly.GetTypes())
        {
            var attr = t.GetCustomAttribute<HfModelTypeAttribute>();
            if (attr is null || !typeof(HfConfig).IsAssignableFrom(t)) continue;
            var read = t.GetMethod("Read", BindingFlags.Public | BindingFlags.Static, [typeof(HfConfigReader)])
                ?? throw new InvalidOperationException($"{t.Name} has [HfModelType] but no static Read(HfConfigReader)");
            map[attr.ModelType] = r => (HfConfig)read.Invoke(null, [r])!;
        }
        return map;
    });

    /// <summary>Model types with a binding.</summary>
    public static IReadOnlyCollection<string> KnownModelTypes => Bindings.Value.Keys;

    /// <summary>Loads <c>config.json</c> from a model folder (or a config file path) and binds it by <c>model_type</c>.</summary>
    public static HfConfig Load(string dirOrFile)
    {
        var file = Directory.Exists(dirOrFile) ? Path.Combine(dirOrFile, "config.json") : dirOrFile;
        var r = HfConfigReader.Open(file);
        var modelType = r.String("model_type");
        if (!Bindings.Value.TryGetValue(modelType, out var bind))
            throw new HfConfigException(
                $"{file}: unknown model_type '{modelType}' (known: {string.Join(", ", KnownModelTypes.Order())})");
        try
        {
            return bind(r);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    /// <summary>Reads <c>architectures</c> and checks each against <paramref name="known"/>.</summary>
    protected static string[]? ReadArchitectures(HfConfigReader r, IReadOnlyList<string> known)
    {
        var arch = r.StringArrayOrNull("architectures");
        if (arch is null) return null;
        if (arch.Length == 0) throw r.Unsupported("architectures", "empty list");
        foreach (var a in arch)
            if (!known.Contains(a))
                throw r.Unsupported("architectures", $"unknown architecture '{a}' (known: {string.Join(", ", known)})");
        return arch;
    }

    /// <summary>The config's own fields as HF names them (values: int, double, bool, string, null).</summary>
    protected abstract IEnumerable<KeyValuePair<string, object?>> Fields();

    /// <summary>HF-compatible config.json text (sorted keys, like HF's <c>to_json_string</c>).</summary>
    public string ToJson(string architecture)
    {
        var all = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var kv in Fields()) all[kv.Key] = kv.Value;
        all["architectures"] = new[] { architecture };
        all["model_type"] = ModelType;
        all["torch_dtype"] = "float32";
        all["transformers_version"] = SchemaTransformersVersion;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            foreach (var (k, v) in all)
            {
                w.WritePropertyName(k);
                switch (v)
                {
                    case null: w.WriteNullValue(); break;
                    case int i: w.WriteNumberValue(i); break;
                    case double d: w.WriteRawValue(FormatDouble(d)); break;
                    case bool b: w.WriteBooleanValue(b); break;
                    case string s: w.WriteStringValue(s); break;
                    case string[] arr:
                        w.WriteStartArray();
                        foreach (var s in arr) w.WriteStringValue(s);
                        w.WriteEndArray();
                        break;
                    default: throw new InvalidOperationException($"config field {k}: unsupported type {v.GetType()}");
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Python-style float literal (1e-12, 0.1, 1.0) so the file reads like HF's own.</summary>
    private static string FormatDouble(double d)
    {
        var s = d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        if (s.Contains('E')) return s.Replace("E", "e");
        return s.Contains('.') ? s : s + ".0";
    }

    /// <summary>Rejects a non-positive size.</summary>
    protected static void Positive(HfConfigReader r, string key, int v)
    {
        if (v <= 0) throw r.Unsupported(key, $"must be > 0, got {v}");
    }
}
