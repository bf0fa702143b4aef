using ViXml.Models;
using ViXml.Models.Hf;
using ViXml.Torch;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>
/// The Siamese (two-tower, shared weights) retriever: one encoder embeds queries and labels alike; hidden states are
/// pooled, optionally passed through a square linear map, and L2-normalised, so inner products are cosine similarities.
/// What is done with the labels' embeddings (plain inner products, or PRIME's enriched label side) is the label-side
/// component's business (<see cref="LabelSide.ILabelSide"/>).
/// </summary>
public sealed class SiameseModel : HfModule
{
    // Children live in fields named as registered (STYLE.md rule 2); the properties below only read them.
    private readonly IEncoder encoder;
    private readonly Linear? transform;
    private readonly ImageAdapter? image_adapter;
    private readonly LateFusion? late_fusion;

    public IEncoder Encoder => encoder;
    public PoolingMode Pooling { get; }
    /// <summary>Optional (H → H) linear map after pooling; null when model.linear is false.</summary>
    public Linear? Transform => transform;
    /// <summary>How image vectors join the text (none = text only).</summary>
    public FusionKind Fusion { get; }
    /// <summary>Image vector → hidden size (early and late fusion); registered as <c>image_adapter</c>.</summary>
    public ImageAdapter? ImageAdapter => image_adapter;
    /// <summary>The late-fusion attention; registered as <c>late_fusion</c>.</summary>
    public LateFusion? LateFusion => late_fusion;

    /// <summary>What a fused model adds to the encoder: the fusion kind, the bank's width and the adapter shape.</summary>
    public sealed record FusionSpec(FusionKind Kind, int ImageDim, AdapterKind Adapter, int MlpHidden, long Seed);

    public SiameseModel(IEncoder encoder, PoolingMode pooling, bool linear, FusionSpec? fusion = null) : base(nameof(SiameseModel))
    {
        this.encoder = encoder;
        Pooling = pooling;
        Fusion = fusion?.Kind ?? FusionKind.None;
        register_module("encoder", encoder.Module);
        if (linear)
        {
            transform = register_module("transform", nn.Linear(encoder.HiddenSize, encoder.HiddenSize));
            // Start at the identity so the head does not scramble a (pre)trained encoder's geometry.
            using (no_grad())
            {
                transform.weight.copy_(eye(encoder.HiddenSize));
                transform.bias!.zero_();
            }
        }
        if (fusion is { Kind: not FusionKind.None } f)
        {
            image_adapter = register_module("image_adapter", new ImageAdapter(f.ImageDim, encoder.HiddenSize, f.Adapter == AdapterKind.Mlp,
                f.MlpHidden, f.Seed));
            if (f.Kind == FusionKind.Late) late_fusion = register_module("late_fusion", new LateFusion(encoder.HiddenSize));
        }
    }

    public int Dim => Encoder.HiddenSize;

    /// <summary>The device the model's parameters live on (after <c>.to(device)</c>).</summary>
    public Device Device => parameters().First().device;

    /// <summary>ids, mask (B, T) (+ the items' image slots when the model fuses images) → unit vectors (B, H).
    /// Inputs may be host tensors: they are copied to the model's device here, except what a prompted decoder plans its
    /// prompt from on the host (ids, mask, image mask).</summary>
    public Tensor Embed(Tensor ids, Tensor mask, ImageBatch? images = null)
    {
        using var scope = NewDisposeScope();
        return Models.Pooling.L2Normalize(EmbedUnnormalised(ids, mask, images)).MoveToOuterDisposeScope();
    }

