using System.Globalization;
using System.Text.Json;
using ViXml.Common;
using ViXml.Xmc.Debian;

namespace ViXml.Xmc;

/// <summary>Outcome of validating a dataset folder.</summary>
public sealed class DatasetCheckReport
{
    /// <summary>Problems that make the folder unusable; each names the file (and line or item where known).</summary>
    public List<string> Errors { get; } = new();
    /// <summary>Oddities that do not break loading.</summary>
    public List<string> Warnings { get; } = new();
    /// <summary>Statistics, when both label files could be read.</summary>
    public DatasetStats? Stats { get; set; }
    /// <summary>One-line summary.</summary>
    public string Summary { get; set; } = "";
    /// <summary>One line about the image bank and maps (images per item), or null for a text-only folder.</summary>
    public string? Images { get; set; }
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// Validates a dataset folder in the XC layout (trn_X_Y.txt, tst_X_Y.txt, *.raw.txt, optional ids, titles, filter,
/// image bank and maps, manifest.json with checksums) and summarises it.
/// </summary>
public static class DatasetCheck
{
    /// <summary>Statistics of a folder from its two label files (throws on invalid files).</summary>
    public static DatasetStats Stats(string dir)
    {
        if (!Directory.Exists(dir)) throw new FileNotFoundException($"{dir}: no such dataset folder");
        var trn = XcSparse.Read(Path.Combine(dir, "trn_X_Y.txt"));
        var tst = XcSparse.Read(Path.Combine(dir, "tst_X_Y.txt"));
        if (trn.Cols != tst.Cols)
            throw new XmcFormatException(Path.Combine(dir, "tst_X_Y.txt"), 1, $"{tst.Cols} labels in the header but trn_X_Y.txt has {trn.Cols}");
        return DatasetStats.Compute(trn, tst);
    }

    public static DatasetCheckReport Run(string dir)
    {
        var rep = new DatasetCheckReport();
        if (!Directory.Exists(dir)) { rep.Errors.Add($"{dir}: no such folder"); return rep; }
        string P(string f) => Path.Combine(dir, f);

        CsrMatrix? ReadY(string f)
        {
            if (!File.Exists(P(f))) { rep.Errors.Add($"{P(f)}: missing"); return null; }
            try { return XcSparse.Read(P(f)); }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); return null; }
        }
        var trn = ReadY("trn_X_Y.txt");
        var tst = ReadY("tst_X_Y.txt");
        int? labels = trn?.Cols ?? tst?.Cols;
        if (trn is not null && tst is not null && trn.Cols != tst.Cols)
            rep.Errors.Add($"{P("tst_X_Y.txt")}:1: {tst.Cols} labels in the header but trn_X_Y.txt has {trn.Cols}");

