using ViXml.Training.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Training.Prime;

/// <summary>What the label side does with its centroids at the end of an epoch.</summary>
public enum CentroidRefresh
{
    /// <summary>Nothing (ema updates per step; static never changes).</summary>
    None,
    /// <summary>The exact formula on the query embeddings the epoch's training steps stored (the stale bank).</summary>
    FromStaleBank,
    /// <summary>The exact formula on a fresh eval-mode pass over the training queries.</summary>
    FreshPass,
}

/// <summary>
/// PRIME's centroids (PRIME-SPEC §4): C[l] = the mean of the normalised training-query embeddings of label l's positives,
/// not re-normalised (norm ≤ 1), and the zero vector for a label without training positives.
/// </summary>
public static class Centroids
{
    /// <summary>The EMA weight of the old centroid (reference --ema_w_centroids).</summary>
    public const double EmaWeight = 0.95;

    /// <summary>
    /// Exact centroids from a bank of query embeddings: bank row j (of <paramref name="dim"/> floats) is training query
    /// <paramref name="rows"/>[j], whose labels are indices[indptr[q] .. indptr[q+1]). Sums in double. → (numLabels × dim).
    /// </summary>
    public static float[] Exact(ReadOnlySpan<float> bank, int dim, int[] rows, int[] indptr, int[] indices, int numLabels)
    {
        if (bank.Length != (long)rows.Length * dim)
            throw new ArgumentException($"the bank has {bank.Length} values, expected {rows.Length} rows × {dim}");
        var sum = new double[(long)numLabels * dim];
        var count = new int[numLabels];
        for (int j = 0; j < rows.Length; j++)
        {
            var v = bank.Slice(j * dim, dim);
            for (int p = indptr[rows[j]]; p < indptr[rows[j] + 1]; p++)
            {
                int l = indices[p];
                if ((uint)l >= (uint)numLabels) throw new ArgumentException($"label id {l} out of range [0, {numLabels})");
                count[l]++;
                long o = (long)l * dim;
                for (int d = 0; d < dim; d++) sum[o + d] += v[d];
            }
        }
        var result = new float[sum.Length];
        for (int l = 0; l < numLabels; l++)
        {
            if (count[l] == 0) continue;
            long o = (long)l * dim;
            for (int d = 0; d < dim; d++) result[o + d] = (float)(sum[o + d] / count[l]);
        }
        return result;
    }

    /// <summary>
    /// The EMA step (centroids ema): C[l] ← β·C[l] + (1 − β)·q for each label l of <paramref name="labels"/> (C) and the
    /// detached embedding q (C, E) of the query that drew it. Labels must be distinct (the batch's columns are). In place,
    /// on the centroids' device.
    /// </summary>
    public static void EmaUpdate(Tensor centroids, Tensor labels, Tensor q, double beta = EmaWeight)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var old = centroids.index_select(0, labels);
        var fresh = old * beta + q.detach().to(centroids.dtype, centroids.device) * (1 - beta);
        centroids.index_copy_(0, labels, fresh);
    }

    /// <summary>The refresh at the end of epoch <paramref name="epochsDone"/> (1-based) of <paramref name="epochs"/>.</summary>
    public static CentroidRefresh AtEpochEnd(CentroidUpdate mode, int epochsDone, int epochs) => mode switch
    {
        CentroidUpdate.Stale => epochsDone >= epochs ? CentroidRefresh.FreshPass : CentroidRefresh.FromStaleBank,
        CentroidUpdate.Exact => CentroidRefresh.FreshPass,
        _ => CentroidRefresh.None,
    };
}
