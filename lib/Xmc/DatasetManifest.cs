using System.Text.Json;
using ViXml.Common;
using ViXml.Xmc.Debian;

namespace ViXml.Xmc;

/// <summary>
/// manifest.json of a built dataset: what the builder wrote ("outputs": file, bytes or files, sha256). Checked strictly:
/// a field of the wrong type is an error, never a skipped check.
/// </summary>
public static class DatasetManifest
{
    public const string FileName = "manifest.json";
    /// <summary>Largest manifest read (bytes).</summary>
    public const long MaxBytes = 64 << 20;

    /// <summary>The top-level names the manifest of <paramref name="dir"/> lists as outputs (empty when there is none or
    /// it cannot be read): what a rebuild of the folder owns and may replace.</summary>
    public static HashSet<string> ListedOutputs(string dir)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var path = Path.Combine(dir, FileName);
            if (!File.Exists(path)) return names;
            using var doc = JsonDocument.Parse(InputFile.ReadAllBytes(path, MaxBytes));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("outputs", out var outs)
                || outs.ValueKind != JsonValueKind.Array) return names;
            foreach (var o in outs.EnumerateArray())
                if (o.ValueKind == JsonValueKind.Object && o.TryGetProperty("file", out var f) && f.ValueKind == JsonValueKind.String
                    && FolderName.Problem(f.GetString()) is null)
                    names.Add(f.GetString()!.Split('/')[0]);
        }
        catch (Exception e) when (e is JsonException or InputFileException or InputLimitException) { }
        return names;
    }

    /// <summary>
    /// Problems of <paramref name="dir"/> against its manifest (empty = consistent, or no manifest). Sizes and file
    /// counts are always compared; with <paramref name="checksums"/> every listed file's and folder's sha256 as well,
    /// otherwise only the files' (folders of images are counted, not hashed).
    /// </summary>
    public static List<string> Verify(string dir, bool checksums)
    {
        var errors = new List<string>();
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return errors;
        JsonElement root;
        try
        {
            var bytes = InputFile.ReadAllBytes(path, MaxBytes);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) { errors.Add($"{path}: not valid UTF-8"); return errors; }
            using var doc = JsonDocument.Parse(bytes);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { errors.Add($"{path}: invalid JSON ({e.Message})"); return errors; }
        catch (Exception e) when (e is InputFileException or InputLimitException) { errors.Add(e.Message); return errors; }
        if (root.ValueKind != JsonValueKind.Object) { errors.Add($"{path}: expected a JSON object, found {root.ValueKind}"); return errors; }
        if (!root.TryGetProperty("outputs", out var outputs)) return errors;
        if (outputs.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{path}: 'outputs' must be a list of {{file, sha256}} objects, found {outputs.ValueKind}");
            return errors;
        }
        int i = 0;
        foreach (var o in outputs.EnumerateArray())
        {
            string where = $"{path}: outputs[{i++}]";
            if (o.ValueKind != JsonValueKind.Object) { errors.Add($"{where} must be an object, found {o.ValueKind}"); continue; }
            if (!o.TryGetProperty("file", out var fe) || fe.ValueKind != JsonValueKind.String || fe.GetString() is not { Length: > 0 } f)
            { errors.Add($"{where}: 'file' must be a non-empty string"); continue; }
            if (FolderName.Problem(f) is string why) { errors.Add($"{where}: 'file' '{FolderName.Printable(f)}' {why} (it must stay inside the dataset folder)"); continue; }
            if (!o.TryGetProperty("sha256", out var he) || he.ValueKind != JsonValueKind.String || he.GetString() is not { Length: 64 } sha)
            { errors.Add($"{where} ({f}): 'sha256' must be a 64-character hex string"); continue; }
            try
            {
                var p = Path.Combine(dir, f);
                if (Directory.Exists(p))
                {
                    if (o.TryGetProperty("files", out var fc))
                    {
                        if (fc.ValueKind != JsonValueKind.Number || !fc.TryGetInt64(out long want)) { errors.Add($"{where} ({f}): 'files' must be an integer"); continue; }
                        long have = Directory.GetFiles(p).Length;
                        if (have != want) { errors.Add($"{p}: {have} files but manifest.json lists {want} (incomplete or mixed build)"); continue; }
                    }
                    if (checksums && DatasetWriter.DirectoryDigest(p) != sha)
                        errors.Add($"{p}: sha256 differs from manifest.json (modified or corrupted copy)");
                }
                else if (File.Exists(p))
                {
                    if (o.TryGetProperty("bytes", out var be))
                    {
                        if (be.ValueKind != JsonValueKind.Number || !be.TryGetInt64(out long want)) { errors.Add($"{where} ({f}): 'bytes' must be an integer"); continue; }
                        long have = InputFile.Length(p);   // a symlink's target, not the link
                        if (have != want) { errors.Add($"{p}: {have} bytes but manifest.json records {want} (modified, truncated or mixed build)"); continue; }
                    }
                    if (InputFile.Sha256(p) != sha) errors.Add($"{p}: sha256 differs from manifest.json (modified or corrupted copy)");
                }
                else errors.Add($"{path}: lists {f}, which is missing");
            }
            catch (Exception e) when (e is InputFileException or InputLimitException) { errors.Add(e.Message); }
        }
        return errors;
    }
}