        // Text-like files: one line per item.
        void Lines(string f, int? expected, string what, bool required, bool unique = false)
        {
            if (!File.Exists(P(f)))
            {
                if (required) rep.Errors.Add($"{P(f)}: missing");
                return;
            }
            string[] lines;
            try { lines = RawText.Read(P(f)); }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); return; }
            if (expected is int n && lines.Length != n)
                rep.Errors.Add($"{P(f)}: {lines.Length} lines but there are {n} {what}");
            int empty = lines.Count(l => l.Length == 0);
            if (empty > 0) rep.Warnings.Add($"{P(f)}: {empty} empty lines (first at line {Array.FindIndex(lines, l => l.Length == 0) + 1})");
            if (unique)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int i = 0; i < lines.Length; i++)
                    if (!seen.Add(lines[i])) { rep.Errors.Add($"{P(f)}:{i + 1}: duplicate id '{lines[i]}'"); break; }
            }
        }
        Lines("trn.raw.txt", trn?.Rows, "training points (trn_X_Y.txt rows)", required: true);
        Lines("tst.raw.txt", tst?.Rows, "test points (tst_X_Y.txt rows)", required: true);
        if (!File.Exists(P("lbl.raw.txt"))) rep.Warnings.Add($"{P("lbl.raw.txt")}: missing (no label texts)");
        else Lines("lbl.raw.txt", labels, "labels (trn_X_Y.txt columns)", required: false);
        Lines("trn.title.txt", trn?.Rows, "training points", required: false);
        Lines("tst.title.txt", tst?.Rows, "test points", required: false);
        Lines("trn.ids.txt", trn?.Rows, "training points", required: false, unique: true);
        Lines("tst.ids.txt", tst?.Rows, "test points", required: false, unique: true);
        Lines("lbl.ids.txt", labels, "labels", required: false, unique: true);

        if (File.Exists(P("filter_labels_test.txt")))
        {
            try
            {
                var f = FilterPairs.Read(P("filter_labels_test.txt"), tst?.Rows, labels);
                if (tst is not null)
                {
                    int inTruth = f.Pairs.Count(p => tst.RowIndices(p.Row).Contains(p.Col));
                    if (inTruth > 0) rep.Warnings.Add($"{P("filter_labels_test.txt")}: {inTruth} pairs are true test labels (filtering them lowers every metric)");
                }
            }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); }
        }

        // Images: bank, maps, ids and the PNG folder.
        ImageBank? bank = null;
        if (File.Exists(P("img_embs.npy")))
        {
            try { bank = ImageBank.Read(P("img_embs.npy")); }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); }
        }
        var imageParts = new List<string>();
        foreach (var (map, rows) in new[] { ("trn_img_map.npy", trn?.Rows), ("tst_img_map.npy", tst?.Rows), ("lbl_img_map.npy", labels) })
        {
            if (!File.Exists(P(map))) continue;
            if (!File.Exists(P("img_embs.npy"))) { rep.Errors.Add($"{P(map)}: image map without img_embs.npy"); continue; }
            try
            {
                var m = ImageMap.Read(P(map), bank?.NumImages, rows);
                var per = Enumerable.Range(0, m.Items).Select(i => m.ImagesOf(i).Count()).ToArray();
                imageParts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{map[..3]} K={m.K}, {(per.Length == 0 ? 0 : per.Average()):F2} images per item, {per.Count(c => c == m.K)} with {m.K}, {per.Count(c => c == 0)} with none"));
            }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); }
        }
        if (bank is not null && imageParts.Count > 0)
            rep.Images = $"{bank.NumImages} images of dim {bank.Dim}; " + string.Join("; ", imageParts);
        if (File.Exists(P("img.ids.txt")))
        {
            Lines("img.ids.txt", bank?.NumImages, "images (img_embs.npy rows)", required: false, unique: true);
            if (Directory.Exists(P("images")))
            {
                try
                {
                    foreach (var (lineNo, name) in InputFile.ReadLines(P("img.ids.txt"), maxLineBytes: 1 << 16))
                    {
                        if (FolderName.Problem(name, subfolders: false) is string why)
                        { rep.Errors.Add($"{P("img.ids.txt")}:{lineNo}: '{FolderName.Printable(name)}' is not a file name inside images/: it {why}"); break; }
                        var img = Path.Combine(P("images"), name);
                        if (!File.Exists(img)) { rep.Errors.Add($"{P("img.ids.txt")}:{lineNo}: image file images/{name} is missing"); break; }
                        if (InputFile.Problem(img) is string bad) { rep.Errors.Add($"{P("img.ids.txt")}:{lineNo}: images/{name}: {bad}"); break; }
                    }
                }
                catch (InputFileException e) { rep.Errors.Add(e.Message); }
            }
        }

        // Named banks ({name}_embs.npy) with a manifest, or other than img: shapes, checksums, maps and K together.
        foreach (var bankName in ImageBanks.Names(dir))
        {
            if (bankName == "img" && !File.Exists(P(ImageBanks.ManifestFile(bankName)))) continue;   // checked above
            try { ImageBanks.Load(dir, bankName); }
            catch (Exception e) when (e is XmcFormatException or InputFileException or InputLimitException) { rep.Errors.Add(e.Message); }
        }

        CheckManifest(dir, rep, trn, tst);

        if (trn is not null && tst is not null && trn.Cols == tst.Cols)
        {
            var st = DatasetStats.Compute(trn, tst);
            rep.Stats = st;
            rep.Summary = string.Create(CultureInfo.InvariantCulture,
                $"{st.TrainPoints} train / {st.TestPoints} test points, {st.Labels} labels; labels per point {st.LabelsPerTrainPoint:F2} / {st.LabelsPerTestPoint:F2}; " +
                $"train points per label {st.TrainPointsPerLabel:F2}; zero-shot test labels {st.ZeroShotShare * 100:F1}%");
        }
        return rep;
    }

    private static void CheckManifest(string dir, DatasetCheckReport rep, CsrMatrix? trn, CsrMatrix? tst)
    {
        var path = Path.Combine(dir, "manifest.json");
        if (!File.Exists(path)) { rep.Warnings.Add($"{path}: missing (no checksums to verify)"); return; }
        rep.Errors.AddRange(DatasetManifest.Verify(dir, checksums: true));
        JsonElement root;
        try
        {
            var bytes = InputFile.ReadAllBytes(path, DatasetManifest.MaxBytes);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) return;   // reported by DatasetManifest.Verify
            root = JsonDocument.Parse(bytes).RootElement.Clone();
        }
        catch (Exception e) when (e is JsonException or InputFileException or InputLimitException) { return; }   // reported by Verify
        if (root.ValueKind != JsonValueKind.Object) return;
        if (root.TryGetProperty("stats", out var stats) && stats.ValueKind == JsonValueKind.Object)
        {
            void Count(string key, int? actual)
            {
                if (actual is not int a || !stats.TryGetProperty(key, out var v)) return;
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long want))
                    rep.Errors.Add($"{path}: stats.{key} must be an integer, found {v.ValueKind}");
                else if (want != a)
                    rep.Errors.Add($"{path}: stats.{key} = {want} but the folder has {a}");
            }
            Count("train_points", trn?.Rows);
            Count("test_points", tst?.Rows);
            Count("labels", trn?.Cols);
        }
    }
}
