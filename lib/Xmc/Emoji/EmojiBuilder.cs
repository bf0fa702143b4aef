using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ViXml.Common;
using ViXml.Xmc.Debian;
using ViXml.Xmc.Images;

namespace ViXml.Xmc.Emoji;

/// <summary>
/// emoji-mm: a multi-image dataset from npm packages. Items are emoji (every skin-tone variant is its own item);
/// text = the emoji's English CLDR name without its skin tone ("waving hand"); labels = its emojibase/CLDR keywords
/// that the name does not already say, its group and subgroup, and its skin tone(s); images = the same emoji drawn by
/// two vendors (Twemoji, Noto), 64x64. The skin tone is visible only in the images; the other labels are visual or
/// associative facts (hand, fruit, red, bye) the short name lacks. Split and "small" go by variant group (skin tones,
/// genders and man/woman/person forms of one emoji stay together), so no near-duplicate straddles train and test.
/// </summary>
public static partial class EmojiBuilder
{
    public const string Name = "emoji-mm";
    /// <summary>Labels need at least this many variant groups (one group cannot be both learned and tested).</summary>
    public const int MinLabelGroups = 2;
    /// <summary>Largest number of items in "small" (whole variant groups).</summary>
    public const int SmallItems = 2000;
    /// <summary>Every stored image has this size.</summary>
    public const int ImageSize = 64;

    /// <summary>Image vendors in slot order: slot 0 = Twemoji, slot 1 = Noto.</summary>
    public static readonly string[] Vendors = ["twitter", "google"];

    /// <summary>The pinned npm packages (sha512 integrity as the registry reports it; verified after `npm pack`).</summary>
    public static readonly NpmPackage[] Packages =
    [
        new("emojibase-data", "17.0.0", "sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA==",
            "MIT", "MIT (data derived from Unicode CLDR annotations and emoji data, Unicode-3.0)",
            "Emojibase data by Miles Johnson; names and keywords from Unicode CLDR"),
        new("emoji-datasource-twitter", "16.0.0", "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
            "MIT", "images: CC-BY-4.0 (Twemoji graphics)",
            "Twemoji graphics by Twitter, Inc and other contributors, licensed under CC-BY 4.0; packaged by emoji-datasource (iamcal)"),
        new("emoji-datasource-google", "16.0.0", "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
            "MIT", "images: Apache-2.0 (Noto Color Emoji)",
            "Noto Color Emoji images by Google, licensed under Apache License 2.0; packaged by emoji-datasource (iamcal)"),
    ];

    /// <summary>emojibase tone numbers 1..5 -> messages.json skinTones keys.</summary>
    private static readonly string[] ToneKeys = ["", "light", "medium-light", "medium", "medium-dark", "dark"];

    /// <summary>One emoji as emojibase lists it (a skin variant carries its base's text and keywords).</summary>
    public sealed record Entry(string Id, string BaseId, string Text, IReadOnlyList<string> Tags, int Group, int Subgroup, IReadOnlyList<int> Tones);

