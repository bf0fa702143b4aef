using ViXml.Models.Hf;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ViXml.Models.Bert;

// BERT (and MiniLM, which is BERT-shaped) as in HF modeling_bert.py with eager attention. Every module is registered
// under the HF name, so state_dict() keys are exactly BertModel's checkpoint keys
// ("encoder.layer.0.attention.self.query.weight", "embeddings.LayerNorm.bias", ...).

/// <summary>word + token type (always segment 0) + absolute position embeddings, then LayerNorm and dropout.</summary>
public sealed class BertEmbeddings : HfModule
{
    public readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    public readonly Dropout dropout;

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = register_module("word_embeddings", HfEmbedding.Create(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId));
        position_embeddings = register_module("position_embeddings", HfEmbedding.Create(c.MaxPositionEmbeddings, c.HiddenSize));
        token_type_embeddings = register_module("token_type_embeddings", HfEmbedding.Create(c.TypeVocabSize, c.HiddenSize));
        LayerNorm = register_module("LayerNorm", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        dropout = register_module("dropout", nn.Dropout(c.HiddenDropoutProb));
    }

    /// <summary>ids (B, T) → (B, T, H).</summary>
    public Tensor forward(Tensor ids)
    {
        using var words = MetaSafe.Embedding(word_embeddings, ids);                            // (B, T, H)
        return forward_embeds(words);
    }

    /// <summary>HF's inputs_embeds path: token vectors (B, T, H) (word embeddings, or any vectors spliced in, e.g.
    /// projected image embeddings) + segment 0 + positions, LayerNorm, dropout.</summary>
    public Tensor forward_embeds(Tensor words)
    {
        using var scope = NewDisposeScope();
        var t = words.size(1);
        var segment0 = token_type_embeddings.weight.select(0, 0);                   // (H): token_type_ids are all 0
        var positions = position_embeddings.weight.narrow(0, 0, t);                // (T, H): position ids 0..T-1
        // Same order of additions as HF: (inputs_embeds + token_type_embeddings) + position_embeddings.
        var x = MetaSafe.LayerNorm(LayerNorm, words + segment0 + positions);
        return dropout.forward(x).MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention: softmax(QKᵀ/√d + mask) V.</summary>
public sealed class BertSelfAttention : HfModule
{
    public readonly Linear query, key, value;
    public readonly Dropout dropout;
    private readonly int _heads;

    public BertSelfAttention(BertConfig c) : base(nameof(BertSelfAttention))
    {
        _heads = c.NumAttentionHeads;
        query = register_module("query", nn.Linear(c.HiddenSize, c.HiddenSize));
        key = register_module("key", nn.Linear(c.HiddenSize, c.HiddenSize));
        value = register_module("value", nn.Linear(c.HiddenSize, c.HiddenSize));
        dropout = register_module("dropout", nn.Dropout(c.AttentionProbsDropoutProb));
    }

    /// <summary>x (B, T, H), additive mask (B, 1, 1, T) → context (B, T, H).</summary>
    public Tensor forward(Tensor x, Tensor additiveMask) =>
        FusedSelfAttention.Forward(x, query, key, value, _heads, additiveMask, dropout);
}

public sealed class BertAttention : HfModule
{
    public readonly BertSelfAttention self;
    public readonly BertOutput output;

    public BertAttention(BertConfig c) : base(nameof(BertAttention))
    {
        self = register_module("self", new BertSelfAttention(c));
        output = register_module("output", new BertOutput(c.HiddenSize, c));
    }

    public Tensor forward(Tensor x, Tensor additiveMask)
    {
        using var ctx = self.forward(x, additiveMask);
        return output.forward(ctx, x);
    }
}

/// <summary>Feed-forward up-projection and activation.</summary>
public sealed class BertIntermediate : HfModule
{
    public readonly Linear dense;
    private readonly string _act;

    public BertIntermediate(BertConfig c) : base(nameof(BertIntermediate))
    {
        _act = c.HiddenAct;
        dense = register_module("dense", nn.Linear(c.HiddenSize, c.IntermediateSize));
    }

    public Tensor forward(Tensor x)
    {
        using var h = dense.forward(x);
        return Activations.Apply(_act, h);
    }
}

/// <summary>
/// dense (in → H), dropout, residual, LayerNorm: HF's BertSelfOutput (attention.output, in = H) and BertOutput
/// (layer.output, in = intermediate size) are the same module with a different input width.
/// </summary>
public sealed class BertOutput : HfModule
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;
    public readonly Dropout dropout;

    public BertOutput(int inFeatures, BertConfig c) : base(nameof(BertOutput))
    {
        dense = register_module("dense", nn.Linear(inFeatures, c.HiddenSize));
        LayerNorm = register_module("LayerNorm", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        dropout = register_module("dropout", nn.Dropout(c.HiddenDropoutProb));
    }

    public Tensor forward(Tensor h, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return MetaSafe.LayerNorm(LayerNorm, dropout.forward(dense.forward(h)) + residual).MoveToOuterDisposeScope();
    }
}

public sealed class BertLayer : HfModule
{
    public readonly BertAttention attention;
    public readonly BertIntermediate intermediate;
    public readonly BertOutput output;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = register_module("attention", new BertAttention(c));
        intermediate = register_module("intermediate", new BertIntermediate(c));
        output = register_module("output", new BertOutput(c.IntermediateSize, c));
    }

    /// <summary>(B, T, H) → (B, T, H).</summary>
    public Tensor forward(Tensor x, Tensor additiveMask)
    {
        using var scope = NewDisposeScope();
        var a = attention.forward(x, additiveMask);
        return output.forward(intermediate.forward(a), a).MoveToOuterDisposeScope();
    }
}

public sealed class BertEncoder : HfModule
{
    public readonly HfModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        layer = register_module("layer", new HfModuleList<BertLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c))));
    }
}

