using ViXml.Torch;
using ViXml.Training.Config;
using ViXml.Training.Fusion;
using ViXml.Training.Sampling;
using ViXml.Training.Session;
using static TorchSharp.torch;

namespace ViXml.Training.LabelSide;

/// <summary>The label vectors an evaluation searches (unit rows, (L, H) row-major), and — when they differ from what
/// the shared encoder alone gives — those raw label embeddings too, for a second set of metrics.</summary>
public sealed record LabelVectors(float[] Search, float[]? Raw = null);

/// <summary>
/// The label tower of the Siamese model as a component (<c>label_side.kind</c>). <c>plain</c>: labels are embedded by
/// the shared encoder and nothing else. A richer label side (PRIME: free vectors, centroids, a combiner) owns its
/// parameters and their optimiser groups, its state across epochs (refreshed at each epoch end), the tensors it adds
/// to a checkpoint, the batch loss, and the label vectors evaluation searches.
/// The step calls <see cref="EncodeLabels"/> on the batch's labels and then <see cref="Loss"/>, so a chunked step
/// (GradCache) can cache the encoder outputs and compute the loss at full batch.
/// </summary>
public interface ILabelSide : IDisposable
{
    /// <summary>The configuration name (<c>plain</c>, <c>prime</c>).</summary>
    string Kind { get; }

    /// <summary>AdamW groups for the label side's own parameters (none for plain); built once, after the model moved to
    /// its device and before the optimiser exists.</summary>
    IReadOnlyList<Optim.ParamGroup> ParamGroups(TrainConfig c);

    /// <summary>Before the first step of a new run (not on resume): e.g. assignments and centroids from the untrained
    /// model.</summary>
    void Prepare(TrainingSession session);

    /// <summary>The batch's labels through the shared encoder → (L, H): what <see cref="Loss"/> takes as its label input
    /// (plain: the unit embeddings).</summary>
    Tensor EncodeLabels(SiameseModel model, Tensor ids, Tensor mask, ImageBatch? images);

    /// <summary>The batch loss from the queries' unit embeddings q (B, H) and the encoded labels (L, H) → a scalar.</summary>
    Tensor Loss(Tensor q, Tensor labels, LabelBatch batch, IBatchLoss loss);

    /// <summary>After epoch <paramref name="epochsDone"/> with the (n, H) query embeddings it produced (the stale bank).</summary>
    void EndEpoch(TrainingSession session, int epochsDone, float[] stale);

    /// <summary>The label vectors evaluation searches.</summary>
    LabelVectors EvaluationLabels(Evaluator evaluator);

    /// <summary>Tensors the checkpoint keeps beyond the model and the optimiser (none for plain).</summary>
    IEnumerable<KeyValuePair<string, Tensor>> CheckpointTensors();

    /// <summary>Restores what <see cref="CheckpointTensors"/> saved.</summary>
    void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> tensors);
}

/// <summary>Labels embedded by the shared encoder, scored against the queries by inner product: today's Siamese model.</summary>
public sealed class PlainLabelSide : ILabelSide
{
    public string Kind => "plain";

    public IReadOnlyList<Optim.ParamGroup> ParamGroups(TrainConfig c) => [];

    public void Prepare(TrainingSession session) { }

    public Tensor EncodeLabels(SiameseModel model, Tensor ids, Tensor mask, ImageBatch? images) => model.Embed(ids, mask, images);

    public Tensor Loss(Tensor q, Tensor labels, LabelBatch batch, IBatchLoss loss) => loss.Forward(q.matmul_checked(labels.t()), batch);

    public void EndEpoch(TrainingSession session, int epochsDone, float[] stale) { }

    public LabelVectors EvaluationLabels(Evaluator evaluator) => new(evaluator.EmbedLabels());

    public IEnumerable<KeyValuePair<string, Tensor>> CheckpointTensors() => [];

    public void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> tensors)
    {
        if (tensors.Count > 0)
            throw new InvalidDataException($"the checkpoint holds label-side tensors ({string.Join(", ", tensors.Keys.Take(3))}…) but label_side.kind is plain");
    }

    public void Dispose() { }
}
