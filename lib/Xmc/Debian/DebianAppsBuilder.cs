using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using ViXml.Xmc.Images;
using YamlDotNet.Serialization;

namespace ViXml.Xmc.Debian;

/// <summary>
/// debian-apps-mm: a multimodal dataset like the image-enhanced Amazon sets. Items are AppStream (DEP-11) desktop
/// applications that ship a cached 64x64 icon; text = name + summary + description; image = the icon; labels = the
/// AppStream categories and keywords used by at least two applications.
/// </summary>
public static partial class DebianAppsBuilder
{
    /// <summary>Labels need at least this many applications (a label seen once cannot be both learned and tested).</summary>
    public const int MinLabelApps = 2;
    /// <summary>Largest number of items in "small".</summary>
    public const int SmallItems = 3000;

    /// <summary>One application read from the Components file.</summary>
    public sealed record App(string Id, string Package, string Name, string Summary, string Description,
        IReadOnlyList<string> Categories, IReadOnlyList<string> Keywords, string Icon);

    /// <summary>Desktop applications with a cached 64x64 icon, in file order (first of a duplicate ID wins).</summary>
    public static List<App> ReadApps(string componentsPath)
    {
        string text;
        using (var r = AptInputs.OpenText(componentsPath)) text = r.ReadToEnd();
        var apps = new List<App>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var deserializer = new DeserializerBuilder().Build();
        int docStartLine = 1, lineNo = 1, start = 0;
        // Split into YAML documents at "---" lines and only parse desktop applications (a few % of the 20 MB file).
        for (int i = 0; i <= text.Length; i++)
        {
            bool atEnd = i == text.Length;
            bool sep = !atEnd && (i == 0 || text[i - 1] == '\n') && string.CompareOrdinal(text, i, "---", 0, 3) == 0
                && (i + 3 == text.Length || text[i + 3] == '\n');
            if (sep || atEnd)
            {
                var doc = text.AsSpan(start, i - start);
                if (doc.Contains("\nType: desktop-application", StringComparison.Ordinal)
                    || doc.StartsWith("Type: desktop-application", StringComparison.Ordinal))
                {
                    var app = ParseApp(deserializer, doc.ToString(), componentsPath, docStartLine);
                    if (app is not null && seen.Add(app.Id)) apps.Add(app);
                }
                if (atEnd) break;
                start = i + 4 > text.Length ? text.Length : i + 4;
                docStartLine = lineNo + 1;
            }
            if (text[i] == '\n') lineNo++;
        }
        return apps;
    }

    private static App? ParseApp(IDeserializer d, string yaml, string file, int line)
    {
        Dictionary<object, object> m;
        try
        {
            m = d.Deserialize<Dictionary<object, object>>(yaml);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new XmcFormatException(file, line + (int)e.Start.Line - 1, $"invalid YAML: {e.Message}");
        }
        string? Str(string key) => m.TryGetValue(key, out var v) ? v as string : null;
        string? C(string key) => m.TryGetValue(key, out var v) && v is Dictionary<object, object> loc && loc.TryGetValue("C", out var c) ? c as string : null;
        var id = Str("ID");
        if (id is null) throw new XmcFormatException(file, line, "component without an ID");
        string? icon = null;
        if (m.TryGetValue("Icon", out var iconObj) && iconObj is Dictionary<object, object> icons
            && icons.TryGetValue("cached", out var cached) && cached is List<object> cachedList)
        {
            foreach (var e in cachedList.OfType<Dictionary<object, object>>())
                if (e.TryGetValue("width", out var w) && w as string == "64" && e.TryGetValue("height", out var h) && h as string == "64"
                    && (!e.TryGetValue("scale", out var sc) || sc as string == "1") && e.TryGetValue("name", out var n) && n is string ns)
                {
                    icon = ns;
                    break;
                }
        }
        if (icon is null) return null;
        var cats = m.TryGetValue("Categories", out var co) && co is List<object> cl ? cl.OfType<string>().ToList() : new List<string>();
        var kws = new List<string>();
        if (m.TryGetValue("Keywords", out var ko))
        {
            if (ko is Dictionary<object, object> kd && kd.TryGetValue("C", out var kc) && kc is List<object> kcl) kws.AddRange(kcl.OfType<string>());
            else if (ko is List<object> kl) kws.AddRange(kl.OfType<string>());
        }
        return new App(id, Str("Package") ?? "", RawText.Clean(C("Name") ?? id), RawText.Clean(C("Summary") ?? ""),
            HtmlToText(C("Description") ?? ""), cats, kws, icon);
    }

    /// <summary>AppStream descriptions are a small HTML subset (p, ul/ol, li, em, code): tags become spaces.</summary>
    public static string HtmlToText(string html) =>
        RawText.Clean(System.Net.WebUtility.HtmlDecode(TagRegex().Replace(html, " ")));

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex TagRegex();

