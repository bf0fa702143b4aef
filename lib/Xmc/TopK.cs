namespace ViXml.Xmc;

/// <summary>
/// Ranked predictions: for each of N rows, K label indices by descending score (index -1 = empty slot, only at the
/// end of a row) and their scores. This is what the top-k search and the trainer produce ([N, K] int/float arrays).
/// </summary>
public sealed class TopK
{
    /// <summary>Number of rows (queries).</summary>
    public int Rows { get; }
    /// <summary>Slots per row.</summary>
    public int K { get; }
    /// <summary>Label indices, row-major (Rows, K); -1 = no prediction in this slot.</summary>
    public int[] Indices { get; }
    /// <summary>Scores, row-major (Rows, K); ignored where the index is -1.</summary>
    public float[] Scores { get; }

    public TopK(int rows, int k, int[] indices, float[] scores)
    {
        if (indices.Length != (long)rows * k || scores.Length != indices.Length)
            throw new ArgumentException($"top-k arrays must hold {rows}x{k} entries (got {indices.Length} indices, {scores.Length} scores)");
        Rows = rows; K = k; Indices = indices; Scores = scores;
    }

    /// <summary>From [N, K] arrays, e.g. copied out of a tensor.</summary>
    public static TopK FromArrays(int[,] indices, float[,] scores)
    {
        int n = indices.GetLength(0), k = indices.GetLength(1);
        if (scores.GetLength(0) != n || scores.GetLength(1) != k) throw new ArgumentException("indices and scores differ in shape");
        var idx = new int[n * k];
        var sc = new float[n * k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) { idx[i * k + j] = indices[i, j]; sc[i * k + j] = scores[i, j]; }
        return new TopK(n, k, idx, sc);
    }

    /// <summary>From int64 indices (as torch.topk returns them).</summary>
    public static TopK FromArrays(int rows, int k, long[] indices, float[] scores) =>
        new(rows, k, indices.Select(v => checked((int)v)).ToArray(), scores);

    /// <summary>
    /// The top k of each row of a sparse score matrix: score descending, ties by ascending column (a deterministic
    /// tie-break; pyxclib's own order is unspecified for ties, see tests/fixtures/xmc-metrics/README.md).
    /// </summary>
    public static TopK FromScores(CsrMatrix scores, int k)
    {
        if (k < 1) throw new ArgumentException($"k must be at least 1, got {k}");
        if ((long)scores.Rows * k > Array.MaxLength)
            throw new ViXml.Common.InputLimitException($"top-{k} of {scores.Rows} rows needs {(long)scores.Rows * k:N0} slots, more than one array holds");
        var idx = new int[scores.Rows * k];
        var sc = new float[scores.Rows * k];
        Array.Fill(idx, -1);
        var cols = new List<int>();
        for (int r = 0; r < scores.Rows; r++)
        {
            var ri = scores.RowIndices(r);
            var rv = scores.RowValues(r);
            var order = new int[ri.Length];
            for (int j = 0; j < order.Length; j++) order[j] = j;
            var riArr = ri.ToArray();
            var rvArr = rv.ToArray();
            Array.Sort(order, (x, y) =>
            {
                int c = rvArr[y].CompareTo(rvArr[x]);
                return c != 0 ? c : riArr[x].CompareTo(riArr[y]);
            });
            for (int j = 0; j < Math.Min(k, order.Length); j++)
            {
                idx[r * k + j] = riArr[order[j]];
                sc[r * k + j] = rvArr[order[j]];
            }
        }
        return new TopK(scores.Rows, k, idx, sc);
    }

    /// <summary>A copy with the filtered (row, label) pairs removed; later predictions move up, the end is padded with -1.</summary>
    public TopK WithoutPairs(FilterPairs filter)
    {
        var idx = new int[Indices.Length];
        var sc = new float[Scores.Length];
        Array.Fill(idx, -1);
        for (int r = 0; r < Rows; r++)
        {
            var drop = filter.ColumnsOf(r);
            int w = 0;
            for (int j = 0; j < K; j++)
            {
                int l = Indices[r * K + j];
                if (l < 0 || (drop is not null && drop.Contains(l))) continue;
                idx[r * K + w] = l; sc[r * K + w] = Scores[r * K + j]; w++;
            }
        }
        return new TopK(Rows, K, idx, sc);
    }

    /// <summary>As a sparse score matrix with <paramref name="cols"/> columns (for writing score_mat.txt).</summary>
    public CsrMatrix ToCsr(int cols)
    {
        var indptr = new int[Rows + 1];
        var ii = new List<int>();
        var vv = new List<float>();
        for (int r = 0; r < Rows; r++)
        {
            var row = new List<(int, float)>();
            for (int j = 0; j < K; j++)
                if (Indices[r * K + j] >= 0) row.Add((Indices[r * K + j], Scores[r * K + j]));
            foreach (var (c, v) in row.OrderBy(p => p.Item1)) { ii.Add(c); vv.Add(v); }
            indptr[r + 1] = ii.Count;
        }
        return new CsrMatrix(Rows, cols, indptr, ii.ToArray(), vv.ToArray());
    }
}
