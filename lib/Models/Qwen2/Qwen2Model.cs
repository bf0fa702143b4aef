using ViXml.Models.Hf;
using ViXml.Models.Lora;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models.Qwen2;

/// <summary>Qwen2RMSNorm: weight (H), computed in float32.</summary>
public sealed class Qwen2RMSNorm : HfModule<Tensor, Tensor>
{
    // Fields named exactly as registered (HF keys): Module.to() replaces Parameter objects and re-binds such fields;
    // a get-only property made .to() throw "Property set method not found".
    public readonly Parameter weight;
    public readonly double eps;

    public Qwen2RMSNorm(long hidden, double eps, ScalarType? dtype = null) : base(nameof(Qwen2RMSNorm))
    {
        this.eps = eps;
        weight = register_parameter("weight", ones([hidden], dtype: dtype));
    }

    public override Tensor forward(Tensor x) => Qwen2Ops.RmsNorm(x, weight, eps);
}

/// <summary>How Qwen2 attention is computed (HF's attn_implementation).</summary>
public enum Qwen2AttentionKind
{
    /// <summary>F.scaled_dot_product_attention with the additive mask (default): no (B, nh, T, T) probability tensors
    /// kept for backward on CPU's flash kernel; softmax accumulates in float32 for bfloat16 inputs.</summary>
    Sdpa,
    /// <summary>HF's eager path: scores, fp32 softmax, dropout and the product as separate ops (kept for the bench and
    /// as a reference).</summary>
    Eager,
}

/// <summary>Grouped-query self-attention with rotary positions; bias on q/k/v, none on o.</summary>
public sealed class Qwen2Attention : HfModule
{
    public readonly LoraLinear q_proj, k_proj, v_proj, o_proj;
    private readonly int _heads, _kvHeads, _headDim;
    private readonly double _dropout;
    /// <summary>SDPA (default) or eager; <see cref="Qwen2Model.UseAttention"/> sets it for every layer.</summary>
    public Qwen2AttentionKind Kind = Qwen2AttentionKind.Sdpa;

    public Qwen2Attention(Qwen2Config c, ScalarType? dtype) : base(nameof(Qwen2Attention))
    {
        _heads = c.NumAttentionHeads;
        _kvHeads = c.NumKeyValueHeads;
        _headDim = c.HeadDim;
        _dropout = c.AttentionDropout;
        long H = c.HiddenSize, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        q_proj = register_module("q_proj", new LoraLinear(H, (long)_heads * _headDim, hasBias: true, dtype));
        k_proj = register_module("k_proj", new LoraLinear(H, kv, hasBias: true, dtype));
        v_proj = register_module("v_proj", new LoraLinear(H, kv, hasBias: true, dtype));
        o_proj = register_module("o_proj", new LoraLinear((long)_heads * _headDim, H, hasBias: false, dtype));
    }

    /// <param name="x">(B, T, H)</param>
    /// <param name="cos">(B, 1, T, hd)</param>
    /// <param name="sin">(B, 1, T, hd)</param>
    /// <param name="mask">additive (B, 1, T, T)</param>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long B = x.size(0), T = x.size(1);
        var q = q_proj.forward(x).view(B, T, _heads, _headDim).transpose(1, 2);      // (B, nh, T, hd)
        var k = k_proj.forward(x).view(B, T, _kvHeads, _headDim).transpose(1, 2);    // (B, nkv, T, hd)
        var v = v_proj.forward(x).view(B, T, _kvHeads, _headDim).transpose(1, 2);    // (B, nkv, T, hd)
        q = Qwen2Ops.ApplyRope(q, cos, sin);
        k = Qwen2Ops.ApplyRope(k, cos, sin);
        // TorchSharp 0.107's SDPA has no enable_gqa: K/V are repeated to the query's head count (a view + one copy).
        k = Qwen2Ops.RepeatKv(k, _heads / _kvHeads);                                  // (B, nh, T, hd)
        v = Qwen2Ops.RepeatKv(v, _heads / _kvHeads);
        double p = _dropout > 0 && training ? _dropout : 0.0;
        Tensor ctx;                                                                    // (B, nh, T, hd)
        if (Kind == Qwen2AttentionKind.Sdpa)
            // Our prompt layout puts pads between text and suffix, so the causal + padding mask is passed in full
            // (no is_causal shortcut). Scale 1/√hd is SDPA's default, as HF's.
            ctx = MetaSafe.Attention(q, k, v, mask, p);
        else
        {
            var scores = q.matmul_checked(k.transpose(2, 3)) * Math.Pow(_headDim, -0.5) + mask;    // (B, nh, T, T)
            var probs = scores.softmax(-1, ScalarType.Float32).to(q.dtype);
            if (p > 0) probs = F.dropout(probs, p, true);
            ctx = probs.matmul_checked(v);
        }
        var o = ctx.transpose(1, 2).contiguous().reshape(B, T, (long)_heads * _headDim); // (B, T, H)
        return o_proj.forward(o).MoveToOuterDisposeScope();
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)); no biases.</summary>
public sealed class Qwen2MLP : HfModule<Tensor, Tensor>
{
    public readonly LoraLinear gate_proj, up_proj, down_proj;

