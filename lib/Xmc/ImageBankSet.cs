using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ViXml.Common;

namespace ViXml.Xmc;

/// <summary>A file named relative to a dataset folder with its sha256 (a folder's digest is
/// <see cref="ImageBanks.DirectoryDigest"/>).</summary>
public sealed record FileDigest(string File, string Sha256);

/// <summary>
/// What made an image bank: the model, the preprocessing, the bank's shape and the sha256 of the inputs it was computed
/// from and of the bank itself. Stored next to the bank as <c>{name}_embs.json</c>.
/// </summary>
public sealed class ImageBankManifest
{
    public const string FormatVersion = "vixml-image-bank/1";
    /// <summary>Bank name: the prefix of <c>{name}_embs.npy</c>.</summary>
    public required string Name { get; init; }
    /// <summary>The encoder, e.g. "resnet18-imagenet (pooled, 512)" or "pixel-features/1".</summary>
    public required string Model { get; init; }
    /// <summary>How images were turned into model input (resize, compositing, normalisation).</summary>
    public required string Preprocessing { get; init; }
    public required int NumImages { get; init; }
    public required int Dim { get; init; }
    /// <summary>Inputs (image folder digest, img.ids.txt), relative to the dataset folder.</summary>
    public required IReadOnlyList<FileDigest> Inputs { get; init; }
    /// <summary>Outputs (the .npy bank), relative to the dataset folder.</summary>
    public required IReadOnlyList<FileDigest> Outputs { get; init; }

    public byte[] ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatVersion);
            w.WriteString("name", Name);
            w.WriteString("model", Model);
            w.WriteString("preprocessing", Preprocessing);
            w.WriteString("dtype", "float32");
            w.WriteNumber("num_images", NumImages);
            w.WriteNumber("dim", Dim);
            foreach (var (key, list) in new[] { ("inputs", Inputs), ("outputs", Outputs) })
            {
                w.WriteStartArray(key);
                foreach (var f in list)
                {
                    w.WriteStartObject();
                    w.WriteString("file", f.File);
                    w.WriteString("sha256", f.Sha256);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>Largest manifest read (bytes): a bank's manifest is a few hundred bytes.</summary>
    public const long MaxBytes = 16 << 20;

    /// <summary>Parses a manifest; errors name the file and the key. Every file name must stay inside the dataset folder
    /// (<see cref="FolderName"/>): a manifest cannot make <see cref="ImageBanks.Load"/> open and hash a file elsewhere.</summary>
    public static ImageBankManifest Parse(string path)
    {
        JsonElement r;
        var bytes = InputFile.ReadAllBytes(path, MaxBytes);
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new XmcFormatException(path, 0, "not valid UTF-8 (not a bank manifest?)");
        try { r = JsonDocument.Parse(bytes).RootElement.Clone(); }
        catch (JsonException e) { throw new XmcFormatException(path, 0, $"invalid JSON ({e.Message})"); }
        if (r.ValueKind != JsonValueKind.Object) throw new XmcFormatException(path, 0, "expected a JSON object");
        string Str(string key) => r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new XmcFormatException(path, 0, $"missing or non-string key '{key}'");
        int Int(string key) => r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) && i >= 0 ? i
            : throw new XmcFormatException(path, 0, $"missing or invalid key '{key}' (a non-negative integer)");
        List<FileDigest> Files(string key)
        {
            if (!r.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array)
                throw new XmcFormatException(path, 0, $"missing key '{key}' (an array of {{file, sha256}})");
            var l = new List<FileDigest>();
            int i = 0;
            foreach (var e in a.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("file", out var f) || f.ValueKind != JsonValueKind.String
                    || !e.TryGetProperty("sha256", out var s) || s.ValueKind != JsonValueKind.String)
                    throw new XmcFormatException(path, 0, $"{key}[{i}] must be {{\"file\": ..., \"sha256\": ...}}");
                if (FolderName.Problem(f.GetString()) is string why)
                    throw new XmcFormatException(path, 0, $"{key}[{i}].file '{FolderName.Printable(f.GetString())}' {why}");
                l.Add(new FileDigest(f.GetString()!, s.GetString()!));
                i++;
            }
            return l;
        }
        var format = Str("format");
        if (format != FormatVersion) throw new XmcFormatException(path, 0, $"format '{format}' is not {FormatVersion}");
        var dtype = Str("dtype");
        if (dtype != "float32") throw new XmcFormatException(path, 0, $"dtype '{dtype}' is not float32");
        return new ImageBankManifest
        {
            Name = Str("name"), Model = Str("model"), Preprocessing = Str("preprocessing"),
            NumImages = Int("num_images"), Dim = Int("dim"), Inputs = Files("inputs"), Outputs = Files("outputs"),
        };
    }
}

