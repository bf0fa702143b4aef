using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ViXml.Common;

namespace ViXml.Xmc.Debian;

/// <summary>A built dataset in memory, before it is written in the XC folder layout.</summary>
public sealed class BuiltDataset
{
    /// <summary>Dataset name, e.g. "debian-deps".</summary>
    public required string Name { get; init; }
    /// <summary>"small" or "full".</summary>
    public required string Size { get; init; }
    /// <summary>Stable item identifiers (package names, AppStream IDs), one per train row.</summary>
    public required string[] TrainIds { get; init; }
    public required string[] TestIds { get; init; }
    public required string[] LabelIds { get; init; }
    /// <summary>Texts, one line per item.</summary>
    public required string[] TrainTexts { get; init; }
    public required string[] TestTexts { get; init; }
    public required string[] LabelTexts { get; init; }
    /// <summary>Label matrices (rows = items, columns = LabelIds).</summary>
    public required CsrMatrix TrainY { get; init; }
    public required CsrMatrix TestY { get; init; }
    /// <summary>Test (row, label) pairs removed before scoring, or null when the dataset has none.</summary>
    public FilterPairs? Filter { get; init; }
    /// <summary>Extra counts for the manifest (e.g. packages read, labels dropped by each rule).</summary>
    public Dictionary<string, long> BuildCounts { get; init; } = new();
    /// <summary>Writes extra files (images, banks) into the folder and returns their names relative to it.</summary>
    public Func<string, IEnumerable<string>>? WriteExtras { get; init; }
    /// <summary>Optional short texts (train, test) written as trn/tst.title.txt next to the full texts.</summary>
    public (string[] Train, string[] Test)? TitleTexts { get; init; }
    /// <summary>The apt files this dataset was built from (hashed into the manifest); null = all of the inputs.</summary>
    public IReadOnlyList<string>? UsedInputs { get; private set; }

    /// <summary>Records which input files were read (the Release file is always added by the writer).</summary>
    public BuiltDataset WithInputs(IEnumerable<string> files) { UsedInputs = files.ToList(); return this; }

    /// <summary>Free-text notes copied into the manifest (how labels, texts and images were made).</summary>
    public List<string> Notes { get; init; } = new();

    /// <summary>After a build into an existing folder: entries of the old folder the build did not own, kept as they
    /// were (<see cref="DatasetWriter.WriteInPlaceOf"/>).</summary>
    public IReadOnlyList<string> Kept { get; set; } = [];
}

/// <summary>Writes a <see cref="BuiltDataset"/> as trn/tst/lbl files plus manifest.json, deterministically.</summary>
public static class DatasetWriter
{
    public const string FormatVersion = "vixml-xmc-dataset/1";