    public Qwen2MLP(Qwen2Config c, ScalarType? dtype) : base(nameof(Qwen2MLP))
    {
        gate_proj = register_module("gate_proj", new LoraLinear(c.HiddenSize, c.IntermediateSize, hasBias: false, dtype));
        up_proj = register_module("up_proj", new LoraLinear(c.HiddenSize, c.IntermediateSize, hasBias: false, dtype));
        down_proj = register_module("down_proj", new LoraLinear(c.IntermediateSize, c.HiddenSize, hasBias: false, dtype));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(F.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>Pre-norm decoder block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class Qwen2DecoderLayer : HfModule
{
    public readonly Qwen2Attention self_attn;
    public readonly Qwen2MLP mlp;
    public readonly Qwen2RMSNorm input_layernorm, post_attention_layernorm;

    public Qwen2DecoderLayer(Qwen2Config c, ScalarType? dtype) : base(nameof(Qwen2DecoderLayer))
    {
        self_attn = register_module("self_attn", new Qwen2Attention(c, dtype));
        mlp = register_module("mlp", new Qwen2MLP(c, dtype));
        input_layernorm = register_module("input_layernorm", new Qwen2RMSNorm(c.HiddenSize, c.RmsNormEps, dtype));
        post_attention_layernorm = register_module("post_attention_layernorm", new Qwen2RMSNorm(c.HiddenSize, c.RmsNormEps, dtype));
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor mask)
    {
        using var scope = NewDisposeScope();
        x = x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask);
        x = x + mlp.forward(post_attention_layernorm.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The Qwen2 decoder without its LM head (HF Qwen2Model), used as an encoder: last hidden states, then mean or
/// last-token pooling. Module names equal HF's below the "model." prefix of Qwen2ForCausalLM checkpoints
/// (embed_tokens, layers.N.self_attn.q_proj, ..., norm). Compute dtype = parameter dtype (float32 or bfloat16).
/// </summary>
public sealed class Qwen2Model : HfModule, IEncoder
{
    public Qwen2Config Config { get; }
    public readonly Embedding embed_tokens;
    public readonly HfModuleList<Qwen2DecoderLayer> layers;
    public readonly Qwen2RMSNorm norm;

    /// <summary>Builds the module with placeholder weights (call <see cref="InitWeights"/> or load a checkpoint).</summary>
    public Qwen2Model(Qwen2Config config, ScalarType dtype = ScalarType.Float32) : base(nameof(Qwen2Model))
    {
        config.Validate();
        Config = config;
        embed_tokens = register_module("embed_tokens", HfEmbedding.Create(config.VocabSize, config.HiddenSize, dtype: dtype));
        layers = register_module("layers", new HfModuleList<Qwen2DecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new Qwen2DecoderLayer(config, dtype))));
        norm = register_module("norm", new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps, dtype));
    }

    /// <summary>The compute dtype (that of the final norm's weight; the base is one dtype throughout).</summary>
    public ScalarType DType => norm.weight.dtype;

    /// <summary>The device the parameters live on (helper tensors of forward are made there).</summary>
    public Device Device => norm.weight.device;

    /// <summary>HF's _init_weights for from-scratch training: linears and embeddings N(0, initializer_range), biases 0,
    /// norms 1. LoRA adapters added later keep their own init.</summary>
    public void InitWeights(Generator? generator = null)
    {
        using var _ = no_grad();
        var std = Config.InitializerRange;
        foreach (var (name, p) in named_parameters())
        {
            if (name.Contains(".lora_")) continue;
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) nn.init.ones_(p);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) nn.init.zeros_(p);
            else nn.init.normal_(p, 0, std, generator);
        }
    }

    /// <summary>Chooses SDPA (the default) or HF's eager attention for every layer.</summary>
    public void UseAttention(Qwen2AttentionKind kind)
    {
        foreach (var layer in layers) layer.self_attn.Kind = kind;
    }

