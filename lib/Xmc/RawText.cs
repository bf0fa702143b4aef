using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ViXml.Common;

namespace ViXml.Xmc;

/// <summary>
/// Raw text files (trn.raw.txt, tst.raw.txt, lbl.raw.txt): one item per line, UTF-8, "\n" line endings.
/// Texts never contain newlines; <see cref="Clean"/> flattens whitespace so they cannot.
/// </summary>
public static class RawText
{
    /// <summary>The lines of a raw text file. Invalid UTF-8, a NUL byte, a carriage return or an endless line is an
    /// error naming the file and line.</summary>
    /// <summary>Longest line (UTF-8 bytes) <see cref="Read"/> accepts and <see cref="Write"/> writes.</summary>
    public const int MaxLineBytes = 1 << 24;

    public static string[] Read(string path)
    {
        var lines = new List<string>();
        try
        {
            foreach (var (no, line) in InputFile.ReadLines(path, maxLineBytes: MaxLineBytes))
            {
                if (line.Contains('\r'))
                    throw new XmcFormatException(path, no, "carriage return inside a text line (files must use \\n endings)");
                lines.Add(line);
            }
        }
        catch (InputFileException e) { throw new XmcFormatException(e.File, e.Line, e.Detail); }
        return lines.ToArray();
    }

    /// <summary>Writes one item per line. Every line must be one <see cref="Read"/> accepts (no line break, no NUL, at most
    /// <see cref="MaxLineBytes"/>): what is written can always be read back (<see cref="ForLine"/> makes any text so).</summary>
    public static void Write(string path, IEnumerable<string> items)
    {
        var sb = new StringBuilder();
        int i = 0;
        foreach (var s in items)
        {
            if (s.AsSpan().IndexOfAny('\n', '\r') >= 0)
                throw new ArgumentException($"item {i} for {path} contains a line break; pass it through RawText.Clean first");
            if (s.Contains('\0')) throw new ArgumentException($"item {i} for {path} contains a NUL character; pass it through RawText.ForLine first");
            if (s.Length > MaxLineBytes / 3 && Encoding.UTF8.GetByteCount(s) > MaxLineBytes)
                throw new ArgumentException($"item {i} for {path} is longer than {MaxLineBytes:N0} bytes; pass it through RawText.ForLine first");
            sb.Append(s).Append('\n');
            i++;
        }
        Atomic.WriteAllText(path, sb.ToString());
    }

    /// <summary>
    /// <paramref name="s"/> as a line <see cref="Read"/> accepts: whitespace and control characters (line breaks, NUL)
    /// collapsed as by <see cref="Clean"/> when present, and cut at a character boundary to <see cref="MaxLineBytes"/>.
    /// <paramref name="changed"/> tells whether anything was altered.
    /// </summary>
    public static string ForLine(string s, out bool changed)
    {
        changed = false;
        var t = s;
        if (t.Any(c => char.IsControl(c))) { t = Clean(t); changed = true; }
        if (t.Length > MaxLineBytes / 3 && Encoding.UTF8.GetByteCount(t) > MaxLineBytes)
        {
            int chars = MaxLineBytes / 4;   // a UTF-16 unit is at most 3 UTF-8 bytes (4 for a surrogate pair = 2 units)
            while (chars < t.Length && Encoding.UTF8.GetByteCount(t.AsSpan(0, Math.Min(t.Length, chars + (1 << 16)))) <= MaxLineBytes) chars += 1 << 16;
            while (Encoding.UTF8.GetByteCount(t.AsSpan(0, chars)) > MaxLineBytes) chars -= 1 << 10;
            if (chars > 0 && char.IsHighSurrogate(t[chars - 1])) chars--;
            t = t[..chars].TrimEnd();
            changed = true;
        }
        return t;
    }

    /// <summary>Collapses every run of whitespace and control characters (newlines, tabs, NUL) into one space and trims.</summary>
    public static string Clean(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (var ch in s)
        {
            if (char.IsWhiteSpace(ch) || char.IsControl(ch)) { space = sb.Length > 0; continue; }
            if (space) { sb.Append(' '); space = false; }
            sb.Append(ch);
        }
        return sb.ToString();
    }
}

/// <summary>One record of the repository's JSON-lines files (trn.json.gz, tst.json.gz, lbl.json.gz).</summary>
public sealed record XcJsonRecord(string Uid, string Title, string Content, int[] TargetInd, float[] TargetRel);

