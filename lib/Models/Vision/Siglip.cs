using TorchSharp;
using TorchSharp.Modules;
using ViXml.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models.Vision;

// The SigLIP vision tower as in HF modeling_siglip.py (SiglipVisionModel): conv patch embedding + learned absolute
// positions, pre-LN transformer layers (eager attention, no mask), post_layernorm, and the multihead attention pooling
// head (a learned probe attends over all patches; torch.nn.MultiheadAttention's packed in_proj), whose output is HF's
// pooler_output, the vector that goes into the image bank. SigLIP2 FixRes checkpoints use this same architecture
// (model_type "siglip"); SigLIP2 NaFlex (model_type "siglip2") does not and is refused by VisionTowers.Load.
// Keys are HF's: vision_model.embeddings.patch_embedding.weight, vision_model.encoder.layers.0.self_attn.q_proj.weight,
// vision_model.head.attention.in_proj_weight, ...

/// <summary>SiglipVisionConfig (defaults as HF's).</summary>
public sealed record SiglipVisionConfig(
    int HiddenSize = 768,
    int IntermediateSize = 3072,
    int NumHiddenLayers = 12,
    int NumAttentionHeads = 12,
    int NumChannels = 3,
    int ImageSize = 224,
    int PatchSize = 16,
    string HiddenAct = "gelu_pytorch_tanh",
    double LayerNormEps = 1e-6,
    bool UseHead = true)
{
    public int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    /// <summary>From a SiglipModel config (model_type "siglip", the "vision_config" object) or a SiglipVisionModel
    /// config (model_type "siglip_vision_model", top level).</summary>
    public static SiglipVisionConfig Read(string path)
    {
        var root = JsonReader.Open(path);
        var type = root.Str("model_type");
        var v = type switch
        {
            "siglip" => root.Has("vision_config") ? root.Obj("vision_config") : throw new VisionModelException(path, "model_type 'siglip' without a 'vision_config' object"),
            "siglip_vision_model" => root,
            _ => throw new VisionModelException(path, $"model_type '{type}' is not siglip / siglip_vision_model"),
        };
        var d = new SiglipVisionConfig();
        var c = new SiglipVisionConfig(
            v.Int("hidden_size", d.HiddenSize), v.Int("intermediate_size", d.IntermediateSize), v.Int("num_hidden_layers", d.NumHiddenLayers),
            v.Int("num_attention_heads", d.NumAttentionHeads), v.Int("num_channels", d.NumChannels), v.Int("image_size", d.ImageSize),
            v.Int("patch_size", d.PatchSize), v.Str("hidden_act", d.HiddenAct), v.Double("layer_norm_eps", d.LayerNormEps),
            v.Bool("vision_use_head", root.Bool("vision_use_head", d.UseHead)));
        string where = type == "siglip" ? "vision_config." : "";
        if (c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers < 0 || c.NumAttentionHeads <= 0 || c.PatchSize <= 0 || c.ImageSize <= 0)
            throw new VisionModelException(path, $"{where}sizes must be positive");
        if (c.HiddenSize % c.NumAttentionHeads != 0)
            throw new VisionModelException(path, $"{where}hidden_size {c.HiddenSize} is not divisible by num_attention_heads {c.NumAttentionHeads}");
        if (c.ImageSize % c.PatchSize != 0)
            throw new VisionModelException(path, $"{where}image_size {c.ImageSize} is not a multiple of patch_size {c.PatchSize}");
        if (c.NumChannels != 3) throw new VisionModelException(path, $"{where}num_channels {c.NumChannels}: only RGB (3) images are supported");
        if (c.HiddenAct is not ("gelu_pytorch_tanh" or "gelu" or "gelu_new"))
            throw new VisionModelException(path, $"{where}hidden_act '{c.HiddenAct}' is not supported (gelu_pytorch_tanh, gelu, gelu_new)");
        if (!c.UseHead) throw new VisionModelException(path, $"{where}vision_use_head is false: the tower has no pooled output to put in an image bank");
        return c;
    }
}

/// <summary>HF preprocessor_config.json (SiglipImageProcessor): rescale then normalize; defaults are SigLIP's.</summary>
public sealed record SiglipPreprocess(bool DoRescale, double RescaleFactor, bool DoNormalize, double[] Mean, double[] Std, int? Resample)
{
    public static readonly SiglipPreprocess Default = new(true, 1 / 255.0, true, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 3);