    /// <summary>Token embeddings: ids (B, T) int64 → (B, T, H).</summary>
    public Tensor Embed(Tensor inputIds) => MetaSafe.Embedding(embed_tokens, inputIds);

    /// <summary>
    /// Last hidden states after the final norm (B, T, H), from token ids or from inputs_embeds (prompt templates).
    /// attentionMask (B, T) 0/1; positionIds (B, T) int64, default arange(T) (HF's default whatever the padding).
    /// </summary>
    public Tensor forward(Tensor? inputIds, Tensor attentionMask, Tensor? positionIds = null, Tensor? inputsEmbeds = null)
    {
        if ((inputIds is null) == (inputsEmbeds is null)) throw new ArgumentException("give exactly one of inputIds and inputsEmbeds");
        using var scope = NewDisposeScope();
        var x = inputsEmbeds is not null ? inputsEmbeds.to(DType) : Embed(inputIds!);   // (B, T, H)
        long B = x.size(0), T = x.size(1);
        if (attentionMask.size(0) != B || attentionMask.size(1) != T)
            throw new ArgumentException($"attention mask [{string.Join(", ", attentionMask.shape)}] does not match the input ({B}, {T})");
        if (T > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence of {T} tokens exceeds max_position_embeddings {Config.MaxPositionEmbeddings}");
        var device = x.device;
        positionIds = positionIds is null ? arange(T, dtype: ScalarType.Int64, device: device).view(1, T).expand(B, T) : positionIds.to(device);
        attentionMask = attentionMask.to(device);
        var (cos, sin) = Qwen2Ops.RopeCosSin(positionIds, Config.HeadDim, Config.RopeTheta, DType);
        var mask = Qwen2Ops.AdditiveMask(attentionMask, DType, causal: Attention == AttentionDirection.Causal);
        foreach (var layer in layers)
            x = GradientCheckpointing
                ? ActivationCheckpoint.Run((h, e) => layer.forward(h, e[0], e[1], e[2]), x, [cos, sin, mask], layer.parameters())
                : layer.forward(x, cos, sin, mask);
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Pooled float32 embeddings (B, H): "mean" over the mask (the paper) or "last" attended token.</summary>
    public Tensor Encode(Tensor inputIds, Tensor attentionMask, string pooling = "mean", Tensor? positionIds = null)
    {
        using var scope = NewDisposeScope();
        var h = forward(inputIds, attentionMask, positionIds);
        return Qwen2Ops.Pool(h, attentionMask, pooling).MoveToOuterDisposeScope();
    }

    // ---- IEncoder: what ./vixml embed and the trainer use ----
    HfConfig IEncoder.Config => Config;
    public int HiddenSize => Config.HiddenSize;
    public int MaxPositions => Config.MaxPositionEmbeddings;
    public int VocabSize => Config.VocabSize;
    nn.Module IEncoder.Module => this;
    /// <summary>Per-decoder-layer activation checkpointing (see <see cref="IEncoder.GradientCheckpointing"/>).</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Causal (a decoder's own mask, HF's) or bidirectional (padding mask only: every token sees the whole prompt).</summary>
    public AttentionDirection Attention { get; set; } = AttentionDirection.Causal;

    /// <summary>ids and mask (B, T), right padded, default positions → last hidden states (B, T, H) in float32.</summary>
    public Tensor Forward(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return forward(ids, mask.to(ScalarType.Int64)).AtLeastFloat32().MoveToOuterDisposeScope();
    }

    /// <summary>ids (B, T) → token vectors (B, T, H) in the compute dtype (HF's inputs_embeds).</summary>
    public Tensor EmbedTokens(Tensor ids) => Embed(ids);

    /// <summary>Forward from token vectors with default positions arange(T) → (B, T, H) float32.</summary>
    public Tensor ForwardEmbeds(Tensor inputsEmbeds, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return forward(null, mask.to(ScalarType.Int64), null, inputsEmbeds).AtLeastFloat32().MoveToOuterDisposeScope();
    }

    /// <summary>config.json + model.safetensors in HF layout, stored in the compute dtype.</summary>
    public void save_pretrained(string dir) => Qwen2Checkpoint.Save(this, dir, DType == ScalarType.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32);

    /// <summary>Every LoRA-capable linear with its dotted module name (e.g. "layers.0.self_attn.q_proj").</summary>
    public IEnumerable<(string Name, LoraLinear Layer)> Linears() =>
        named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module));
}
