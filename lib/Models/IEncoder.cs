using ViXml.Models.Hf;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models;

/// <summary>How a sequence of hidden states becomes one vector.</summary>
public enum PoolingMode
{
    /// <summary>Average over real tokens (attention mask 1), as sentence-transformers' mean pooling.</summary>
    Mean,
    /// <summary>The first token ([CLS]).</summary>
    Cls,
    /// <summary>The last attended token of each row (position sum(mask) - 1 for right padding).</summary>
    Last,
}

/// <summary>Which keys a token attends to (besides the padding mask): every real token (BERT-family encoders) or only
/// itself and the tokens before it (a decoder's causal mask). <c>model.attention</c> in a training configuration.</summary>
public enum AttentionDirection
{
    Bidirectional,
    Causal,
}

/// <summary>A text encoder the trainer and <c>./vixml embed</c> use: token ids in, hidden states out.</summary>
public interface IEncoder : IDisposable
{
    /// <summary>The HF config the encoder was built from.</summary>
    HfConfig Config { get; }

    /// <summary>Width of the hidden states (H).</summary>
    int HiddenSize { get; }

    /// <summary>Rows of the position table: the longest sequence the encoder accepts.</summary>
    int MaxPositions { get; }

    /// <summary>Token vocabulary size (ids must lie in [0, VocabSize)).</summary>
    int VocabSize { get; }

    /// <summary>The module tree (parameters(), train()/eval(), state_dict()).</summary>
    nn.Module Module { get; }

    /// <summary>The attention mask's direction: the family's own by default (BERT / MiniLM / DistilBERT bidirectional,
    /// Qwen2 causal); switchable for the paper's attention-direction question. Not saved in config.json.</summary>
    AttentionDirection Attention { get; set; }

    /// <summary>ids (B, T) int64 and attention mask (B, T) (1 = token, 0 = padding; any numeric or bool dtype)
    /// → last hidden states (B, T, H) float32.</summary>
    Tensor Forward(Tensor ids, Tensor mask);

    /// <summary>The word-embedding lookup: ids (B, T) → token vectors (B, T, H) (HF's inputs_embeds).</summary>
    Tensor EmbedTokens(Tensor ids);

    /// <summary>Forward from token vectors (B, T, H) instead of ids, as HF's inputs_embeds: positions (and segment 0)
    /// are added, then LayerNorm and the layers. Early fusion splices projected image vectors in here.
    /// Forward(ids, mask) == ForwardEmbeds(EmbedTokens(ids), mask).</summary>
    Tensor ForwardEmbeds(Tensor inputsEmbeds, Tensor mask);

    /// <summary>Writes config.json + model.safetensors in HF layout (atomic per file).</summary>
    void save_pretrained(string dir);

    /// <summary>Per-transformer-layer activation checkpointing while a graph is built (model.gradient_checkpointing):
    /// each layer keeps only its input and is recomputed in backward (<see cref="ViXml.Torch.ActivationCheckpoint"/>).
    /// Same gradients, less memory, about one more forward of time.</summary>
    bool GradientCheckpointing { get; set; }
}

/// <summary>Pooling of hidden states and L2 normalisation (sentence-transformers numerics).</summary>
public static class Pooling
{
    public static PoolingMode Parse(string s) => s.ToLowerInvariant() switch
    {
        "mean" => PoolingMode.Mean,
        "cls" => PoolingMode.Cls,
        "last" => PoolingMode.Last,
        _ => throw new ArgumentException($"unknown pooling '{s}' (expected mean, cls or last)"),
    };

    /// <summary>
    /// The pooling a sentence-transformers folder declares in <c>1_Pooling/config.json</c> (exactly one of
    /// pooling_mode_mean_tokens / pooling_mode_cls_token / pooling_mode_lasttoken true), or null when the folder has
    /// no such file. Modes we do not implement (max, mean_sqrt_len, weighted) are an error naming the file.
    /// </summary>
    public static PoolingMode? FromSentenceTransformers(string modelDir)
    {
        var file = Path.Combine(modelDir, "1_Pooling", "config.json");
        if (!File.Exists(file)) return null;
        using var doc = System.Text.Json.JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(file, 64L << 20));
        var on = doc.RootElement.EnumerateObject()
            .Where(p => p.Name.StartsWith("pooling_mode_", StringComparison.Ordinal) && p.Value.ValueKind == System.Text.Json.JsonValueKind.True)
            .Select(p => p.Name).ToList();
        return on switch
        {
            ["pooling_mode_mean_tokens"] => PoolingMode.Mean,
            ["pooling_mode_cls_token"] => PoolingMode.Cls,
            ["pooling_mode_lasttoken"] => PoolingMode.Last,
            _ => throw new Hf.HfConfigException(
                $"{file}: pooling {(on.Count == 0 ? "(none set)" : string.Join(" + ", on))} is not supported " +
                "(exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_lasttoken); pass --pooling"),
        };
    }

    /// <summary>
    /// hidden (B, T, H), mask (B, T) → (B, H) in float32 or wider (the one pooling of the library: encoders and the decoder).
    /// Mean: Σ mask·h / max(Σ mask, 1e-9) (sentence-transformers); Cls: position 0; Last: the last attended position of
    /// each row, so right, left and prompt-template padding (pads between text and suffix) alike (= sum(mask) − 1 for
    /// right padding; a row without any attended position gives position 0). Helper tensors live on hidden's device.
    /// </summary>
    public static Tensor Pool(Tensor hidden, Tensor mask, PoolingMode mode)
    {
        using var scope = NewDisposeScope();
        var h32 = hidden.AtLeastFloat32();
        Tensor pooled;
        switch (mode)
        {
            case PoolingMode.Mean:
            {
                var m = mask.to(h32.dtype, hidden.device).unsqueeze(-1);           // (B, T, 1)
                pooled = (h32 * m).sum(1) / m.sum(1).clamp_min(1e-9);                // (B, H)
                break;
            }
            case PoolingMode.Cls:
                pooled = h32.select(1, 0);                                           // (B, H)
                break;
            case PoolingMode.Last:
            {
                var (b, t, h) = (hidden.size(0), hidden.size(1), hidden.size(2));
                var positions = arange(t, dtype: ScalarType.Int64, device: hidden.device).view(1, t);   // (1, T)
                var last = (mask.to(hidden.device).ne(0).to(ScalarType.Int64) * positions).argmax(1);  // (B)
                pooled = h32.gather(1, last.view(b, 1, 1).expand(b, 1, h)).squeeze(1);                 // (B, H)
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(mode));
        }
        return pooled.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>x / max(‖x‖₂, 1e-12) per row.</summary>
    public static Tensor L2Normalize(Tensor x) => MetaSafe.Normalize(x, 1, 1e-12);

    /// <summary>Forward + pool (+ L2): ids/mask (B, T) → (B, H).</summary>
    public static Tensor Encode(this IEncoder encoder, Tensor ids, Tensor mask, PoolingMode mode, bool normalize = true)
    {
        using var scope = NewDisposeScope();
        var pooled = Pool(encoder.Forward(ids, mask), mask, mode);
        return (normalize ? L2Normalize(pooled) : pooled).MoveToOuterDisposeScope();
    }
}

/// <summary>Activation functions by their HF config names.</summary>
public static class Activations
{
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => F.gelu(x),                                    // erf form (HF GELUActivation)
        "gelu_new" or "gelu_pytorch_tanh" => F.gelu(x, GELU.Approximate.tanh), // tanh approximation
        "relu" => F.relu(x),
        _ => throw new ArgumentException($"unknown activation '{name}'"),
    };
}
