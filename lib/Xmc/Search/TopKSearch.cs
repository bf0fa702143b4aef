using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Xmc.Search;

/// <summary>
/// Exact inner-product top-k search: queries in batches, labels in shards; each (batch, shard) block is one matmul
/// followed by a top-k, and the per-shard winners are merged by a second top-k. Memory stays at one
/// (query_batch × label_shard) block; the dense Q × L score matrix is never built. Inputs are L2-normalised embeddings
/// in our use (so scores are cosine similarities), but any float matrices work.
/// </summary>
public static class TopKSearch
{
    /// <summary>Default queries per block.</summary>
    public const int DefaultQueryBatch = 512;
    /// <summary>Default labels per block (512 × 16384 floats = 32 MiB per block).</summary>
    public const int DefaultLabelShard = 16384;

    /// <param name="queries">(Q, d) float tensor.</param>
    /// <param name="labels">(L, d) float tensor, same dtype and device.</param>
    /// <param name="k">Results per query; rows pad with −1 when L &lt; k.</param>
    public static TopK Search(Tensor queries, Tensor labels, int k, int queryBatch = DefaultQueryBatch,
        int labelShard = DefaultLabelShard)
    {
        if (queries.dim() != 2 || labels.dim() != 2 || queries.size(1) != labels.size(1))
            throw new ArgumentException($"need (Q, d) queries and (L, d) labels, got [{string.Join(",", queries.shape)}] and [{string.Join(",", labels.shape)}]");
        if (k <= 0 || queryBatch <= 0 || labelShard <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k, batch and shard must be positive");
        int q = (int)queries.size(0), l = (int)labels.size(0);
        var outIdx = new int[(long)q * k];
        var outScore = new float[(long)q * k];
        Array.Fill(outIdx, -1);
        Array.Fill(outScore, float.NegativeInfinity);
        int kk = Math.Min(k, l);
        if (kk == 0 || q == 0) return new TopK(q, k, outIdx, outScore);
        using var _ = no_grad();
        // Equal-sized blocks (a 16384 + 1678 split wastes time on a thin last block).
        labelShard = (l + (l + labelShard - 1) / labelShard - 1) / ((l + labelShard - 1) / labelShard);
        queryBatch = (q + (q + queryBatch - 1) / queryBatch - 1) / ((q + queryBatch - 1) / queryBatch);
        for (int q0 = 0; q0 < q; q0 += queryBatch)
        {
            using var scope = NewDisposeScope();
            int qb = Math.Min(queryBatch, q - q0);
            var qblock = queries.narrow(0, q0, qb);                                  // (qb, d)
            var vals = new List<Tensor>();
            var idxs = new List<Tensor>();
            for (int l0 = 0; l0 < l; l0 += labelShard)
            {
                int ls = Math.Min(labelShard, l - l0);
                var scores = qblock.matmul_checked(labels.narrow(0, l0, ls).t());             // (qb, ls)
                var (v, i) = scores.topk(Math.Min(kk, ls), 1);                       // (qb, ≤k)
                vals.Add(v);
                idxs.Add(l0 == 0 ? i : i + l0);
            }
            Tensor bestV, bestI;
            if (vals.Count == 1) { bestV = vals[0]; bestI = idxs[0]; }
            else
            {
                var allV = cat(vals.ToArray(), 1);                                     // (qb, shards·k)
                var allI = cat(idxs.ToArray(), 1);
                var (v, pos) = allV.topk(kk, 1);
                bestV = v;
                bestI = allI.gather(1, pos);
            }
            var fv = bestV.to(ScalarType.Float32).contiguous().ToArray<float>();
            var fi = bestI.contiguous().ToArray<long>();
            for (int r = 0; r < qb; r++)
                for (int j = 0; j < kk; j++)
                {
                    long dst = (long)(q0 + r) * k + j;
                    outScore[dst] = fv[r * kk + j];
                    outIdx[dst] = (int)fi[r * kk + j];
                }
        }
        return new TopK(q, k, outIdx, outScore);
    }
}
