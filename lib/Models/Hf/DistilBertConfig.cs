namespace ViXml.Models.Hf;

/// <summary>HF <c>DistilBertConfig</c> (model_type "distilbert"). Its LayerNorm eps is fixed at 1e-12 in HF's code.</summary>
[HfModelType("distilbert")]
public sealed record DistilBertConfig : HfConfig, IEncoderConfig
{
    public override string ModelType => "distilbert";

    public static readonly IReadOnlyList<string> Architectures_ = ["DistilBertModel", "DistilBertForMaskedLM"];
    public override IReadOnlyList<string> KnownArchitectures => Architectures_;

    /// <summary>Keys of DistilBertConfig that only concern task heads or weight tying of the MLM head.</summary>
    public static readonly IReadOnlySet<string> OwnIgnoredKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "qa_dropout", "seq_classif_dropout", "tie_weights_",
    };

    /// <summary>Token vocabulary size.</summary>
    public int VocabSize { get; init; } = 30522;
    /// <summary>Rows of the position table (maximum sequence length).</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>Position table initialised with fixed sinusoids (and frozen) instead of learned; loading uses the stored table either way.</summary>
    public bool SinusoidalPosEmbds { get; init; }
    /// <summary>Number of transformer blocks.</summary>
    public int NLayers { get; init; } = 6;
    /// <summary>Attention heads per block; dim must divide by it.</summary>
    public int NHeads { get; init; } = 12;
    /// <summary>Hidden width (H), HF name "dim".</summary>
    public int Dim { get; init; } = 768;
    /// <summary>Feed-forward inner width, HF name "hidden_dim".</summary>
    public int HiddenDim { get; init; } = 3072;
    /// <summary>Dropout on embeddings and residual branches (training only).</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>Dropout on attention probabilities (training only).</summary>
    public double AttentionDropout { get; init; } = 0.1;
    /// <summary>Feed-forward activation: "gelu" (erf) or "relu".</summary>
    public string Activation { get; init; } = "gelu";
    /// <summary>Std of the normal init.</summary>
    public double InitializerRange { get; init; } = 0.02;
    /// <summary>Id of [PAD].</summary>
    public int PadTokenId { get; init; } = 0;

    /// <summary>DistilBERT's LayerNorms use this eps regardless of the config (HF hard-codes it).</summary>
    public const double LayerNormEps = 1e-12;

    public int HiddenSize => Dim;

    public static HfConfig Read(HfConfigReader r)
    {
        var c = new DistilBertConfig
        {
            Architectures = ReadArchitectures(r, Architectures_),
            VocabSize = r.Int("vocab_size"),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 512),
            SinusoidalPosEmbds = r.Bool("sinusoidal_pos_embds", false),
            NLayers = r.Int("n_layers"),
            NHeads = r.Int("n_heads"),
            Dim = r.Int("dim"),
            HiddenDim = r.Int("hidden_dim"),
            Dropout = r.Double("dropout", 0.1),
            AttentionDropout = r.Double("attention_dropout", 0.1),
            Activation = r.String("activation", "gelu"),
            InitializerRange = r.Double("initializer_range", 0.02),
            PadTokenId = r.IntOrNull("pad_token_id") ?? 0,
        };
        Positive(r, "vocab_size", c.VocabSize);
        Positive(r, "max_position_embeddings", c.MaxPositionEmbeddings);
        Positive(r, "n_layers", c.NLayers);
        Positive(r, "n_heads", c.NHeads);
        Positive(r, "dim", c.Dim);
        Positive(r, "hidden_dim", c.HiddenDim);
        if (c.Dim % c.NHeads != 0) throw r.Unsupported("dim", $"{c.Dim} is not a multiple of n_heads {c.NHeads}");
        if (c.Activation is not ("gelu" or "relu"))
            throw r.Unsupported("activation", $"'{c.Activation}' is not supported (known: gelu, relu)");
        if (c.PadTokenId < 0 || c.PadTokenId >= c.VocabSize)
            throw r.Unsupported("pad_token_id", $"{c.PadTokenId} is outside the vocabulary [0, {c.VocabSize})");
        r.Finish("distilbert", new HashSet<string>(IgnoredKeys.Concat(OwnIgnoredKeys)));
        return c;
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Fields() =>
    [
        new("vocab_size", VocabSize), new("max_position_embeddings", MaxPositionEmbeddings),
        new("sinusoidal_pos_embds", SinusoidalPosEmbds), new("n_layers", NLayers), new("n_heads", NHeads),
        new("dim", Dim), new("hidden_dim", HiddenDim), new("dropout", Dropout), new("attention_dropout", AttentionDropout),
        new("activation", Activation), new("initializer_range", InitializerRange), new("pad_token_id", PadTokenId),
        new("qa_dropout", 0.1), new("seq_classif_dropout", 0.2), new("tie_weights_", true),
    ];

    /// <summary>distilbert-base-uncased (HF config values).</summary>
    public static DistilBertConfig BaseUncased => new()
    {
        VocabSize = 30522, MaxPositionEmbeddings = 512, SinusoidalPosEmbds = false, NLayers = 6, NHeads = 12, Dim = 768,
        HiddenDim = 3072, Dropout = 0.1, AttentionDropout = 0.1, Activation = "gelu", InitializerRange = 0.02, PadTokenId = 0,
    };
}
