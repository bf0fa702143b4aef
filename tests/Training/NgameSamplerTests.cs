using ViXml.Training;
using ViXml.Training.Sampling;

namespace ViXml.Tests.Training;

public class NgameSamplerTests
{
    /// <summary>n points around <paramref name="blobs"/> well-separated random centres in dim dimensions; returns the blob of each.</summary>
    private static (float[] X, int[] Blob) Blobs(int blobs, int perBlob, int dim, ulong seed, double noise = 0.15)
    {
        var rng = new Rng(seed);
        var centres = new double[blobs, dim];
        for (int b = 0; b < blobs; b++)
            for (int t = 0; t < dim; t++) centres[b, t] = rng.NextGaussian();
        int n = blobs * perBlob;
        var x = new float[n * dim];
        var blob = new int[n];
        var order = rng.Permutation(n); // interleave blobs so row order carries no information
        for (int i = 0; i < n; i++)
        {
            int b = order[i] % blobs;
            blob[i] = b;
            for (int t = 0; t < dim; t++) x[i * dim + t] = (float)(centres[b, t] + noise * rng.NextGaussian());
        }
        return (x, blob);
    }

    [Theory]
    [InlineData(1000, 16)]
    [InlineData(1023, 16)]
    [InlineData(77, 8)]
    [InlineData(10, 16)]
    public void ClustersAreBalancedWithinOneAndPartitionTheQueries(int n, int clSize)
    {
        var (x, _) = Blobs(5, (n + 4) / 5, 8, 1);
        x = x.AsSpan(0, n * 8).ToArray();
        var clusters = BalancedKMeans.Cluster(x, n, 8, clSize, seed: 7);
        int depth = BalancedKMeans.Depth(n, clSize);
        Assert.Equal(1 << depth, clusters.Length);
        int min = clusters.Min(c => c.Length), max = clusters.Max(c => c.Length);
        Assert.True(max - min <= 1, $"sizes {min}..{max}");
        if (n >= clSize) Assert.InRange(min, clSize, 2 * clSize);
        var all = clusters.SelectMany(c => c).OrderBy(i => i).ToArray();
        Assert.Equal(Enumerable.Range(0, n), all);
    }

    [Fact]
    public void ClusteringGroupsNearPoints()
    {
        // 8 tight blobs of 32 points; clusters of 32 should each be (almost) one blob.
        var (x, blob) = Blobs(8, 32, 16, 3);
        var clusters = BalancedKMeans.Cluster(x, 256, 16, 32, seed: 11);
        Assert.Equal(8, clusters.Length);
        double purity = clusters.Sum(c => c.GroupBy(i => blob[i]).Max(g => g.Count())) / 256.0;
        Assert.True(purity >= 0.9, $"purity {purity:F3}");
        // A random balanced partition has purity far lower: the clustering is doing the work.
        var perm = new Rng(5).Permutation(256);
        double randomPurity = Enumerable.Range(0, 8)
            .Sum(k => perm.Skip(32 * k).Take(32).GroupBy(i => blob[i]).Max(g => g.Count())) / 256.0;
        Assert.True(randomPurity < 0.5, $"random purity {randomPurity:F3}");
    }

    [Fact]
    public void SplitUsesCosineNotEuclideanDistance()
    {
        // Points along two directions at very different norms: cosine groups by direction, not by length.
        var x = new List<float>();
        var dir = new List<int>();
        for (int i = 0; i < 20; i++)
        {
            float scale = i % 2 == 0 ? 0.01f : 100f;
            bool first = i < 10;
            x.AddRange(first ? [scale, 0.2f * scale * (i % 3)] : [0.2f * scale * (i % 3), scale]);
            dir.Add(first ? 0 : 1);
        }
        var clusters = BalancedKMeans.Cluster(x.ToArray(), 20, 2, 10, seed: 1);
        Assert.Equal(2, clusters.Length);
        foreach (var c in clusters) Assert.Single(c.Select(i => dir[i]).Distinct());
    }

    [Fact]
    public void ClusteringIsDeterministicUnderSeed()
    {
        var (x, _) = Blobs(4, 100, 12, 9, noise: 1.0);
        var a = BalancedKMeans.Cluster(x, 400, 12, 25, seed: 42);
        var b = BalancedKMeans.Cluster(x, 400, 12, 25, seed: 42);
        Assert.Equal(a, b);
    }

