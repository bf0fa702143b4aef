using System.Globalization;
using System.Text;
using ViXml.Common;

namespace ViXml.Xmc;

/// <summary>
/// filter_labels_test.txt: one "row col" pair per line (0-based). These (test point, label) pairs are removed from
/// predictions before any metric, as LF datasets require (self pairs and reciprocal pairs).
/// </summary>
public sealed class FilterPairs
{
    private readonly Dictionary<int, HashSet<int>> _byRow = new();
    private readonly List<(int Row, int Col)> _pairs = new();

    public FilterPairs() { }

    public FilterPairs(IEnumerable<(int Row, int Col)> pairs)
    {
        foreach (var (r, c) in pairs) Add(r, c);
    }

    /// <summary>Pairs in file order (duplicates kept once).</summary>
    public IReadOnlyList<(int Row, int Col)> Pairs => _pairs;
    public int Count => _pairs.Count;

    public bool Add(int row, int col)
    {
        if (!_byRow.TryGetValue(row, out var set)) _byRow[row] = set = new HashSet<int>();
        if (!set.Add(col)) return false;
        _pairs.Add((row, col));
        return true;
    }

    public bool Contains(int row, int col) => _byRow.TryGetValue(row, out var s) && s.Contains(col);

    /// <summary>The filtered columns of a row, or null if none.</summary>
    public HashSet<int>? ColumnsOf(int row) => _byRow.TryGetValue(row, out var s) ? s : null;

    /// <summary>Reads a filter file; if rows/cols are given, pairs outside that shape are errors naming the line.</summary>
    public static FilterPairs Read(string path, int? rows = null, int? cols = null)
    {
        var f = new FilterPairs();
        IEnumerable<(int Line, string Text)> lines;
        try { lines = InputFile.ReadLines(path).ToList(); }
        catch (InputFileException e) { throw new XmcFormatException(e.File, e.Line, e.Detail); }
        foreach (var (lineNo, line) in lines)
        {
            if (line.Length == 0) continue;
            var parts = line.Split(' ', '\t');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int r)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int c))
                throw new XmcFormatException(path, lineNo, $"expected 'row col' (two non-negative integers), got '{XcSparse.Trunc(line)}'");
            if (rows is int nr && r >= nr)
                throw new XmcFormatException(path, lineNo, $"row {r} out of range: the test set has {nr} rows");
            if (cols is int nc && c >= nc)
                throw new XmcFormatException(path, lineNo, $"label {c} out of range: there are {nc} labels");
            f.Add(r, c);
        }
        return f;
    }

    /// <summary>Writes the pairs sorted by (row, col), one per line, atomically.</summary>
    public void Write(string path)
    {
        var sb = new StringBuilder();
        foreach (var (r, c) in _pairs.OrderBy(p => p.Row).ThenBy(p => p.Col))
            sb.Append(r.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(c.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Atomic.WriteAllText(path, sb.ToString());
    }
}
