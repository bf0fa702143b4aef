using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using ViXml.SafeTensors;
using ViXml.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models.Vision;

// The pooled-feature ResNet of a folder written by `./vixml model import --package Microsoft.ML.DnnImageFeaturizer.ResNet18`
// (CNTK's [2,2,2,3] basic-block ResNet, torchvision-style names). Everything geometric comes from config.json: each
// conv's kernel/stride/pads (ONNX order top, left, bottom, right, applied literally, so CNTK's asymmetric pads stay exact
// at any input size), the BatchNorm eps, the stem max pool, the global average pool. The preprocessing (RGB → the model's
// channel order, × scale, − mean image from preprocess.safetensors) is part of the module: forward takes planar RGB
// 0..255 already resized to input_size and returns (B, output_dim).

/// <summary>One conv's geometry from config.json "convs".</summary>
public sealed record ResNetConv(int OutChannels, int InChannels, int[] Kernel, int[] Stride, int[] Pads);

/// <summary>config.json of an imported ResNet folder.</summary>
public sealed record ResNetConfig(
    int[] Blocks,                        // basic blocks per stage, e.g. [2, 2, 2, 3]
    int[] Widths,                        // output channels per stage
    int OutputDim,                       // pooled feature width (= Widths[^1])
    double BatchNormEps,
    IReadOnlyDictionary<string, ResNetConv> Convs, // by torchvision name: conv1, layer1.0.conv1, layer2.0.downsample.0, ...
    int[] MaxPoolKernel, int[] MaxPoolStride, int[] MaxPoolPads,
    int InputSize,                       // square input side the mean image is made for
    int[] ChannelPermutationFromRgb,     // model channel c = RGB channel perm[c]
    string ChannelOrder,                 // e.g. "BGR"
    double Scale)                        // multiplies the 0..255 input before the mean is subtracted
{
    public static ResNetConfig Read(string path)
    {
        if (!File.Exists(path)) throw new VisionModelException(path, "missing (not a model folder written by ./vixml model import?)");
        JsonElement r;
        try { r = JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone(); }
        catch (JsonException e) { throw new VisionModelException(path, $"invalid JSON ({e.Message})"); }
        var j = new JsonReader(path, r);
        var mt = j.Str("model_type");
        if (mt != "resnet") throw new VisionModelException(path, $"model_type '{mt}' is not 'resnet'");
        var blocks = j.Ints("blocks");
        var widths = j.Ints("widths");
        if (blocks.Length == 0 || blocks.Length != widths.Length || blocks.Any(b => b <= 0) || widths.Any(w => w <= 0))
            throw new VisionModelException(path, $"'blocks' [{string.Join(", ", blocks)}] and 'widths' [{string.Join(", ", widths)}] must be positive and of equal length");
        var outDim = j.Int("output_dim");
        if (outDim != widths[^1]) throw new VisionModelException(path, $"output_dim {outDim} is not the last stage width {widths[^1]}");
        var bn = j.Obj("batch_norm");
        var eps = bn.Double("eps");
        if (bn.Has("folded_into_conv") && bn.Bool("folded_into_conv")) throw new VisionModelException(path, "batch_norm.folded_into_conv = true is not supported");
        var convs = new Dictionary<string, ResNetConv>(StringComparer.Ordinal);
        var cj = j.Obj("convs");
        foreach (var p in cj.Element.EnumerateObject())
        {
            var c = cj.Obj(p.Name);
            var k = c.Ints("kernel"); var s = c.Ints("stride"); var pads = c.Ints("pads");
            if (k.Length != 2 || s.Length != 2 || pads.Length != 4 || s.Any(v => v <= 0) || pads.Any(v => v < 0))
                throw new VisionModelException(path, $"convs.{p.Name}: kernel/stride need 2 values, pads 4 (top, left, bottom, right), all valid");
            if (c.Has("bias") && c.Bool("bias")) throw new VisionModelException(path, $"convs.{p.Name}: bias = true is not supported (BatchNorm follows every conv)");
            convs[p.Name] = new ResNetConv(c.Int("out_channels"), c.Int("in_channels"), k, s, pads);
        }
        var mp = j.Obj("stem").Obj("max_pool");
        var prep = j.Obj("preprocess");
        var size = prep.Ints("input_size");
        if (size.Length != 2 || size[0] != size[1] || size[0] <= 0) throw new VisionModelException(path, $"preprocess.input_size [{string.Join(", ", size)}] must be [S, S]");
        var perm = prep.Ints("channel_permutation_from_rgb");
        if (perm.Length != 3 || perm.Distinct().Count() != 3 || perm.Any(v => v is < 0 or > 2))
            throw new VisionModelException(path, $"preprocess.channel_permutation_from_rgb [{string.Join(", ", perm)}] is not a permutation of [0, 1, 2]");
        if (prep.Has("std") && prep.Element.GetProperty("std").ValueKind != JsonValueKind.Null)
            throw new VisionModelException(path, "preprocess.std is set: per-channel std is not part of this preprocessing (expected null)");
        var cfg = new ResNetConfig(blocks, widths, outDim, eps, convs, mp.Ints("kernel"), mp.Ints("stride"), mp.Ints("pads"),
            size[0], perm, prep.Str("channel_order"), prep.Double("scale"));
        cfg.CheckConvs(path);
        return cfg;
    }

    /// <summary>Every conv the block structure needs is described, with channels that chain; none is extra.</summary>
    private void CheckConvs(string path)
    {
        var need = new List<(string Name, int In, int Out)> { ("conv1", 3, -1) };
        int inCh = -1;
        for (int s = 0; s < Blocks.Length; s++)
            for (int b = 0; b < Blocks[s]; b++)
            {
                var p = $"layer{s + 1}.{b}";
                need.Add((p + ".conv1", -1, Widths[s]));
                need.Add((p + ".conv2", Widths[s], Widths[s]));
            }
        foreach (var (name, i, o) in need)
        {
            if (!Convs.TryGetValue(name, out var c)) throw new VisionModelException(path, $"convs.{name} is missing");
            if (i >= 0 && c.InChannels != i || o >= 0 && c.OutChannels != o)
                throw new VisionModelException(path, $"convs.{name}: [{c.OutChannels}, {c.InChannels}] channels do not fit the stage widths");
        }
        inCh = Convs["conv1"].OutChannels;
        for (int s = 0; s < Blocks.Length; s++)
        {
            var first = Convs[$"layer{s + 1}.0.conv1"];
            if (first.InChannels != inCh) throw new VisionModelException(path, $"convs.layer{s + 1}.0.conv1 takes {first.InChannels} channels, the previous stage gives {inCh}");
            inCh = Widths[s];
        }
        var known = new HashSet<string>(need.Select(n => n.Name), StringComparer.Ordinal);
        foreach (var name in Convs.Keys.Where(k => !known.Contains(k)))
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, @"^layer\d+\.0\.downsample\.0$"))
                throw new VisionModelException(path, $"convs.{name} is not part of a basic-block ResNet");
    }
}

