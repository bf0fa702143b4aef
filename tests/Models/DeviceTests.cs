using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.Models.DistilBert;
using ViXml.Models.Hf;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using ViXml.Training.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>
/// GPU-readiness proven without a GPU: every model and adapter moves with Module.to() (dtype on the CPU, and onto the
/// meta device, where a tensor made on the wrong device fails loudly) keeping its state_dict keys, and one complete
/// training step (forward of queries and labels, loss, backward, clip, AdamW) plus one evaluation batch runs on meta
/// for every encoder kind.
/// </summary>
[Collection("Qwen2 torch")]
public class DeviceTests
{
    public static readonly TheoryData<string> Kinds = new()
    {
        "bert", "distilbert", "qwen2-lora", "bert-early", "bert-late", "qwen2-early", "qwen2-late", "distilbert-late",
    };

    private const int ImageDim = 6, K = 2;

    /// <summary>A tiny model of the kind, dropout on (so training mode is exercised), a linear head, seeded.</summary>
    internal static SiameseModel Build(string kind)
    {
        manual_seed(3);
        var fusion = kind.EndsWith("-early", StringComparison.Ordinal) ? FusionKind.Early
            : kind.EndsWith("-late", StringComparison.Ordinal) ? FusionKind.Late : FusionKind.None;
        IEncoder enc;
        if (kind.StartsWith("bert", StringComparison.Ordinal))
            enc = new BertModel(new BertConfig
            {
                VocabSize = 40, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 32,
                MaxPositionEmbeddings = 32, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1, Architectures = ["BertModel"],
            }, addPoolingLayer: false, seed: 1);
        else if (kind.StartsWith("distilbert", StringComparison.Ordinal))
            enc = new DistilBertModel(new DistilBertConfig
            {
                VocabSize = 40, Dim = 16, NLayers = 2, NHeads = 2, HiddenDim = 32, MaxPositionEmbeddings = 32,
                Dropout = 0.1, AttentionDropout = 0.1,
            }, seed: 1);
        else
        {
            var shapes = new Qwen2Config
            {
                HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
                VocabSize = 151936, MaxPositionEmbeddings = 64, RopeTheta = 1e6, TieWordEmbeddings = true, AttentionDropout = 0.1,
            };
            enc = Qwen2Encoders.Create(new Qwen2EncoderSettings
            {
                Shapes = shapes, Template = fusion == FusionKind.Early ? "t1-e-eeos" : "prefix-eos", Dtype = ScalarType.Float32, Seed = 2,
                Lora = kind == "qwen2-full" ? null
                    : new LoraConfig { R = 4, Alpha = 8, Dropout = 0.1, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
            }, Qwen2Encoders.Tokenizer(null));
        }
        var spec = fusion == FusionKind.None ? null : new SiameseModel.FusionSpec(fusion, ImageDim, AdapterKind.Mlp, 8, 5);
        return new SiameseModel(enc, PoolingMode.Mean, linear: true, spec);
    }

    private static bool Prompted(SiameseModel m) => m.Encoder is IPromptedEncoder;

    /// <summary>ids/mask (B, T) right padded; image slots when the model fuses. A prompted decoder plans its prompt from
    /// host ids and masks (the model and the image vectors live on <paramref name="device"/>).</summary>
    internal static (Tensor Ids, Tensor Mask, ImageBatch? Images) Batch(SiameseModel m, int rows, long seed, Device device)
    {
        var g = new Generator((ulong)seed);
        var lengths = Enumerable.Range(0, rows).Select(i => 2 + i % 4).ToArray();
        int t = lengths.Max();
        var ids = new long[rows * t];
        var mask = new long[rows * t];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < lengths[r]; j++) { ids[r * t + j] = 5 + (r * 7 + j * 3) % 30; mask[r * t + j] = 1; }
        var host = Prompted(m) ? CPU : device;
        var idsT = tensor(ids, [rows, t], device: host);
        var maskT = tensor(mask, [rows, t], device: host);
        ImageBatch? images = null;
        if (m.Fusion != FusionKind.None)
        {
            var present = Enumerable.Range(0, rows * K).Select(i => i % 3 == 0 ? 0L : 1L).ToArray();
            images = new ImageBatch(randn([rows, K, ImageDim], generator: g).to(device), tensor(present, [rows, K], device: host));
        }
        return (idsT, maskT, images);
    }

