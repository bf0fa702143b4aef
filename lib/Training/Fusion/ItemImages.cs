using ViXml.Xmc;

namespace ViXml.Training.Fusion;

/// <summary>
/// One split's images (train queries, test queries or labels): a bank plus that split's map of up to K bank rows per item
/// (-1 = no image). Gathers the fixed-K slot layout the models take — vectors (B, K, D) with zeros in empty slots and a
/// slot mask (B, K) — as plain arrays, so the layout, modality dropout and the "n images available" evaluation are
/// testable without tensors.
/// </summary>
public sealed class ItemImages
{
    public ImageBank Bank { get; }
    /// <summary>The split's map; null = no item of this split has an image (e.g. emoji-mm's labels): every slot masked.</summary>
    public ImageMap? Map { get; }
    /// <summary>Slots per item.</summary>
    public int K { get; }
    public int Dim => Bank.Dim;

    public ItemImages(ImageBank bank, ImageMap? map, int k)
    {
        if (map is not null && map.K != k) throw new ArgumentException($"map has K = {map.K}, expected {k}");
        if (k <= 0) throw new ArgumentException($"K must be positive, got {k}");
        Bank = bank; Map = map; K = k;
    }

    /// <summary>Vectors (B·K·D) row-major (B, K, D) and mask (B·K) (1 = image present) for the given items.</summary>
    /// <param name="rows">Item indices into the split.</param>
    /// <param name="maxImages">Keep at most this many images per item: the first present ones in slot order (evaluation
    /// with n images available); later present slots are masked like missing ones.</param>
    /// <param name="dropout">Training: each present slot is dropped independently with this probability.</param>
    /// <param name="rng">Draws for <paramref name="dropout"/>: exactly one NextDouble per slot (present or not), so the
    /// stream's position depends only on B·K.</param>
    public (float[] Vectors, long[] Mask) Gather(ReadOnlySpan<int> rows, int maxImages = int.MaxValue, double dropout = 0, Rng? rng = null)
    {
        if (dropout > 0 && rng is null) throw new ArgumentException("modality dropout needs a generator");
        int d = Bank.Dim;
        var vectors = new float[(long)rows.Length * K * d];
        var mask = new long[rows.Length * K];
        for (int i = 0; i < rows.Length; i++)
        {
            if (Map is not null && (rows[i] < 0 || rows[i] >= Map.Items))
                throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"item index outside the map's {Map.Items} rows");
            int kept = 0;
            for (int s = 0; s < K; s++)
            {
                bool drop = dropout > 0 && rng!.NextDouble() < dropout;
                long img = Map is null ? -1 : Map.Indices[(long)rows[i] * K + s];
                if (img < 0 || kept >= maxImages) continue;
                kept++;                       // counts towards "n available" even when dropped: dropout is training-only
                if (drop) continue;
                Bank.Row((int)img).CopyTo(vectors.AsSpan((int)(((long)i * K + s) * d), d));
                mask[i * K + s] = 1;
            }
        }
        return (vectors, mask);
    }
}
