using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;
using ViXml.Xmc.Emoji;

namespace ViXml.Tests.Xmc;

/// <summary>
/// emoji-mm on tests/fixtures/npm-emoji-fake (written by tests/reference/gen_emoji_fake.py), against the dataset worked
/// out by hand in tests/fixtures/npm-emoji-fake/README.md and the pixel features numpy computed from the source pixels.
/// </summary>
public class EmojiBuilderTests
{
    private static string FakeDir => Repo.Fixture("npm-emoji-fake");
    private static NpmInputs Fake => NpmInputs.FromDirectory(EmojiBuilder.Packages, FakeDir);
    private static string Read(string dir, string f) => File.ReadAllText(Path.Combine(dir, f));
    private static string Lines(params string[] l) => string.Join("\n", l) + "\n";

    [Fact]
    public void FakeMatchesHandComputedDataset()
    {
        var dir = Repo.TempDir();
        EmojiBuilder.BuildTo("full", Fake, dir);
        Assert.Equal(Lines("group:food-drink", "group:people-body", "group:smileys-emotion", "keyword:fruit", "keyword:smile", "keyword:wave",
            "subgroup:face-smiling", "subgroup:food-fruit", "subgroup:hand-fingers-open", "tone:light"), Read(dir, "lbl.ids.txt"));
        Assert.Equal(Lines("food & drink", "people & body", "smileys & emotion", "fruit", "smile", "wave", "face smiling", "food fruit",
            "hand fingers open", "light skin tone"), Read(dir, "lbl.raw.txt"));
        Assert.Equal(Lines("1F350", "1F44B", "1F44B-1F3FB", "1F44B-1F3FD", "1F468-200D-1F4BB", "1F469-200D-1F4BB", "1F600", "1F603",
            "1F91A", "1F91A-1F3FB", "263A"), Read(dir, "trn.ids.txt"));
        Assert.Equal(Lines("1F34E", "1F352", "1F590", "1F590-1F3FB", "1F590-1F3FF", "1F937", "1F937-200D-2642-FE0F"), Read(dir, "tst.ids.txt"));
        // Skin tones are not in the text: the three waving hands read the same.
        Assert.Equal(Lines("pear", "waving hand", "waving hand", "waving hand", "man technologist", "woman technologist", "grinning face",
            "grinning face with big eyes", "raised back of hand", "raised back of hand", "smiling face"), Read(dir, "trn.raw.txt"));
        Assert.Equal(Lines("red apple", "cherries", "hand with fingers splayed", "hand with fingers splayed", "hand with fingers splayed",
            "person shrugging", "man shrugging"), Read(dir, "tst.raw.txt"));
        Assert.Equal("11 10\n0:1 3:1 7:1\n1:1 5:1 8:1\n1:1 5:1 8:1 9:1\n1:1 5:1 8:1\n1:1\n1:1\n2:1 6:1\n2:1 4:1 6:1\n1:1 5:1 8:1\n1:1 5:1 8:1 9:1\n2:1 4:1\n",
            Read(dir, "trn_X_Y.txt"));
        Assert.Equal("7 10\n0:1 3:1 7:1\n0:1 3:1 7:1\n1:1 5:1 8:1\n1:1 5:1 8:1 9:1\n1:1 5:1 8:1\n1:1\n1:1\n", Read(dir, "tst_X_Y.txt"));
        Assert.False(File.Exists(Path.Combine(dir, "filter_labels_test.txt")));

        // Images: 16 Noto + 16 Twemoji PNGs, copied unchanged; slot 0 = Twemoji, slot 1 = Noto.
        var names = File.ReadAllLines(Path.Combine(dir, "img.ids.txt"));
        Assert.Equal(32, names.Length);
        Assert.Equal("google-1f34e.png", names[0]);
        Assert.Equal("twitter-263a-fe0f.png", names[31]);
        int I(string n) => Array.IndexOf(names, n);
        var set = ImageBanks.Load(dir);
        Assert.Equal(2, set.K);
        Assert.Equal(new long[] { -1, I("google-1f350.png") }, set.Maps["trn"].Indices[..2]);          // corrupt Twemoji PNG
        Assert.Equal(new long[] { I("twitter-1f44b.png"), I("google-1f44b.png") }, set.Maps["trn"].Indices[2..4]);
        Assert.Equal(new long[] { I("twitter-1f603.png"), -1 }, set.Maps["trn"].Indices[14..16]);        // Noto PNG listed, absent
        Assert.Equal(new long[] { I("twitter-263a-fe0f.png"), I("google-263a-fe0f.png") }, set.Maps["trn"].Indices[20..22]);
        Assert.Equal(new long[] { -1, I("google-1f34e.png"), I("twitter-1f352.png"), -1 }, set.Maps["tst"].Indices[..4]); // no Twemoji / Noto 32x32
        var src = NpmInputs.ReadEntries(Fake.Tarball("emoji-datasource-google"), n => n == "img/google/64/1f44b.png")["img/google/64/1f44b.png"];
        Assert.Equal(src, File.ReadAllBytes(Path.Combine(dir, "images", "google-1f44b.png")));

        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(FakeDir, "expected_features.json"))).RootElement;
        for (int i = 0; i < names.Length; i++)
        {
            var e = expected.GetProperty(names[i]).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var row = set.Bank.Row(i).ToArray();
            Assert.Equal(e.Length, row.Length);
            for (int j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - row[j]) < 1e-6, $"{names[i]}[{j}]: {e[j]} vs {row[j]}");
        }
        Assert.NotNull(set.Manifest);
        Assert.StartsWith("pixel-features/1", set.Manifest!.Model);
        Assert.Equal(new[] { "images", "img.ids.txt" }, set.Manifest.Inputs.Select(f => f.File));

        var m = JsonDocument.Parse(Read(dir, "manifest.json")).RootElement;
        var bc = m.GetProperty("build_counts");
        foreach (var (k, v) in new[] { ("emojibase_entries", 19), ("emojibase_components_or_ungrouped", 2), ("items_without_any_image", 1),
                     ("images_undecodable", 1), ("images_not_64x64", 1), ("images_listed_but_missing", 1), ("items_full", 18),
                     ("items_with_2_images", 14), ("items_with_1_image", 4), ("variant_groups_full", 11), ("labels_in_one_group_dropped", 22) })
            Assert.True(bc.GetProperty(k).GetInt32() == v, $"{k}: {bc.GetProperty(k).GetInt32()} != {v}");
        var src0 = m.GetProperty("source");
        Assert.False(src0.GetProperty("integrity_verified").GetBoolean());
        Assert.Equal(3, src0.GetProperty("inputs").GetArrayLength());
        var loaded = XmcDataset.Load(dir);   // the general loader reads the K = 2 maps too
        Assert.Equal((11, 2), (loaded.TrainImages!.Items, loaded.TrainImages.K));
        Assert.Contains("CC-BY 4.0", Read(dir, "LICENSES.md"));
        Assert.Contains("Apache License 2.0", Read(dir, "LICENSES.md"));
        Assert.Equal(new[] { "emoji-datasource-google-LICENSE", "emoji-datasource-twitter-LICENSE", "emojibase-data-LICENSE" },
            Directory.GetFiles(Path.Combine(dir, "licenses")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void VariantGroupsNeverStraddleTrainAndTest()
    {
        // Group keys of real emoji: every tone of one emoji, gendered and man/woman/person forms share a key.
        Assert.Equal("1F44B", EmojiBuilder.GroupKey("1F44B-1F3FD"));
        Assert.Equal(EmojiBuilder.GroupKey("1F468-200D-1F4BB"), EmojiBuilder.GroupKey("1F9D1-1F3FF-200D-1F4BB"));
        Assert.Equal(EmojiBuilder.GroupKey("1F646"), EmojiBuilder.GroupKey("1F646-1F3FB-200D-2642-FE0F"));
        Assert.Equal(EmojiBuilder.GroupKey("1F469-1F3FB-200D-2764-FE0F-200D-1F468-1F3FF"), EmojiBuilder.GroupKey("1F468-200D-2764-FE0F-200D-1F469"));
        Assert.NotEqual(EmojiBuilder.GroupKey("1F44B"), EmojiBuilder.GroupKey("1F91A"));
        // Gendered single code points and their ZWJ counterparts: old man / older person, men holding hands / people
        // holding hands, Santa / mx claus, the family emoji / a ZWJ family, kiss / kiss: woman, man.
        Assert.Equal(EmojiBuilder.GroupKey("1F474"), EmojiBuilder.GroupKey("1F9D3-1F3FD"));
        Assert.Equal(EmojiBuilder.GroupKey("1F46C"), EmojiBuilder.GroupKey("1F9D1-200D-1F91D-200D-1F9D1"));
        Assert.Equal(EmojiBuilder.GroupKey("1F385"), EmojiBuilder.GroupKey("1F9D1-200D-1F384"));
        Assert.Equal(EmojiBuilder.GroupKey("1F46A"), EmojiBuilder.GroupKey("1F9D1-200D-1F9D1-200D-1F9D2"));
        Assert.Equal(EmojiBuilder.GroupKey("1F48F"), EmojiBuilder.GroupKey("1F469-200D-2764-FE0F-200D-1F48B-200D-1F468"));
        Assert.NotEqual(EmojiBuilder.GroupKey("1F48F"), EmojiBuilder.GroupKey("1F491"));

        // On the fake, checked against relations that do not come from GroupKey: emojibase's own base -> skins lists,
        // and the man/woman/person families named by hand.
        var d = EmojiBuilder.Build(Fake, "full");
        var test = d.TestIds.ToHashSet();
        var (entries, _) = EmojiBuilder.ReadEmojibase(NpmInputs.ReadText(Fake.Tarball("emojibase-data"), "en/data.json"), "data.json");
        var kept = d.TrainIds.Concat(d.TestIds).ToHashSet();
        var families = entries.Where(e => kept.Contains(e.Id)).GroupBy(e => e.BaseId).Select(g => g.Select(e => e.Id).ToArray())
            .Concat([["1F937", "1F937-200D-2642-FE0F"], ["1F468-200D-1F4BB", "1F469-200D-1F4BB"]]).ToList();
        foreach (var f in families)
            Assert.True(f.All(test.Contains) || !f.Any(test.Contains), $"family {string.Join(" ", f)} straddles train and test");
        // Not vacuous: multi-item families exist on both sides.
        Assert.Contains(families, f => f.Length > 1 && f.All(test.Contains));
        Assert.Contains(families, f => f.Length > 1 && !f.Any(test.Contains));
    }

    [Fact]
    public void SmallTakesWholeVariantGroups()
    {
        var full = EmojiBuilder.Build(Fake, "full");
        var small = EmojiBuilder.Build(Fake, "small", smallItems: 6);
        var ids = small.TrainIds.Concat(small.TestIds).ToArray();
        Assert.InRange(ids.Length, 2, 6);
        var allIds = full.TrainIds.Concat(full.TestIds).ToArray();
        foreach (var g in ids.Select(EmojiBuilder.GroupKey).Distinct())
            Assert.Equal(allIds.Count(i => EmojiBuilder.GroupKey(i) == g), ids.Count(i => EmojiBuilder.GroupKey(i) == g));
        Assert.Equal(ids, EmojiBuilder.Build(Fake, "small", smallItems: 6).TrainIds.Concat(EmojiBuilder.Build(Fake, "small", smallItems: 6).TestIds));
        // Labels of the subset are only those it uses.
        var used = small.TrainY.ColumnCounts().Zip(small.TestY.ColumnCounts(), (a, b) => a + b);
        Assert.All(used, c => Assert.True(c > 0));
    }

    [Theory]
    [InlineData("small")]
    [InlineData("full")]
    public void BuildsAreByteIdenticalAndPassCheck(string size)
    {
        var a = Repo.TempDir();
        var b = Repo.TempDir();
        EmojiBuilder.BuildTo(size, Fake, a);
        EmojiBuilder.BuildTo(size, Fake, b);
        var fa = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(a, p)).Order().ToArray();
        var fb = Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(b, p)).Order().ToArray();
        Assert.Equal(fa, fb);
        foreach (var f in fa) Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
        var rep = DatasetCheck.Run(a);
        Assert.True(rep.Ok, string.Join("\n", rep.Errors));
        Assert.Empty(rep.Warnings);
        if (size == "full")   // 11 train items: 1F350, 1F603 have one image; 7 test items: 1F34E, 1F352 have one
            Assert.Equal("32 images of dim 256; trn K=2, 1.82 images per item, 9 with 2, 0 with none; tst K=2, 1.71 images per item, 5 with 2, 0 with none",
                rep.Images);
        Directory.Delete(a, true);
        Directory.Delete(b, true);
    }

    [Fact]
    public void CheckRejectsATamperedBankAndBuildCliWorks()
    {
        var dir = Repo.TempDir();
        var (code, stdout, err) = CliRunner.Run("data", "build", "emoji-mm", "--size", "full", "--out", dir, "--npm-dir", FakeDir);
        Assert.True(code == 0, err);
        Assert.Contains("points: 11 train, 7 test; labels: 10", stdout);
        var bank = ImageBank.Read(Path.Combine(dir, "img_embs.npy"));
        bank.Embeddings[5] += 0.5f;
        bank.Write(Path.Combine(dir, "img_embs.npy"));
        var rep = DatasetCheck.Run(dir);
        Assert.Contains(rep.Errors, e => e.Contains("img_embs.npy") && e.Contains("img_embs.json"));
        (code, _, err) = CliRunner.Run("data", "build", "emoji-mm", "--out", dir, "--npm-dir", Path.Combine(dir, "nowhere"));
        Assert.NotEqual(0, code);
        Assert.Contains("emojibase-data-17.0.0.tgz", err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MessagesAndEntriesRejectBadJsonWithTheFileName()
    {
        var e = Assert.Throws<XmcFormatException>(() => EmojiBuilder.ReadEmojibase("[{\"hexcode\": \"1F600\", \"group\": 0}]", "x/data.json"));
        Assert.Contains("x/data.json", e.Message);
        Assert.Contains("group without subgroup", e.Message);
        e = Assert.Throws<XmcFormatException>(() => EmojiBuilder.ReadEmojibase("{", "y/data.json"));
        Assert.Contains("y/data.json", e.Message);
        e = Assert.Throws<XmcFormatException>(() => EmojiBuilder.ReadEmojibase(
            "[{\"hexcode\": \"1F44B\", \"label\": \"w\", \"group\": 1, \"subgroup\": 2, \"skins\": [{\"hexcode\": \"1F44B-1F3FB\", \"label\": \"w\", \"tone\": 9}]}]", "z.json"));
        Assert.Contains("skin tone 9", e.Message);
        var t = Repo.TempDir();
        File.WriteAllBytes(Path.Combine(t, "bad.tgz"), [1, 2, 3, 4]);
        var e2 = Assert.Throws<XmcFormatException>(() => NpmInputs.ReadText(Path.Combine(t, "bad.tgz"), "en/data.json"));
        Assert.Contains("bad.tgz", e2.Message);
        Directory.Delete(t, true);
    }

    [Fact]
    public void GiveAwayRuleDropsKeywordsTheNameSays()
    {
        var m = EmojiBuilder.ReadMessages(NpmInputs.ReadText(Fake.Tarball("emojibase-data"), "en/messages.json"), "messages.json");
        var e = new EmojiBuilder.Entry("1F590-1F3FB", "1F590", "hand with fingers splayed", ["finger", "Hand", "stop", "wave", "raised hand"], 1, 16, [1]);
        Assert.Equal(new[] { "keyword:stop", "keyword:wave", "keyword:raised hand", "group:people-body", "subgroup:hand-fingers-open", "tone:light" },
            EmojiBuilder.CandidateLabels(e, m));
    }
}

/// <summary>The npm tarball cache: pinned integrity verified, a bad download deleted, npm failures reported.</summary>
public class NpmInputsTests
{
    private static string FakeDir => Repo.Fixture("npm-emoji-fake");

    /// <summary>The fake's integrity strings, computed by Python's hashlib in gen_emoji_fake.py.</summary>
    private static NpmPackage[] PinnedFakes()
    {
        var integ = JsonDocument.Parse(File.ReadAllText(Path.Combine(FakeDir, "integrity.json"))).RootElement;
        return EmojiBuilder.Packages.Select(p => p with { Integrity = integ.GetProperty(p.TarballName).GetString()! }).ToArray();
    }

    [Fact]
    public void IntegrityMatchesHashlib()
    {
        foreach (var p in PinnedFakes()) Assert.Equal(p.Integrity, NpmInputs.Integrity(Path.Combine(FakeDir, p.TarballName)));
    }

    [Fact]
    public void CachedTarballsWithThePinnedIntegrityAreUsedWithoutNpm()
    {
        var cache = Repo.TempDir();
        foreach (var p in EmojiBuilder.Packages) File.Copy(Path.Combine(FakeDir, p.TarballName), Path.Combine(cache, p.TarballName));
        var inputs = NpmInputs.FromCache(PinnedFakes(), cache, npm: "/bin/false");   // npm would fail if it were called
        Assert.True(inputs.Verified);
        Assert.Equal(Path.Combine(cache, "emojibase-data-17.0.0.tgz"), inputs.Tarball("emojibase-data"));
        Directory.Delete(cache, true);
    }

    [Fact]
    public void WrongDownloadIsDeletedAndFailingNpmIsReported()
    {
        var cache = Repo.TempDir();
        var pins = PinnedFakes();
        // A stand-in npm that "packs" the wrong tarball: the integrity check must catch it and leave nothing behind.
        var fakeNpm = Path.Combine(cache, "fake-npm.sh");
        var wrong = Path.Combine(FakeDir, "emoji-datasource-google-16.0.0.tgz");
        File.WriteAllText(fakeNpm, $"#!/bin/sh\ncp '{wrong}' \"$4/emojibase-data-17.0.0.tgz\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(fakeNpm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var dl = Path.Combine(cache, "dl");
        var e = Assert.Throws<NpmInputException>(() => NpmInputs.FromCache(pins, dl, npm: fakeNpm));
        Assert.Contains("emojibase-data@17.0.0", e.Message);
        Assert.Contains(pins[0].Integrity, e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dl));   // neither the tarball nor the private pack folder is left

        e = Assert.Throws<NpmInputException>(() => NpmInputs.FromCache(pins, dl, npm: "/bin/false"));
        Assert.Contains("npm pack emojibase-data@17.0.0 failed", e.Message);
        e = Assert.Throws<NpmInputException>(() => NpmInputs.FromCache(pins, dl, npm: Path.Combine(cache, "no-such-npm")));
        Assert.Contains("npm is not installed", e.Message);
        Directory.Delete(cache, true);
    }
}