    public static SiglipPreprocess Read(string dir, int imageSize)
    {
        var path = Path.Combine(dir, "preprocessor_config.json");
        if (!File.Exists(path)) return Default;
        var j = JsonReader.Open(path);
        var d = Default;
        var p = new SiglipPreprocess(j.Bool("do_rescale", d.DoRescale), j.Double("rescale_factor", d.RescaleFactor), j.Bool("do_normalize", d.DoNormalize),
            j.Has("image_mean") ? j.Doubles("image_mean") : d.Mean, j.Has("image_std") ? j.Doubles("image_std") : d.Std,
            j.Has("resample") ? j.Int("resample") : d.Resample);
        if (p.Mean.Length != 3 || p.Std.Length != 3 || p.Std.Any(s => s <= 0))
            throw new VisionModelException(path, "image_mean and image_std need 3 values, std > 0");
        if (j.Has("size"))
        {
            var s = j.Obj("size");
            if (s.Has("height") && (s.Int("height") != imageSize || s.Int("width") != imageSize))
                throw new VisionModelException(path, $"size {s.Int("height")}x{s.Int("width")} differs from the model's image_size {imageSize}");
        }
        return p;
    }

    public string Describe(int size) =>
        $"RGB 0..255 resized to {size}x{size} (our bilinear, half-pixel; HF's processor uses PIL resample={Resample?.ToString() ?? "?"})" +
        (DoRescale ? $" x {JsonReader.Num(RescaleFactor)}" : "") +
        (DoNormalize ? $", (x - [{string.Join(", ", Mean.Select(JsonReader.Num))}]) / [{string.Join(", ", Std.Select(JsonReader.Num))}]" : "");
}

public sealed class SiglipVisionEmbeddings : HfModule<Tensor, Tensor>
{
    public readonly Conv2d patch_embedding;
    public readonly Embedding position_embedding;

    public SiglipVisionEmbeddings(SiglipVisionConfig c) : base(nameof(SiglipVisionEmbeddings))
    {
        patch_embedding = register_module("patch_embedding", nn.Conv2d(c.NumChannels, c.HiddenSize, c.PatchSize, stride: c.PatchSize));
        position_embedding = register_module("position_embedding", nn.Embedding(c.NumPatches, c.HiddenSize));
    }

    /// <summary>pixels (B, 3, S, S) normalised → (B, N, D).</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var x = patch_embedding.forward(pixels).flatten(2).transpose(1, 2);   // (B, N, D)
        using var pos = position_embedding.weight!;                            // (N, D): position ids 0..N-1
        return (x + pos).MoveToOuterDisposeScope();
    }
}

public sealed class SiglipAttention : HfModule<Tensor, Tensor>
{
    public readonly Linear q_proj, k_proj, v_proj, out_proj;
    private readonly int _heads;

    public SiglipAttention(SiglipVisionConfig c) : base(nameof(SiglipAttention))
    {
        _heads = c.NumAttentionHeads;
        q_proj = register_module("q_proj", nn.Linear(c.HiddenSize, c.HiddenSize));
        k_proj = register_module("k_proj", nn.Linear(c.HiddenSize, c.HiddenSize));
        v_proj = register_module("v_proj", nn.Linear(c.HiddenSize, c.HiddenSize));
        out_proj = register_module("out_proj", nn.Linear(c.HiddenSize, c.HiddenSize));
    }

    /// <summary>x (B, N, D) → (B, N, D): softmax(QKᵀ·hd^-½) V over all patches (no mask), then out_proj.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var ctx = MultiHead.Attend(q_proj.forward(x), k_proj.forward(x), v_proj.forward(x), _heads);
        return out_proj.forward(ctx).MoveToOuterDisposeScope();
    }
}

/// <summary>Scaled dot-product attention over heads for (B, Tq, D) queries and (B, Tk, D) keys/values.</summary>
internal static class MultiHead
{
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads)
    {
        using var scope = NewDisposeScope();
        var (b, tq, d) = (q.size(0), q.size(1), q.size(2));
        var tk = k.size(1);
        var hd = d / heads;
        var qh = q.view(b, tq, heads, hd).transpose(1, 2);   // (B, nh, Tq, hd)
        var kh = k.view(b, tk, heads, hd).transpose(1, 2);   // (B, nh, Tk, hd)
        var vh = v.view(b, tk, heads, hd).transpose(1, 2);
        return F.scaled_dot_product_attention(qh, kh, vh)     // scale hd^-0.5, as HF's eager path
            .transpose(1, 2).contiguous().view(b, tq, d)       // (B, Tq, D)
            .MoveToOuterDisposeScope();
    }
}

public sealed class SiglipMLP : HfModule<Tensor, Tensor>
{
    public readonly Linear fc1, fc2;
    private readonly bool _tanh;

