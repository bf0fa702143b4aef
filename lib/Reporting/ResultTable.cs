using System.Globalization;
using System.Net;
using System.Text;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>
/// What a number was measured on, carried with every table so a small CI run is never mistaken for the paper's.
/// </summary>
/// <param name="Dataset">Dataset name, e.g. "debian-small" or "LF-AmazonTitles-131K".</param>
/// <param name="Profile">Run profile: smoke, ci, cpu or paper.</param>
/// <param name="Seeds">Seeds averaged over (empty = not recorded).</param>
/// <param name="Note">Anything else that changes the meaning, e.g. "CPU, embedded data, random init".</param>
public sealed record Scale(string Dataset, string Profile, IReadOnlyList<int> Seeds, string? Note = null)
{
    public string SeedsText => Seeds.Count == 0 ? "" : string.Join(";", Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)));

    public override string ToString()
    {
        var parts = new List<string> { $"dataset {Dataset}", $"profile {Profile}" };
        if (Seeds.Count > 0) parts.Add($"seed{(Seeds.Count == 1 ? "" : "s")} {string.Join(", ", Seeds)}");
        if (!string.IsNullOrWhiteSpace(Note)) parts.Add(Note!);
        return string.Join(" · ", parts);
    }
}

/// <summary>
/// A result table: named columns, rows of values (numbers stay numbers), optional per-column display formats and the
/// <see cref="Scale"/> of the numbers. CSV keeps full precision (RFC 4180 quoting, invariant culture, LF line ends,
/// scale columns appended); Markdown, HTML and text use the display formats.
/// </summary>
[TypeFormatterSource(typeof(RichDisplayFormatterSource), PreferredMimeTypes = [MimeTypes.Html, MimeTypes.Markdown, MimeTypes.Plain])]
public sealed class ResultTable : IRichDisplay
{
    private readonly List<object?[]> _rows = [];
    private readonly Dictionary<string, string> _formats = new(StringComparer.Ordinal);

