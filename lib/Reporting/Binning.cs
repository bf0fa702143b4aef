namespace ViXml.Reporting;

/// <summary>Counts in logarithmic bins.</summary>
/// <param name="Edges">Bin edges, ascending, length Counts.Length + 1 (bins are [e_i, e_{i+1}), the last one closed).</param>
/// <param name="Counts">Values per bin.</param>
/// <param name="NonPositive">Values ≤ 0 (or NaN) that a log axis cannot show.</param>
public sealed record LogBins(double[] Edges, long[] Counts, long NonPositive)
{
    /// <summary>Geometric bin centres, where the points go on a log axis.</summary>
    public double[] Centers => Enumerable.Range(0, Counts.Length).Select(i => Math.Sqrt(Edges[i] * Edges[i + 1])).ToArray();
}

/// <summary>Histogram binning for long-tailed data (label frequencies, labels per point).</summary>
public static class Binning
{
    /// <summary>
    /// Bins with <paramref name="binsPerDecade"/> equal steps per factor of ten, edges at 10^(k/binsPerDecade) spanning
    /// the positive values; same bin rule as numpy.histogram.
    /// </summary>
    public static LogBins Log(IEnumerable<double> values, int binsPerDecade = 5)
    {
        if (binsPerDecade < 1) throw new ArgumentOutOfRangeException(nameof(binsPerDecade), "must be at least 1");
        var all = values.ToList();
        var pos = all.Where(v => v > 0 && double.IsFinite(v)).ToList();
        var nonPositive = all.Count - pos.Count;
        if (pos.Count == 0) return new LogBins([], [], nonPositive);
        var lo = (int)Math.Floor(Math.Log10(pos.Min()) * binsPerDecade);
        var hi = (int)Math.Ceiling(Math.Log10(pos.Max()) * binsPerDecade);
        if (hi <= lo) hi = lo + 1;
        var edges = Enumerable.Range(lo, hi - lo + 1).Select(k => Math.Pow(10, (double)k / binsPerDecade)).ToArray();
        // Floating error in log10 can leave the extremes a hair outside; widen the outer edges to keep every value.
        edges[0] = Math.Min(edges[0], pos.Min());
        edges[^1] = Math.Max(edges[^1], pos.Max());
        var counts = new long[edges.Length - 1];
        foreach (var v in pos)
        {
            // Index of the last edge <= v (numpy's right-open bins), the top edge belonging to the last bin.
            var i = Array.BinarySearch(edges, v);
            i = i >= 0 ? i : ~i - 1;
            counts[Math.Min(i, counts.Length - 1)]++;
        }
        return new LogBins(edges, counts, nonPositive);
    }
}
