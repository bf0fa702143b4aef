using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using ViXml.Xmc;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Fusion;

/// <summary>Fused inputs (slot layout, masks), the early-fusion forward against plain PyTorch
/// (tests/reference/gen_fusion.py), masked-slot invariance and the late-fusion attention against a hand computation.</summary>
public class FusionForwardTests
{
    // Bank: image i = (10 i, 10 i + 1); map of 4 items, K = 2 (-1 = no image).
    private static ItemImages Hand(bool withMap = true)
    {
        var bank = new ImageBank(5, 2, Enumerable.Range(0, 5).SelectMany(i => new float[] { 10 * i, 10 * i + 1 }).ToArray());
        var map = new ImageMap(4, 2, [3, 1, /**/ -1, 4, /**/ -1, -1, /**/ 0, -1]);
        return new ItemImages(bank, withMap ? map : null, 2);
    }

    [Fact]
    public void GatherLaysOutSlotsWithZerosAndMasksForMissingImages()
    {
        var (v, m) = Hand().Gather([1, 0, 2, 3]);
        Assert.Equal(new float[] { 0, 0, 40, 41, /**/ 30, 31, 10, 11, /**/ 0, 0, 0, 0, /**/ 0, 1, 0, 0 }, v);
        Assert.Equal(new long[] { 0, 1, /**/ 1, 1, /**/ 0, 0, /**/ 1, 0 }, m);
        // At most n images: the first present slots in slot order (item 1's only image sits in slot 1 and stays).
        var (v1, m1) = Hand().Gather([0, 1], maxImages: 1);
        Assert.Equal(new float[] { 30, 31, 0, 0, /**/ 0, 0, 40, 41 }, v1);
        Assert.Equal(new long[] { 1, 0, /**/ 0, 1 }, m1);
        var (v0, m0) = Hand().Gather([0, 1], maxImages: 0);
        Assert.All(v0, x => Assert.Equal(0f, x));
        Assert.All(m0, x => Assert.Equal(0L, x));
        // No map (labels without images): K slots, all masked.
        var (_, mn) = Hand(withMap: false).Gather([0, 1, 2]);
        Assert.Equal(new long[6], mn);
    }

    [Fact]
    public void ModalityDropoutDropsEachSlotIndependentlyWithProbabilityP()
    {
        // 20,000 items that all have both images (item 0 repeated).
        var rows = new int[20_000];
        var (_, m) = Hand().Gather(rows, dropout: 0.3, rng: new Rng(42));
        int n = rows.Length;
        double drop0 = 0, drop1 = 0, both = 0;
        for (int i = 0; i < n; i++)
        {
            bool d0 = m[2 * i] == 0, d1 = m[2 * i + 1] == 0;
            drop0 += d0 ? 1 : 0; drop1 += d1 ? 1 : 0; both += d0 && d1 ? 1 : 0;
        }
        // Binomial(20000, 0.3): sd 0.0032; 4 sd bounds. Independence: P(both) = 0.09 (sd 0.002).
        Assert.InRange(drop0 / n, 0.287, 0.313);
        Assert.InRange(drop1 / n, 0.287, 0.313);
        Assert.InRange(both / n, 0.082, 0.098);
        // Same seed, same masks; p = 0 drops nothing; a missing image is never "un-dropped".
        Assert.Equal(m, Hand().Gather(rows, dropout: 0.3, rng: new Rng(42)).Mask);
        Assert.NotEqual(m, Hand().Gather(rows, dropout: 0.3, rng: new Rng(43)).Mask);
        Assert.All(Hand().Gather(rows).Mask, x => Assert.Equal(1L, x));
        var (_, mm) = Hand().Gather(Enumerable.Repeat(2, 100).ToArray(), dropout: 0.5, rng: new Rng(1));
        Assert.All(mm, x => Assert.Equal(0L, x));
        Assert.Throws<ArgumentException>(() => Hand().Gather(rows, dropout: 0.3));
    }