    private static Dictionary<string, long[]> Keys(nn.Module m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ToFloat64AndToMetaKeepTheKeysAndRebindEveryField(string kind)
    {
        using var model = Build(kind);
        var keys = Keys(model);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        model.eval();
        var (ids, mask, images) = Batch(model, 3, 7, CPU);
        Tensor want;
        using (no_grad()) want = model.Embed(ids, mask, images);

        model.to(ScalarType.Float64);
        Assert.Equal(keys, Keys(model));
        Assert.Equal(trainable, model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList());
        Assert.All(model.named_parameters(), p => Assert.Equal(ScalarType.Float64, p.parameter.dtype));
        // A field left pointing at a replaced (disposed) float32 tensor would fail or change the numbers here.
        var images64 = images is null ? null : new ImageBatch(images.Vectors.to(ScalarType.Float64), images.Mask);
        using (no_grad())
        {
            var got = model.Embed(ids, mask, images64);
            Assert.True((got.to(ScalarType.Float64) - want.to(ScalarType.Float64)).abs().max().ToDouble() < 1e-5);
        }

        model.to(ScalarType.Float32).to(META);
        Assert.Equal(keys, Keys(model));
        Assert.All(model.named_parameters(), p => Assert.Equal(DeviceType.META, p.parameter.device_type));
        Assert.All(model.named_buffers(), b => Assert.Equal(DeviceType.META, b.buffer.device_type));
        var (mi, mm, mImg) = Batch(model, 3, 7, META);
        using (no_grad())
        {
            var e = model.Embed(mi, mm, mImg);
            Assert.Equal(DeviceType.META, e.device_type);
            Assert.Equal(new long[] { 3, model.Dim }, e.shape);
        }
    }

    [Theory]
    [InlineData("bert", LossKind.Triplet)]
    [InlineData("bert", LossKind.Infonce)]
    [InlineData("distilbert", LossKind.Triplet)]
    [InlineData("qwen2-lora", LossKind.Triplet)]
    [InlineData("qwen2-lora", LossKind.Infonce)]
    [InlineData("bert-early", LossKind.Triplet)]
    [InlineData("bert-late", LossKind.Infonce)]
    [InlineData("qwen2-early", LossKind.Triplet)]
    [InlineData("qwen2-late", LossKind.Triplet)]
    public void OneTrainingStepAndOneEvaluationBatchRunOnMeta(string kind, LossKind lossKind)
    {
        using var model = Build(kind);
        // Build on the CPU, move, and only then make the optimiser (STYLE.md rule 4): Module.to() replaces Parameters.
        model.to(META);
        model.train();
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        Assert.NotEmpty(named);
        var groups = new[] { false, true }.Select(noDecay => new Optim.ParamGroup(
            named.Where(p => (p.parameter.dim() < 2) == noDecay).Select(p => p.parameter), lr: 1e-3, weight_decay: noDecay ? 0 : 0.01))
            .Where(g => g.@params.Count > 0).ToList();
        using var opt = new Optim.AdamW(groups, lr: 1e-3, weight_decay: 0.01);
        var lossCfg = new LossConfig { Kind = lossKind, TopK = 3, LabelToQuery = 1.0 };
        IBatchLoss loss = lossKind == LossKind.Triplet ? new TripletLoss(lossCfg) : new InfoNceLoss(lossCfg);
        // 4 queries, 4 in-batch labels; query 1 also has label 0 (a multi-positive row).
        var target = new float[16];
        for (int i = 0; i < 4; i++) target[i * 4 + i] = 1;
        target[1 * 4 + 0] = 1;
        var batch = new LabelBatch([0, 1, 2, 3], [10, 11, 12, 13], [0, 1, 2, 3], target);

        using (var scope = NewDisposeScope())
        {
            var (qi, qm, qImg) = Batch(model, 4, 1, META);
            var (li, lm, lImg) = Batch(model, 4, 2, META);
            var q = model.Embed(qi, qm, qImg);                                      // (B, H)
            var l = model.Embed(li, lm, lImg);                                      // (L, H)
            var lossT = loss.Forward(q.matmul_checked(l.t()), batch);
            Assert.Equal(DeviceType.META, lossT.device_type);
            Assert.Equal(0, lossT.dim());
            opt.zero_grad();
            lossT.backward();
            foreach (var (name, p) in named)
            {
                Assert.True(p.grad is not null, $"{name} got no gradient");
                Assert.Equal(DeviceType.META, p.grad!.device_type);
            }
            var norm = Optim.clip_grad_norm_(named.Select(p => p.parameter), 1.0);
            Assert.Equal(DeviceType.META, norm.device_type);
            opt.step();
        }
        Assert.All(model.parameters(), p => Assert.Equal(DeviceType.META, p.device_type));
        Assert.All(opt.state_dict().Where(kv => kv.Key.StartsWith("state.", StringComparison.Ordinal) && !kv.Key.EndsWith(".step", StringComparison.Ordinal)),
            kv => Assert.Equal(DeviceType.META, kv.Value.device_type));

        // One evaluation batch: eval mode, no graph.
        model.eval();
        using (no_grad())
        using (NewDisposeScope())
        {
            var (ei, em, eImg) = Batch(model, 5, 3, META);
            var e = model.Embed(ei, em, eImg);
            Assert.Equal(DeviceType.META, e.device_type);
            Assert.Equal(new long[] { 5, model.Dim }, e.shape);
        }
    }

    [Theory]
    [InlineData("resnet")]
    [InlineData("siglip")]
    public void VisionTowersMoveWithTheirBuffers(string kind)
    {
        // ResNet keeps its mean image as a non-persistent buffer: a field not named like it kept the old (disposed)
        // tensor after .to(). (Their convolutions and batch norm have no meta kernels in libtorch C++: float64 only.)
        using nn.Module<Tensor, Tensor> model = kind == "resnet"
            ? (ViXml.Models.Vision.ResNetModel)ViXml.Models.Vision.VisionTowers.Load(VisionTowerTests.TinyResNet())
            : (ViXml.Models.Vision.SiglipVisionModel)ViXml.Models.Vision.VisionTowers.Load(ViXml.Tests.TestSupport.Repo.Fixture("siglip", "siglip-vision"));
        int s = ((ViXml.Models.Vision.IImageEncoder)model).InputSize;
        var keys = Keys(model);
        using var scope = NewDisposeScope();
        var rgb = rand([2, 3, s, s], generator: new Generator(1)) * 255;
        Tensor want;
        using (no_grad()) want = model.forward(rgb);
        model.to(ScalarType.Float64);
        Assert.Equal(keys, Keys(model));
        Assert.All(model.named_buffers(), b => Assert.Equal(ScalarType.Float64, b.buffer.dtype));
        using (no_grad())
        {
            var got = model.forward(rgb.to(ScalarType.Float64));
            Assert.Equal(ScalarType.Float64, got.dtype);
            Assert.True((got - want.to(ScalarType.Float64)).abs().max().ToDouble() < 1e-3);
        }
    }

    [Fact]
    public void MetaRejectsAMixWithHostTensorsSoTheTestsAboveCanFail()
    {
        using var a = zeros([2, 3], device: META);
        using var b = zeros([2, 3]);
        Assert.ThrowsAny<Exception>(() => (a + b).Dispose());
        // ...and a prompted decoder names the host-side inputs it needs instead of failing deep inside.
        using var model = Build("qwen2-lora");
        model.to(META);
        using var ids = ones([1, 2], dtype: ScalarType.Int64, device: META);
        var err = Assert.Throws<ArgumentException>(() => model.Embed(ids, ids));
        Assert.Contains("host", err.Message);
    }

    [Fact]
    public void ClipGradNormMatchesTorchSharpsNativeClipAndStaysATensor()
    {
        var g = new Generator(4);
        var ps = new[] { new Parameter(randn([3, 4], generator: g)), new Parameter(randn([5], generator: g)), new Parameter(randn([2], generator: g)) };
        var qs = ps.Select(p => new Parameter(p.detach().clone())).ToArray();
        for (int i = 0; i < 2; i++)   // the third has no gradient and is skipped by both
        {
            var grad = randn(ps[i].shape, generator: g) * 3;
            ps[i].grad = grad.clone();
            qs[i].grad = grad.clone();
        }
        foreach (var max in new[] { 0.5, 1e3 })   // clipping, then a no-op
        {
            var ours = Optim.clip_grad_norm_(ps, max);
            var native = nn.utils.clip_grad_norm_(qs, max);
            Assert.Equal(native, ours.ToDouble());                        // bit-identical: the trainer's numbers do not move
            for (int i = 0; i < 2; i++) Assert.Equal(0.0, (ps[i].grad! - qs[i].grad!).abs().max().ToDouble());
        }
        Assert.Throws<ArgumentException>(() => Optim.clip_grad_norm_(ps, 0));
    }
}