    /// <summary>Reads emojibase's en/data.json: every emoji with a group except components, plus all its skin variants.</summary>
    public static (List<Entry> Entries, long ComponentsOrUngrouped) ReadEmojibase(string json, string file)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException e) { throw new XmcFormatException(file, (int)(e.LineNumber ?? -1) + 1, $"invalid JSON ({e.Message})"); }
        if (root.ValueKind != JsonValueKind.Array) throw new XmcFormatException(file, 0, "expected a JSON array of emoji");
        var list = new List<Entry>();
        long skipped = 0;
        int i = 0;
        foreach (var e in root.EnumerateArray())
        {
            string where = $"entry {i++}";
            string Str(JsonElement o, string key) => o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new XmcFormatException(file, 0, $"{where}: missing string '{key}'");
            if (!e.TryGetProperty("group", out var g) || g.ValueKind != JsonValueKind.Number || g.GetInt32() == ComponentGroup) { skipped++; continue; }
            if (!e.TryGetProperty("subgroup", out var sg) || sg.ValueKind != JsonValueKind.Number)
                throw new XmcFormatException(file, 0, $"{where} ({Str(e, "hexcode")}): group without subgroup");
            var id = Str(e, "hexcode");
            var text = RawText.Clean(Str(e, "label"));
            var tags = e.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
                ? t.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : new List<string>();
            list.Add(new Entry(id, id, text, tags, g.GetInt32(), sg.GetInt32(), []));
            if (e.TryGetProperty("skins", out var skins) && skins.ValueKind == JsonValueKind.Array)
                foreach (var s in skins.EnumerateArray())
                {
                    var tones = !s.TryGetProperty("tone", out var tone) ? new List<int>()
                        : tone.ValueKind == JsonValueKind.Number ? [tone.GetInt32()]
                        : tone.ValueKind == JsonValueKind.Array ? tone.EnumerateArray().Select(x => x.GetInt32()).ToList()
                        : throw new XmcFormatException(file, 0, $"{where} ({id}): bad skin tone");
                    foreach (var n in tones)
                        if (n < 1 || n >= ToneKeys.Length) throw new XmcFormatException(file, 0, $"{where} ({id}): skin tone {n} not in 1..5");
                    list.Add(new Entry(Str(s, "hexcode"), id, text, tags, g.GetInt32(), sg.GetInt32(), tones));
                }
        }
        return (list, skipped);
    }

    /// <summary>emojibase's group number of "component" (skin-tone swatches, hair components): not items.</summary>
    public const int ComponentGroup = 2;

    /// <summary>Group and subgroup keys by number, and skin-tone names by key, from emojibase's en/messages.json.</summary>
    public sealed record Messages(Dictionary<int, (string Key, string Text)> Groups, Dictionary<int, (string Key, string Text)> Subgroups, Dictionary<string, string> Tones);

    public static Messages ReadMessages(string json, string file)
    {
        JsonElement r;
        try { r = JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException e) { throw new XmcFormatException(file, 0, $"invalid JSON ({e.Message})"); }
        Dictionary<int, (string, string)> Ordered(string key)
        {
            if (!r.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array) throw new XmcFormatException(file, 0, $"missing array '{key}'");
            var d = new Dictionary<int, (string, string)>();
            foreach (var x in a.EnumerateArray())
                d[x.GetProperty("order").GetInt32()] = (x.GetProperty("key").GetString()!, x.GetProperty("message").GetString()!);
            return d;
        }
        if (!r.TryGetProperty("skinTones", out var st) || st.ValueKind != JsonValueKind.Array) throw new XmcFormatException(file, 0, "missing array 'skinTones'");
        var tones = st.EnumerateArray().ToDictionary(x => x.GetProperty("key").GetString()!, x => x.GetProperty("message").GetString()!, StringComparer.Ordinal);
        return new Messages(Ordered("groups"), Ordered("subgroups"), tones);
    }

    /// <summary>Code points as upper-case hex joined by '-', without variation selector 16 (FE0F).</summary>
    public static string NormKey(string hex) =>
        string.Join('-', hex.ToUpperInvariant().Split('-', StringSplitOptions.RemoveEmptyEntries).Where(p => p != "FE0F"));

    private static readonly HashSet<string> PersonCodes = new(["1F468", "1F469", "1F9D1", "1F466", "1F467", "1F9D2"], StringComparer.Ordinal);
    private static readonly HashSet<string> DropCodes = new(["FE0F", "200D", "2640", "2642", "1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"], StringComparer.Ordinal);

    /// <summary>
    /// Single code points whose gendered or gender-neutral counterparts are other code points or ZWJ sequences
    /// (old man / old woman / older person, prince / princess / person with crown, Santa / Mrs. Claus / mx claus,
    /// holding hands, pregnant, breast-feeding, dancing, family, kiss, couple with heart), mapped to one key.
    /// </summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["1F474"] = "1F9D3", ["1F475"] = "1F9D3",
        ["1F478"] = "1FAC5", ["1F934"] = "1FAC5",
        ["1F385"] = "P-1F384", ["1F936"] = "P-1F384",
        ["1F46B"] = "P-1F91D-P", ["1F46C"] = "P-1F91D-P", ["1F46D"] = "P-1F91D-P",
        ["1F930"] = "1FAC4", ["1FAC3"] = "1FAC4",
        ["1F931"] = "P-1F37C",
        ["1F57A"] = "1F483",
        ["1F46A"] = "P-P",
        ["1F48F"] = "P-2764-1F48B-P",
        ["1F491"] = "P-2764-P",
    };

    /// <summary>
    /// The variant group of an emoji, used for the split and the small subset: its code points without skin tones,
    /// variation selectors, ZWJ and gender signs, with man/woman/person/boy/girl/child written as "P", gendered
    /// single code points mapped to one key (<see cref="Aliases"/>), and every all-person sequence (families) as "P-P".
    /// So every skin tone of 👋, 👨‍💻 / 👩‍💻 / 🧑‍💻, 🙆 / 🙆‍♂️ / 🙆‍♀️, 👴 / 👵 / 🧓 and all families each fall into one group.
    /// </summary>
    public static string GroupKey(string hex)
    {
        var parts = hex.ToUpperInvariant().Split('-', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !DropCodes.Contains(p)).Select(p => PersonCodes.Contains(p) ? "P" : p).ToList();
        if (parts.Count == 1 && Aliases.TryGetValue(parts[0], out var alias)) return alias;
        if (parts.Count >= 2 && parts.All(p => p == "P")) return "P-P";
        return string.Join('-', parts);
    }

    /// <summary>Words of a text for the give-away rule: lower-case letter/digit runs, a plural 's' removed (len > 3).</summary>
    public static HashSet<string> Words(string s) =>
        WordRegex().Matches(s.ToLowerInvariant()).Select(m => m.Value.Length > 3 && m.Value.EndsWith('s') ? m.Value[..^1] : m.Value)
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex WordRegex();

    /// <summary>Label ids of an entry before the frequency rule: keywords not said by the text, group, subgroup, tones.</summary>
    public static List<string> CandidateLabels(Entry e, Messages m)
    {
        var textWords = Words(e.Text);
        var labels = new List<string>();
        foreach (var t in e.Tags)
        {
            var kw = RawText.Clean(t).ToLowerInvariant();
            var w = Words(kw);
            if (w.Count == 0 || w.IsSubsetOf(textWords)) continue;   // the name already says it
            labels.Add("keyword:" + kw);
        }
        labels.Add("group:" + (m.Groups.TryGetValue(e.Group, out var g) ? g.Key : e.Group.ToString()));
        labels.Add("subgroup:" + (m.Subgroups.TryGetValue(e.Subgroup, out var sg) ? sg.Key : e.Subgroup.ToString()));
        foreach (var tone in e.Tones) labels.Add("tone:" + ToneKeys[tone]);
        return labels.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Label text: the keyword, the group's message, the subgroup key with spaces, the tone's message.</summary>
    public static string LabelText(string id, Messages m)
    {
        int c = id.IndexOf(':');
        var (kind, v) = (id[..c], id[(c + 1)..]);
        return kind switch
        {
            "group" => m.Groups.Values.FirstOrDefault(g => g.Key == v).Text ?? v,
            "subgroup" => v.Replace('-', ' '),
            "tone" => m.Tones.GetValueOrDefault(v, v + " skin tone"),
            _ => v,
        };
    }

    /// <summary>Per vendor: normalised code points -> image file name, for the emoji its emoji.json says it draws.</summary>
    public static Dictionary<string, string> ReadVendorCatalogue(string json, string vendor, string file)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException e) { throw new XmcFormatException(file, 0, $"invalid JSON ({e.Message})"); }
        if (root.ValueKind != JsonValueKind.Array) throw new XmcFormatException(file, 0, "emoji.json: expected an array");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(JsonElement x)
        {
            if (x.TryGetProperty("has_img_" + vendor, out var h) && h.ValueKind == JsonValueKind.True
                && x.TryGetProperty("unified", out var u) && u.ValueKind == JsonValueKind.String
                && x.TryGetProperty("image", out var im) && im.ValueKind == JsonValueKind.String)
                map.TryAdd(NormKey(u.GetString()!), im.GetString()!);
        }
        foreach (var x in root.EnumerateArray())
        {
            Add(x);
            if (x.TryGetProperty("skin_variations", out var sv) && sv.ValueKind == JsonValueKind.Object)
                foreach (var p in sv.EnumerateObject()) Add(p.Value);
        }
        return map;
    }

    /// <summary>Reads the pinned packages and builds the dataset.</summary>
    public static BuiltDataset Build(NpmInputs inputs, string size, int smallItems = SmallItems)
    {
        var eb = inputs.Tarball("emojibase-data");
        var (entries, skipped) = ReadEmojibase(NpmInputs.ReadText(eb, "en/data.json"), eb + ":package/en/data.json");
        var messages = ReadMessages(NpmInputs.ReadText(eb, "en/messages.json"), eb + ":package/en/messages.json");
        var images = new Dictionary<string, byte[]>[Vendors.Length];
        var catalogues = new Dictionary<string, string>[Vendors.Length];
        for (int v = 0; v < Vendors.Length; v++)
        {
            var tgz = inputs.Tarball("emoji-datasource-" + Vendors[v]);
            catalogues[v] = ReadVendorCatalogue(NpmInputs.ReadText(tgz, "emoji.json"), Vendors[v], tgz + ":package/emoji.json");
            var prefix = $"img/{Vendors[v]}/64/";
            images[v] = NpmInputs.ReadEntries(tgz, n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".png", StringComparison.Ordinal))
                .ToDictionary(p => p.Key[prefix.Length..], p => p.Value, StringComparer.Ordinal);
        }
        var licences = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var p in inputs.Packages)
            foreach (var (n, b) in NpmInputs.ReadEntries(inputs.Tarball(p.Name), n => n is "LICENSE" or "LICENSE.md" or "LICENSE.txt"))
                licences[$"{p.Name}-{n}"] = b;
        var d = Build(entries, messages, catalogues, images, size, inputs.Packages, licences, smallItems);
        d.BuildCounts["emojibase_components_or_ungrouped"] = skipped;
        return d;
    }

    /// <summary>One kept item.</summary>
    private sealed record Item(Entry E, string Group, List<string> Labels, string?[] Images);

    public static BuiltDataset Build(List<Entry> entries, Messages messages, Dictionary<string, string>[] catalogues,
        Dictionary<string, byte[]>[] vendorImages, string size, IReadOnlyList<NpmPackage> packages, Dictionary<string, byte[]> licences,
        int smallItems = SmallItems)
    {
        if (size is not ("small" or "full")) throw new ArgumentException($"size must be small or full, got '{size}'");
        var counts = new Dictionary<string, long> { ["emojibase_entries"] = entries.Count };

        // Images: decode every one the items need; an undecodable or wrongly sized image leaves its slot empty.
        var features = new Dictionary<string, float[]>(StringComparer.Ordinal);   // "vendor-file.png" -> features
        var bytesOf = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long undecodable = 0, wrongSize = 0, notInTarball = 0;
        string? ImageOf(Entry e, int v)
        {
            if (!catalogues[v].TryGetValue(NormKey(e.Id), out var file)) return null;
            var name = $"{Vendors[v]}-{file}";
            if (features.ContainsKey(name)) return name;
            if (!vendorImages[v].TryGetValue(file, out var png)) { notInTarball++; return null; }
            RgbaImage img;
            try { img = Png.Decode(png, name); }
            catch (InvalidDataException) { undecodable++; return null; }
            if (img.Width != ImageSize || img.Height != ImageSize) { wrongSize++; return null; }
            features[name] = PixelFeatures.Compute(img);
            bytesOf[name] = png;
            return name;
        }

        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        var withImages = new List<(Entry E, string?[] Images)>();
        long noImage = 0, duplicates = 0;
        foreach (var e in entries)
        {
            if (!seenIds.Add(e.Id)) { duplicates++; continue; }
            var imgs = Enumerable.Range(0, Vendors.Length).Select(v => ImageOf(e, v)).ToArray();
            if (imgs.All(i => i is null)) { noImage++; continue; }
            withImages.Add((e, imgs));
        }
        counts["duplicate_ids"] = duplicates;
        counts["items_without_any_image"] = noImage;
        counts["images_undecodable"] = undecodable;
        counts["images_not_64x64"] = wrongSize;
        counts["images_listed_but_missing"] = notInTarball;

        // Labels: candidates, then those seen in at least MinLabelGroups variant groups.
        var cands = withImages.Select(p => (p.E, p.Images, Group: GroupKey(p.E.BaseId), L: CandidateLabels(p.E, messages))).ToList();
        var groupsOf = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var c in cands)
            foreach (var l in c.L)
            {
                if (!groupsOf.TryGetValue(l, out var s)) groupsOf[l] = s = new HashSet<string>(StringComparer.Ordinal);
                s.Add(c.Group);
            }
        var items = cands.Select(c => new Item(c.E, c.Group, c.L.Where(l => groupsOf[l].Count >= MinLabelGroups).ToList(), c.Images))
            .Where(i => i.Labels.Count > 0).OrderBy(i => i.E.Id, StringComparer.Ordinal).ToList();
        counts["candidate_labels"] = groupsOf.Count;
        counts["labels_in_one_group_dropped"] = groupsOf.Count(p => p.Value.Count < MinLabelGroups);
        counts["items_without_labels"] = cands.Count - items.Count;
        counts["items_full"] = items.Count;
        counts["variant_groups_full"] = items.Select(i => i.Group).Distinct().Count();

        if (size == "small" && items.Count > smallItems)
        {
            var perGroup = items.GroupBy(i => i.Group).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var keep = new HashSet<string>(StringComparer.Ordinal);
            int total = 0;
            foreach (var g in perGroup.Keys.OrderBy(k => DatasetWriter.StableHash("small:" + k)).ThenBy(k => k, StringComparer.Ordinal))
                if (total + perGroup[g] <= smallItems) { keep.Add(g); total += perGroup[g]; }
            items = items.Where(i => keep.Contains(i.Group)).ToList();
        }

        var labelIds = items.SelectMany(i => i.Labels).Distinct().Order(StringComparer.Ordinal).ToArray();
        var labelIndex = labelIds.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var trn = items.Where(i => !DatasetWriter.IsTest(i.Group)).ToList();
        var tst = items.Where(i => DatasetWriter.IsTest(i.Group)).ToList();
        CsrMatrix Y(List<Item> rows) => CsrMatrix.FromRows(labelIds.Length, rows.Select(r => r.Labels.Select(l => labelIndex[l])).ToList());
        counts["items_with_2_images"] = items.Count(i => i.Images.All(x => x is not null));
        counts["items_with_1_image"] = items.Count(i => i.Images.Count(x => x is not null) == 1);

        var bankNames = items.SelectMany(i => i.Images).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToArray();
        var bankIndex = bankNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        ImageMap Map(List<Item> rows) => new(rows.Count, Vendors.Length,
            rows.SelectMany(r => r.Images.Select(x => x is null ? -1L : bankIndex[x])).ToArray());

        IEnumerable<string> WriteExtras(string dir)
        {
            var written = new List<string>();
            ReplaceFolder(dir, "images", bankNames.Select(n => (n, bytesOf[n])));
            written.Add("images");
            RawText.Write(Path.Combine(dir, ImageBanks.ImageIdsFile), bankNames);
            written.Add(ImageBanks.ImageIdsFile);
            Map(trn).Write(Path.Combine(dir, ImageBanks.MapFile("trn")));
            Map(tst).Write(Path.Combine(dir, ImageBanks.MapFile("tst")));
            written.AddRange([ImageBanks.MapFile("trn"), ImageBanks.MapFile("tst")]);
            var bank = new float[bankNames.Length * PixelFeatures.Dim];
            for (int i = 0; i < bankNames.Length; i++) features[bankNames[i]].CopyTo(bank, i * PixelFeatures.Dim);
            written.AddRange(ImageBanks.WriteBank(dir, "img", new ImageBank(bankNames.Length, PixelFeatures.Dim, bank),
                "pixel-features/1 (hand-crafted stand-in for a vision encoder: 8x8 grid of mean RGB + 4x4x4 alpha-weighted colour histogram, each part L2-normalised / sqrt(2))",
                "PNG decoded to RGBA 8-bit (64x64, no resize), alpha-composited over white", ["images", ImageBanks.ImageIdsFile]));
            ReplaceFolder(dir, "licenses", licences.Select(p => (p.Key, p.Value)));
            written.Add("licenses");
            Atomic.WriteAllText(Path.Combine(dir, "LICENSES.md"), LicenceText(packages));
            written.Add("LICENSES.md");
            return written;
        }

        return new BuiltDataset
        {
            Name = Name,
            Size = size,
            TrainIds = trn.Select(i => i.E.Id).ToArray(),
            TestIds = tst.Select(i => i.E.Id).ToArray(),
            LabelIds = labelIds,
            TrainTexts = trn.Select(i => i.E.Text).ToArray(),
            TestTexts = tst.Select(i => i.E.Text).ToArray(),
            LabelTexts = labelIds.Select(l => LabelText(l, messages)).ToArray(),
            TrainY = Y(trn),
            TestY = Y(tst),
            Filter = null,
            BuildCounts = counts,
            WriteExtras = WriteExtras,
            Notes =
            [
                "item = an emoji of emojibase-data en/data.json (components excluded); every skin-tone variant is its own item; ids are emojibase hexcodes",
                "text = the emoji's English CLDR name without the skin tone (all tone variants of one emoji share their text)",
                "labels = keyword:x (emojibase/CLDR keywords, lower-cased, minus those whose words all occur in the name; a plural 's' is ignored), group:x, subgroup:x (emojibase), tone:x (skin tones, only visible in the images); labels need at least 2 variant groups",
                "variant group = code points without skin tones, FE0F, ZWJ and gender signs, man/woman/person/boy/girl/child as 'P', gendered single code points (old man/woman, prince/princess, Santa/Mrs. Claus, holding hands, pregnant, kiss, couple, family, ...) mapped to their neutral form, families as 'P-P'; split: test when the first 8 bytes of SHA-256(group), big-endian, modulo 5 == 0; small = whole groups in SHA-256(\"small:\"+group) order while the total stays <= 2000 items",
                "images/ holds the vendors' original 64x64 PNGs named vendor-file.png; img.ids.txt lists the bank rows; trn/tst_img_map.npy are int64 [n, 2]: slot 0 = Twemoji (twitter), slot 1 = Noto (google), -1 = that vendor has no image",
                "img_embs.npy = HAND-CRAFTED PIXEL FEATURES (same as debian-apps-mm), float32 [num_images, 256]; img_embs.json records model, preprocessing and sha256 of inputs and outputs",
                "no filter file: labels are keywords and categories, never items, so there are no self or reciprocal pairs",
                "licences: LICENSES.md and licenses/ (Twemoji graphics CC-BY-4.0, Noto images Apache-2.0, emojibase-data MIT with Unicode CLDR data)",
            ],
        };
    }

    /// <summary>Writes files into a fresh temporary folder that then replaces dir/name (no stale files, no half folder).</summary>
    private static void ReplaceFolder(string dir, string name, IEnumerable<(string File, byte[] Bytes)> files)
    {
        var target = Path.Combine(dir, name);
        var tmp = Path.Combine(dir, $".{name}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        foreach (var (f, b) in files) File.WriteAllBytes(Path.Combine(tmp, f), b);
        if (Directory.Exists(target)) Directory.Delete(target, true);
        Directory.Move(tmp, target);
    }

    public static string LicenceText(IReadOnlyList<NpmPackage> packages)
    {
        var sb = new StringBuilder();
        sb.Append("# Sources and licences of this dataset\n\n");
        sb.Append("Built by `vixml data build emoji-mm` from these npm packages (`npm pack NAME@VERSION`, sha512 verified).\n");
        sb.Append("The packages' own licence files are in licenses/.\n\n");
        sb.Append("| package | version | npm licence field | what this dataset uses, and its licence | attribution |\n|---|---|---|---|---|\n");
        foreach (var p in packages)
            sb.Append($"| {p.Name} | {p.Version} | {p.NpmLicense} | {p.ContentLicense} | {p.Attribution} |\n");
        sb.Append("\nImages in images/: twitter-*.png are Twemoji graphics (CC-BY 4.0, https://creativecommons.org/licenses/by/4.0/);\n");
        sb.Append("google-*.png are Noto Color Emoji images (Apache License 2.0). Both are unmodified 64x64 PNGs as the packages ship them.\n");
        sb.Append("Texts and keywords come from emojibase-data, which derives them from Unicode CLDR (Unicode License v3).\n");
        return sb.ToString();
    }

    /// <summary>The manifest's "source" object: each package with its integrity and the tarball's sha256.</summary>
    public static Action<Utf8JsonWriter> Source(NpmInputs inputs) => w =>
    {
        w.WriteString("registry", "npm");
        w.WriteBoolean("integrity_verified", inputs.Verified);
        w.WriteStartArray("inputs");
        foreach (var p in inputs.Packages)
        {
            var path = inputs.Tarball(p.Name);
            w.WriteStartObject();
            w.WriteString("package", p.Name);
            w.WriteString("version", p.Version);
            w.WriteString("file", Path.GetFileName(path));
            w.WriteString("integrity", inputs.Verified ? p.Integrity : NpmInputs.Integrity(path));
            w.WriteString("sha256", AptInputs.Sha256File(path));
            w.WriteString("license", p.ContentLicense);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    };

    /// <summary>Builds and writes; returns the built dataset (for its counts).</summary>
    public static BuiltDataset BuildTo(string size, NpmInputs inputs, string outDir)
    {
        var d = Build(inputs, size);
        d.Kept = DatasetWriter.WriteInPlaceOf(outDir, tmp => DatasetWriter.Write(d, tmp, Source(inputs)));
        return d;
    }
}
