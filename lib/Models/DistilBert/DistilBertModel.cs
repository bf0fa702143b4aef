using ViXml.Models.Hf;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ViXml.Models.DistilBert;

// DistilBERT as in HF modeling_distilbert.py: no token types, post-LN blocks named sa_layer_norm / output_layer_norm,
// attention projections q_lin/k_lin/v_lin/out_lin, queries scaled before the product, masked_fill with finfo.min,
// every LayerNorm with eps 1e-12.

/// <summary>word + position embeddings, LayerNorm, dropout.</summary>
public sealed class Embeddings : HfModule
{
    public readonly Embedding word_embeddings, position_embeddings;
    public readonly LayerNorm LayerNorm;
    public readonly Dropout dropout;

    public Embeddings(DistilBertConfig c) : base(nameof(Embeddings))
    {
        word_embeddings = register_module("word_embeddings", HfEmbedding.Create(c.VocabSize, c.Dim, padding_idx: c.PadTokenId));
        position_embeddings = register_module("position_embeddings", HfEmbedding.Create(c.MaxPositionEmbeddings, c.Dim));
        LayerNorm = register_module("LayerNorm", nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps));
        dropout = register_module("dropout", nn.Dropout(c.Dropout));
    }

    public Tensor forward(Tensor ids)
    {
        using var words = MetaSafe.Embedding(word_embeddings, ids);
        return forward_embeds(words);
    }

    /// <summary>inputs_embeds (B, T, H) + positions, LayerNorm, dropout.</summary>
    public Tensor forward_embeds(Tensor words)
    {
        using var scope = NewDisposeScope();
        var positions = position_embeddings.weight.narrow(0, 0, words.size(1)); // (T, H)
        var x = MetaSafe.LayerNorm(LayerNorm, words + positions);
        return dropout.forward(x).MoveToOuterDisposeScope();
    }
}

public sealed class MultiHeadSelfAttention : HfModule
{
    public readonly Linear q_lin, k_lin, v_lin, out_lin;
    public readonly Dropout dropout;
    private readonly int _heads;

    public MultiHeadSelfAttention(DistilBertConfig c) : base(nameof(MultiHeadSelfAttention))
    {
        _heads = c.NHeads;
        q_lin = register_module("q_lin", nn.Linear(c.Dim, c.Dim));
        k_lin = register_module("k_lin", nn.Linear(c.Dim, c.Dim));
        v_lin = register_module("v_lin", nn.Linear(c.Dim, c.Dim));
        out_lin = register_module("out_lin", nn.Linear(c.Dim, c.Dim));
        dropout = register_module("dropout", nn.Dropout(c.AttentionDropout));
    }

    /// <summary>x (B, T, H), padding (B, 1, 1, T) bool (true = padding) or an additive float mask (B, 1, T, T) → (B, T, H).</summary>
    public Tensor forward(Tensor x, Tensor padding)
    {
        using var attend = padding.dtype == ScalarType.Bool ? MetaSafe.Not(padding) : padding.view(padding.shape);
        using var ctx = FusedSelfAttention.Forward(x, q_lin, k_lin, v_lin, _heads, attend, dropout);
        return out_lin.forward(ctx);
    }
}

public sealed class FFN : HfModule
{
    public readonly Linear lin1, lin2;
    public readonly Dropout dropout;
    private readonly string _act;

    public FFN(DistilBertConfig c) : base(nameof(FFN))
    {
        _act = c.Activation;
        lin1 = register_module("lin1", nn.Linear(c.Dim, c.HiddenDim));
        lin2 = register_module("lin2", nn.Linear(c.HiddenDim, c.Dim));
        dropout = register_module("dropout", nn.Dropout(c.Dropout));
    }

    public Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return dropout.forward(lin2.forward(Activations.Apply(_act, lin1.forward(x)))).MoveToOuterDisposeScope();
    }
}

public sealed class TransformerBlock : HfModule
{
    public readonly MultiHeadSelfAttention attention;
    public readonly LayerNorm sa_layer_norm, output_layer_norm;
    public readonly FFN ffn;

    public TransformerBlock(DistilBertConfig c) : base(nameof(TransformerBlock))
    {
        attention = register_module("attention", new MultiHeadSelfAttention(c));
        sa_layer_norm = register_module("sa_layer_norm", nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps));
        ffn = register_module("ffn", new FFN(c));
        output_layer_norm = register_module("output_layer_norm", nn.LayerNorm(c.Dim, DistilBertConfig.LayerNormEps));
    }

    public Tensor forward(Tensor x, Tensor padding)
    {
        using var scope = NewDisposeScope();
        var sa = MetaSafe.LayerNorm(sa_layer_norm, attention.forward(x, padding) + x);
        return MetaSafe.LayerNorm(output_layer_norm, ffn.forward(sa) + sa).MoveToOuterDisposeScope();
    }
}