    /// <summary>The pooled (and, with model.linear, transformed) vectors before L2 normalisation (B, H): PRIME's u, the
    /// combiner's first token.</summary>
    public Tensor EmbedUnnormalised(Tensor ids, Tensor mask, ImageBatch? images = null)
    {
        using var scope = NewDisposeScope();
        var device = Device;
        bool host = Encoder is IPromptedEncoder;
        if (!host) (ids, mask) = (ids.to(device), mask.to(device));
        if (images is not null) images = new ImageBatch(images.Vectors.to(device), host ? images.Mask : images.Mask.to(device));
        if (Fusion != FusionKind.None && images is null)
            throw new ArgumentException($"this model fuses images ({Fusion.ToString().ToLowerInvariant()}); pass the items' image slots");
        Tensor pooled;
        if (Fusion == FusionKind.Early && Encoder is IPromptedEncoder { ImageSlots: > 0 } decoder)
        {
            // Decoder path: the prompt template's image slots ([T1][text][and its image][img1..imgS][eEOS], or an
            // image-first order) take the projected vectors; S ≥ K, slots beyond the bank's K stay masked.
            var (b, k) = (images!.Vectors.size(0), images.Vectors.size(1));
            int s = decoder.ImageSlots;
            if (k > s) throw new ArgumentException($"the bank has K = {k} images per item but the prompt template has {s} image slots");
            var img = ImageAdapter!.forward(images.Vectors);                         // (B, K, H)
            var slotMask = images.Mask;
            if (k < s)
            {
                img = cat([img, zeros(b, s - k, img.size(2), dtype: img.dtype, device: img.device)], 1);  // (B, S, H)
                slotMask = cat([slotMask, zeros(b, s - k, dtype: slotMask.dtype, device: slotMask.device)], 1);
            }
            pooled = decoder.EncodePooled(ids, mask, Pooling, img, slotMask);
        }
        else if (Fusion == FusionKind.Early)
        {
            var (hidden, full) = EncodeEarly(ids, mask, images!);                   // (B, K+T, H), (B, K+T)
            int k = (int)images!.Mask.size(1);
            // Mean pools over every unmasked position, images included (the reference); cls / last look at the text part.
            pooled = Pooling == PoolingMode.Mean
                ? Models.Pooling.Pool(hidden, full, Pooling)
                : Models.Pooling.Pool(hidden.narrow(1, k, ids.size(1)), mask, Pooling);
        }
        else
        {
            pooled = Encoder is IPromptedEncoder prompted                            // a decoder pools over its prompt
                ? prompted.EncodePooled(ids, mask, Pooling)
                : Models.Pooling.Pool(Encoder.Forward(ids, mask), mask, Pooling);    // (B, H)
            if (Fusion == FusionKind.Late)
                pooled = LateFusion!.forward(pooled, ImageAdapter!.forward(images!.Vectors), images.Mask);   // (B, H)
        }
        if (Transform is not null) pooled = Transform.forward(pooled);
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Early fusion (ViXML, encoder path): the K image vectors go through the adapter and are placed before the word
    /// embeddings, <c>[img1..imgK][CLS] tokens [SEP] pad</c>; empty slots are zero vectors with attention mask 0. The
    /// sequence then enters the encoder's inputs_embeds path, so — as in the reference, which prepends to the word
    /// embeddings before BertEmbeddings adds positions — image slot j gets position j (and segment 0) and text token i
    /// gets position K + i, whether or not a slot is filled: a masked slot changes nothing for the text.
    /// Returns the last hidden states (B, K+T, H) and the combined mask (B, K+T).
    /// </summary>
    public (Tensor Hidden, Tensor Mask) EncodeEarly(Tensor ids, Tensor mask, ImageBatch images)
    {
        using var scope = NewDisposeScope();
        var (b, t) = (ids.size(0), ids.size(1));
        var (vb, k) = (images.Vectors.size(0), images.Vectors.size(1));
        if (vb != b || images.Mask.size(0) != b || images.Mask.size(1) != k)
            throw new ArgumentException($"image slots ({vb}, {k}) and mask ({string.Join(", ", images.Mask.shape)}) do not match {b} texts");
        if (k + t > Encoder.MaxPositions)
            throw new ArgumentException($"{k} image slots + {t} tokens exceed the encoder's {Encoder.MaxPositions} positions");
        var img = ImageAdapter!.forward(images.Vectors);                             // (B, K, H)
        var words = Encoder.EmbedTokens(ids);                                        // (B, T, H)
        var x = cat([img.to(words.dtype), words], 1);                                // (B, K+T, H)
        var full = cat([images.Mask.to(mask.dtype, mask.device), mask], 1);         // (B, K+T)
        var hidden = Encoder.ForwardEmbeds(x, full);
        return (hidden.MoveToOuterDisposeScope(), full.MoveToOuterDisposeScope());
    }

    /// <summary>Parameters added by fusion (saved beside the HF encoder as image_adapter.safetensors).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> FusionStateDict() =>
        state_dict().Where(kv => kv.Key.StartsWith("image_adapter.", StringComparison.Ordinal)
                                 || kv.Key.StartsWith("late_fusion.", StringComparison.Ordinal));

    /// <summary>
    /// The frozen base's dtype from model.dtype (float32 | bfloat16; the legacy model.decoder.dtype bf16 | fp32 wins for
    /// a decoder when set). bfloat16 needs a frozen base: a qwen2 encoder with LoRA; every weight a BERT-family encoder
    /// trains keeps float32 (TorchSharp 0.107 has no autocast and no fp32-master scheme for them).
    /// </summary>
    public static ScalarType BaseDtype(ModelConfig m)
    {
        var (key, value) = m.Encoder == EncoderKind.Qwen2 && !string.IsNullOrEmpty(m.Decoder.Dtype)
            ? ("model.decoder.dtype", m.Decoder.Dtype) : ("model.dtype", m.Dtype);
        var dtype = value switch
        {
            "float32" or "fp32" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            _ => throw new ConfigException($"{key}: '{value}' is not float32 | bfloat16"),
        };
        if (dtype == ScalarType.BFloat16 && !(m.Encoder == EncoderKind.Qwen2 && m.Decoder.LoraR > 0))
            throw new ConfigException($"{key}: bfloat16 needs a frozen base (model.encoder: qwen2 with model.decoder.lora_r > 0); " +
                                      "a fully trained encoder keeps its weights in float32");
        return dtype;
    }

    /// <summary>Is this parameter part of the encoder (its own learning rate) rather than a head?</summary>
    public static bool IsEncoderParameter(string name) => name.StartsWith("encoder.", StringComparison.Ordinal);

    /// <summary>Sets model.attention on the encoder (native leaves the family's own direction).</summary>
    public static void ApplyAttention(IEncoder enc, AttentionKind kind)
    {
        if (kind == AttentionKind.Bidirectional) enc.Attention = AttentionDirection.Bidirectional;
        else if (kind == AttentionKind.Causal) enc.Attention = AttentionDirection.Causal;
    }

    /// <summary>Builds the model a configuration describes (random init from <paramref name="seed"/> or pretrained).</summary>
    public static SiameseModel Create(ModelConfig m, int vocabSize, long seed, FusionSpec? fusion = null)
    {
        var dtype = BaseDtype(m);
        IEncoder enc;
        if (m.Encoder == EncoderKind.Qwen2)
        {
            var d = m.Decoder; // Qwen2 backbone + LoRA + prompt template (lib/Models/Qwen2)
            enc = Models.Qwen2.Qwen2Encoders.ForTraining(Models.Qwen2.Qwen2Encoders.Tokenizer(m.Pretrained), m.Pretrained, m.Hidden,
                m.Layers, m.Heads, m.Intermediate, m.MaxPositions, d.LoraR, d.LoraAlpha, d.Rslora, d.LoraDropout, d.LoraTargets,
                d.Template, d.PromptPrefix, d.PromptSuffix, d.Positions, dtype == ScalarType.BFloat16 ? "bf16" : "fp32", seed);
        }
        else if (!string.IsNullOrEmpty(m.Pretrained)) enc = Encoders.Load(m.Pretrained);
        else
        {
            var cfg = new BertConfig
            {
                VocabSize = vocabSize, HiddenSize = m.Hidden, NumHiddenLayers = m.Layers, NumAttentionHeads = m.Heads,
                IntermediateSize = m.Intermediate, MaxPositionEmbeddings = m.MaxPositions,
                HiddenDropoutProb = m.Dropout, AttentionProbsDropoutProb = m.Dropout,
                Architectures = ["BertModel"],
            };
            enc = new Models.Bert.BertModel(cfg, addPoolingLayer: false, seed: seed);   // no pooler: we pool ourselves
        }
        if (fusion is { Kind: FusionKind.Early } && enc is IPromptedEncoder { ImageSlots: 0 })
        {
            enc.Dispose();
            throw new ConfigException($"model.decoder.template: '{m.Decoder.Template}' has no image slots; early fusion with a decoder needs one (t1-e-eeos, image-first, image-first-no-prefix)");
        }
        if (enc.VocabSize < vocabSize)
            throw new ConfigException($"model: the encoder has {enc.VocabSize} token ids but the vocabulary has {vocabSize}");
        ApplyAttention(enc, m.Attention);
        enc.GradientCheckpointing = m.GradientCheckpointing;
        manual_seed(seed + 1);
        return new SiameseModel(enc, m.Pooling switch
        {
            Config.Pooling.Mean => PoolingMode.Mean,
            Config.Pooling.Cls => PoolingMode.Cls,
            _ => PoolingMode.Last,
        }, m.Linear, fusion);
    }
}
