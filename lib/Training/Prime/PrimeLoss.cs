using ViXml.Training.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Training.Prime;

/// <summary>The drawn positive column of each row for the four PRIME terms: L_u and L_uv and L_r (B each, columns of
/// the batch), L_i (C, rows of the batch). int64 tensors on the loss inputs' device.</summary>
public sealed record PrimePositives(Tensor U, Tensor I, Tensor Uv, Tensor R) : IDisposable
{
    public void Dispose() { U.Dispose(); I.Dispose(); Uv.Dispose(); R.Dispose(); }
}

/// <summary>The total and its four terms (scalars).</summary>
public sealed record PrimeLossTerms(Tensor Total, Tensor Lu, Tensor Li, Tensor Luv, Tensor Lr);

/// <summary>
/// PRIME's loss (PRIME-SPEC §5) over one batch of B queries and C label columns:
/// <c>L = L_u(q·rᵀ, Y) + L_uv(q·eᵀ, Y) + label_to_query·L_i(r·qᵀ, Yᵀ) + reg_weight·L_r(q·rᵀ, q·eᵀ, Y)</c>, with q the unit
/// query embeddings, r the unit raw label embeddings and e the enriched ones. Each of L_u, L_uv, L_i is the OHNM triplet
/// of <see cref="TripletLoss"/> (top_k hardest in-batch negatives, margin clamp(|s_p − s_n|, margin_min, margin_max)
/// detached, softmax(s_n/τ) weights over the violators, sum over negatives, mean over rows) with the hinge
/// max(0, (s_n − s_p) + m) under <see cref="LossConfig.TieRule"/>: half passes ½ of the gradient at exactly 0 as the
/// reference's torch.max does (every negative with margin_min ≤ s_p − s_n ≤ margin_max sits there exactly), zero is
/// relu. L_r: an independent positive p′ per row; P_r = max(0, Sⁱ[r,p′] − Sᶠ[r,p′] + δ), and over the top_k negatives
/// c by the enriched score N = max(0, Sᶠ[r,c] − Sⁱ[r,c] + δ); L_r = ½(ΣP/#{P&gt;0} + ΣN/#{N&gt;0}) with the counts
/// constant and a part with zero sum counted as 0; δ = 0.1. Only B×C matrices are built.
/// Inputs are plain tensors (they may come from cached embeddings); the target is (B, C) with 1 at every true positive.
/// A slot of the top_k that falls on a positive (a row with fewer than top_k negatives) contributes nothing.
/// </summary>
public sealed class PrimeLoss(LossConfig cfg)
{
    /// <summary>The regulariser's margin δ (reference: RegLoss's default 0.1).</summary>
    public const double RegMargin = 0.1;

    public LossConfig Config { get; } = cfg;

    /// <summary>max(0, x) with the configured gradient at exactly 0.</summary>
    public Tensor Hinge(Tensor x) => Config.TieRule == TieRule.Half ? maximum(x, zeros_like(x)) : x.relu();

    /// <summary>One OHNM triplet term: sim (R, C), isPositive (R, C) bool, positive (R) int64 → scalar.</summary>
    public Tensor Triplet(Tensor sim, Tensor isPositive, Tensor positive)
    {
        using var scope = NewDisposeScope();
        long k = Math.Min(Config.TopK, sim.size(1));
        var sp = sim.gather(1, positive.unsqueeze(1));                                 // (R, 1)
        Tensor idx;
        using (no_grad())
            idx = sim.detach().masked_fill(isPositive, double.NegativeInfinity).topk((int)k, 1).indexes;   // (R, k)
        var sn = sim.gather(1, idx);                                                    // (R, k)
        var onPositive = isPositive.gather(1, idx);                                    // (R, k)
        Tensor margin = Config.Margin == MarginKind.Fixed
            ? full_like(sn, Config.MarginValue)
            : (sp - sn).abs().clamp(Config.MarginMin, Config.MarginMax).detach();
        var h = Hinge((sn - sp) + margin).masked_fill(onPositive, 0.0);                 // (R, k)
        if (Config.Aggressive)
            h = h * (sn.masked_fill(h.eq(0), -50.0) / Config.Tau).softmax(1);
        return h.sum(1).mean().MoveToOuterDisposeScope();
    }

    /// <summary>PRIME's regulariser L_r: sRaw = q·rᵀ, sEnriched = q·eᵀ (R, C), positive (R) → scalar.</summary>
    public Tensor Regulariser(Tensor sRaw, Tensor sEnriched, Tensor isPositive, Tensor positive)
    {
        using var scope = NewDisposeScope();
        long k = Math.Min(Config.TopK, sRaw.size(1));
        var pcol = positive.unsqueeze(1);
        var p = Hinge(sRaw.gather(1, pcol) - sEnriched.gather(1, pcol) + RegMargin);     // (R, 1)
        Tensor idx;
        using (no_grad())
            idx = sEnriched.detach().masked_fill(isPositive, double.NegativeInfinity).topk((int)k, 1).indexes;   // (R, k)
        var n = Hinge(sEnriched.gather(1, idx) - sRaw.gather(1, idx) + RegMargin)
            .masked_fill(isPositive.gather(1, idx), 0.0);                               // (R, k)
        return ((Part(p) + Part(n)) * 0.5).MoveToOuterDisposeScope();
    }