/// <summary>
/// Converts the Extreme Classification Repository's JSON-lines releases (fields uid, title, content, target_ind,
/// target_rel) into our layout: raw texts plus the sparse label matrix.
/// </summary>
public static class XcJsonLines
{
    /// <summary>Reads a .json.gz (or plain .json) JSON-lines file; each error names the file and line.</summary>
    public static List<XcJsonRecord> Read(string path)
    {
        using var fs = InputFile.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(fs, CompressionMode.Decompress) : fs;
        using var reader = new StreamReader(s, new UTF8Encoding(false));
        var list = new List<XcJsonRecord>();
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var o = doc.RootElement;
                string Str(string key) => o.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null
                    ? (e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()) : "";
                var ind = o.TryGetProperty("target_ind", out var ti) ? ti.EnumerateArray().Select(x => x.GetInt32()).ToArray() : [];
                var rel = o.TryGetProperty("target_rel", out var tr) ? tr.EnumerateArray().Select(x => x.GetSingle()).ToArray() : [];
                if (rel.Length != 0 && rel.Length != ind.Length)
                    throw new XmcFormatException(path, lineNo, $"target_rel has {rel.Length} entries but target_ind has {ind.Length}");
                list.Add(new XcJsonRecord(Str("uid"), Str("title"), Str("content"), ind, rel.Length == 0 ? ind.Select(_ => 1f).ToArray() : rel));
            }
            catch (JsonException e)
            {
                throw new XmcFormatException(path, lineNo, $"invalid JSON: {e.Message}");
            }
            catch (InvalidOperationException e)
            {
                throw new XmcFormatException(path, lineNo, $"unexpected JSON shape: {e.Message}");
            }
        }
        return list;
    }

    /// <summary>Texts for raw files: the title alone, or "title content" flattened to one line.</summary>
    public static string[] Texts(IEnumerable<XcJsonRecord> records, bool withContent) =>
        records.Select(r => RawText.Clean(withContent && r.Content.Length > 0 ? r.Title + " " + r.Content : r.Title)).ToArray();

    /// <summary>The label matrix of the records (numLabels columns); an index out of range names the record's line.</summary>
    public static CsrMatrix Labels(IReadOnlyList<XcJsonRecord> records, int numLabels, string path)
    {
        var indptr = new int[records.Count + 1];
        var idx = new List<int>();
        var val = new List<float>();
        for (int i = 0; i < records.Count; i++)
        {
            var pairs = records[i].TargetInd.Zip(records[i].TargetRel).OrderBy(p => p.First).ToArray();
            for (int j = 0; j < pairs.Length; j++)
            {
                if ((uint)pairs[j].First >= (uint)numLabels)
                    throw new XmcFormatException(path, i + 1, $"target_ind {pairs[j].First} out of range: {numLabels} labels");
                if (j > 0 && pairs[j].First == pairs[j - 1].First)
                    throw new XmcFormatException(path, i + 1, $"duplicate target_ind {pairs[j].First}");
                idx.Add(pairs[j].First); val.Add(pairs[j].Second);
            }
            indptr[i + 1] = idx.Count;
        }
        return new CsrMatrix(records.Count, numLabels, indptr, idx.ToArray(), val.ToArray());
    }

    /// <summary>
    /// Converts a release folder holding trn.json.gz, tst.json.gz and lbl.json.gz into trn/tst/lbl.raw.txt and
    /// trn_X_Y.txt / tst_X_Y.txt in <paramref name="outDir"/>.
    /// </summary>
    public static void ConvertFolder(string inDir, string outDir, bool withContent)
    {
        Directory.CreateDirectory(outDir);
        var lblPath = Path.Combine(inDir, "lbl.json.gz");
        var lbl = Read(lblPath);
        RawText.Write(Path.Combine(outDir, "lbl.raw.txt"), Texts(lbl, withContent));
        foreach (var split in new[] { "trn", "tst" })
        {
            var p = Path.Combine(inDir, split + ".json.gz");
            var recs = Read(p);
            RawText.Write(Path.Combine(outDir, split + ".raw.txt"), Texts(recs, withContent));
            XcSparse.Write(Path.Combine(outDir, split + "_X_Y.txt"), Labels(recs, lbl.Count, p));
        }
    }
}