    /// <summary>Label id of a category ("category:AudioVideo") or keyword ("keyword:tracker", lower-cased).</summary>
    public static IEnumerable<string> LabelIds(App a) =>
        a.Categories.Select(c => "category:" + c.Trim()).Where(s => s.Length > "category:".Length)
            .Concat(a.Keywords.Select(k => "keyword:" + RawText.Clean(k).ToLowerInvariant()).Where(s => s.Length > "keyword:".Length))
            .Distinct(StringComparer.Ordinal);

    /// <summary>Label text: categories split at case changes and dashes ("AudioVideoEditing" -> "Audio Video Editing").</summary>
    public static string LabelText(string labelId)
    {
        if (labelId.StartsWith("keyword:", StringComparison.Ordinal)) return labelId["keyword:".Length..];
        var c = labelId["category:".Length..];
        var sb = new StringBuilder();
        for (int i = 0; i < c.Length; i++)
        {
            char ch = c[i];
            if (ch is '-' or '_') { sb.Append(' '); continue; }
            if (i > 0 && char.IsUpper(ch) && (char.IsLower(c[i - 1]) || (i + 1 < c.Length && char.IsLower(c[i + 1]) && char.IsUpper(c[i - 1]))))
                sb.Append(' ');
            sb.Append(ch);
        }
        return RawText.Clean(sb.ToString());
    }

    /// <summary>The app's text: "Name: Summary" (titles) plus the description.</summary>
    public static string Text(App a, bool withDescription)
    {
        var t = a.Summary.Length > 0 ? $"{a.Name}: {a.Summary}" : a.Name;
        return withDescription && a.Description.Length > 0 ? t + " " + a.Description : t;
    }

    /// <summary>Reads the named PNGs from the icons tarball (entries matched by file name).</summary>
    public static Dictionary<string, byte[]> ReadIcons(string tarGz, IReadOnlySet<string> wanted)
    {
        try { return ReadIconsCore(tarGz, wanted); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException
                                      or InvalidOperationException or NotSupportedException)
        {
            throw new XmcFormatException(tarGz, 0, $"corrupt icons tarball ({e.Message}); run apt-get update again (see data/README.md)");
        }
    }

