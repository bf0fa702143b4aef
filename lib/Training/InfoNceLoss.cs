using ViXml.Torch;
using ViXml.Training.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>A loss over one batch's similarity matrix (queries × in-batch labels).</summary>
public interface IBatchLoss
{
    /// <summary><paramref name="sim"/> (B, L) cosine similarities of the batch's queries to its labels → a scalar.</summary>
    Tensor Forward(Tensor sim, Sampling.LabelBatch batch);
}

/// <summary>
/// InfoNCE (in-batch softmax cross-entropy), multi-positive aware by masking. For each row r (a query, or a label in
/// the label→query direction) with similarities s over the columns:
///   logits z = s / temperature;
///   the other true positives of r (target 1, but not r's drawn positive) are removed from the denominator (z = −∞),
///   so a query is never pushed away from a label it truly has;
///   row loss = −z[pos_r] + logsumexp_c z_c over the drawn positive and all negatives; loss = mean over rows.
/// Unlike the hard-negative triplet loss this uses every in-batch negative with a smooth weight, so a collapsed
/// embedding (all similarities equal) costs log(#columns) and its gradient points away from the collapse.
/// The label→query direction (weight label_to_query) runs the same on the transpose, each label's positive being the
/// first query that drew it (as in <see cref="TripletLoss"/>).
/// </summary>
public sealed class InfoNceLoss(LossConfig cfg) : IBatchLoss
{
    public LossConfig Config { get; } = cfg;

    /// <summary>
    /// One direction. <paramref name="sim"/> (R, C); <paramref name="target"/> (R, C) with 1 at every true positive;
    /// <paramref name="positive"/> (R) int64 column of each row's drawn positive. Returns a scalar.
    /// </summary>
    public Tensor Direction(Tensor sim, Tensor target, Tensor positive)
    {
        var pos = positive.unsqueeze(1);                                              // (R, 1)
        Tensor otherPositive;
        using (no_grad())
        {
            var drawn = zeros_like(target).scatter_(1, pos, ones_like(target));       // (R, C) 1 at the drawn column
            otherPositive = (target - drawn).gt(0);                                   // (R, C) masked from the softmax
        }
        var logits = sim / Config.Temperature;                                         // (R, C)
        var lse = MetaSafe.LogSumExp(logits.masked_fill(otherPositive, double.NegativeInfinity), 1);   // (R)
        var zp = logits.gather(1, pos).squeeze(1);                                     // (R)
        return (lse - zp).mean();
    }

    /// <summary>query→label on <paramref name="sim"/> (B, L) plus label_to_query × the label→query term.</summary>
    public Tensor Forward(Tensor sim, Sampling.LabelBatch batch)
    {
        using var t = tensor(batch.Target, [batch.B, batch.L], device: sim.device);
        var tt = t.to(sim.dtype);
        using var pos = tensor(batch.PositiveColumn.Select(c => (long)c).ToArray(), [batch.B], device: sim.device);
        var loss = Direction(sim, tt, pos);
        if (Config.LabelToQuery > 0)
        {
            using var tT = tt.t().contiguous();
            using var labelPos = tensor(TripletLoss.FirstQueryPerLabel(batch), [batch.L], device: sim.device);
            loss = loss + Direction(sim.t(), tT, labelPos) * Config.LabelToQuery;
        }
        return loss;
    }
}