    public SiglipMLP(SiglipVisionConfig c) : base(nameof(SiglipMLP))
    {
        fc1 = register_module("fc1", nn.Linear(c.HiddenSize, c.IntermediateSize));
        fc2 = register_module("fc2", nn.Linear(c.IntermediateSize, c.HiddenSize));
        _tanh = c.HiddenAct is "gelu_pytorch_tanh" or "gelu_new";
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = fc1.forward(x);
        h = _tanh ? Gelu.Tanh(h) : F.gelu(h);
        return fc2.forward(h).MoveToOuterDisposeScope();
    }
}

internal static class Gelu
{
    /// <summary>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (gelu_pytorch_tanh).</summary>
    public static Tensor Tanh(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inner = (x + x.pow(3) * 0.044715) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5 * (inner.tanh() + 1.0)).MoveToOuterDisposeScope();
    }
}

public sealed class SiglipEncoderLayer : HfModule<Tensor, Tensor>
{
    public readonly LayerNorm layer_norm1, layer_norm2;
    public readonly SiglipAttention self_attn;
    public readonly SiglipMLP mlp;

    public SiglipEncoderLayer(SiglipVisionConfig c) : base(nameof(SiglipEncoderLayer))
    {
        layer_norm1 = register_module("layer_norm1", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        self_attn = register_module("self_attn", new SiglipAttention(c));
        layer_norm2 = register_module("layer_norm2", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        mlp = register_module("mlp", new SiglipMLP(c));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(layer_norm1.forward(x));
        return (h + mlp.forward(layer_norm2.forward(h))).MoveToOuterDisposeScope();
    }
}

public sealed class SiglipEncoder : HfModule<Tensor, Tensor>
{
    public readonly HfModuleList<SiglipEncoderLayer> layers;

    public SiglipEncoder(SiglipVisionConfig c) : base(nameof(SiglipEncoder))
    {
        layers = register_module("layers", new HfModuleList<SiglipEncoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new SiglipEncoderLayer(c))));
    }

    public override Tensor forward(Tensor x)
    {
        var h = x.alias();
        foreach (var layer in layers)
        {
            var next = layer.forward(h);
            h.Dispose();
            h = next;
        }
        return h;
    }
}

/// <summary>torch.nn.MultiheadAttention's parameters as HF checkpoints hold them (packed in_proj, out_proj).</summary>
public sealed class PackedMultiheadAttention : HfModule
{
    public readonly Parameter in_proj_weight, in_proj_bias;
    public readonly Linear out_proj;
    private readonly int _heads, _d;

    public PackedMultiheadAttention(int d, int heads) : base(nameof(PackedMultiheadAttention))
    {
        (_d, _heads) = (d, heads);
        in_proj_weight = register_parameter("in_proj_weight", zeros(3 * d, d));   // rows: q, k, v
        in_proj_bias = register_parameter("in_proj_bias", zeros(3 * d));
        out_proj = register_module("out_proj", nn.Linear(d, d));
    }

    /// <summary>query (B, Tq, D), kv (B, Tk, D) → (B, Tq, D).</summary>
    public Tensor forward(Tensor query, Tensor kv)
    {
        using var scope = NewDisposeScope();
        var q = F.linear(query, in_proj_weight.narrow(0, 0, _d), in_proj_bias.narrow(0, 0, _d));
        var k = F.linear(kv, in_proj_weight.narrow(0, _d, _d), in_proj_bias.narrow(0, _d, _d));
        var v = F.linear(kv, in_proj_weight.narrow(0, 2 * _d, _d), in_proj_bias.narrow(0, 2 * _d, _d));
        return out_proj.forward(MultiHead.Attend(q, k, v, _heads)).MoveToOuterDisposeScope();
    }
}

/// <summary>Multihead attention pooling: a learned probe attends over the patches; residual + LN + MLP; first token.</summary>
public sealed class SiglipMultiheadAttentionPoolingHead : HfModule<Tensor, Tensor>
{
    public readonly Parameter probe;
    public readonly PackedMultiheadAttention attention;
    public readonly LayerNorm layernorm;
    public readonly SiglipMLP mlp;

