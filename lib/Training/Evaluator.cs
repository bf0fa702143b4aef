using ViXml.Training.Data;
using ViXml.Training.Fusion;
using ViXml.Training.Config;
using ViXml.Training.LabelSide;
using ViXml.Xmc;
using ViXml.Xmc.Search;
using ViXml.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>What one evaluation found: the metrics of the search, its (filtered, top-k) predictions, the mean
/// pairwise cosine of the searched label vectors (a collapse diagnostic), and — for a label side whose search vectors
/// differ from the encoder's own label embeddings (PRIME) — the metrics with the raw label embeddings.</summary>
public sealed record EvalResult(XmcMetricsResult Metrics, TopK Predictions, double LabelMeanCos, XmcMetricsResult? RawLabelMetrics = null);

/// <summary>
/// Exact evaluation of a Siamese model: test queries and label vectors embedded in eval mode (no dropout, no grad),
/// brute-force top-k inner-product search, the dataset's filter, pyxclib metrics. The label side decides which label
/// vectors are searched.
/// </summary>
public sealed class Evaluator
{
    private readonly SiameseModel _model;
    private readonly XmcDataset _data;
    private readonly TokenizedTexts _test, _labels;
    private readonly SplitImages? _images;
    private readonly EvalConfig _eval;

    public Evaluator(SiameseModel model, XmcDataset data, TokenizedTexts test, TokenizedTexts labels, SplitImages? images, EvalConfig eval)
    {
        (_model, _data, _test, _labels, _images, _eval) = (model, data, test, labels, images, eval);
    }

    public SiameseModel Model => _model;
    public TokenizedTexts LabelTexts => _labels;
    public SplitImages? Images => _images;

    /// <summary>
    /// Embeds the given rows in eval mode (no dropout, no grad) → (n, H) row-major. <paramref name="encode"/> maps a
    /// batch (ids, mask, image slots) to its (B, H) vectors; default the model's unit embedding.
    /// </summary>
    public static float[] EmbedAll(SiameseModel model, TokenizedTexts texts, int[] rows, ItemImages? images, int embedBatch,
        int maxImages = int.MaxValue, Func<Tensor, Tensor, ImageBatch?, Tensor>? encode = null)
    {
        encode ??= (ids, mask, img) => model.Embed(ids, mask, img);
        bool wasTraining = model.training;
        model.eval();
        var result = new float[(long)rows.Length * model.Dim];
        using (no_grad())
        {
            // Sort by length so each batch pads little; write back in the original order.
            var order = Enumerable.Range(0, rows.Length).OrderBy(i => texts.Length(rows[i])).ToArray();
            for (int s = 0; s < order.Length; s += embedBatch)
            {
                using var scope = NewDisposeScope();
                var chunk = order.AsSpan(s, Math.Min(embedBatch, order.Length - s)).ToArray();
                var items = chunk.Select(i => rows[i]).ToArray();
                var (ids, mask) = texts.Batch(items);
                var e = encode(ids, mask, images is null ? null : Gather(images, items, maxImages)).ToArray<float>();
                for (int j = 0; j < chunk.Length; j++) Array.Copy(e, j * model.Dim, result, (long)chunk[j] * model.Dim, model.Dim);
            }
        }
        model.train(wasTraining);
        return result;
    }

    /// <summary>This evaluator's <see cref="EmbedAll(SiameseModel, TokenizedTexts, int[], ItemImages?, int, int, Func{Tensor, Tensor, ImageBatch?, Tensor}?)"/>.</summary>
    public float[] EmbedAll(TokenizedTexts texts, int[] rows, ItemImages? images, int maxImages = int.MaxValue,
        Func<Tensor, Tensor, ImageBatch?, Tensor>? encode = null) =>
        EmbedAll(_model, texts, rows, images, _eval.EmbedBatch, maxImages, encode);

    /// <summary>Every label's unit embedding by the shared encoder (the plain label side's search vectors).</summary>
    public float[] EmbedLabels(Func<Tensor, Tensor, ImageBatch?, Tensor>? encode = null) =>
        EmbedAll(_labels, Enumerable.Range(0, _labels.Count).ToArray(), _images?.Labels, encode: encode);

    /// <summary>Embeds test queries (the first <paramref name="maxTest"/>, 0 = all) and the label side's label vectors,
    /// searches, scores.</summary>
    /// <param name="maxImages">At most this many images per test item (the first present slots); labels keep theirs.</param>
    public EvalResult Evaluate(ILabelSide labelSide, int maxTest, int maxImages = int.MaxValue)
    {
        int nTest = maxTest > 0 ? Math.Min(maxTest, _test.Count) : _test.Count;
        var q = EmbedAll(_test, Enumerable.Range(0, nTest).ToArray(), _images?.Test, maxImages);
        var labels = labelSide.EvaluationLabels(this);
        var (metrics, preds) = Search(q, nTest, labels.Search);
        XmcMetricsResult? raw = labels.Raw is null ? null : Search(q, nTest, labels.Raw).Metrics;
        return new EvalResult(metrics, preds, Trainer.MeanPairwiseCosine(labels.Search, _labels.Count, _model.Dim), raw);
    }

    private (XmcMetricsResult Metrics, TopK Predictions) Search(float[] q, int nTest, float[] l)
    {
        using var scope = NewDisposeScope();
        int extra = _data.Filter is null ? 0 : 10; // filtered pairs must not leave holes in the top-k
        var raw = TopKSearch.Search(tensor(q, [nTest, _model.Dim]), tensor(l, [_labels.Count, _model.Dim]), _eval.TopK + extra);
        var predictions = Truncate(_data.Filter is null ? raw : raw.WithoutPairs(_data.Filter), _eval.TopK);
        return (_data.Evaluate(predictions, 5, _eval.PropensityA, _eval.PropensityB, nTest), predictions);
    }

    internal static ImageBatch Gather(ItemImages images, int[] rows, int maxImages, double dropout = 0, Rng? rng = null)
    {
        var (v, m) = images.Gather(rows, maxImages, dropout, rng);
        return ImageBatch.From(v, m, rows.Length, images.K, images.Dim);
    }

    private static TopK Truncate(TopK t, int k)
    {
        if (t.K <= k) return t;
        var idx = new int[t.Rows * k]; var sc = new float[t.Rows * k];
        for (int r = 0; r < t.Rows; r++)
        {
            Array.Copy(t.Indices, r * t.K, idx, r * k, k);
            Array.Copy(t.Scores, r * t.K, sc, r * k, k);
        }
        return new TopK(t.Rows, k, idx, sc);
    }
}
