using System.Text.Json.Nodes;
using ViXml.Torch;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using ViXml.Training.LabelSide;
using ViXml.Training.Sampling;
using ViXml.Training.Session;
using ViXml.Xmc;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Training.Prime;

/// <summary>
/// <c>label_side.kind: prime</c> (PRIME-SPEC §2-8): the label tower gives u (the pooled encoder output before
/// normalisation); the loss sees r = n(u) and the enriched e = n(mean(layer([u, free vector, centroid]))) through
/// <see cref="PrimeLoss"/>; evaluation searches e and also reports the metrics with r.
/// Before the first step of a new run: centroids from an eval pass over the training queries, then the free-vector
/// assignment by balanced 2-means on the initial normalised label embeddings (and the mean init if asked). Each epoch
/// end refreshes the centroids (label_side.centroids); the last one also writes the run's embeddings/*.npy and
/// label_side.safetensors. Owns its AdamW groups (lr optim.lr_label_side; the combiner's weights, norm1/norm2 included,
/// decay as in the reference, its biases and the free vectors do not), the per-term positive stream and its checkpoint
/// tensors.
/// </summary>
public sealed class PrimeSide : ILabelSide
{
    private readonly TrainConfig _c;
    private readonly SiameseModel _model;
    private readonly PrimeLabelSide _side;
    private readonly PrimeLoss _loss;
    private Rng _positives;

    /// <summary>Labels enriched per forward pass at evaluation.</summary>
    public const int EnrichBatch = 4096;

    /// <summary>The checkpoint key of the per-term positive stream's state.</summary>
    public const string RngKey = "prime.positives_rng";

    public string Kind => "prime";
    public PrimeLabelSide Module => _side;

    /// <summary>A fresh label side for a new run (initialised from the run's seed; <see cref="Prepare"/> fills the
    /// assignment and centroids) or for a resumed one (the checkpoint overwrites everything).</summary>
    public PrimeSide(TrainConfig c, SiameseModel model, int numLabels)
        : this(c, model, Build(c, model, numLabels)) { }

    /// <summary>Around an existing label side (e.g. loaded from a run's label_side.safetensors for evaluation).</summary>
    public PrimeSide(TrainConfig c, SiameseModel model, PrimeLabelSide side)
    {
        _c = c;
        _model = model;
        _side = side;
        var device = model.parameters().First().device;
        _side.to(device);
        _side.train(model.training);
        _loss = new PrimeLoss(c.Loss);
        _positives = Rng.Derive(unchecked((ulong)c.Seed), 3);
    }

    private static PrimeLabelSide Build(TrainConfig c, SiameseModel model, int numLabels)
    {
        var ls = c.LabelSide;
        if (model.Dim % ls.Heads != 0)
            throw new ConfigException($"label_side.heads: the encoder's width {model.Dim} is not a multiple of {ls.Heads}");
        int nFree = FreeVectors.Count(ls.FreeVectors, numLabels);
        return new PrimeLabelSide(model.Dim, ls.Heads, ls.Ffn, ls.Dropout, nFree, numLabels, seed: c.Seed * 7_919 + 29);
    }