    private static SiameseModel Fused(FusionKind kind, AdapterKind adapter, int imageDim, int mlpHidden = 0, PoolingMode pooling = PoolingMode.Mean,
        string checkpoint = "bert_plain")
    {
        var enc = Encoders.Load(Repo.Fixture("bert", checkpoint));
        var m = new SiameseModel(enc, pooling, false, new SiameseModel.FusionSpec(kind, imageDim, adapter, mlpHidden, 3));
        m.eval();
        return m;
    }

    [Theory]
    [InlineData("linear", "bert_plain")]
    [InlineData("mlp", "bert_plain")]
    [InlineData("linear", "distilbert_plain")]
    [InlineData("mlp", "distilbert_plain")]
    public void EarlyFusionMatchesPlainPyTorch(string adapter, string checkpoint)
    {
        using var exp = SafeTensorsFile.Open(Repo.Fixture("fusion", "early.safetensors"));
        var ids = tensor(exp.ReadInt64("ids"), exp.Info("ids").Shape);
        var mask = tensor(exp.ReadInt64("mask"), exp.Info("mask").Shape);
        var img = ImageBatch.From(exp.ReadFloat32("images"), exp.ReadInt64("image_mask"), 4, 3, 6);
        bool mlp = adapter == "mlp";
        using var model = Fused(FusionKind.Early, mlp ? AdapterKind.Mlp : AdapterKind.Linear, 6, mlp ? 10 : 0, checkpoint: checkpoint);
        var expKey = (checkpoint == "distilbert_plain" ? "distilbert." : "") + adapter;
        var sd = model.state_dict();
        using (no_grad())
            foreach (var key in model.FusionStateDict().Select(kv => kv.Key).ToList())
                sd[key].copy_(tensor(exp.ReadFloat32(adapter + "." + key), exp.Info(adapter + "." + key).Shape));
        using var _ = no_grad();
        var (hidden, full) = model.EncodeEarly(ids, mask, img);
        // The combined mask is [image mask | text mask].
        Assert.Equal(new long[] { 4, 10 }, full.shape);
        var fm = full.ToArray<long>();
        var im = exp.ReadInt64("image_mask"); var tm = exp.ReadInt64("mask");
        for (int b = 0; b < 4; b++)
            for (int j = 0; j < 10; j++)
                Assert.Equal(j < 3 ? im[b * 3 + j] : tm[b * 7 + j - 3], fm[b * 10 + j]);
        Models.BertParityTests.AssertClose(exp, expKey + ".hidden", hidden, checkpoint);
        Models.BertParityTests.AssertClose(exp, expKey + ".embedding", model.Embed(ids, mask, img), checkpoint);
    }

