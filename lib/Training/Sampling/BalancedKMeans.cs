namespace ViXml.Training.Sampling;

/// <summary>
/// Balanced hierarchical 2-means with cosine similarity (the clustering behind NGAME batching).
/// Every node is split into two halves whose sizes differ by at most one: points are ranked by
/// sim(x, cA) − sim(x, cB) and the first ⌈m/2⌉ go to A. All leaves sit at the same depth, so leaf sizes are all
/// ⌊n/2^d⌋ or ⌈n/2^d⌉ (balanced within one). Pure managed code, deterministic under a seed (each node derives
/// its own random stream from the seed and its position in the tree, so the result does not depend on threads).
/// </summary>
public static class BalancedKMeans
{
    /// <summary>Depth d = ⌊log2(n / clusterSize)⌋ so that leaves hold between clusterSize and 2·clusterSize points.</summary>
    public static int Depth(int n, int clusterSize)
    {
        if (clusterSize <= 0) throw new ArgumentOutOfRangeException(nameof(clusterSize), clusterSize, "must be positive");
        int d = 0;
        while ((long)clusterSize << (d + 1) <= n) d++;
        return d;
    }

    /// <summary>
    /// Clusters the rows of <paramref name="embeddings"/> (n × dim, row-major) into 2^d balanced clusters of about
    /// <paramref name="clusterSize"/> points. Returns the clusters as arrays of row indices (each sorted ascending).
    /// </summary>
    public static int[][] Cluster(ReadOnlySpan<float> embeddings, int n, int dim, int clusterSize, ulong seed, int iterations = 10)
    {
        if (embeddings.Length != (long)n * dim)
            throw new ArgumentException($"embeddings has {embeddings.Length} values, expected n*dim = {n}*{dim}");
        if (n == 0) return [];
        // Work on unit vectors so inner products are cosine similarities.
        var x = new float[embeddings.Length];
        embeddings.CopyTo(x);
        for (int i = 0; i < n; i++) Normalise(x.AsSpan(i * dim, dim));

        int depth = Depth(n, clusterSize);
        var level = new List<int[]> { Enumerable.Range(0, n).ToArray() };
        for (int d = 0; d < depth; d++)
        {
            var next = new int[level.Count * 2][];
            // Nodes of one level are independent: split them in parallel, each with its own derived stream.
            Parallel.For(0, level.Count, k =>
            {
                var rng = Rng.Derive(seed, ((ulong)d << 32) | (uint)k);
                var (a, b) = Split(x, dim, level[k], rng, iterations);
                next[2 * k] = a; next[2 * k + 1] = b;
            });
            level = next.ToList();
        }
        foreach (var c in level) Array.Sort(c);
        return level.ToArray();
    }

    /// <summary>One balanced 2-means split of the unit vectors at <paramref name="idx"/>.</summary>
    public static (int[] A, int[] B) Split(float[] x, int dim, int[] idx, Rng rng, int iterations)
    {
        int m = idx.Length;
        if (m < 2) return (idx.ToArray(), []);
        // Two distinct random points seed the centroids.
        int i0 = rng.NextInt(m), i1 = rng.NextInt(m - 1);
        if (i1 >= i0) i1++;
        var ca = x.AsSpan(idx[i0] * dim, dim).ToArray();
        var cb = x.AsSpan(idx[i1] * dim, dim).ToArray();
        var score = new float[m];
        var order = new int[m];
        int half = (m + 1) / 2;
        bool[]? previous = null;
        for (int it = 0; it < Math.Max(1, iterations); it++)
        {
            for (int j = 0; j < m; j++)
            {
                var v = x.AsSpan(idx[j] * dim, dim);
                score[j] = Dot(v, ca) - Dot(v, cb);
                order[j] = j;
            }
            // Descending score; ties broken by position so the split is fully deterministic.
            Array.Sort(order, (p, q) => score[q] != score[p] ? score[q].CompareTo(score[p]) : p.CompareTo(q));
            var inA = new bool[m];
            for (int r = 0; r < half; r++) inA[order[r]] = true;
            if (previous is not null && previous.AsSpan().SequenceEqual(inA)) break;
            previous = inA;
            Array.Clear(ca); Array.Clear(cb);
            for (int j = 0; j < m; j++)
            {
                var v = x.AsSpan(idx[j] * dim, dim);
                VecMath.Add(inA[j] ? ca : cb, v);
            }
            Normalise(ca); Normalise(cb);
        }
        var a = new int[half];
        var b = new int[m - half];
        int na = 0, nb = 0;
        for (int j = 0; j < m; j++)
            if (previous![j]) a[na++] = idx[j]; else b[nb++] = idx[j];
        return (a, b);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => VecMath.Dot(a, b);

    private static void Normalise(Span<float> v) => VecMath.Normalise(v);
}