/// <summary>A bank with its maps, loaded and cross-checked by <see cref="ImageBanks.Load"/>.</summary>
public sealed class ImageBankSet
{
    public required ImageBank Bank { get; init; }
    /// <summary>The manifest, or null for a bare bank (e.g. the reference code's .npy files copied in).</summary>
    public ImageBankManifest? Manifest { get; init; }
    /// <summary>Maps present in the folder, keyed "trn", "tst", "lbl".</summary>
    public required IReadOnlyDictionary<string, ImageMap> Maps { get; init; }
    /// <summary>Bank row -> image file name (img.ids.txt), or null.</summary>
    public string[]? ImageIds { get; init; }
    /// <summary>Slots per item (the same for every map); 0 when there is no map.</summary>
    public int K => Maps.Values.Select(m => m.K).FirstOrDefault();
}

/// <summary>
/// The image-bank layout of the ViXML reference code inside a dataset folder:
/// <list type="bullet">
/// <item><c>{name}_embs.npy</c>: float32 [num_images, d], one pooled embedding per image (row order = img.ids.txt);</item>
/// <item><c>trn_img_map.npy</c>, <c>tst_img_map.npy</c>, <c>lbl_img_map.npy</c>: int64 (int32 accepted) [num_items, K] rows
/// into the bank, -1 = no image in that slot; independent of the model, so several banks share them;</item>
/// <item><c>{name}_embs.json</c>: <see cref="ImageBankManifest"/>.</item>
/// </list>
/// </summary>
public static class ImageBanks
{
    public static readonly string[] Splits = ["trn", "tst", "lbl"];
    public static string EmbsFile(string name) => $"{name}_embs.npy";
    public static string ManifestFile(string name) => $"{name}_embs.json";
    public static string MapFile(string split) => $"{split}_img_map.npy";
    public const string ImageIdsFile = "img.ids.txt";