    private static NgameSchedule Sched => new() { ClStart = 2, ClUpdate = 3, ClSize = 8, ClSizeDoubleAt = [5, 8], ClSizeMax = 64 };

    [Fact]
    public void EveryQueryExactlyOncePerEpochAndBatchesOfConsecutiveClusterMembers()
    {
        int n = 203, dim = 6, batch = 32;
        var (x, _) = Blobs(7, 29, dim, 2);
        var s = new NgameSampler(n, batch, Sched, seed: 1);
        for (int epoch = 0; epoch < 10; epoch++)
        {
            var batches = s.EpochBatches(epoch, s.NeedsEmbeddings(epoch) ? x : default, dim);
            Assert.Equal(Enumerable.Range(0, n), batches.SelectMany(b => b).OrderBy(i => i));
            Assert.All(batches.SkipLast(1), b => Assert.Equal(batch, b.Length));
            if (epoch >= 2)
            {
                // Concatenated batches are whole clusters one after another.
                var flat = batches.SelectMany(b => b).ToArray();
                int p = 0;
                var clusterOf = new Dictionary<int, int>();
                for (int c = 0; c < s.Clusters!.Count; c++) foreach (var q in s.Clusters[c]) clusterOf[q] = c;
                while (p < n)
                {
                    int c = clusterOf[flat[p]];
                    int len = s.Clusters[c].Length;
                    Assert.Equal(s.Clusters[c], flat.AsSpan(p, len).ToArray().OrderBy(i => i));
                    p += len;
                }
            }
        }
    }

    [Fact]
    public void ScheduleFollowsCurriculum()
    {
        var sc = Sched;
        Assert.False(sc.UsesClusters(1));
        Assert.Equal([2, 5, 8], Enumerable.Range(0, 10).Where(sc.ReclustersAt));
        Assert.Equal(8, sc.ClusterSizeAt(2));
        Assert.Equal(16, sc.ClusterSizeAt(5));
        Assert.Equal(32, sc.ClusterSizeAt(9));
        Assert.Equal(64, (sc with { ClSizeDoubleAt = [1, 2, 3, 4] }).ClusterSizeAt(9));
        // Clustering on epoch 5 uses the doubled size: 203 queries → depth floor(log2(203/16)) = 3 → 8 clusters.
        var (x, _) = Blobs(7, 29, 4, 2);
        var s = new NgameSampler(203, 50, sc, 3);
        for (int e = 0; e <= 5; e++) s.EpochBatches(e, x, 4);
        Assert.Equal(8, s.Clusters!.Count);
    }

    [Fact]
    public void RandomOrderBeforeClStartAndRequiresEmbeddingsAfter()
    {
        var s = new NgameSampler(100, 10, Sched, 1);
        var e0 = s.EpochBatches(0).SelectMany(b => b).ToArray();
        var e1 = s.EpochBatches(1).SelectMany(b => b).ToArray();
        Assert.NotEqual(Enumerable.Range(0, 100), e0);
        Assert.NotEqual(e0, e1);
        Assert.Throws<InvalidOperationException>(() => s.EpochBatches(2));
    }

    [Fact]
    public void DeterministicUnderSeedAndResumable()
    {
        var (x, _) = Blobs(5, 40, 8, 4);
        int[][][] Run(NgameSampler s, int from, int to) =>
            Enumerable.Range(from, to - from).Select(e => s.EpochBatches(e, x, 8)).ToArray();

        var full = Run(new NgameSampler(200, 16, Sched, 9), 0, 10);
        Assert.Equal(full, Run(new NgameSampler(200, 16, Sched, 9), 0, 10));
        Assert.NotEqual(full, Run(new NgameSampler(200, 16, Sched, 10), 0, 10));

        // Stop after epoch 6, save state, restore into a fresh sampler: the rest is identical.
        var first = new NgameSampler(200, 16, Sched, 9);
        var head = Run(first, 0, 6);
        var state = System.Text.Json.JsonSerializer.Serialize(first.State);
        var second = new NgameSampler(200, 16, Sched, 9);
        second.Restore(System.Text.Json.JsonSerializer.Deserialize<NgameSampler.SamplerState>(state)!);
        var tail = Run(second, 6, 10);
        Assert.Equal(full, head.Concat(tail).ToArray());
    }
}