    /// <summary>Σx / #{x &gt; 0} with the count constant, or 0 when the sum is 0 (then no gradient, as the reference).</summary>
    private static Tensor Part(Tensor x)
    {
        var sum = x.sum();
        Tensor count;
        using (no_grad()) count = x.detach().gt(0).sum().to(x.dtype).clamp_min(1);
        return where(sum.eq(0), zeros_like(sum), sum / count);
    }

    /// <summary>
    /// The total over one batch: q (B, E) unit queries, r (C, E) unit raw labels, e (C, E) enriched labels, target (B, C).
    /// </summary>
    public PrimeLossTerms Forward(Tensor q, Tensor r, Tensor e, Tensor target, PrimePositives pos)
    {
        using var scope = NewDisposeScope();
        if (q.size(1) != r.size(1) || r.shape[0] != e.shape[0] || r.size(1) != e.size(1)
            || target.size(0) != q.size(0) || target.size(1) != r.size(0))
            throw new ArgumentException($"PRIME loss: q [{string.Join(", ", q.shape)}], r [{string.Join(", ", r.shape)}], " +
                                        $"e [{string.Join(", ", e.shape)}] and target [{string.Join(", ", target.shape)}] do not match");
        var isPos = target.gt(0);                                                     // (B, C)
        var sRaw = q.mm(r.t());                                                        // (B, C)
        var lu = Triplet(sRaw, isPos, pos.U);
        var li = Triplet(r.mm(q.t()), isPos.t(), pos.I);                              // (C, B)
        var sEnriched = q.mm(e.t());                                                   // (B, C)
        var luv = Triplet(sEnriched, isPos, pos.Uv);
        var lr = Regulariser(sRaw, sEnriched, isPos, pos.R);
        var total = lu + luv + li * Config.LabelToQuery + lr * Config.RegWeight;
        return new PrimeLossTerms(total.MoveToOuterDisposeScope(), lu.MoveToOuterDisposeScope(), li.MoveToOuterDisposeScope(),
            luv.MoveToOuterDisposeScope(), lr.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The four positive draws of one step, in the reference's order (L_u, L_i, L_uv, L_r). per_term: each row's
    /// positive uniformly among its in-batch positives, independently per term; fixed: the query's own drawn column for
    /// L_u, L_uv and L_r, and for L_i the first query that drew the label (today's <see cref="TripletLoss"/> rule).
    /// <paramref name="target"/> is (B, C) row-major; every row and every column must hold a positive.
    /// </summary>
    public static PrimePositives Draw(float[] target, int b, int c, int[] positiveColumn, LossPositives rule, Rng rng, Device device)
    {
        long[] u, i, uv, r;
        if (rule == LossPositives.Fixed)
        {
            u = positiveColumn.Select(x => (long)x).ToArray();
            i = new long[c];
            Array.Fill(i, -1);
            for (int row = 0; row < b; row++)
                if (i[positiveColumn[row]] < 0) i[positiveColumn[row]] = row;
            if (Array.IndexOf(i, -1L) is var missing and >= 0)
                throw new ArgumentException($"PRIME loss: column {missing} was drawn by no query");
            uv = u; r = u;
        }
        else
        {
            u = DrawRows(target, b, c, transposed: false, rng);
            i = DrawRows(target, b, c, transposed: true, rng);
            uv = DrawRows(target, b, c, transposed: false, rng);
            r = DrawRows(target, b, c, transposed: false, rng);
        }
        return new PrimePositives(tensor(u, device: device), tensor(i, device: device), tensor(uv, device: device), tensor(r, device: device));
    }

    /// <summary>One uniform draw among the positives of every row of the target (or of its transpose).</summary>
    public static long[] DrawRows(float[] target, int b, int c, bool transposed, Rng rng)
    {
        int rows = transposed ? c : b, cols = transposed ? b : c;
        var result = new long[rows];
        var hits = new List<int>();
        for (int row = 0; row < rows; row++)
        {
            hits.Clear();
            for (int col = 0; col < cols; col++)
                if ((transposed ? target[(long)col * c + row] : target[(long)row * c + col]) > 0) hits.Add(col);
            if (hits.Count == 0)
                throw new ArgumentException($"PRIME loss: {(transposed ? "column" : "row")} {row} of the batch target has no positive");
            result[row] = hits[hits.Count == 1 ? 0 : rng.NextInt(hits.Count)];
        }
        return result;
    }
}