    [Theory]
    [InlineData(FusionKind.Early, false, "bert_plain")]
    [InlineData(FusionKind.Early, true, "bert_plain")]
    [InlineData(FusionKind.Early, false, "distilbert_plain")]
    [InlineData(FusionKind.Late, false, "bert_plain")]
    public void AMaskedSlotChangesNeitherTheTextOutputsNorTheEmbedding(FusionKind kind, bool zeroAdapter, string checkpoint)
    {
        using var model = Fused(kind, AdapterKind.Linear, 4, checkpoint: checkpoint);
        if (zeroAdapter)
            using (no_grad())
                foreach (var (_, p) in model.FusionStateDict()) p.zero_();
        var ids = tensor(new long[] { 2, 9, 14, 30, 3, /**/ 2, 20, 3, 0, 0 }, [2, 5]);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, /**/ 1, 1, 1, 0, 0 }, [2, 5]);
        var g = new Generator(7);
        var v = randn([2, 2, 4], generator: g);
        var imask = tensor(new long[] { 1, 0, /**/ 0, 1 }, [2, 2]);
        // Slot 1 of row 0 and slot 0 of row 1 are masked: fill them with anything else.
        var other = v.clone();
        using (no_grad())
        {
            other[0, 1] = randn(4, generator: g) * 100;
            other[1, 0] = randn(4, generator: g) * 100;
        }
        using var _ = no_grad();
        var a = new ImageBatch(v, imask);
        var b = new ImageBatch(other, imask);
        AssertClose(model.Embed(ids, mask, a), model.Embed(ids, mask, b), 1e-6, "embedding");
        if (kind == FusionKind.Early)
        {
            var (ha, _) = model.EncodeEarly(ids, mask, a);
            var (hb, _) = model.EncodeEarly(ids, mask, b);
            AssertClose(ha.narrow(1, 2, 5), hb.narrow(1, 2, 5), 1e-6, "text token outputs");
            AssertClose(ha[0, 0], hb[0, 0], 1e-6, "the present image slot's output");
        }
        // The test can fail: changing a PRESENT slot moves the embedding (unless the adapter is zero and the change
        // is in the adapter's input only).
        var changed = v.clone();
        using (no_grad()) changed[0, 0] = randn(4, generator: g) * 100;
        double moved = (model.Embed(ids, mask, a) - model.Embed(ids, mask, new ImageBatch(changed, imask))).abs().max().ToDouble();
        if (zeroAdapter) Assert.True(moved < 1e-6, $"zero adapter: moved {moved}");
        else Assert.True(moved > 1e-3, $"a present slot must matter, moved {moved}");
    }

    private static void AssertClose(Tensor want, Tensor got, double tol, string what)
    {
        Assert.Equal(want.shape, got.shape);
        double d = (want - got).abs().max().ToDouble();
        Assert.True(d <= tol, $"{what}: max |diff| {d:g3} > {tol}");
    }

    [Fact]
    public void LateFusionIsTheMaskedAttentionOverUnitVectors()
    {
        const int h = 3;
        using var late = new LateFusion(h);
        float[] q = [0.5f, -1.0f, 2.0f];
        using (no_grad()) late.query.copy_(tensor(q));
        float[] text = [1, 2, 2, /**/ 0, 3, 4];                                   // (2, 3)
        float[] imgs = [2, 0, 0, 0, 0, 5, /**/ 1, 1, 1, 9, 9, 9];                  // (2, 2, 3)
        long[] m = [1, 1, /**/ 0, 1];
        var got = late.forward(tensor(text, [2, h]), tensor(imgs, [2, 2, h]), tensor(m, [2, 2])).ToArray<float>();
        for (int b = 0; b < 2; b++)
        {
            // Hand computation in double: unit vectors, scores q·x/√H, softmax over the present ones, weighted sum.
            var xs = new List<double[]> { Unit(text.AsSpan(b * h, h)) };
            for (int k = 0; k < 2; k++) if (m[b * 2 + k] == 1) xs.Add(Unit(imgs.AsSpan((b * 2 + k) * h, h)));
            var s = xs.Select(x => x.Select((xi, i) => xi * q[i]).Sum() / Math.Sqrt(h)).ToArray();
            var e = s.Select(Math.Exp).ToArray();
            for (int i = 0; i < h; i++)
            {
                double want = xs.Select((x, j) => e[j] / e.Sum() * x[i]).Sum();
                Assert.Equal(want, got[b * h + i], 5);
            }
        }
    }

    private static double[] Unit(ReadOnlySpan<float> v)
    {
        double n = 0;
        foreach (var x in v) n += x * x;
        n = Math.Sqrt(n);
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = v[i] / n;
        return r;
    }

    [Fact]
    public void MismatchedShapesAreErrorsNotAborts()
    {
        using var model = Fused(FusionKind.Early, AdapterKind.Linear, 4);
        var ids = tensor(new long[] { 2, 9, 3 }, [1, 3]);
        var mask = tensor(new long[] { 1, 1, 1 }, [1, 3]);
        // A bank of another width.
        var e1 = Assert.Throws<ArgumentException>(() => model.Embed(ids, mask, new ImageBatch(zeros(1, 2, 5), ones(1, 2, dtype: ScalarType.Int64))));
        Assert.Contains("width 5", e1.Message);
        // Slots for another batch size.
        Assert.Throws<ArgumentException>(() => model.Embed(ids, mask, new ImageBatch(zeros(2, 2, 4), ones(2, 2, dtype: ScalarType.Int64))));
        // No image slots for a fused model.
        Assert.Throws<ArgumentException>(() => model.Embed(ids, mask));
        // Too many positions: 38 slots + 3 tokens > 40.
        Assert.Throws<ArgumentException>(() => model.Embed(ids, mask, new ImageBatch(zeros(1, 38, 4), ones(1, 38, dtype: ScalarType.Int64))));
    }
}