public sealed class Transformer : HfModule
{
    public readonly HfModuleList<TransformerBlock> layer;

    public Transformer(DistilBertConfig c) : base(nameof(Transformer)) =>
        layer = register_module("layer", new HfModuleList<TransformerBlock>(Enumerable.Range(0, c.NLayers).Select(_ => new TransformerBlock(c))));
}

/// <summary>HF DistilBertModel: embeddings + transformer (no pooler).</summary>
public sealed class DistilBertModel : HfModule, IEncoder
{
    public readonly Embeddings embeddings;
    public readonly Transformer transformer;
    public readonly DistilBertConfig config;

    public HfConfig Config => config;
    public int HiddenSize => config.Dim;
    public int MaxPositions => config.MaxPositionEmbeddings;
    public int VocabSize => config.VocabSize;
    public nn.Module Module => this;
    public bool GradientCheckpointing { get; set; }

    /// <summary>Bidirectional (DistilBERT's own) or causal (padding and j ≤ i).</summary>
    public AttentionDirection Attention { get; set; } = AttentionDirection.Bidirectional;

    /// <summary>HF initialisation from a seed; with sinusoidal_pos_embds the position table is the fixed sinusoid
    /// table (frozen), as HF's create_sinusoidal_embeddings.</summary>
    public DistilBertModel(DistilBertConfig config, long seed = 0) : base(nameof(DistilBertModel))
    {
        this.config = config;
        embeddings = register_module("embeddings", new Embeddings(config));
        transformer = register_module("transformer", new Transformer(config));
        HfInit.Apply(this, config.InitializerRange, seed);
        if (config.SinusoidalPosEmbds) FillSinusoidal(embeddings.position_embeddings.weight, config.MaxPositionEmbeddings, config.Dim);
    }

    private static void FillSinusoidal(Tensor weight, int positions, int dim)
    {
        var table = new float[positions * dim];
        for (var pos = 0; pos < positions; pos++)
            for (var j = 0; j < dim; j++)
            {
                var angle = pos / Math.Pow(10000, 2.0 * (j / 2) / dim);
                table[pos * dim + j] = (float)(j % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            }
        using var _ = no_grad();
        using var src = tensor(table, [positions, dim]);
        weight.copy_(src);
        weight.requires_grad = false;
    }

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
        // Bidirectional: a bool mask (B, 1, 1, T), true at padding. Causal: an additive float mask (B, 1, T, T) with
        // finfo.min where the key is padding or after the query, as HF's masked_fill would give it; float, because a
        // row with every key masked (a masked first slot) must stay finite, which a bool mask does not guarantee.
        var padding = Attention == AttentionDirection.Causal
            ? Qwen2.Qwen2Ops.AdditiveMask(mask, ScalarType.Float32, causal: true)
            : mask.eq(0).view(b, 1, 1, t);
        var x = embeddings.forward_embeds(inputsEmbeds);
        foreach (var l in transformer.layer)
        {
            var next = GradientCheckpointing
                ? ActivationCheckpoint.Run((h, e) => l.forward(h, e[0]), x, [padding], l.parameters())
                : l.forward(x, padding);
            x.Dispose();
            x = next;
        }
        return x.MoveToOuterDisposeScope();
    }

    public void save_pretrained(string dir) => HfCheckpoint.Save(this, config, "DistilBertModel", dir);

    /// <summary>Strict load (DistilBertModel or DistilBertForMaskedLM layout; F32/F16/BF16 storage).</summary>
    public static DistilBertModel from_pretrained(string dir)
    {
        var cfg = HfConfig.Load(dir) as DistilBertConfig
                  ?? throw new HfConfigException($"{Path.Combine(dir, "config.json")}: model_type is not 'distilbert'");
        long h = cfg.Dim, i = cfg.HiddenDim;
        HfCheckpoint.Preflight(dir, (long)cfg.VocabSize * h + (long)cfg.MaxPositionEmbeddings * h + cfg.NLayers * (4 * h * h + 2 * h * i),
            ("word_embeddings.weight", [cfg.VocabSize, h]), ("position_embeddings.weight", [cfg.MaxPositionEmbeddings, h]),
            ($"layer.{cfg.NLayers - 1}.ffn.lin1.weight", [i, h]));
        var model = new DistilBertModel(cfg);
        try
        {
            HfCheckpoint.LoadInto(model, dir, Layouts.DistilBert);
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