/// <summary>tanh(dense(h[:, 0])): BERT's next-sentence pooler. Kept so checkpoints round-trip; our pooling does not use it.</summary>
public sealed class BertPooler : HfModule
{
    public readonly Linear dense;

    public BertPooler(BertConfig c) : base(nameof(BertPooler)) => dense = register_module("dense", nn.Linear(c.HiddenSize, c.HiddenSize));

    public Tensor forward(Tensor hidden)
    {
        using var first = hidden.select(1, 0);
        using var d = dense.forward(first);
        return d.tanh();
    }
}

/// <summary>HF BertModel: embeddings, encoder, optional pooler.</summary>
public sealed class BertModel : HfModule, IEncoder
{
    public readonly BertEmbeddings embeddings;
    public readonly BertEncoder encoder;
    public readonly BertPooler? pooler;
    public readonly BertConfig config;

    public HfConfig Config => config;
    public int HiddenSize => config.HiddenSize;
    public int MaxPositions => config.MaxPositionEmbeddings;
    public int VocabSize => config.VocabSize;
    public nn.Module Module => this;
    public bool GradientCheckpointing { get; set; }

    /// <summary>Bidirectional (BERT's own) or causal: the padding mask combined with a lower-triangular one, as HF's
    /// BertModel with is_decoder builds it.</summary>
    public AttentionDirection Attention { get; set; } = AttentionDirection.Bidirectional;

    /// <summary>Builds the model with HF's initialisation (normal(0, initializer_range) for matrices and embeddings,
    /// zero biases and [PAD] row, unit LayerNorm), drawn from a generator seeded with <paramref name="seed"/>.</summary>
    public BertModel(BertConfig config, bool addPoolingLayer = true, long seed = 0) : base(nameof(BertModel))
    {
        this.config = config;
        embeddings = register_module("embeddings", new BertEmbeddings(config));
        encoder = register_module("encoder", new BertEncoder(config));
        if (addPoolingLayer) pooler = register_module("pooler", new BertPooler(config));
        HfInit.Apply(this, config.InitializerRange, seed);
    }

    /// <summary>ids (B, T) int64, mask (B, T) → last hidden states (B, T, H).</summary>
    public Tensor Forward(Tensor ids, Tensor mask)
    {
        using var words = EmbedTokens(ids);
        return ForwardEmbeds(words, mask);
    }

    public Tensor EmbedTokens(Tensor ids) => MetaSafe.Embedding(embeddings.word_embeddings, ids);

    public Tensor ForwardEmbeds(Tensor inputsEmbeds, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var (b, t) = (inputsEmbeds.size(0), inputsEmbeds.size(1));
        if (t > config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {t} exceeds max_position_embeddings {config.MaxPositionEmbeddings}");
        // HF's extended mask: (1 - mask) * finfo(float32).min, added to the scores → (B, 1, 1, T); causal: the padding
        // mask and j ≤ i together, finfo.min where either forbids → (B, 1, T, T).
        var additive = Attention == AttentionDirection.Causal
            ? Qwen2.Qwen2Ops.AdditiveMask(mask, ScalarType.Float32, causal: true)
            : ((mask.to(ScalarType.Float32) - 1.0) * float.MaxValue).view(b, 1, 1, t);
        var x = embeddings.forward_embeds(inputsEmbeds);
        foreach (var l in encoder.layer)
        {
            var next = GradientCheckpointing
                ? ActivationCheckpoint.Run((h, e) => l.forward(h, e[0]), x, [additive], l.parameters())
                : l.forward(x, additive);
            x.Dispose();
            x = next;
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>tanh pooler output (B, H); null when the model has no pooler.</summary>
    public Tensor? Pooler(Tensor hidden) => pooler?.forward(hidden);

    public void save_pretrained(string dir) => HfCheckpoint.Save(this, config, "BertModel", dir);

    /// <summary>Strict load from an HF folder (BertModel, BertForMaskedLM, BertForPreTraining or sentence-transformers
    /// layout; F32/F16/BF16 storage). The pooler is built iff the checkpoint has one.</summary>
    public static BertModel from_pretrained(string dir)
    {
        var cfg = HfConfig.Load(dir) as BertConfig
                  ?? throw new HfConfigException($"{Path.Combine(dir, "config.json")}: model_type is not 'bert'");
        long h = cfg.HiddenSize, i = cfg.IntermediateSize;
        HfCheckpoint.Preflight(dir, (long)cfg.VocabSize * h + (long)cfg.MaxPositionEmbeddings * h + cfg.NumHiddenLayers * (4 * h * h + 2 * h * i),
            ("word_embeddings.weight", [cfg.VocabSize, h]), ("position_embeddings.weight", [cfg.MaxPositionEmbeddings, h]),
            ("token_type_embeddings.weight", [cfg.TypeVocabSize, h]), ($"layer.{cfg.NumHiddenLayers - 1}.intermediate.dense.weight", [i, h]));
        var names = HfCheckpoint.Inspect(dir).Select(t => CheckpointKeys.Canonical(t.Name)).ToHashSet();
        var hasPooler = Layouts.Bert.Prefixes.Any(p => names.Contains(p + "pooler.dense.weight"));
        var model = new BertModel(cfg, hasPooler);
        try
        {
            HfCheckpoint.LoadInto(model, dir, Layouts.Bert);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }
}