/// <summary>Conv2d without bias, padded exactly as the config says (asymmetric pads through F.pad).</summary>
public sealed class PaddedConv2d : HfModule<Tensor, Tensor>
{
    public readonly Parameter weight;
    private readonly long[] _stride, _pad;   // _pad: F.pad order (left, right, top, bottom)
    private readonly bool _symmetric;

    public PaddedConv2d(ResNetConv c) : base(nameof(PaddedConv2d))
    {
        weight = register_parameter("weight", zeros(c.OutChannels, c.InChannels, c.Kernel[0], c.Kernel[1]), requires_grad: false);
        _stride = [c.Stride[0], c.Stride[1]];
        var (t, l, b, r) = (c.Pads[0], c.Pads[1], c.Pads[2], c.Pads[3]);
        _pad = [l, r, t, b];
        _symmetric = t == b && l == r;
    }

    /// <summary>(B, Cin, H, W) → (B, Cout, H', W').</summary>
    public override Tensor forward(Tensor x)
    {
        if (_symmetric) return F.conv2d(x, weight, null, _stride, [_pad[2], _pad[0]]);
        using var padded = F.pad(x, _pad);
        return F.conv2d(padded, weight, null, _stride);
    }
}

/// <summary>Inference BatchNorm: (x − running_mean) / √(running_var + eps) · weight + bias; no num_batches_tracked (the
/// imported folder has none; it is frozen like torchvision's FrozenBatchNorm2d).</summary>
public sealed class FrozenBatchNorm2d : HfModule<Tensor, Tensor>
{
    public readonly Parameter weight, bias;
    private readonly Tensor running_mean, running_var;
    private readonly double _eps;

