using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ViXml.Common;
using ViXml.Models.Vision;

namespace ViXml.Xmc.Images;

/// <summary>What <see cref="ImageBankBuilder.Build"/> did.</summary>
public sealed record ImageBankBuildResult(string Name, int NumImages, int Dim, int ResumedFrom, int Computed, TimeSpan Elapsed, string[] Written, bool Finished)
{
    /// <summary>Nothing was computed: the existing bank was made by the same model files from the same inputs.</summary>
    public bool UpToDate { get; init; }
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Computed / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Builds an image bank of a dataset folder with a frozen vision tower (<c>./vixml images embed</c>): reads
/// <c>img.ids.txt</c> (the bank's row order, shared by every bank and by the model-independent
/// <c>trn/tst/lbl_img_map.npy</c>) and <c>images/&lt;id&gt;</c>, decodes each PNG, composites it over white, resizes it
/// bilinearly to the tower's input size, runs the tower in batches (its own preprocessing inside) and writes
/// <c>{name}_embs.npy</c> + <c>{name}_embs.json</c> (<see cref="ImageBanks"/>).
/// <para>Resumable: finished batches are appended to <c>.{name}_embs.partial/rows.f32</c> and a progress record
/// (<c>progress.json</c>: model and input digests, batch size, rows done) is replaced atomically after each chunk; a rerun
/// with the same model and inputs continues after the last recorded batch (the recorded batch size wins, so batch
/// boundaries and hence the bytes equal an uninterrupted run's). The bank and manifest are renamed into place at the end
/// and the partial folder removed.</para>
/// </summary>
public static class ImageBankBuilder
{
    public const string ProgressFormat = "vixml-image-bank-progress/1";

    /// <summary>Largest --batch: a batch of 224x224 inputs takes 0.6 MB per image before the tower's activations.</summary>
    public const int MaxBatch = 4096;

    public static string PartialDir(string dataDir, string name) => Path.Combine(dataDir, $".{name}_embs.partial");