    private static Dictionary<string, byte[]> ReadIconsCore(string tarGz, IReadOnlySet<string> wanted)
    {
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var s = AptInputs.OpenBinary(tarGz);
        using var tar = new TarReader(s);
        TarEntry? e;
        while ((e = tar.GetNextEntry()) is not null)
        {
            if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || e.DataStream is null) continue;
            var name = Path.GetFileName(e.Name);
            if (!wanted.Contains(name) || found.ContainsKey(name)) continue;
            if (e.Length > 1 << 24) throw new InvalidDataException($"entry {e.Name} is {e.Length:N0} bytes, too large for a 64x64 icon");
            using var ms = new MemoryStream();
            e.DataStream.CopyTo(ms);
            found[name] = ms.ToArray();
        }
        return found;
    }

    public static BuiltDataset Build(AptInputs inputs, string size)
    {
        inputs.Require(translations: false, appstream: true);
        var apps = ReadApps(inputs.Components!);
        var icons = ReadIcons(inputs.Icons!, apps.Select(a => a.Icon).ToHashSet(StringComparer.Ordinal));
        return Build(apps, icons, size).WithInputs([inputs.Components!, inputs.Icons!]);
    }

    public static BuiltDataset Build(List<App> allApps, Dictionary<string, byte[]> icons, string size)
    {
        if (size is not ("small" or "full")) throw new ArgumentException($"size must be small or full, got '{size}'");
        var counts = new Dictionary<string, long> { ["desktop_apps_with_cached_icon"] = allApps.Count };
        var withIcon = allApps.Where(a => icons.ContainsKey(a.Icon)).ToList();
        counts["apps_icon_missing_in_tarball"] = allApps.Count - withIcon.Count;

        // Decode every icon now: an undecodable icon drops its app (counted) instead of failing the build.
        var features = new Dictionary<string, float[]>(StringComparer.Ordinal);
        long bad = 0;
        foreach (var name in withIcon.Select(a => a.Icon).Distinct().Order(StringComparer.Ordinal))
        {
            try { features[name] = PixelFeatures.Compute(Png.Decode(icons[name], name)); }
            catch (InvalidDataException) { bad++; }
        }
        counts["icons_undecodable"] = bad;
        withIcon = withIcon.Where(a => features.ContainsKey(a.Icon)).ToList();

        var freq = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in withIcon) foreach (var l in LabelIds(a)) freq[l] = freq.GetValueOrDefault(l) + 1;
        var items = withIcon.Select(a => (App: a, L: LabelIds(a).Where(l => freq[l] >= MinLabelApps).ToList()))
            .Where(p => p.L.Count > 0).OrderBy(p => p.App.Id, StringComparer.Ordinal).ToList();
        counts["apps_without_labels"] = withIcon.Count - items.Count;
        counts["apps_full"] = items.Count;
        if (size == "small" && items.Count > SmallItems)
        {
            var keep = items.OrderBy(p => DatasetWriter.StableHash("small:" + p.App.Id)).Take(SmallItems).Select(p => p.App.Id)
                .ToHashSet(StringComparer.Ordinal);
            items = items.Where(p => keep.Contains(p.App.Id)).ToList();
        }

        var labelIds = items.SelectMany(p => p.L).Distinct().Order(StringComparer.Ordinal).ToArray();
        var labelIndex = labelIds.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var trn = items.Where(p => !DatasetWriter.IsTest(p.App.Id)).ToList();
        var tst = items.Where(p => DatasetWriter.IsTest(p.App.Id)).ToList();
        CsrMatrix Y(List<(App App, List<string> L)> rows) => CsrMatrix.FromRows(labelIds.Length, rows.Select(r => r.L.Select(l => labelIndex[l])).ToList());

        var bankNames = items.Select(p => p.App.Icon).Distinct().Order(StringComparer.Ordinal).ToArray();
        var bankIndex = bankNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        IEnumerable<string> WriteExtras(string dir)
        {
            // Icons go to a fresh temporary folder that replaces images/ at the end (no stale icons, no half folder;
            // one fsync per icon would make this step slow for nothing).
            var imgDir = Path.Combine(dir, "images");
            var tmpDir = Path.Combine(dir, $".images.{Environment.ProcessId}.tmp");
            if (Directory.Exists(tmpDir)) Directory.Delete(tmpDir, true);
            Directory.CreateDirectory(tmpDir);
            foreach (var n in bankNames) File.WriteAllBytes(Path.Combine(tmpDir, n), icons[n]);
            if (Directory.Exists(imgDir)) Directory.Delete(imgDir, true);
            Directory.Move(tmpDir, imgDir);
            var bank = new float[bankNames.Length * PixelFeatures.Dim];
            for (int i = 0; i < bankNames.Length; i++) features[bankNames[i]].CopyTo(bank, i * PixelFeatures.Dim);
            new ImageBank(bankNames.Length, PixelFeatures.Dim, bank).Write(Path.Combine(dir, "img_embs.npy"));
            RawText.Write(Path.Combine(dir, "img.ids.txt"), bankNames);
            new ImageMap(trn.Count, 1, trn.Select(p => (long)bankIndex[p.App.Icon]).ToArray()).Write(Path.Combine(dir, "trn_img_map.npy"));
            new ImageMap(tst.Count, 1, tst.Select(p => (long)bankIndex[p.App.Icon]).ToArray()).Write(Path.Combine(dir, "tst_img_map.npy"));
            return ["images", "img_embs.npy", "img.ids.txt", "trn_img_map.npy", "tst_img_map.npy"];
        }

        return new BuiltDataset
        {
            Name = "debian-apps-mm",
            Size = size,
            TrainIds = trn.Select(p => p.App.Id).ToArray(),
            TestIds = tst.Select(p => p.App.Id).ToArray(),
            LabelIds = labelIds,
            TrainTexts = trn.Select(p => Text(p.App, true)).ToArray(),
            TestTexts = tst.Select(p => Text(p.App, true)).ToArray(),
            LabelTexts = labelIds.Select(LabelText).ToArray(),
            TrainY = Y(trn),
            TestY = Y(tst),
            Filter = null,
            BuildCounts = counts,
            WriteExtras = WriteExtras,
            Notes =
            [
                "item = AppStream desktop-application with a cached 64x64 icon (DEP-11 Components + icons-64x64.tar.gz)",
                "text (trn/tst.raw.txt) = 'Name: Summary' + description (HTML tags removed); trn/tst.title.txt = 'Name: Summary' only",
                "labels = AppStream categories (category:X) and C-locale keywords (keyword:x, lower-cased) used by at least 2 apps; label text = the category split at case changes, or the keyword",
                "images/ holds the original icon PNGs; img.ids.txt lists the bank rows; trn/tst_img_map.npy are int64 [n, 1] rows into the bank (-1 = none)",
                "img_embs.npy = HAND-CRAFTED PIXEL FEATURES standing in for SigLIP2 embeddings: 8x8 grid of mean RGB (over white) + 4x4x4 alpha-weighted colour histogram, each L2-normalised / sqrt(2); float32 [num_images, 256]",
                "split: test when the first 8 bytes of SHA-256(ID), big-endian, modulo 5 == 0; small = first 3000 items in SHA-256(\"small:\"+ID) order",
            ],
            TitleTexts = (trn.Select(p => Text(p.App, false)).ToArray(), tst.Select(p => Text(p.App, false)).ToArray()),
        };
    }
}
