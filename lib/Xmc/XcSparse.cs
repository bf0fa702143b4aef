using System.Globalization;
using System.Text;
using ViXml.Common;

namespace ViXml.Xmc;

/// <summary>
/// The Extreme Classification Repository sparse text format: line 1 is "rows cols", then exactly one line per row
/// with space-separated "col:value" pairs (0-based columns); an empty row is an empty line. Files end with "\n".
/// </summary>
public static class XcSparse
{
    /// <summary>Reads a sparse file. Every error names the file and the 1-based line; the declared sizes are checked
    /// against the file's length before anything is allocated, and lines are capped (see <see cref="InputFile"/>).</summary>
    public static CsrMatrix Read(string path)
    {
        try
        {
            InputFile.Require(path);
            long length = new FileInfo(path).Length;
            return Read(InputFile.ReadLines(path).Select(l => l.Text), path, length > 0 ? length : null);
        }
        catch (InputFileException e) { throw new XmcFormatException(e.File, e.Line, e.Detail); }
    }

    public static CsrMatrix Read(TextReader reader, string name) => Read(Lines(reader), name, null);

    private static IEnumerable<string> Lines(TextReader r)
    {
        for (string? l; (l = r.ReadLine()) is not null;) yield return l;
    }

    /// <summary>Largest row count accepted in a header (the CSR arrays are int-indexed).</summary>
    public const int MaxDimension = int.MaxValue - 64;
    /// <summary>Largest column (label) count accepted: per-label arrays of this size are allocated downstream; the
    /// largest public XC datasets have a few million labels.</summary>
    public const int MaxColumns = 100_000_000;

    private static CsrMatrix Read(IEnumerable<string> lines, string name, long? fileBytes)
    {
        using var it = lines.GetEnumerator();
        var header = it.MoveNext() ? it.Current : throw new XmcFormatException(name, 1, "empty file: expected header 'rows cols'");
        var parts = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int cols))
            throw new XmcFormatException(name, 1, $"bad header '{Trunc(header)}': expected two non-negative integers 'rows cols' (each below 2^31)");
        if (rows > MaxDimension)
            throw new XmcFormatException(name, 1, $"header '{Trunc(header)}': at most {MaxDimension} rows");
        if (cols > MaxColumns)
            throw new XmcFormatException(name, 1, $"header '{Trunc(header)}' declares {cols} columns; at most {MaxColumns:N0} are accepted");
        // every row is at least its "\n": a header declaring more rows than the file has bytes is corrupt
        if (fileBytes is long fb && rows > fb - header.Length)
            throw new XmcFormatException(name, 1, $"header declares {rows} rows but the file has only {fb} bytes (one line per row needed)");

        var indptr = new List<int>(Math.Min(rows, 1 << 20) + 1) { 0 };
        var indices = new List<int>();
        var values = new List<float>();
        var rowCols = new List<int>();
        int decimals = -2;              // -2: no value yet; -1: inconsistent; >= 0: every value had this many decimals
        for (int r = 0; r < rows; r++)
        {
            int lineNo = r + 2;
            if (!it.MoveNext())
                throw new XmcFormatException(name, lineNo, $"file ends after {r} rows but the header says {rows} rows");
            var span = it.Current.AsSpan();
            int pos = 0;
            rowCols.Clear();
            while (pos < span.Length)
            {
                if (span[pos] == ' ') { pos++; continue; }
                int end = span[pos..].IndexOf(' ');
                end = end < 0 ? span.Length : pos + end;
                var tok = span[pos..end];
                int colon = tok.IndexOf(':');
                if (colon <= 0 || colon == tok.Length - 1)
                    throw new XmcFormatException(name, lineNo, $"entry '{Trunc(tok.ToString())}' is not 'col:value'");
                if (!int.TryParse(tok[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out int c))
                    throw new XmcFormatException(name, lineNo, $"column '{Trunc(tok[..colon].ToString())}' is not a non-negative integer");
                if (c >= cols)
                    throw new XmcFormatException(name, lineNo, $"column {c} out of range: the header says {cols} columns");
                var vs = tok[(colon + 1)..];
                if (!float.TryParse(vs, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                    throw new XmcFormatException(name, lineNo, $"value '{Trunc(vs.ToString())}' of column {c} is not a finite number");
                rowCols.Add(c);
                indices.Add(c);
                values.Add(v);
                int d = DecimalsOf(vs);
                decimals = decimals == -2 ? d : decimals == d ? d : -1;
                pos = end;
            }
            if (rowCols.Count > 1)
            {
                rowCols.Sort();
                for (int i = 1; i < rowCols.Count; i++)
                    if (rowCols[i] == rowCols[i - 1]) throw new XmcFormatException(name, lineNo, $"duplicate column {rowCols[i]}");
            }
            if (indices.Count == int.MaxValue - 64)
                throw new XmcFormatException(name, lineNo, "more than 2^31 stored entries: too large for one matrix");
            indptr.Add(indices.Count);
        }
        if (it.MoveNext())
            throw new XmcFormatException(name, rows + 2, $"more lines than the {rows} rows the header declares");
        return new CsrMatrix(rows, cols, indptr.ToArray(), indices.ToArray(), values.ToArray())
        {
            TextDecimals = decimals >= 1 ? decimals : null,
        };
    }

    /// <summary>Writes atomically. Values use <paramref name="decimals"/> fixed decimals if given, else the matrix's
    /// <see cref="CsrMatrix.TextDecimals"/>, else the shortest round-trip form.</summary>
    public static void Write(string path, CsrMatrix m, int? decimals = null) =>
        Atomic.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            Write(w, m, decimals);
        });

    public static void Write(TextWriter w, CsrMatrix m, int? decimals = null)
    {
        var fmt = (decimals ?? m.TextDecimals) is int d ? "F" + d.ToString(CultureInfo.InvariantCulture) : "R";
        w.Write(m.Rows.ToString(CultureInfo.InvariantCulture));
        w.Write(' ');
        w.Write(m.Cols.ToString(CultureInfo.InvariantCulture));
        w.Write('\n');
        Span<char> buf = stackalloc char[64];
        for (int r = 0; r < m.Rows; r++)
        {
            for (int p = m.Indptr[r]; p < m.Indptr[r + 1]; p++)
            {
                if (p > m.Indptr[r]) w.Write(' ');
                m.Indices[p].TryFormat(buf, out int n, default, CultureInfo.InvariantCulture);
                w.Write(buf[..n]);
                w.Write(':');
                m.Values[p].TryFormat(buf, out n, fmt, CultureInfo.InvariantCulture);
                w.Write(buf[..n]);
            }
            w.Write('\n');
        }
    }

    private static int DecimalsOf(ReadOnlySpan<char> v)
    {
        if (v.IndexOfAny('e', 'E') >= 0) return -1;
        int dot = v.IndexOf('.');
        return dot < 0 ? 0 : v.Length - dot - 1;
    }

    internal static string Trunc(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
