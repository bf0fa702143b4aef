using ViXml.Models;
using ViXml.Models.Qwen2;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using ViXml.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Fusion;

/// <summary>Early fusion on the decoder path: the prompt template's image slots take the adapter's vectors.</summary>
[Collection("Qwen2 torch")]
public class DecoderFusionTests
{
    private static Qwen2Config Tiny => new()
    {
        HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = 151936, MaxPositionEmbeddings = 128, RopeTheta = 1e6, TieWordEmbeddings = true,
    };

    [Theory]
    [InlineData("t1-e-eeos")]
    [InlineData("image-first")]
    public void ImageSlotsHoldTheProjectedVectorsAndMaskedSlotsDoNotMatter(string template)
    {
        using var scope = NewDisposeScope();
        var tok = Qwen2Encoders.Tokenizer(null);
        var enc = Qwen2Encoders.Create(new Qwen2EncoderSettings { Shapes = Tiny, Template = template, Dtype = ScalarType.Float32, Seed = 2 }, tok);
        using var model = new SiameseModel(enc, PoolingMode.Mean, false, new SiameseModel.FusionSpec(FusionKind.Early, 4, AdapterKind.Linear, 0, 5));
        model.eval();
        int[][] texts = [[100, 200, 300], [400]];
        var ids = tensor(new long[] { 100, 200, 300, /**/ 400, 0, 0 }, [2, 3]);
        var mask = tensor(new long[] { 1, 1, 1, /**/ 1, 0, 0 }, [2, 3]);
        var g = new Generator(11);
        var v = randn([2, 2, 4], generator: g);                       // K = 2 from the bank, the template has 3 slots
        var imask = tensor(new long[] { 1, 0, /**/ 1, 1 }, [2, 2]);
        using var _ = no_grad();

        // Hand-built layout: piece lengths from the tokenised template; the text slot is 3 wide (the longest text).
        var t = enc.Prompt.Template;
        int p = t.PrefixIds.Length, q = t.ImagePrefixIds.Length, s = t.SuffixIds.Length;
        Assert.True(p > 0 && q > 0 && s == 1);
        long[] Row(long[] text, long[] img) => template == "t1-e-eeos"
            ? [.. Enumerable.Repeat(1L, p), .. text, .. Enumerable.Repeat(1L, q), .. img, 1]
            : [.. Enumerable.Repeat(1L, q), .. img, .. Enumerable.Repeat(1L, p), .. text, 1];
        long[] wantMask = [.. Row([1, 1, 1], [1, 0, 0]), .. Row([1, 0, 0], [1, 1, 0])];
        var projected = model.ImageAdapter!.forward(v);               // (2, 2, 32)
        var padded = cat([projected, zeros(2, 1, 32)], 1);            // (2, 3, 32)
        bool[][] present = [[true, false, false], [true, true, false]];
        var (embeds, m, positions, layout) = enc.Prompt.Assemble(texts, padded, present);
        int T = p + 3 + q + 3 + s;
        Assert.Equal(new long[] { 2, T, 32 }, embeds.shape);
        Assert.Equal(wantMask, m.ToArray<long>());
        Assert.Equal(Enumerable.Range(0, T).Select(x => (long)x).Concat(Enumerable.Range(0, T).Select(x => (long)x)), positions.ToArray<long>());
        int first = template == "t1-e-eeos" ? p + 3 + q : q;        // position of image slot 0
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < 2; j++)
                Assert.Equal(0.0, (embeds[b, first + j] - projected[b, j]).abs().max().ToDouble());

        // The model's embedding is that prompt, pooled and normalised.
        var e = model.Embed(ids, mask, new ImageBatch(v, imask));
        var want = ViXml.Models.Pooling.L2Normalize(enc.Prompt.Encode(texts, padded, present));
        Assert.True((e - want).abs().max().ToDouble() < 1e-6);
        // A masked slot's vector does not matter; a present one does.
        var other = v.clone(); other[0, 1] = randn(4, generator: g) * 100;
        Assert.True((model.Embed(ids, mask, new ImageBatch(other, imask)) - e).abs().max().ToDouble() < 1e-6);
        var changed = v.clone(); changed[0, 0] = randn(4, generator: g) * 100;
        Assert.True((model.Embed(ids, mask, new ImageBatch(changed, imask)) - e).abs().max().ToDouble() > 1e-4);
        // More images than slots is an error, not an abort.
        Assert.Throws<ArgumentException>(() => model.Embed(ids, mask, new ImageBatch(randn(2, 4, 4), ones(2, 4, dtype: ScalarType.Int64))));
    }
}