    public FrozenBatchNorm2d(int channels, double eps) : base(nameof(FrozenBatchNorm2d))
    {
        weight = register_parameter("weight", ones(channels), requires_grad: false);
        bias = register_parameter("bias", zeros(channels), requires_grad: false);
        running_mean = register_buffer("running_mean", zeros(channels));
        running_var = register_buffer("running_var", ones(channels));
        _eps = eps;
    }

    public override Tensor forward(Tensor x) => F.batch_norm(x, running_mean, running_var, weight, bias, false, 0.1, _eps);
}

/// <summary>Shortcut projection: "0" = 1×1 strided conv, "1" = BatchNorm (torchvision's downsample Sequential).</summary>
public sealed class ResNetDownsample : HfModule<Tensor, Tensor>
{
    private readonly PaddedConv2d conv;
    private readonly FrozenBatchNorm2d bn;

    public ResNetDownsample(ResNetConv c, double eps) : base(nameof(ResNetDownsample))
    {
        conv = register_module("0", new PaddedConv2d(c));
        bn = register_module("1", new FrozenBatchNorm2d(c.OutChannels, eps));
    }

    public override Tensor forward(Tensor x)
    {
        using var y = conv.forward(x);
        return bn.forward(y);
    }
}

/// <summary>conv3×3(s) → bn → relu → conv3×3 → bn, + shortcut (identity or downsample), → relu.</summary>
public sealed class BasicBlock : HfModule<Tensor, Tensor>
{
    public readonly PaddedConv2d conv1, conv2;
    public readonly FrozenBatchNorm2d bn1, bn2;
    public readonly ResNetDownsample? downsample;

