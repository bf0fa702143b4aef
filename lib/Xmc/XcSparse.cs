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
    /// <summary>Reads a sparse file. Every error names the file and the 1-based line.</summary>
    public static CsrMatrix Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        return Read(reader, path);
    }

    public static CsrMatrix Read(TextReader reader, string name)
    {
        var header = reader.ReadLine() ?? throw new XmcFormatException(name, 1, "empty file: expected header 'rows cols'");
        var parts = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int cols))
            throw new XmcFormatException(name, 1, $"bad header '{Trunc(header)}': expected two non-negative integers 'rows cols'");

        var indptr = new int[rows + 1];
        var indices = new List<int>();
        var values = new List<float>();
        var seenInRow = new int[cols]; // row stamp (row + 1) of the last time each column was seen: O(1) duplicate check
        int decimals = -2;              // -2: no value yet; -1: inconsistent; >= 0: every value had this many decimals
        for (int r = 0; r < rows; r++)
        {
            int lineNo = r + 2;
            var line = reader.ReadLine();
            if (line is null)
                throw new XmcFormatException(name, lineNo, $"file ends after {r} rows but the header says {rows} rows");
            var span = line.AsSpan();
            int pos = 0;
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
                if (seenInRow[c] == r + 1)
                    throw new XmcFormatException(name, lineNo, $"duplicate column {c}");
                seenInRow[c] = r + 1;
                indices.Add(c);
                values.Add(v);
                int d = DecimalsOf(vs);
                decimals = decimals == -2 ? d : decimals == d ? d : -1;
                pos = end;
            }
            indptr[r + 1] = indices.Count;
        }
        var extra = reader.ReadLine();
        if (extra is not null)
            throw new XmcFormatException(name, rows + 2, $"more lines than the {rows} rows the header declares");
        return new CsrMatrix(rows, cols, indptr, indices.ToArray(), values.ToArray())
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
