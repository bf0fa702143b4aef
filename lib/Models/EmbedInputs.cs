using System.Globalization;

namespace ViXml.Models;

/// <summary>Bad input for embedding (an ids file, a text file): the message names the file and the line.</summary>
public sealed class EmbedInputException(string message) : Exception(message);

/// <summary>Reading the inputs of <c>./vixml embed</c>.</summary>
public static class EmbedInputs
{
    /// <summary>
    /// One sequence per line as space-separated token ids, used exactly as given (no special tokens, no truncation).
    /// Every id must lie in [0, vocabSize) and every sequence must be non-empty and fit the position table.
    /// </summary>
    public static List<long[]> ReadIds(string path, int vocabSize, int maxPositions)
    {
        if (!File.Exists(path)) throw new EmbedInputException($"{path}: file not found");
        var rows = new List<long[]>();
        foreach (var (lineNo, line) in Lines(path))
        {
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
                throw new EmbedInputException($"{path}:{lineNo}: empty sequence (every line must hold at least one token id)");
            if (parts.Length > maxPositions)
                throw new EmbedInputException(
                    $"{path}:{lineNo}: {parts.Length} ids exceed the model's max_position_embeddings {maxPositions}");
            var row = new long[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
                    throw new EmbedInputException($"{path}:{lineNo}: token {i + 1} '{parts[i]}' is not an integer id");
                if (id < 0 || id >= vocabSize)
                    throw new EmbedInputException($"{path}:{lineNo}: id {id} is out of range [0, {vocabSize})");
                row[i] = id;
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>One text per line (a trailing newline does not add an empty text).</summary>
    public static List<string> ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new EmbedInputException($"{path}: file not found");
        // strict UTF-8: invalid bytes are an error naming the line, never silently replaced; NUL bytes likewise
        return Lines(path).Select(l => l.Text).ToList();
    }

    private static IEnumerable<(int Line, string Text)> Lines(string path)
    {
        using var e = ViXml.Common.InputFile.ReadLines(path, maxLineBytes: 1 << 24).GetEnumerator();
        while (true)
        {
            try { if (!e.MoveNext()) yield break; }
            catch (ViXml.Common.InputFileException x) { throw new EmbedInputException(x.Message); }
            var (no, text) = e.Current;
            yield return (no, text.EndsWith('\r') ? text[..^1] : text);
        }
    }

    /// <summary>Right-pads rows [start, start+count) to their longest length: flat (B*T) ids and mask.</summary>
    public static (long[] Ids, long[] Mask, int B, int T) Pad(IReadOnlyList<long[]> rows, int start, int count, long padId)
    {
        var t = 0;
        for (var i = 0; i < count; i++) t = Math.Max(t, rows[start + i].Length);
        var ids = new long[count * t];
        var mask = new long[count * t];
        Array.Fill(ids, padId);
        for (var i = 0; i < count; i++)
        {
            var r = rows[start + i];
            r.CopyTo(ids.AsSpan(i * t));
            mask.AsSpan(i * t, r.Length).Fill(1);
        }
        return (ids, mask, count, t);
    }
}