    public BasicBlock(ResNetConfig c, string prefix) : base(nameof(BasicBlock))
    {
        conv1 = register_module("conv1", new PaddedConv2d(c.Convs[prefix + ".conv1"]));
        bn1 = register_module("bn1", new FrozenBatchNorm2d(c.Convs[prefix + ".conv1"].OutChannels, c.BatchNormEps));
        conv2 = register_module("conv2", new PaddedConv2d(c.Convs[prefix + ".conv2"]));
        bn2 = register_module("bn2", new FrozenBatchNorm2d(c.Convs[prefix + ".conv2"].OutChannels, c.BatchNormEps));
        if (c.Convs.TryGetValue(prefix + ".downsample.0", out var d))
            downsample = register_module("downsample", new ResNetDownsample(d, c.BatchNormEps));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = F.relu(bn1.forward(conv1.forward(x)));
        y = bn2.forward(conv2.forward(y));
        var shortcut = downsample is null ? x : downsample.forward(x);
        return F.relu(y + shortcut).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The ResNet feature extractor with its preprocessing: planar RGB 0..255 (B, 3, S, S) → (B, output_dim). Frozen
/// (no parameter requires grad) and in eval mode after <see cref="Load"/>.
/// </summary>
public sealed class ResNetModel : HfModule<Tensor, Tensor>, IImageEncoder
{
    public readonly PaddedConv2d conv1;
    public readonly FrozenBatchNorm2d bn1;
    private readonly HfModuleList<BasicBlock>[] _layers;
    // (3, S, S) in the model's channel order; a non-persistent buffer (preprocess.safetensors). Named as registered:
    // Module.to() replaces buffers and re-binds only the field of that name.
    private readonly Tensor mean_image;
    private readonly long[] _perm;
    public ResNetConfig Config { get; }

    public ResNetModel(ResNetConfig c) : base(nameof(ResNetModel))
    {
        Config = c;
        conv1 = register_module("conv1", new PaddedConv2d(c.Convs["conv1"]));
        bn1 = register_module("bn1", new FrozenBatchNorm2d(c.Convs["conv1"].OutChannels, c.BatchNormEps));
        _layers = new HfModuleList<BasicBlock>[c.Blocks.Length];
        for (int s = 0; s < c.Blocks.Length; s++)
        {
            var list = new HfModuleList<BasicBlock>();
            for (int b = 0; b < c.Blocks[s]; b++) list.append(new BasicBlock(c, $"layer{s + 1}.{b}"));
            _layers[s] = register_module($"layer{s + 1}", list);
        }
        mean_image = register_buffer("mean_image", zeros(3, c.InputSize, c.InputSize), persistent: false);
        _perm = c.ChannelPermutationFromRgb.Select(p => (long)p).ToArray();
    }

    public int InputSize => Config.InputSize;
    public int OutputDim => Config.OutputDim;
    public string Preprocessing =>
        $"RGB 0..255 planar {InputSize}x{InputSize} -> {Config.ChannelOrder} (channels {string.Join(",", Config.ChannelPermutationFromRgb)} of RGB) " +
        $"x {Config.Scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} - mean image (preprocess.safetensors), no std";

    /// <summary>rgb (B, 3, S, S) in 0..255 → features (B, output_dim).</summary>
    public override Tensor forward(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var x = rgb.index_select(1, tensor(_perm, device: rgb.device)) * Config.Scale - mean_image;  // (B, 3, S, S) model order
        x = F.relu(bn1.forward(conv1.forward(x)));
        var (t, l, b, r) = (Config.MaxPoolPads[0], Config.MaxPoolPads[1], Config.MaxPoolPads[2], Config.MaxPoolPads[3]);
        x = F.pad(x, [l, r, t, b], value: double.NegativeInfinity);
        x = F.max_pool2d(x, [Config.MaxPoolKernel[0], Config.MaxPoolKernel[1]], [Config.MaxPoolStride[0], Config.MaxPoolStride[1]]);
        foreach (var stage in _layers)
            foreach (var block in stage)
            {
                var next = block.forward(x);
                x.Dispose();
                x = next;
            }
        return x.mean([2L, 3L]).MoveToOuterDisposeScope();                                    // (B, C) global average
    }

    /// <summary>Checks the batch and runs the frozen forward: (B, 3, S, S) float32 → (B, D).</summary>
    public float[] Embed(float[] rgb, int batch) => VisionGuards.RunBatch(this, rgb, batch, InputSize, OutputDim);

    /// <summary>
    /// Loads an imported folder strictly: config.json, model.safetensors (every key present, none extra, shapes equal),
    /// preprocess.safetensors:mean_image [3, S, S]. Eval mode, nothing requires grad.
    /// </summary>
    public static ResNetModel Load(string dir)
    {
        var cfg = ResNetConfig.Read(Path.Combine(dir, "config.json"));
        var model = new ResNetModel(cfg);
        var weights = Path.Combine(dir, "model.safetensors");
        VisionGuards.LoadStrict(model, weights, allowUnexpected: null);
        var prepPath = Path.Combine(dir, "preprocess.safetensors");
        if (!File.Exists(prepPath)) throw new VisionModelException(prepPath, "missing (the mean image of the preprocessing)");
        using (var scope = NewDisposeScope())
        {
            var prep = VisionGuards.LoadTensors(prepPath);
            if (!prep.TryGetValue("mean_image", out var mean)) throw new VisionModelException(prepPath, "has no tensor 'mean_image'");
            if (prep.Count != 1) throw new VisionModelException(prepPath, $"unexpected tensor(s): {string.Join(", ", prep.Keys.Where(k => k != "mean_image"))}");
            if (!mean.shape.SequenceEqual(new long[] { 3, cfg.InputSize, cfg.InputSize }))
                throw new VisionModelException(prepPath, $"mean_image is [{string.Join(", ", mean.shape)}], expected [3, {cfg.InputSize}, {cfg.InputSize}]");
            using (no_grad()) model.mean_image.copy_(mean);
        }
        model.eval();
        return model;
    }
}
