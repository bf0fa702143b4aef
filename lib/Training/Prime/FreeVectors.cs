using ViXml.Training.Config;
using ViXml.Training.Sampling;

namespace ViXml.Training.Prime;

/// <summary>
/// PRIME's free vectors (PRIME-SPEC §3): how many, which label uses which, and the "mean" initialisation. The assignment
/// is computed once, before the first step, by balanced hierarchical 2-means (cosine) on the initial normalised label
/// embeddings, and never recomputed: cluster k of the leaves (left to right) is free vector k.
/// </summary>
public static class FreeVectors
{
    /// <summary>
    /// The number of free vectors: <paramref name="requested"/> rounded up to a power of two, or for 0 the paper's ratio of
    /// about two labels per vector (the largest power of two not above labels/2; 65,536 for 131,073 labels). More
    /// vectors than labels is an error naming the key.
    /// </summary>
    public static int Count(int requested, int numLabels)
    {
        if (numLabels <= 0) throw new ConfigException("label_side.kind prime: the dataset has no labels");
        if (requested < 0) throw new ConfigException($"label_side.free_vectors: {requested} must be non-negative");
        if (requested == 0)
        {
            // The power of two nearest to labels/2 in log scale: at most √2·labels/2 < labels.
            int exponent = (int)Math.Round(Math.Log2(Math.Max(1.0, numLabels / 2.0)), MidpointRounding.ToEven);
            return 1 << exponent;
        }
        long n = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)requested);
        if (n > numLabels)
            throw new ConfigException($"label_side.free_vectors: {requested} (rounded up to the power of two {n:N0}) is more than the " +
                                      $"dataset's {numLabels:N0} labels; use at most {1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)numLabels)):N0} or 0 (about two labels per vector)");
        return (int)n;
    }

    /// <summary>
    /// label → free-vector index for <paramref name="count"/> (a power of two ≤ n) balanced clusters of the rows of
    /// <paramref name="labelEmbeddings"/> (n × dim; normalised inside). Cluster sizes differ by at most one.
    /// </summary>
    public static int[] Assign(ReadOnlySpan<float> labelEmbeddings, int n, int dim, int count, ulong seed, int iterations = 10)
    {
        if (count <= 0 || (count & (count - 1)) != 0) throw new ArgumentException($"free-vector count {count} is not a power of two");
        if (count > n) throw new ArgumentException($"{count} free vectors for {n} labels");
        // BalancedKMeans splits to depth ⌊log2(n / size)⌋; with size = ⌊n / count⌋ that depth is exactly log2(count).
        var clusters = BalancedKMeans.Cluster(labelEmbeddings, n, dim, n / count, seed, iterations);
        if (clusters.Length != count)
            throw new InvalidOperationException($"balanced 2-means gave {clusters.Length} clusters, expected {count}");
        var assignment = new int[n];
        Array.Fill(assignment, -1);
        for (int k = 0; k < clusters.Length; k++)
            foreach (var l in clusters[k]) assignment[l] = k;
        if (Array.IndexOf(assignment, -1) is var missing and >= 0)
            throw new InvalidOperationException($"label {missing} was assigned no free vector");
        return assignment;
    }

    /// <summary>
    /// init mean: row k = the mean of the L2-normalised embeddings of the labels assigned to k, not re-normalised
    /// (the Qwen script's --init_fv_w_embeddings). Returns (count × dim) row-major.
    /// </summary>
    public static float[] MeanInit(ReadOnlySpan<float> labelEmbeddings, int n, int dim, int[] assignment, int count)
    {
        if (assignment.Length != n) throw new ArgumentException($"assignment has {assignment.Length} labels, expected {n}");
        var sum = new double[(long)count * dim];
        var members = new int[count];
        for (int l = 0; l < n; l++)
        {
            var row = labelEmbeddings.Slice(l * dim, dim);
            double norm = 0;
            foreach (var v in row) norm += (double)v * v;
            double inv = 1 / Math.Max(Math.Sqrt(norm), 1e-12);
            int k = assignment[l];
            members[k]++;
            for (int d = 0; d < dim; d++) sum[(long)k * dim + d] += row[d] * inv;
        }
        var result = new float[sum.Length];
        for (int k = 0; k < count; k++)
            for (int d = 0; d < dim; d++)
                result[(long)k * dim + d] = (float)(sum[(long)k * dim + d] / Math.Max(members[k], 1));
        return result;
    }
}
