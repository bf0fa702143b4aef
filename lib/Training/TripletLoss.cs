using ViXml.Torch;
using ViXml.Training.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>
/// Triplet loss with online hard-negative mining over the in-batch candidates (NGAME/PRIME style).
/// For each row r (a query, or a label in the label→query direction) with similarities s (one per column):
///   s_p = s[pos_r] (the drawn positive); negatives = columns that are no true positive of r (target 0);
///   keep the top_k hardest negatives (largest s_n);
///   margin m = fixed value, or clamp(|s_p − s_n|, min, max) computed without gradient;
///   hinge h_n = relu(s_n − s_p + m);
///   "aggressive": h_n ← h_n · softmax_n(s'_n / τ) where s'_n = s_n for violating negatives (h_n &gt; 0) and −50
///   otherwise (so the softmax runs over the violating ones; the weights carry gradient, as in the reference);
///   row loss = Σ_n h_n; loss = mean over rows.
/// If a row has fewer than top_k negatives, the missing slots contribute nothing.
/// </summary>
public sealed class TripletLoss(LossConfig cfg) : IBatchLoss
{
    public LossConfig Config { get; } = cfg;

    /// <summary>
    /// One direction. <paramref name="sim"/> (R, C) similarities; <paramref name="target"/> (R, C) with 1 at every true
    /// positive; <paramref name="positive"/> (R) int64 column of each row's drawn positive. Returns a scalar.
    /// </summary>
    public Tensor Direction(Tensor sim, Tensor target, Tensor positive)
    {
        long cols = sim.size(1);
        long k = Math.Min(Config.TopK, cols);
        var isPos = target.gt(0);                                       // (R, C) bool
        var sp = sim.gather(1, positive.unsqueeze(1));                   // (R, 1)
        Tensor idx;
        using (no_grad())
        {
            var hardness = sim.detach().masked_fill(isPos, double.NegativeInfinity);
            idx = hardness.topk((int)k, 1).indexes;                           // (R, k) hardest negatives
        }
        var sn = sim.gather(1, idx);                                      // (R, k)
        var notNegative = isPos.gather(1, idx);                          // (R, k) slots that fell on positives
        Tensor margin = Config.Margin == MarginKind.Fixed
            ? full_like(sn, Config.MarginValue)
            : MetaSafe.Abs(sp - sn).clamp(Config.MarginMin, Config.MarginMax).detach();
        var hinge = MetaSafe.Relu(sn - sp + margin).masked_fill(notNegative, 0.0);   // (R, k)
        if (Config.Aggressive)
        {
            var weights = (sn.masked_fill(hinge.eq(0), -50.0) / Config.Tau).softmax(1);
            hinge = hinge * weights;
        }
        return hinge.sum(1).mean();
    }

    /// <summary>
    /// The full loss for a batch: query→label on <paramref name="sim"/> (B, L) plus label_to_query × the label→query
    /// term on its transpose, where each label's positive is the first query that drew it.
    /// </summary>
    public Tensor Forward(Tensor sim, Sampling.LabelBatch batch)
    {
        using var t = tensor(batch.Target, [batch.B, batch.L], device: sim.device);
        using var pos = tensor(batch.PositiveColumn.Select(c => (long)c).ToArray(), [batch.B], device: sim.device);
        var loss = Direction(sim, t, pos);
        if (Config.LabelToQuery > 0)
        {
            using var tT = t.t().contiguous();
            using var labelPos = tensor(FirstQueryPerLabel(batch), [batch.L], device: sim.device);
            loss = loss + Direction(sim.t(), tT, labelPos) * Config.LabelToQuery;
        }
        return loss;
    }

    /// <summary>For each batch label, the first query (row) that drew it as its positive.</summary>
    public static long[] FirstQueryPerLabel(Sampling.LabelBatch batch)
    {
        var first = new long[batch.L];
        Array.Fill(first, -1);
        for (int i = 0; i < batch.B; i++)
            if (first[batch.PositiveColumn[i]] < 0) first[batch.PositiveColumn[i]] = i;
        return first;
    }
}