    public ResultTable(string title, IEnumerable<string> columns, Scale? scale = null)
    {
        Title = title;
        Columns = columns.ToList();
        if (Columns.Count == 0) throw new ArgumentException($"table '{title}' needs at least one column");
        var dup = Columns.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"table '{title}' has column '{dup.Key}' twice");
        Scale = scale;
    }

    public string Title { get; }

    public IReadOnlyList<string> Columns { get; }

    public Scale? Scale { get; set; }

    public IReadOnlyList<IReadOnlyList<object?>> Rows => _rows;

    /// <summary>Appends a row; it must have one value per column.</summary>
    public ResultTable AddRow(params object?[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new ArgumentException($"table '{Title}': row {_rows.Count} has {cells.Length} values for {Columns.Count} columns");
        _rows.Add((object?[])cells.Clone());
        return this;
    }

    /// <summary>Display format for a numeric column, e.g. "F2" (CSV is unaffected).</summary>
    public ResultTable Format(string column, string format)
    {
        if (!Columns.Contains(column)) throw new ArgumentException($"table '{Title}' has no column '{column}'");
        _formats[column] = format;
        return this;
    }

    /// <summary>The display format set for a column with <see cref="Format"/>, or null.</summary>
    public string? FormatOf(string column) => _formats.TryGetValue(column, out var f) ? f : null;

    /// <summary>The value as shown in Markdown/HTML/text.</summary>
    public string Display(int row, int column)
    {
        var v = _rows[row][column];
        return v switch
        {
            null => "",
            string s => s,
            double or float or decimal when _formats.TryGetValue(Columns[column], out var f) => ((IFormattable)v).ToString(f, CultureInfo.InvariantCulture),
            double d => d.ToString("0.####", CultureInfo.InvariantCulture),
            float x => x.ToString("0.####", CultureInfo.InvariantCulture),
            IFormattable fm when _formats.TryGetValue(Columns[column], out var f2) => fm.ToString(f2, CultureInfo.InvariantCulture),
            _ => RawText(v),
        };
    }

    /// <summary>Full-precision invariant text, as CSV stores it.</summary>
    public static string RawText(object? v) => v switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable fm => fm.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private bool IsNumeric(int column) =>
        _rows.Any(r => r[column] is not null) &&
        _rows.All(r => r[column] is null or sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal);

    // ---- CSV (RFC 4180) -------------------------------------------------------------------------------------

    public static readonly string[] ScaleColumns = ["scale_dataset", "scale_profile", "scale_seeds", "scale_note"];

    public string ToCsv()
    {
        var sb = new StringBuilder();
        var header = Scale is null ? Columns : Columns.Concat(ScaleColumns);
        sb.AppendJoin(',', header.Select(CsvField)).Append('\n');
        foreach (var row in _rows)
        {
            var cells = row.Select(RawText);
            if (Scale is { } s) cells = cells.Concat([s.Dataset, s.Profile, s.SeedsText, s.Note ?? ""]);
            sb.AppendJoin(',', cells.Select(CsvField)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Quotes a field when it holds a comma, quote, CR or LF, or has edge spaces; quotes are doubled.</summary>
    public static string CsvField(string s)
    {
        var needs = s.AsSpan().IndexOfAny(",\"\r\n") >= 0 || (s.Length > 0 && (s[0] == ' ' || s[^1] == ' '));
        return needs ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    /// <summary>
    /// Reads a CSV written by <see cref="ToCsv"/> (or any RFC 4180 file with a header row): numbers come back as
    /// double, empty fields as null, trailing scale_* columns as <see cref="Scale"/>. Paper-table generators use this
    /// to read what notebooks saved. Errors name the file and line.
    /// </summary>
    public static ResultTable ReadCsv(string path, string? title = null)
    {
        var records = ParseCsv(File.ReadAllText(path), path);
        if (records.Count == 0) throw new FormatException($"{path}: empty CSV (no header row)");
        var header = records[0].Fields;
        var hasScale = header.Count > ScaleColumns.Length && header.TakeLast(ScaleColumns.Length).SequenceEqual(ScaleColumns);
        var columns = hasScale ? header.Take(header.Count - ScaleColumns.Length).ToList() : header.ToList();
        if (columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new FormatException($"{path}:{records[0].Line}: column '{twice.Key}' appears more than once in the header");
        var table = new ResultTable(title ?? Path.GetFileNameWithoutExtension(path), columns);
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Count != header.Count)
                throw new FormatException($"{path}:{line}: {fields.Count} fields, header has {header.Count}");
            table.AddRow(fields.Take(columns.Count).Select(ParseValue).ToArray());
            if (!hasScale) continue;
            var f = fields.Skip(columns.Count).ToList();
            var seeds = f[2].Length == 0 ? [] : f[2].Split(';').Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                ? v : throw new FormatException($"{path}:{line}: scale_seeds '{f[2]}' is not a ';'-separated list of integers")).ToList();
            var scale = new Scale(f[0], f[1], seeds, f[3].Length == 0 ? null : f[3]);
            if (table.Scale is null) table.Scale = scale;
            else if (table.Scale.Dataset != scale.Dataset || table.Scale.Profile != scale.Profile
                     || table.Scale.SeedsText != scale.SeedsText || table.Scale.Note != scale.Note)
                throw new FormatException($"{path}:{line}: scale differs from the first row's ({table.Scale})");
        }
        return table;
    }

    private static object? ParseValue(string s) =>
        s.Length == 0 ? null
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !s.Any(char.IsWhiteSpace) ? d
        : s;

    /// <summary>RFC 4180 records with the 1-based line each starts on; accepts LF or CRLF line ends.</summary>
    public static List<(int Line, List<string> Fields)> ParseCsv(string text, string where = "csv")
    {
        var records = new List<(int, List<string>)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, start = 1, i = 0;
        bool quoted = false, any = false;
        while (i < text.Length)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                    quoted = false;
                    i++;
                    if (i < text.Length && text[i] is not (',' or '\n' or '\r'))
                        throw new FormatException($"{where}:{line}: text after a closing quote");
                    continue;
                }
                if (ch == '\n') line++;
                field.Append(ch);
                i++;
                continue;
            }
            switch (ch)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    any = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    any = true;
                    break;
                case '\r' or '\n':
                    if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                    if (any || field.Length > 0 || fields.Count > 0)
                    {
                        fields.Add(field.ToString());
                        records.Add((start, fields));
                    }
                    fields = [];
                    field.Clear();
                    any = false;
                    line++;
                    start = line;
                    break;
                default:
                    field.Append(ch);
                    any = true;
                    break;
            }
            i++;
        }
        if (quoted) throw new FormatException($"{where}:{start}: unterminated quoted field");
        if (any || field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add((start, fields));
        }
        return records;
    }

    // ---- Markdown (GitHub tables) ---------------------------------------------------------------------------

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("**").Append(MarkdownCell(Title)).Append("**\n\n");
        sb.Append("| ").AppendJoin(" | ", Columns.Select(MarkdownCell)).Append(" |\n");
        sb.Append('|').AppendJoin("|", Enumerable.Range(0, Columns.Count).Select(c => IsNumeric(c) ? " ---: " : " --- ")).Append("|\n");
        for (var r = 0; r < _rows.Count; r++)
            sb.Append("| ").AppendJoin(" | ", Enumerable.Range(0, Columns.Count).Select(c => MarkdownCell(Display(r, c)))).Append(" |\n");
        if (Scale is not null) sb.Append("\n*Scale: ").Append(MarkdownCell(Scale.ToString())).Append("*\n");
        return sb.ToString();
    }

    /// <summary>
    /// Text safe inside a GitHub table cell: the table syntax (|) and inline markup (\ * _ `) are backslash-escaped,
    /// &lt; becomes an entity so no HTML is injected, and line breaks become &lt;br&gt; (a cell is one line).
    /// </summary>
    public static string MarkdownCell(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        var text = s.Replace("\r\n", "\n").Trim();
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\\' or '|' or '*' or '_' or '`': sb.Append('\\').Append(ch); break;
                case '<': sb.Append("&lt;"); break;
                case '\n' or '\r': sb.Append("<br>"); break;
                default: sb.Append(ch); break;
            }
        }
        return sb.ToString();
    }

    // ---- HTML ----------------------------------------------------------------------------------------------

    public string ToHtml()
    {
        static string E(string s) => WebUtility.HtmlEncode(s).Replace("\n", "<br>");
        var sb = new StringBuilder("<table class=\"vixml-result\">\n");
        sb.Append("<caption>").Append(E(Title));
        if (Scale is not null) sb.Append("<br><small>").Append(E(Scale.ToString())).Append("</small>");
        sb.Append("</caption>\n<thead><tr>");
        foreach (var c in Columns) sb.Append("<th>").Append(E(c)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (var r = 0; r < _rows.Count; r++)
        {
            sb.Append("<tr>");
            for (var c = 0; c < Columns.Count; c++)
                sb.Append(IsNumeric(c) ? "<td style=\"text-align:right\">" : "<td>").Append(E(Display(r, c))).Append("</td>");
            sb.Append("</tr>\n");
        }
        return sb.Append("</tbody>\n</table>\n").ToString();
    }

    // ---- plain text ----------------------------------------------------------------------------------------

    public string ToText()
    {
        var cells = Enumerable.Range(0, _rows.Count)
            .Select(r => Enumerable.Range(0, Columns.Count).Select(c => Display(r, c).Replace("\n", " ")).ToArray()).ToList();
        var widths = Enumerable.Range(0, Columns.Count)
            .Select(c => Math.Max(Columns[c].Length, cells.Count == 0 ? 0 : cells.Max(row => row[c].Length))).ToArray();
        string Line(IReadOnlyList<string> v) => string.Join("  ", v.Select((x, c) => IsNumeric(c) ? x.PadLeft(widths[c]) : x.PadRight(widths[c]))).TrimEnd();
        var sb = new StringBuilder(Title).Append('\n');
        sb.Append(Line(Columns)).Append('\n');
        sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
        foreach (var row in cells) sb.Append(Line(row)).Append('\n');
        if (Scale is not null) sb.Append("Scale: ").Append(Scale).Append('\n');
        return sb.ToString();
    }

    public override string ToString() => ToText();

    public Dictionary<string, object> ToMimeBundle() => new()
    {
        [MimeTypes.Html] = ToHtml(),
        [MimeTypes.Markdown] = ToMarkdown(),
        [MimeTypes.Plain] = ToText(),
    };

    public void SaveCsv(string path) => Atomic.WriteAllText(path, ToCsv());

    public void SaveMarkdown(string path) => Atomic.WriteAllText(path, ToMarkdown());

    public void SaveHtml(string path) => Atomic.WriteAllText(path, ToHtml());

    /// <summary>Typed Parquet columns, title and scale as file metadata (see <see cref="ResultParquet"/>).</summary>
    public void SaveParquet(string path) => ResultParquet.Save(this, path);
}
