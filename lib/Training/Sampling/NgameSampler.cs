namespace ViXml.Training.Sampling;

/// <summary>When and how NGAME clusters queries into hard-negative batches.</summary>
public sealed record NgameSchedule
{
    /// <summary>First epoch (0-based) whose batches come from clusters; before it, batches are a random order. A value
    /// larger than the number of epochs turns NGAME off (plain random batches).</summary>
    public int ClStart { get; init; } = 10;
    /// <summary>Re-cluster every this many epochs from cl_start on (clusters are reused, reshuffled, in between).</summary>
    public int ClUpdate { get; init; } = 5;
    /// <summary>Cluster size at cl_start (queries per cluster, about).</summary>
    public int ClSize { get; init; } = 16;
    /// <summary>Epochs at which cl_size doubles (the curriculum: harder negatives later).</summary>
    public int[] ClSizeDoubleAt { get; init; } = [];
    /// <summary>Upper bound on the cluster size after doubling.</summary>
    public int ClSizeMax { get; init; } = int.MaxValue;
    /// <summary>k-means iterations per 2-way split.</summary>
    public int Iterations { get; init; } = 10;

    public bool UsesClusters(int epoch) => epoch >= ClStart;

    /// <summary>True when this epoch's batches need fresh clusters (and hence the query embeddings).</summary>
    public bool ReclustersAt(int epoch) =>
        epoch >= ClStart && (epoch - ClStart) % Math.Max(1, ClUpdate) == 0;

    public int ClusterSizeAt(int epoch)
    {
        long size = ClSize;
        foreach (var e in ClSizeDoubleAt) if (epoch >= e) size *= 2;
        return (int)Math.Min(size, ClSizeMax);
    }
}

/// <summary>
/// NGAME batching as a pure sampler: it turns an epoch number (and, on re-clustering epochs, the stale query embeddings
/// gathered during the previous epoch) into the list of batches of query indices. Every query is in exactly one batch
/// per epoch; the last batch may be smaller. All randomness comes from one serialisable <see cref="Rng"/>, and the
/// clusters are kept in <see cref="State"/>, so a resumed run makes the same batches.
/// </summary>
public sealed class NgameSampler
{
    public int NumQueries { get; }
    public int BatchSize { get; }
    public NgameSchedule Schedule { get; }
    private readonly ulong _seed;
    private Rng _rng;
    private int[][]? _clusters;
    private int _clusteredAtEpoch = -1;

    public NgameSampler(int numQueries, int batchSize, NgameSchedule schedule, ulong seed)
    {
        if (numQueries <= 0) throw new ArgumentOutOfRangeException(nameof(numQueries), numQueries, "must be positive");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        NumQueries = numQueries; BatchSize = batchSize; Schedule = schedule; _seed = seed;
        _rng = new Rng(seed);
    }

    /// <summary>The current clusters (null before the first clustering).</summary>
    public IReadOnlyList<int[]>? Clusters => _clusters;

    /// <summary>Does <see cref="EpochBatches"/> need embeddings for this epoch?</summary>
    public bool NeedsEmbeddings(int epoch) => Schedule.ReclustersAt(epoch);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>. <paramref name="embeddings"/> (NumQueries × dim, row-major) is
    /// required on re-clustering epochs and ignored otherwise.
    /// </summary>
    public int[][] EpochBatches(int epoch, ReadOnlySpan<float> embeddings = default, int dim = 0)
    {
        int[] order;
        if (!Schedule.UsesClusters(epoch))
        {
            order = _rng.Permutation(NumQueries);
        }
        else
        {
            if (Schedule.ReclustersAt(epoch) || _clusters is null)
            {
                if (embeddings.IsEmpty || dim <= 0)
                    throw new InvalidOperationException($"epoch {epoch}: NGAME clustering needs the query embeddings");
                // A per-clustering seed drawn from the stream keeps the clustering reproducible and resumable.
                ulong clusterSeed = _rng.NextULong() ^ _seed;
                _clusters = BalancedKMeans.Cluster(embeddings, NumQueries, dim, Schedule.ClusterSizeAt(epoch),
                    clusterSeed, Schedule.Iterations);
                _clusteredAtEpoch = epoch;
            }
            var clusterOrder = _rng.Permutation(_clusters.Length);
            order = new int[NumQueries];
            int p = 0;
            foreach (var c in clusterOrder)
            {
                _clusters[c].CopyTo(order, p);
                p += _clusters[c].Length;
            }
        }
        var batches = new int[(NumQueries + BatchSize - 1) / BatchSize][];
        for (int b = 0; b < batches.Length; b++)
            batches[b] = order.AsSpan(b * BatchSize, Math.Min(BatchSize, NumQueries - b * BatchSize)).ToArray();
        return batches;
    }

    /// <summary>Everything needed to continue the same sequence of batches after a restart.</summary>
    public sealed record SamplerState(ulong[] Rng, int[][]? Clusters, int ClusteredAtEpoch);

    public SamplerState State => new(_rng.GetState(), _clusters?.Select(c => c.ToArray()).ToArray(), _clusteredAtEpoch);

    public void Restore(SamplerState state)
    {
        _rng = Rng.FromState(state.Rng);
        _clusters = state.Clusters?.Select(c => c.ToArray()).ToArray();
        _clusteredAtEpoch = state.ClusteredAtEpoch;
        if (_clusters is not null && _clusters.Sum(c => c.Length) != NumQueries)
            throw new InvalidDataException($"sampler state has clusters over {_clusters.Sum(c => c.Length)} queries, expected {NumQueries}");
    }
}
