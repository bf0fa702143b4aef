using System.Globalization;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>The Parquet type a result-table column is written as.</summary>
public enum ParquetColumnKind { Int64, Double, Boolean, String }

/// <summary>
/// Writes a <see cref="ResultTable"/> as one Parquet file (Parquet.Net, one row group, Snappy) with typed, nullable
/// columns and the table's title and scale as file key-value metadata, so pandas/Polars/DuckDB/Arrow users get numbers
/// as numbers and still see what the numbers were measured on.
/// <list type="bullet">
/// <item>a column whose non-empty cells are all integers (int, long, ...) → INT64;</item>
/// <item>all numbers, at least one of them float/double/decimal → DOUBLE (integers widened, NaN kept);</item>
/// <item>all bool → BOOLEAN;</item>
/// <item>anything else (text, or a mix such as seed 1 / "deterministic") → UTF-8 STRING, each cell as the CSV shows it;</item>
/// <item>an empty cell (null) → a Parquet null in every kind; a column with no values at all is a STRING column of nulls.</item>
/// </list>
/// </summary>
public static class ResultParquet
{
    /// <summary>File metadata keys. <c>vixml.scale</c> is the human line shown under every table.</summary>
    public const string TitleKey = "vixml.title", ScaleKey = "vixml.scale", ScaleDatasetKey = "vixml.scale.dataset",
        ScaleProfileKey = "vixml.scale.profile", ScaleSeedsKey = "vixml.scale.seeds", ScaleNoteKey = "vixml.scale.note",
        FormatsKey = "vixml.formats";

    /// <summary>How a column will be stored (see the class summary for the rule).</summary>
    public static ParquetColumnKind KindOf(ResultTable table, int column)
    {
        var values = table.Rows.Select(r => r[column]).Where(v => v is not null).ToList();
        if (values.Count == 0) return ParquetColumnKind.String;
        if (values.All(IsInteger) && values.All(v => v is not ulong u || u <= long.MaxValue)) return ParquetColumnKind.Int64;
        if (values.All(v => IsInteger(v) || v is float or double or decimal)) return ParquetColumnKind.Double;
        if (values.All(v => v is bool)) return ParquetColumnKind.Boolean;
        return ParquetColumnKind.String;
    }

    private static bool IsInteger(object? v) => v is sbyte or byte or short or ushort or int or uint or long or ulong;

    /// <summary>The key-value metadata written into the file footer.</summary>
    public static Dictionary<string, string> Metadata(ResultTable table)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [TitleKey] = table.Title };
        if (table.Scale is { } s)
        {
            meta[ScaleKey] = s.ToString();
            meta[ScaleDatasetKey] = s.Dataset;
            meta[ScaleProfileKey] = s.Profile;
            meta[ScaleSeedsKey] = s.SeedsText;
            if (s.Note is not null) meta[ScaleNoteKey] = s.Note;
        }
        var formats = table.Columns.Where(c => table.FormatOf(c) is not null).ToDictionary(c => c, c => table.FormatOf(c)!);
        if (formats.Count > 0) meta[FormatsKey] = JsonSerializer.Serialize(formats);
        return meta;
    }

    /// <summary>The whole file, in memory (result tables are small).</summary>
    public static byte[] ToBytes(ResultTable table) =>
        // Parquet.Net is async-only; run it on the pool so a caller's synchronisation context (a notebook kernel, a UI)
        // cannot deadlock the blocking wait.
        Task.Run(() => WriteAsync(table)).GetAwaiter().GetResult();

    /// <summary>Writes the file atomically (temp file + rename).</summary>
    public static void Save(ResultTable table, string path) => Atomic.WriteAllBytes(path, ToBytes(table));

    private static async Task<byte[]> WriteAsync(ResultTable table)
    {
        var kinds = Enumerable.Range(0, table.Columns.Count).Select(c => KindOf(table, c)).ToArray();
        var fields = table.Columns.Select((name, c) => new DataField(name, kinds[c] switch
        {
            ParquetColumnKind.Int64 => typeof(long?),
            ParquetColumnKind.Double => typeof(double?),
            ParquetColumnKind.Boolean => typeof(bool?),
            _ => typeof(string),
        }, isNullable: true)).ToArray();
        var schema = new ParquetSchema(fields);
        using var ms = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema, ms).ConfigureAwait(false))
        {
            writer.CustomMetadata = Metadata(table);
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < fields.Length; c++)
            {
                var cells = table.Rows.Select(r => r[c]).ToArray();
                switch (kinds[c])
                {
                    case ParquetColumnKind.Int64:
                        await group.WriteAsync<long>(fields[c], cells.Select(v => v is null ? (long?)null : Convert.ToInt64(v, CultureInfo.InvariantCulture)).ToArray())
                            .ConfigureAwait(false);
                        break;
                    case ParquetColumnKind.Double:
                        await group.WriteAsync<double>(fields[c], cells.Select(ToDouble).ToArray()).ConfigureAwait(false);
                        break;
                    case ParquetColumnKind.Boolean:
                        await group.WriteAsync<bool>(fields[c], cells.Select(v => (bool?)v).ToArray()).ConfigureAwait(false);
                        break;
                    default:
                        await group.WriteAsync(fields[c], cells.Select(v => v is null ? null : ResultTable.RawText(v)).ToArray()).ConfigureAwait(false);
                        break;
                }
            }
            group.CompleteValidate();
        }
        return ms.ToArray();
    }

    // float → double through its shortest text, so 0.1f is stored as 0.1 (what the CSV says), not 0.100000001490116.
    private static double? ToDouble(object? v) => v switch
    {
        null => null,
        double d => d,
        float f => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
        _ => Convert.ToDouble(v, CultureInfo.InvariantCulture),
    };
}