    public SiglipMultiheadAttentionPoolingHead(SiglipVisionConfig c) : base(nameof(SiglipMultiheadAttentionPoolingHead))
    {
        probe = register_parameter("probe", zeros(1, 1, c.HiddenSize));
        attention = register_module("attention", new PackedMultiheadAttention(c.HiddenSize, c.NumAttentionHeads));
        layernorm = register_module("layernorm", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        mlp = register_module("mlp", new SiglipMLP(c));
    }

    /// <summary>(B, N, D) → (B, D).</summary>
    public override Tensor forward(Tensor h)
    {
        using var scope = NewDisposeScope();
        var q = probe.expand(h.size(0), 1, h.size(2));          // (B, 1, D)
        var a = attention.forward(q, h);                         // (B, 1, D)
        var y = a + mlp.forward(layernorm.forward(a));
        return y.select(1, 0).MoveToOuterDisposeScope();
    }
}

public sealed class SiglipVisionTransformer : HfModule<Tensor, Tensor>
{
    public readonly SiglipVisionEmbeddings embeddings;
    public readonly SiglipEncoder encoder;
    public readonly LayerNorm post_layernorm;
    public readonly SiglipMultiheadAttentionPoolingHead head;

    public SiglipVisionTransformer(SiglipVisionConfig c) : base(nameof(SiglipVisionTransformer))
    {
        embeddings = register_module("embeddings", new SiglipVisionEmbeddings(c));
        encoder = register_module("encoder", new SiglipEncoder(c));
        post_layernorm = register_module("post_layernorm", nn.LayerNorm(c.HiddenSize, c.LayerNormEps));
        head = register_module("head", new SiglipMultiheadAttentionPoolingHead(c));
    }

    /// <summary>normalised pixels (B, 3, S, S) → pooler_output (B, D).</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var h = post_layernorm.forward(encoder.forward(embeddings.forward(pixels)));   // last_hidden_state (B, N, D)
        return head.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SiglipVisionModel with its image processor: planar RGB 0..255 (B, 3, S, S) → pooler_output (B, D). Frozen and in eval
/// mode after <see cref="Load"/>.
/// </summary>
public sealed class SiglipVisionModel : HfModule<Tensor, Tensor>, IImageEncoder
{
    public readonly SiglipVisionTransformer vision_model;

    public SiglipVisionConfig Config { get; }
    public SiglipPreprocess Preprocess { get; }

    public SiglipVisionModel(SiglipVisionConfig c, SiglipPreprocess? p = null) : base(nameof(SiglipVisionModel))
    {
        Config = c;
        Preprocess = p ?? SiglipPreprocess.Default;
        vision_model = register_module("vision_model", new SiglipVisionTransformer(c));
    }

    public int InputSize => Config.ImageSize;
    public int OutputDim => Config.HiddenSize;
    string IImageEncoder.Preprocessing => Preprocess.Describe(Config.ImageSize);

    /// <summary>The processor's arithmetic on RGB 0..255: (x·rescale − mean) / std, per channel.</summary>
    public Tensor Normalize(Tensor rgb)
    {
        var p = Preprocess;
        using var scope = NewDisposeScope();
        var x = p.DoRescale ? rgb * p.RescaleFactor : rgb.alias();
        if (p.DoNormalize)
        {
            var mean = tensor(p.Mean.Select(v => (float)v).ToArray(), device: rgb.device).view(1, 3, 1, 1);
            var std = tensor(p.Std.Select(v => (float)v).ToArray(), device: rgb.device).view(1, 3, 1, 1);
            x = (x - mean) / std;
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>RGB 0..255 (B, 3, S, S) → pooled (B, D).</summary>
    public override Tensor forward(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        return vision_model.forward(Normalize(rgb)).MoveToOuterDisposeScope();
    }

    public float[] Embed(float[] rgb, int batch) => VisionGuards.RunBatch(this, rgb, batch, InputSize, OutputDim);

    /// <summary>Known-harmless keys of HF SigLIP checkpoints: the text tower and logit scale/bias of a full SiglipModel,
    /// and the position_ids buffer older checkpoints saved.</summary>
    public static readonly string[] AllowUnexpected = ["text_model.*", "logit_scale", "logit_bias", "vision_model.embeddings.position_ids"];

    /// <summary>
    /// Loads config.json (+ preprocessor_config.json when present) and model.safetensors strictly: every vision key
    /// present with its shape; only <see cref="AllowUnexpected"/> may be extra.
    /// </summary>
    public static SiglipVisionModel Load(string dir)
    {
        var cfg = SiglipVisionConfig.Read(Path.Combine(dir, "config.json"));
        var prep = SiglipPreprocess.Read(dir, cfg.ImageSize);
        var model = new SiglipVisionModel(cfg, prep);
        var weights = Path.Combine(dir, "model.safetensors");
        VisionGuards.LoadStrict(model, weights, AllowUnexpected);
        return model;
    }
}