    public IReadOnlyList<Optim.ParamGroup> ParamGroups(TrainConfig c)
    {
        var named = _side.named_parameters().ToList();
        bool Combiner(string n) => n.StartsWith("combiner.", StringComparison.Ordinal);
        var decay = named.Where(p => Combiner(p.name) && !p.name.EndsWith("bias", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        var biases = named.Where(p => Combiner(p.name) && p.name.EndsWith("bias", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        return
        [
            new Optim.ParamGroup(decay, lr: c.Optim.LrLabelSide, weight_decay: c.Optim.WeightDecay),
            new Optim.ParamGroup(biases, lr: c.Optim.LrLabelSide, weight_decay: 0.0),
            new Optim.ParamGroup([_side.free_vectors], lr: c.Optim.LrLabelSide, weight_decay: 0.0),
        ];
    }

    public void Prepare(TrainingSession session)
    {
        var d = session.Data;
        int dim = _model.Dim, labels = _side.NumLabels;
        // Initial centroids: one eval-mode pass over the training queries (PRIME-SPEC §4, §7 step 4).
        var bank = Evaluator.EmbedAll(_model, d.Train, d.TrainRows, d.Images?.Train, _c.Eval.EmbedBatch);
        _side.SetCentroids(Centroids.Exact(bank, dim, d.TrainRows, d.Data.TrainY.Indptr, d.Data.TrainY.Indices, labels));
        // Free-vector assignment on the initial normalised label embeddings, once (§3).
        var lbl = session.Evaluator.EmbedLabels();
        var assignment = FreeVectors.Assign(lbl, labels, dim, _side.NumFree, Rng.Derive(session.Seed, 4).NextULong(),
            _c.Sampler.Ngame.Iterations);
        _side.SetAssignment(assignment);
        if (_c.LabelSide.Init == FreeVectorInit.Mean)
            _side.SetFreeVectors(FreeVectors.MeanInit(lbl, labels, dim, assignment, _side.NumFree));
        session.Record.Set("label_side", new JsonObject
        {
            ["kind"] = Kind, ["free_vectors"] = _side.NumFree, ["labels"] = labels, ["heads"] = _side.Heads,
            ["ffn"] = _c.LabelSide.Ffn, ["init"] = Name(_c.LabelSide.Init), ["centroids"] = Name(_c.LabelSide.Centroids),
            ["parameters"] = _side.num_parameters(),
        });
    }

    private static string Name<T>(T e) where T : Enum => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(e.ToString());

    public Tensor EncodeLabels(SiameseModel model, Tensor ids, Tensor mask, ImageBatch? images) =>
        model.EmbedUnnormalised(ids, mask, images);

    public Tensor Loss(Tensor q, Tensor labels, LabelBatch batch, IBatchLoss loss)
    {
        using var scope = NewDisposeScope();
        _side.train(_model.training);
        var ids = tensor(batch.Labels.Select(x => (long)x).ToArray(), device: labels.device);
        var r = F.normalize(labels, p: 2, dim: 1, eps: 1e-12);                         // (C, H)
        var e = _side.Enrich(labels, ids);                                               // (C, H)
        var target = tensor(batch.Target, [batch.B, batch.L], device: q.device);
        using var pos = PrimeLoss.Draw(batch.Target, batch.B, batch.L, batch.PositiveColumn, _c.Loss.Positives, _positives, q.device);
        if (_c.LabelSide.Centroids == CentroidUpdate.Ema)
        {
            // After this batch's forward (it used the old centroids): C[l] ← β C[l] + (1 − β) q of the query that drew
            // l; with several such queries the last one (the reference's index assignment keeps the last write).
            var drawer = new long[batch.L];
            for (int i = 0; i < batch.B; i++) drawer[batch.PositiveColumn[i]] = i;
            Centroids.EmaUpdate(_side.CentroidBank, ids, q.detach().index_select(0, tensor(drawer, device: q.device)));
        }
        return _loss.Forward(q, r, e, target, pos).Total.MoveToOuterDisposeScope();
    }

    public void EndEpoch(TrainingSession session, int epochsDone, float[] stale)
    {
        var d = session.Data;
        bool last = epochsDone >= _c.Optim.Epochs;
        float[]? trainAll = null;
        switch (Centroids.AtEpochEnd(_c.LabelSide.Centroids, epochsDone, _c.Optim.Epochs))
        {
            case CentroidRefresh.FromStaleBank:
                _side.SetCentroids(Centroids.Exact(stale, _model.Dim, d.TrainRows, d.Data.TrainY.Indptr, d.Data.TrainY.Indices, _side.NumLabels));
                break;
            case CentroidRefresh.FreshPass:
                trainAll = EmbedAllTrain(d);
                _side.SetCentroids(Centroids.Exact(Gather(trainAll, d.TrainRows), _model.Dim, d.TrainRows, d.Data.TrainY.Indptr,
                    d.Data.TrainY.Indices, _side.NumLabels));
                break;
        }
        if (last) WriteArtifacts(session, trainAll ?? EmbedAllTrain(d));
    }

    /// <summary>Every training text (one row per line of trn_X.txt) in eval mode.</summary>
    private float[] EmbedAllTrain(TrainingData d) =>
        Evaluator.EmbedAll(_model, d.Train, Enumerable.Range(0, d.Train.Count).ToArray(), d.Images?.Train, _c.Eval.EmbedBatch);

    private float[] Gather(float[] all, int[] rows)
    {
        int dim = _model.Dim;
        var result = new float[(long)rows.Length * dim];
        for (int j = 0; j < rows.Length; j++) Array.Copy(all, (long)rows[j] * dim, result, (long)j * dim, dim);
        return result;
    }

    /// <summary>
    /// The run folder's final artifacts, in layouts a Python user reads directly: embeddings/trn.npy, tst.npy (unit
    /// query vectors, one row per line of the split's text file), lbl.npy (the enriched vectors the search uses),
    /// lbl_u.npy (the label encoder outputs u before normalisation) and label_side.safetensors.
    /// </summary>
    private void WriteArtifacts(TrainingSession session, float[] trainAll)
    {
        var d = session.Data;
        int dim = _model.Dim;
        var dir = Path.Combine(session.RunDir, "embeddings");
        Directory.CreateDirectory(dir);
        Npy.WriteFloat32(Path.Combine(dir, "trn.npy"), trainAll, d.Train.Count, dim);
        var tst = Evaluator.EmbedAll(_model, d.Test, Enumerable.Range(0, d.Test.Count).ToArray(), d.Images?.Test, _c.Eval.EmbedBatch);
        Npy.WriteFloat32(Path.Combine(dir, "tst.npy"), tst, d.Test.Count, dim);
        var (u, enriched, _) = LabelEmbeddings(session.Evaluator);
        Npy.WriteFloat32(Path.Combine(dir, "lbl_u.npy"), u, _side.NumLabels, dim);
        Npy.WriteFloat32(Path.Combine(dir, "lbl.npy"), enriched, _side.NumLabels, dim);
        _side.Save(Path.Combine(session.RunDir, PrimeLabelSide.FileName));
    }

    /// <summary>Every label in eval mode: u (before normalisation), the enriched vectors and the raw unit vectors.</summary>
    private (float[] U, float[] Enriched, float[] Raw) LabelEmbeddings(Evaluator evaluator)
    {
        int dim = _model.Dim, n = _side.NumLabels;
        if (evaluator.LabelTexts.Count != n)
            throw new InvalidDataException($"the label side has {n:N0} labels but the dataset has {evaluator.LabelTexts.Count:N0} ({PrimeLabelSide.FileName} from another dataset?)");
        var u = evaluator.EmbedLabels((ids, mask, img) => _model.EmbedUnnormalised(ids, mask, img));
        var enriched = new float[u.Length];
        var raw = new float[u.Length];
        bool wasTraining = _side.training;
        _side.eval();
        var device = _side.free_vectors.device;
        using (no_grad())
            for (int s = 0; s < n; s += EnrichBatch)
            {
                using var scope = NewDisposeScope();
                int m = Math.Min(EnrichBatch, n - s);
                var chunk = tensor(u.AsSpan(s * dim, m * dim).ToArray(), [m, dim]).to(device);
                var ids = arange(s, s + m, dtype: int64, device: device);
                Array.Copy(_side.Enrich(chunk, ids).cpu().ToArray<float>(), 0, enriched, (long)s * dim, (long)m * dim);
                Array.Copy(F.normalize(chunk, p: 2, dim: 1, eps: 1e-12).cpu().ToArray<float>(), 0, raw, (long)s * dim, (long)m * dim);
            }
        _side.train(wasTraining);
        return (u, enriched, raw);
    }

    public LabelVectors EvaluationLabels(Evaluator evaluator)
    {
        var (_, enriched, raw) = LabelEmbeddings(evaluator);
        return new LabelVectors(enriched, raw);
    }

    public IEnumerable<KeyValuePair<string, Tensor>> CheckpointTensors()
    {
        foreach (var kv in _side.FileStateDict()) yield return kv;
        yield return KeyValuePair.Create(RngKey, tensor(_positives.GetState().Select(x => unchecked((long)x)).ToArray()));
    }

    public void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var expected = _side.FileStateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var missing = expected.Keys.Append(RngKey).Where(k => !tensors.ContainsKey(k)).ToList();
        var extra = tensors.Keys.Where(k => k != RngKey && !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidDataException($"checkpoint {Checkpoint.LabelSideFile}: " +
                (missing.Count > 0 ? $"missing {string.Join(", ", missing)} " : "") + (extra.Count > 0 ? $"unexpected {string.Join(", ", extra)}" : "") +
                " (label_side.kind prime)");
        using (no_grad())
            foreach (var (k, dst) in expected)
            {
                var src = tensors[k];
                if (!src.shape.SequenceEqual(dst.shape))
                    throw new InvalidDataException($"checkpoint {Checkpoint.LabelSideFile}: {k} has shape [{string.Join(", ", src.shape)}], expected [{string.Join(", ", dst.shape)}]");
                dst.copy_(src);
            }
        _positives = Rng.FromState(tensors[RngKey].ToArray<long>().Select(x => unchecked((ulong)x)).ToArray());
    }

    public void Dispose() => _side.Dispose();
}
