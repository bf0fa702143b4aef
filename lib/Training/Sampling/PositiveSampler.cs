namespace ViXml.Training.Sampling;

/// <summary>How the one positive label per query per batch is drawn.</summary>
public enum PositiveSampling
{
    /// <summary>Each of the query's labels equally likely.</summary>
    Uniform,
    /// <summary>In proportion to the label's inverse propensity (rare labels more often), as the reference code.</summary>
    InversePropensity,
}

/// <summary>The labels of one batch and which of them are positives of which query.</summary>
/// <param name="Queries">Query (training row) indices, length B.</param>
/// <param name="Labels">Distinct label ids in the batch (the drawn positives, first-drawn order), length L.</param>
/// <param name="PositiveColumn">For each query, the column in <paramref name="Labels"/> of its drawn positive.</param>
/// <param name="Target">B × L row-major, 1 where Labels[j] is any true positive of query i (not only the drawn one).</param>
public sealed record LabelBatch(int[] Queries, int[] Labels, int[] PositiveColumn, float[] Target)
{
    public int B => Queries.Length;
    public int L => Labels.Length;
}

/// <summary>
/// Draws one positive per query and builds the batch's label list and target matrix. The label matrix is given as CSR
/// arrays (row = training query, columns = label ids); every query used in a batch must have at least one label.
/// </summary>
public sealed class PositiveSampler
{
    private readonly int[] _indptr, _indices;
    private readonly double[]? _cumulative; // per-entry cumulative weights within each row (inverse propensity mode)
    public int NumLabels { get; }
    public PositiveSampling Mode { get; }

    public PositiveSampler(int[] indptr, int[] indices, int numLabels, PositiveSampling mode, double a = 0.6, double b = 2.6)
    {
        if (indptr.Length < 1 || indptr[^1] != indices.Length) throw new ArgumentException("indptr does not span indices");
        _indptr = indptr; _indices = indices; NumLabels = numLabels; Mode = mode;
        foreach (var l in indices)
            if ((uint)l >= (uint)numLabels) throw new ArgumentException($"label id {l} out of range [0, {numLabels})");
        if (mode == PositiveSampling.InversePropensity)
        {
            int rows = indptr.Length - 1;
            var freq = new int[numLabels];
            foreach (var l in indices) freq[l]++;
            var w = InversePropensity(freq, rows, a, b);
            _cumulative = new double[indices.Length];
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int p = indptr[r]; p < indptr[r + 1]; p++) _cumulative[p] = s += w[indices[p]];
            }
        }
    }

    /// <summary>
    /// pyxclib's inverse propensity: 1 + C·(N_j + B)^(−A) with C = (ln N − 1)·(B + 1)^A, where N_j is label j's
    /// training frequency and N the number of training points.
    /// </summary>
    public static double[] InversePropensity(int[] labelFrequency, int numPoints, double a = 0.6, double b = 2.6)
    {
        double c = (Math.Log(numPoints) - 1.0) * Math.Pow(b + 1.0, a);
        return labelFrequency.Select(n => 1.0 + c * Math.Pow(n + b, -a)).ToArray();
    }

    public ReadOnlySpan<int> LabelsOf(int query) => _indices.AsSpan(_indptr[query], _indptr[query + 1] - _indptr[query]);

    /// <summary>Draws one positive label for <paramref name="query"/>.</summary>
    public int Draw(int query, Rng rng)
    {
        int start = _indptr[query], len = _indptr[query + 1] - start;
        if (len == 0) throw new InvalidOperationException($"training query {query} has no labels; filter such rows out before batching");
        if (_cumulative is null) return _indices[start + rng.NextInt(len)];
        double u = rng.NextDouble() * _cumulative[start + len - 1];
        int lo = start, hi = start + len - 1; // first p with cumulative[p] > u
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (_cumulative[mid] > u) hi = mid; else lo = mid + 1;
        }
        return _indices[lo];
    }

    /// <summary>Draws a positive for every query of the batch and marks all true positives among the batch's labels.</summary>
    public LabelBatch Sample(int[] queries, Rng rng)
    {
        var column = new Dictionary<int, int>();
        var labels = new List<int>();
        var posCol = new int[queries.Length];
        for (int i = 0; i < queries.Length; i++)
        {
            int l = Draw(queries[i], rng);
            if (!column.TryGetValue(l, out int c)) { c = labels.Count; column[l] = c; labels.Add(l); }
            posCol[i] = c;
        }
        int L = labels.Count;
        var target = new float[queries.Length * L];
        for (int i = 0; i < queries.Length; i++)
            foreach (var l in LabelsOf(queries[i]))
                if (column.TryGetValue(l, out int c)) target[i * L + c] = 1f;
        return new LabelBatch(queries, labels.ToArray(), posCol, target);
    }
}
