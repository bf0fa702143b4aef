namespace ViXml.Xmc;

/// <summary>
/// Compressed sparse row matrix with float values: the in-memory form of XC label files (trn_X_Y.txt) and score
/// matrices. Row i holds columns Indices[Indptr[i]..Indptr[i+1]) with Values at the same positions.
/// </summary>
public sealed class CsrMatrix
{
    /// <summary>Number of rows (data points).</summary>
    public int Rows { get; }
    /// <summary>Number of columns (labels).</summary>
    public int Cols { get; }
    /// <summary>Row start offsets, length Rows + 1; Indptr[Rows] = number of stored entries.</summary>
    public int[] Indptr { get; }
    /// <summary>Column of each stored entry, 0-based.</summary>
    public int[] Indices { get; }
    /// <summary>Value of each stored entry.</summary>
    public float[] Values { get; }
    /// <summary>
    /// If the text file this came from wrote every value with the same number of decimals (e.g. "0.1230"), that count;
    /// the writer reuses it so a read/write round trip is byte-identical. Null = shortest round-trip form ("1", "0.5").
    /// </summary>
    public int? TextDecimals { get; init; }

    public CsrMatrix(int rows, int cols, int[] indptr, int[] indices, float[] values)
    {
        if (rows < 0 || cols < 0) throw new ArgumentException($"negative shape {rows}x{cols}");
        if (indptr.Length != rows + 1) throw new ArgumentException($"indptr has {indptr.Length} entries, expected {rows + 1}");
        if (indices.Length != values.Length) throw new ArgumentException("indices and values differ in length");
        if (indptr[0] != 0 || indptr[rows] != indices.Length) throw new ArgumentException("indptr does not span the entries");
        for (int r = 0; r < rows; r++)
            if (indptr[r + 1] < indptr[r]) throw new ArgumentException($"indptr decreases at row {r}");
        foreach (var c in indices)
            if ((uint)c >= (uint)cols) throw new ArgumentException($"column {c} out of range [0, {cols})");
        Rows = rows; Cols = cols; Indptr = indptr; Indices = indices; Values = values;
    }

    /// <summary>Number of stored entries.</summary>
    public int Nnz => Indptr[Rows];

    public ReadOnlySpan<int> RowIndices(int row) => Indices.AsSpan(Indptr[row], Indptr[row + 1] - Indptr[row]);
    public ReadOnlySpan<float> RowValues(int row) => Values.AsSpan(Indptr[row], Indptr[row + 1] - Indptr[row]);
    public int RowLength(int row) => Indptr[row + 1] - Indptr[row];

    /// <summary>Builds a 0/1 label matrix from per-row column lists (each list is sorted and de-duplicated here).</summary>
    public static CsrMatrix FromRows(int cols, IReadOnlyList<IEnumerable<int>> rows)
    {
        var indptr = new int[rows.Count + 1];
        var idx = new List<int>();
        for (int r = 0; r < rows.Count; r++)
        {
            var sorted = rows[r].Distinct().Order().ToArray();
            idx.AddRange(sorted);
            indptr[r + 1] = idx.Count;
        }
        var values = new float[idx.Count];
        Array.Fill(values, 1f);
        return new CsrMatrix(rows.Count, cols, indptr, idx.ToArray(), values);
    }

    /// <summary>Sum of values per column, as doubles (label frequencies for a 0/1 matrix).</summary>
    public double[] ColumnSums()
    {
        var s = new double[Cols];
        for (int i = 0; i < Indices.Length; i++) s[Indices[i]] += Values[i];
        return s;
    }

    /// <summary>Number of stored entries per column.</summary>
    public int[] ColumnCounts()
    {
        var s = new int[Cols];
        foreach (var c in Indices) s[c]++;
        return s;
    }

    /// <summary>A copy whose rows list their columns in ascending order (values follow their columns).</summary>
    public CsrMatrix SortedIndices()
    {
        var idx = (int[])Indices.Clone();
        var val = (float[])Values.Clone();
        for (int r = 0; r < Rows; r++)
            Array.Sort(idx, val, Indptr[r], Indptr[r + 1] - Indptr[r]);
        return new CsrMatrix(Rows, Cols, (int[])Indptr.Clone(), idx, val) { TextDecimals = TextDecimals };
    }

    /// <summary>A copy without the given (row, col) pairs; pairs absent from the matrix are no-ops.</summary>
    public CsrMatrix WithoutPairs(FilterPairs filter)
    {
        var indptr = new int[Rows + 1];
        var idx = new List<int>(Nnz);
        var val = new List<float>(Nnz);
        for (int r = 0; r < Rows; r++)
        {
            var removed = filter.ColumnsOf(r);
            for (int p = Indptr[r]; p < Indptr[r + 1]; p++)
            {
                if (removed is not null && removed.Contains(Indices[p])) continue;
                idx.Add(Indices[p]); val.Add(Values[p]);
            }
            indptr[r + 1] = idx.Count;
        }
        return new CsrMatrix(Rows, Cols, indptr, idx.ToArray(), val.ToArray()) { TextDecimals = TextDecimals };
    }
}