    /// <summary>Default bank name for a model folder: its name up to the first '-' ("resnet18-imagenet" → "resnet18").</summary>
    public static string DefaultName(string modelDir)
    {
        var n = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir)));
        var cut = n.IndexOf('-');
        return cut > 0 ? n[..cut] : n;
    }

    /// <summary>Model identity for the manifest and the progress record: folder name, type, width, sha256 of
    /// SOURCE.md (imported folders) and of the weights.</summary>
    public static string DescribeModel(string modelDir, IImageEncoder tower)
    {
        var dir = Path.GetFullPath(modelDir);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))} ({tower.GetType().Name}, pooled, {tower.OutputDim}-d, input {tower.InputSize}x{tower.InputSize})");
        foreach (var f in new[] { "SOURCE.md", "config.json", "model.safetensors", "model.safetensors.index.json", "preprocess.safetensors", "preprocessor_config.json" })
        {
            var p = Path.Combine(dir, f);
            if (File.Exists(p)) sb.Append(CultureInfo.InvariantCulture, $"; {f} sha256 {ImageBanks.Digest(p)}");
        }
        return sb.ToString();
    }

    /// <param name="stopAfter">Stop (unfinished, resumable) once at least this many images are done in this call; for tests
    /// of resume and for users who want to split the work.</param>
    /// <param name="progress">(done, total) after each batch.</param>
    /// <param name="force">Recompute even when the bank's manifest names the same model files and inputs.</param>
    public static ImageBankBuildResult Build(string dataDir, string modelDir, IImageEncoder tower, string name, int batch,
        Action<int, int>? progress = null, Action<string>? log = null, int? stopAfter = null, bool force = false)
    {
        if (batch <= 0 || batch > MaxBatch) throw new ArgumentException($"--batch must be in [1, {MaxBatch}], got {batch}");
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(['/', '\\', '.']) >= 0 || name.StartsWith('-'))
            throw new ArgumentException($"bad bank name '{name}' (no '/', '\\' or '.')");
        var sw = Stopwatch.StartNew();
        string P(string f) => Path.Combine(dataDir, f);
        if (!Directory.Exists(dataDir)) throw new XmcFormatException(dataDir, 0, "dataset folder not found");
        var owned = DatasetManifest.ListedOutputs(dataDir);
        if (owned.Contains(ImageBanks.EmbsFile(name)) || owned.Contains(ImageBanks.ManifestFile(name)))
            throw new ArgumentException($"bank name '{name}': {ImageBanks.EmbsFile(name)} is the dataset's own file (listed in " +
                                        $"{Path.Combine(dataDir, DatasetManifest.FileName)}); choose another --name");
        var idsPath = P(ImageBanks.ImageIdsFile);
        if (!File.Exists(idsPath)) throw new XmcFormatException(idsPath, 0, "missing: the dataset has no image list (img.ids.txt, one image file name per bank row)");
        var imgDir = P("images");
        if (!Directory.Exists(imgDir)) throw new XmcFormatException(imgDir, 0, "missing: the dataset has no images/ folder");
        var ids = RawText.Read(idsPath);
        if (ids.Length == 0) throw new XmcFormatException(idsPath, 0, "empty: no images to embed");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Length; i++)
        {
            if (FolderName.Problem(ids[i], subfolders: false) is string why)
                throw new XmcFormatException(idsPath, i + 1, $"'{FolderName.Printable(ids[i])}' is not a file name inside images/: it {why}");
            if (!seen.Add(ids[i])) throw new XmcFormatException(idsPath, i + 1, $"'{ids[i]}' is listed twice");
            if (!File.Exists(Path.Combine(imgDir, ids[i]))) throw new XmcFormatException(idsPath, i + 1, $"image file images/{ids[i]} is missing");
            if (InputFile.Problem(Path.Combine(imgDir, ids[i])) is string bad) throw new XmcFormatException(idsPath, i + 1, $"images/{ids[i]}: {bad}");
        }
        // The maps index bank rows: they must fit this image list (checked before any work).
        foreach (var split in ImageBanks.Splits)
            if (File.Exists(P(ImageBanks.MapFile(split)))) ImageMap.Read(P(ImageBanks.MapFile(split)), ids.Length);

        int n = ids.Length, d = tower.OutputDim, s = tower.InputSize;
        var model = DescribeModel(modelDir, tower);
        var inputsDigest = ImageBanks.Digest(imgDir) + " " + ImageBanks.Digest(idsPath);
        if (!force && UpToDate(dataDir, name, model, imgDir, idsPath) is { } current)
        {
            return new ImageBankBuildResult(name, current.NumImages, current.Dim, 0, 0, sw.Elapsed, [], true) { UpToDate = true };
        }
        var partial = PartialDir(dataDir, name);
        var rowsPath = Path.Combine(partial, "rows.f32");
        var progPath = Path.Combine(partial, "progress.json");

        int done = 0;
        if (File.Exists(progPath))
        {
            var rec = ReadProgress(progPath);
            if (rec.Model != model || rec.Inputs != inputsDigest || rec.Dim != d || rec.NumImages != n)
            {
                log?.Invoke($"{partial}: a partial run for a different model or different images; starting over");
                Directory.Delete(partial, true);
            }
            else
            {
                if (rec.Batch != batch) log?.Invoke($"resuming with the partial run's --batch {rec.Batch} (asked {batch}): same batch boundaries, same bytes");
                batch = rec.Batch;
                done = rec.Done;
                long want = (long)done * d * sizeof(float);
                if (!File.Exists(rowsPath) || new FileInfo(rowsPath).Length < want)
                    throw new XmcFormatException(rowsPath, 0, $"shorter than its progress record ({done} rows); delete {partial} and rerun");
                using (var fs = new FileStream(rowsPath, FileMode.Open, FileAccess.Write)) fs.SetLength(want); // drop a half-written chunk
                log?.Invoke($"resuming {name}: {done} of {n} images already embedded");
            }
        }
        Directory.CreateDirectory(partial);
        int resumedFrom = done, computed = 0;
        using (var rows = new FileStream(rowsPath, done == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write))
        {
            if (done == 0) WriteProgress(progPath, model, inputsDigest, n, d, batch, 0);
            while (done < n)
            {
                if (stopAfter is int stop && computed >= stop) break;
                int b = Math.Min(batch, n - done);
                var x = new float[(long)b * 3 * s * s];
                for (int i = 0; i < b; i++)
                {
                    var file = Path.Combine(imgDir, ids[done + i]);
                    RgbaImage img;
                    try { img = Png.Read(file); }
                    catch (InvalidDataException e) { throw new XmcFormatException(file, 0, $"cannot decode (row {done + i + 1} of {ImageBanks.ImageIdsFile}): {e.Message}"); }
                    catch (Exception e) when (e is OverflowException or ArgumentException or IndexOutOfRangeException)
                    { throw new XmcFormatException(file, 0, $"cannot decode (row {done + i + 1} of {ImageBanks.ImageIdsFile}): {e.Message}"); }
                    if (img.Width <= 0 || img.Height <= 0) throw new XmcFormatException(file, 0, "empty image");
                    var rgb = ImageInput.PlanarRgb(img);
                    var resized = img.Width == s && img.Height == s ? rgb : ImageInput.ResizeBilinear(rgb, 3, img.Height, img.Width, s, s);
                    resized.CopyTo(x, (long)i * 3 * s * s);
                }
                var y = tower.Embed(x, b);                                              // (b, d)
                for (int i = 0; i < y.Length; i++)
                    if (!float.IsFinite(y[i])) throw new InvalidOperationException($"the model produced a non-finite value for images/{ids[done + i / d]}");
                var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan());
                rows.Write(bytes);
                rows.Flush(true);
                done += b;
                computed += b;
                WriteProgress(progPath, model, inputsDigest, n, d, batch, done);
                progress?.Invoke(done, n);
            }
        }
        if (done < n)
            return new ImageBankBuildResult(name, n, d, resumedFrom, computed, sw.Elapsed, [], false);

        var all = new float[(long)n * d];
        var raw = File.ReadAllBytes(rowsPath);
        if (raw.LongLength != all.LongLength * sizeof(float)) throw new XmcFormatException(rowsPath, 0, $"holds {raw.LongLength} bytes, expected {all.LongLength * sizeof(float)}");
        Buffer.BlockCopy(raw, 0, all, 0, raw.Length);
        var written = ImageBanks.WriteBank(dataDir, name, new ImageBank(n, d, all), model, $"PNG decoded to RGBA 8-bit, alpha-composited over white, planar RGB 0..255, " +
            $"resized to {s}x{s} (bilinear, half-pixel centres, as F.interpolate align_corners=False; none when already {s}x{s}); then the model's own: {tower.Preprocessing}",
            ["images", ImageBanks.ImageIdsFile]);
        Directory.Delete(partial, true);
        return new ImageBankBuildResult(name, n, d, resumedFrom, computed, sw.Elapsed, written, true);
    }

    /// <summary>The existing bank's manifest when it names this model and the current inputs and its checksums hold.</summary>
    private static ImageBankManifest? UpToDate(string dataDir, string name, string model, string imgDir, string idsPath)
    {
        if (!File.Exists(Path.Combine(dataDir, ImageBanks.ManifestFile(name))) || !File.Exists(Path.Combine(dataDir, ImageBanks.EmbsFile(name)))) return null;
        ImageBankSet set;
        try { set = ImageBanks.Load(dataDir, name); }
        catch (XmcFormatException) { return null; }                         // stale or damaged: recompute
        var m = set.Manifest;
        if (m is null || m.Model != model) return null;
        var want = new[] { new FileDigest("images", ImageBanks.Digest(imgDir)), new FileDigest(ImageBanks.ImageIdsFile, ImageBanks.Digest(idsPath)) };
        return m.Inputs.SequenceEqual(want) ? m : null;
    }

    private sealed record ProgressRecord(string Model, string Inputs, int NumImages, int Dim, int Batch, int Done);

    private static void WriteProgress(string path, string model, string inputs, int n, int d, int batch, int done)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["format"] = ProgressFormat, ["model"] = model, ["inputs"] = inputs, ["num_images"] = n, ["dim"] = d, ["batch"] = batch, ["done"] = done,
        }, new JsonSerializerOptions { WriteIndented = true });
        Atomic.WriteAllText(path, json + "\n");
    }

    private static ProgressRecord ReadProgress(string path)
    {
        try
        {
            var r = JsonDocument.Parse(InputFile.ReadAllBytes(path, 1 << 20)).RootElement;
            if (r.GetProperty("format").GetString() != ProgressFormat) throw new XmcFormatException(path, 0, $"not a {ProgressFormat} record");
            var rec = new ProgressRecord(r.GetProperty("model").GetString()!, r.GetProperty("inputs").GetString()!, r.GetProperty("num_images").GetInt32(),
                r.GetProperty("dim").GetInt32(), r.GetProperty("batch").GetInt32(), r.GetProperty("done").GetInt32());
            if (rec.Batch <= 0 || rec.Done < 0 || rec.Done > rec.NumImages) throw new XmcFormatException(path, 0, "inconsistent progress record");
            return rec;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new XmcFormatException(path, 0, $"unreadable progress record ({e.Message}); delete its folder and rerun");
        }
    }
}