    public static void Write(BuiltDataset d, string outDir, AptInputs inputs) => Write(d, outDir, w =>
    {
        w.WriteString("archive_release_date", inputs.ReleaseDate());
        w.WriteStartArray("inputs");
        var inFiles = (d.UsedInputs ?? inputs.Packages.Concat(inputs.Translations)
            .Concat(new[] { inputs.Components, inputs.Icons }.OfType<string>())).Concat(new[] { inputs.Release }.OfType<string>());
        foreach (var f in inFiles.Distinct())
        {
            w.WriteStartObject();
            w.WriteString("file", Path.GetFileName(f));
            w.WriteString("sha256", AptInputs.Sha256File(f));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    /// <summary>Writes the dataset; <paramref name="writeSource"/> fills the manifest's "source" object (inputs and their digests).</summary>
    public static void Write(BuiltDataset d, string outDir, Action<Utf8JsonWriter> writeSource)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        long sanitised = 0;
        // Texts come from package metadata: a NUL or a 17 MB description must not make a folder `data check` refuses.
        IEnumerable<string> Fit(IEnumerable<string> lines) => lines.Select(l => { var t = RawText.ForLine(l, out bool ch); if (ch) sanitised++; return t; });
        void Raw(string file, IEnumerable<string> lines) { RawText.Write(Path.Combine(outDir, file), Fit(lines)); written.Add(file); }
        Raw("trn.raw.txt", d.TrainTexts);
        Raw("tst.raw.txt", d.TestTexts);
        Raw("lbl.raw.txt", d.LabelTexts);
        if (d.TitleTexts is var (tt, ts)) { Raw("trn.title.txt", tt); Raw("tst.title.txt", ts); }
        Raw("trn.ids.txt", d.TrainIds);
        Raw("tst.ids.txt", d.TestIds);
        Raw("lbl.ids.txt", d.LabelIds);
        XcSparse.Write(Path.Combine(outDir, "trn_X_Y.txt"), d.TrainY); written.Add("trn_X_Y.txt");
        XcSparse.Write(Path.Combine(outDir, "tst_X_Y.txt"), d.TestY); written.Add("tst_X_Y.txt");
        if (d.Filter is not null) { d.Filter.Write(Path.Combine(outDir, "filter_labels_test.txt")); written.Add("filter_labels_test.txt"); }
        if (d.WriteExtras is not null) written.AddRange(d.WriteExtras(outDir));
        if (sanitised > 0) d.BuildCounts["texts_sanitised"] = sanitised;   // control characters collapsed or cut at RawText.MaxLineBytes

        var stats = DatasetStats.Compute(d.TrainY, d.TestY);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatVersion);
            w.WriteString("name", d.Name);
            w.WriteString("size", d.Size);
            w.WriteStartObject("source");
            writeSource(w);
            w.WriteEndObject();
            w.WriteStartObject("stats");
            stats.WriteJson(w);
            if (d.Filter is not null) w.WriteNumber("filter_pairs", d.Filter.Count);
            w.WriteEndObject();
            w.WriteStartObject("build_counts");
            foreach (var (k, v) in d.BuildCounts.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteStartArray("notes");
            foreach (var n in d.Notes) w.WriteStringValue(n);
            w.WriteEndArray();
            w.WriteStartArray("outputs");
            foreach (var f in written.Distinct().Order(StringComparer.Ordinal))
            {
                var p = Path.Combine(outDir, f);
                w.WriteStartObject();
                w.WriteString("file", f);
                if (Directory.Exists(p))
                {
                    w.WriteNumber("files", Directory.GetFiles(p).Length);
                    w.WriteString("sha256", DirectoryDigest(p));
                }
                else
                {
                    w.WriteNumber("bytes", new FileInfo(p).Length);
                    w.WriteString("sha256", AptInputs.Sha256File(p));
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        Atomic.WriteAllBytes(Path.Combine(outDir, "manifest.json"), ms.ToArray());
    }

    /// <summary>
    /// Writes a dataset folder with <paramref name="write"/> into a sibling folder and swaps it in place of
    /// <paramref name="outDir"/> (<see cref="DirectorySwap"/>): never a half-written folder. Entries of the old folder that
    /// its manifest does not list as the builder's outputs (image banks from <c>images embed</c>, files a user added) are
    /// kept; banks among them are then stale, which <c>data check</c> reports. A folder with files but no manifest.json is
    /// not a built dataset and is never replaced. Returns the kept entries.
    /// </summary>
    public static List<string> WriteInPlaceOf(string outDir, Action<string> write)
    {
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any()
            && !File.Exists(Path.Combine(outDir, DatasetManifest.FileName)))
            throw new OutputPathException(
                $"{outDir} holds files but no manifest.json, so it is not a built dataset; refusing to replace it (choose another --out)");
        var owned = DatasetManifest.ListedOutputs(outDir);
        var tmp = DirectorySwap.Begin(outDir);
        try
        {
            write(tmp);
            var kept = DirectorySwap.CarryOver(outDir, tmp, name => owned.Contains(name) || name == DatasetManifest.FileName);
            DirectorySwap.Commit(tmp, outDir);
            return kept;
        }
        catch
        {
            try { Directory.Delete(tmp, true); } catch { /* best effort; cleaned on the next build */ }
            throw;
        }
    }

    /// <summary>
    /// Digest of a folder of files: sha256 over the lines "name sha256\n" of its files sorted by name (ordinal).
    /// </summary>
    public static string DirectoryDigest(string dir)
    {
        var sb = new StringBuilder();
        foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            sb.Append(Path.GetFileName(f)).Append(' ').Append(AptInputs.Sha256File(f)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>A stable 64-bit hash of a string (first 8 bytes of SHA-256 of its UTF-8, big-endian).</summary>
    public static ulong StableHash(string s)
    {
        Span<byte> h = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(s), h);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(h);
    }

    /// <summary>The 80/20 split: an item is in test when its stable hash modulo 5 is 0.</summary>
    public static bool IsTest(string id) => StableHash(id) % 5 == 0;
}