    /// <summary>
    /// Writes <c>{name}_embs.npy</c> and its manifest atomically; <paramref name="inputs"/> are files or folders relative
    /// to <paramref name="dir"/> whose digests are recorded. Returns the written file names.
    /// </summary>
    public static string[] WriteBank(string dir, string name, ImageBank bank, string model, string preprocessing, IEnumerable<string> inputs)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['/', '\\']) >= 0) throw new ArgumentException($"bad bank name '{name}'");
        var embs = EmbsFile(name);
        bank.Write(Path.Combine(dir, embs));
        var m = new ImageBankManifest
        {
            Name = name, Model = model, Preprocessing = preprocessing, NumImages = bank.NumImages, Dim = bank.Dim,
            Inputs = inputs.Select(f => new FileDigest(f, Digest(Path.Combine(dir, f)))).ToList(),
            Outputs = [new FileDigest(embs, Digest(Path.Combine(dir, embs)))],
        };
        Atomic.WriteAllBytes(Path.Combine(dir, ManifestFile(name)), m.ToJson());
        return [embs, ManifestFile(name)];
    }

    /// <summary>
    /// Loads bank <paramref name="name"/> of a dataset folder with its maps and checks, with errors naming the file:
    /// the bank's shape and values; the manifest's shape and checksums (when there is one); img.ids.txt has one line per
    /// bank row; every map is 2-D integer, has one row per item (trn/tst_X_Y.txt rows, labels = columns), indices in
    /// [-1, num_images), and all maps have the same K.
    /// </summary>
    public static ImageBankSet Load(string dir, string name = "img", bool verifyChecksums = true)
    {
        string P(string f) => Path.Combine(dir, f);
        var embs = P(EmbsFile(name));
        if (!File.Exists(embs)) throw new XmcFormatException(embs, 0, "missing (no image bank of that name)");
        var bank = ImageBank.Read(embs);
        ImageBankManifest? manifest = null;
        if (File.Exists(P(ManifestFile(name))))
        {
            var mp = P(ManifestFile(name));
            manifest = ImageBankManifest.Parse(mp);
            if (manifest.NumImages != bank.NumImages || manifest.Dim != bank.Dim)
                throw new XmcFormatException(mp, 0, $"says [{manifest.NumImages}, {manifest.Dim}] but {EmbsFile(name)} is [{bank.NumImages}, {bank.Dim}]");
            if (verifyChecksums)
                foreach (var f in manifest.Inputs.Concat(manifest.Outputs))
                {
                    var p = P(f.File);
                    if (!File.Exists(p) && !Directory.Exists(p))
                    {
                        if (manifest.Outputs.Contains(f)) throw new XmcFormatException(mp, 0, $"lists {f.File}, which is missing");
                        continue;   // inputs (the image files) may be left behind when a bank is copied on its own
                    }
                    if (Digest(p) != f.Sha256) throw new XmcFormatException(p, 0, $"sha256 differs from {ManifestFile(name)} (modified, or the bank is stale)");
                }
        }
        string[]? ids = null;
        if (File.Exists(P(ImageIdsFile)))
        {
            ids = RawText.Read(P(ImageIdsFile));
            if (ids.Length != bank.NumImages)
                throw new XmcFormatException(P(ImageIdsFile), 0, $"{ids.Length} lines but {EmbsFile(name)} has {bank.NumImages} rows");
        }
        var maps = new Dictionary<string, ImageMap>(StringComparer.Ordinal);
        foreach (var split in Splits)
        {
            var mp = P(MapFile(split));
            if (!File.Exists(mp)) continue;
            int? items = split switch
            {
                "trn" => HeaderOf(P("trn_X_Y.txt"))?.Rows,
                "tst" => HeaderOf(P("tst_X_Y.txt"))?.Rows,
                _ => HeaderOf(P("trn_X_Y.txt"))?.Cols,
            };
            var m = ImageMap.Read(mp, bank.NumImages, items);
            var first = maps.FirstOrDefault();
            if (first.Value is not null && first.Value.K != m.K)
                throw new XmcFormatException(mp, 0, $"K = {m.K} slots per item but {MapFile(first.Key)} has K = {first.Value.K}");
            maps[split] = m;
        }
        return new ImageBankSet { Bank = bank, Manifest = manifest, Maps = maps, ImageIds = ids };
    }

    /// <summary>The bank names of a folder: every <c>*_embs.npy</c>.</summary>
    public static string[] Names(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*_embs.npy").Select(f => Path.GetFileName(f)[..^"_embs.npy".Length]).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>sha256 of a file, or of a folder: sha256 over "name sha256\n" lines of its files sorted by name (ordinal).</summary>
    public static string Digest(string path)
    {
        if (!Directory.Exists(path)) return InputFile.Sha256(path);   // regular files only: never a device or pipe
        var sb = new StringBuilder();
        foreach (var f in Directory.GetFiles(path).Order(StringComparer.Ordinal))
            sb.Append(Path.GetFileName(f)).Append(' ').Append(Digest(f)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>The "rows cols" header of an XC label file, or null when the file is absent.</summary>
    private static (int Rows, int Cols)? HeaderOf(string path)
    {
        if (!File.Exists(path)) return null;
        string? line = InputFile.ReadLines(path).Select(l => l.Text).FirstOrDefault();
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not { Length: 2 } || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rows)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var cols))
            throw new XmcFormatException(path, 1, "header must be 'rows cols'");
        return (rows, cols);
    }
}
