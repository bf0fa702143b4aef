namespace ViXml.Models.Hf;

/// <summary>
/// HF <c>BertConfig</c> (model_type "bert"; also MiniLM, which is BERT-shaped). Shape keys are required; the others take
/// HF's defaults when absent, as HF does.
/// </summary>
[HfModelType("bert")]
public sealed record BertConfig : HfConfig, IEncoderConfig
{
    public override string ModelType => "bert";

    /// <summary>Architectures whose checkpoints hold a BERT encoder we can load (heads go to the tensor allow-list).</summary>
    public static readonly IReadOnlyList<string> Architectures_ = ["BertModel", "BertForMaskedLM", "BertForPreTraining"];
    public override IReadOnlyList<string> KnownArchitectures => Architectures_;

    /// <summary>Token vocabulary size (rows of word_embeddings).</summary>
    public int VocabSize { get; init; } = 30522;
    /// <summary>Width of every hidden state (H).</summary>
    public int HiddenSize { get; init; } = 768;
    /// <summary>Number of transformer layers.</summary>
    public int NumHiddenLayers { get; init; } = 12;
    /// <summary>Attention heads per layer; H must divide by it.</summary>
    public int NumAttentionHeads { get; init; } = 12;
    /// <summary>Width of the feed-forward inner layer.</summary>
    public int IntermediateSize { get; init; } = 3072;
    /// <summary>Feed-forward activation: "gelu" (erf), "gelu_new"/"gelu_pytorch_tanh" (tanh form) or "relu".</summary>
    public string HiddenAct { get; init; } = "gelu";
    /// <summary>Dropout on embeddings and residual branches (training only).</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;
    /// <summary>Dropout on attention probabilities (training only).</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    /// <summary>Rows of the learned absolute position table (maximum sequence length).</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>Rows of the segment (token type) table; we always feed segment 0.</summary>
    public int TypeVocabSize { get; init; } = 2;
    /// <summary>Std of the normal init of weight matrices and embeddings.</summary>
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>LayerNorm epsilon.</summary>
    public double LayerNormEps { get; init; } = 1e-12;
    /// <summary>Id of [PAD] (its embedding row is zeroed at init, as HF does).</summary>
    public int PadTokenId { get; init; } = 0;

    /// <summary>Activations we implement.</summary>
    public static readonly IReadOnlyList<string> Activations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    public static HfConfig Read(HfConfigReader r)
    {
        var c = new BertConfig
        {
            Architectures = ReadArchitectures(r, Architectures_),
            VocabSize = r.Int("vocab_size"),
            HiddenSize = r.Int("hidden_size"),
            NumHiddenLayers = r.Int("num_hidden_layers"),
            NumAttentionHeads = r.Int("num_attention_heads"),
            IntermediateSize = r.Int("intermediate_size"),
            HiddenAct = r.String("hidden_act", "gelu"),
            HiddenDropoutProb = r.Double("hidden_dropout_prob", 0.1),
            AttentionProbsDropoutProb = r.Double("attention_probs_dropout_prob", 0.1),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 512),
            TypeVocabSize = r.Int("type_vocab_size", 2),
            InitializerRange = r.Double("initializer_range", 0.02),
            LayerNormEps = r.Double("layer_norm_eps", 1e-12),
            PadTokenId = r.IntOrNull("pad_token_id") ?? 0,
        };
        // Keys we read only to refuse values that would change the architecture.
        var pet = r.String("position_embedding_type", "absolute");
        if (pet != "absolute") throw r.Unsupported("position_embedding_type", $"'{pet}' is not supported (only 'absolute')");
        if (r.Bool("is_decoder", false)) throw r.Unsupported("is_decoder", "a decoder BERT (causal mask) is not supported");
        if (r.Bool("add_cross_attention", false)) throw r.Unsupported("add_cross_attention", "cross-attention is not supported");
        c.Validate(r);
        r.Finish("bert", IgnoredKeys);
        return c;
    }

    private void Validate(HfConfigReader r)
    {
        Positive(r, "vocab_size", VocabSize);
        Positive(r, "hidden_size", HiddenSize);
        Positive(r, "num_hidden_layers", NumHiddenLayers);
        Positive(r, "num_attention_heads", NumAttentionHeads);
        Positive(r, "intermediate_size", IntermediateSize);
        Positive(r, "max_position_embeddings", MaxPositionEmbeddings);
        Positive(r, "type_vocab_size", TypeVocabSize);
        if (HiddenSize % NumAttentionHeads != 0)
            throw r.Unsupported("hidden_size", $"{HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        if (!Activations.Contains(HiddenAct))
            throw r.Unsupported("hidden_act", $"'{HiddenAct}' is not supported (known: {string.Join(", ", Activations)})");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw r.Unsupported("pad_token_id", $"{PadTokenId} is outside the vocabulary [0, {VocabSize})");
        if (!(LayerNormEps > 0)) throw r.Unsupported("layer_norm_eps", $"must be > 0, got {LayerNormEps}");
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Fields() =>
    [
        new("vocab_size", VocabSize), new("hidden_size", HiddenSize), new("num_hidden_layers", NumHiddenLayers),
        new("num_attention_heads", NumAttentionHeads), new("intermediate_size", IntermediateSize),
        new("hidden_act", HiddenAct), new("hidden_dropout_prob", HiddenDropoutProb),
        new("attention_probs_dropout_prob", AttentionProbsDropoutProb),
        new("max_position_embeddings", MaxPositionEmbeddings), new("type_vocab_size", TypeVocabSize),
        new("initializer_range", InitializerRange), new("layer_norm_eps", LayerNormEps), new("pad_token_id", PadTokenId),
        new("position_embedding_type", "absolute"), new("use_cache", true),
    ];

    /// <summary>sentence-transformers/paraphrase-MiniLM-L3-v2 (HF config values).</summary>
    public static BertConfig MiniLmL3 => new()
    {
        VocabSize = 30522, HiddenSize = 384, NumHiddenLayers = 3, NumAttentionHeads = 12, IntermediateSize = 1536,
        HiddenAct = "gelu", HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1, MaxPositionEmbeddings = 512,
        TypeVocabSize = 2, InitializerRange = 0.02, LayerNormEps = 1e-12, PadTokenId = 0,
    };

    /// <summary>bert-base-uncased (HF config values).</summary>
    public static BertConfig BertBaseUncased => new()
    {
        VocabSize = 30522, HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, IntermediateSize = 3072,
        HiddenAct = "gelu", HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1, MaxPositionEmbeddings = 512,
        TypeVocabSize = 2, InitializerRange = 0.02, LayerNormEps = 1e-12, PadTokenId = 0,
    };
}
