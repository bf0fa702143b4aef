using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;
using ViXml.Xmc.Debian;
using ViXml.Xmc.Images;

namespace ViXml.Tests.Xmc;

/// <summary>
/// The builders on tests/fixtures/apt-fake, against labels, splits and filters worked out by hand in
/// tests/fixtures/apt-fake/README.md.
/// </summary>
public class DebianBuilderTests
{
    private static AptInputs Fake => AptInputs.FromDirectory(Repo.Fixture("apt-fake"));

    private static string Read(string dir, string f) => File.ReadAllText(Path.Combine(dir, f));

    [Fact]
    public void DepsTitlesMatchesHandComputedDataset()
    {
        var dir = Repo.TempDir();
        DebianDatasets.BuildTo("debian-deps-titles", "full", Fake, dir);

        Assert.Equal(string.Join("\n", "alpha-editor", "aspell", "aspell-en", "beta-viewer", "debconf", "dictionaries-common", "dpkg",
            "epsilon-codecs", "eta-game", "gamma-tools", "libreoffice-core", "libreoffice-math", "perl", "python3", "python3.11",
            "theta-shell-common", "zeta-codecs") + "\n", Read(dir, "lbl.ids.txt"));
        Assert.Equal(string.Join("\n", "alpha-editor", "alpha-editor-doc", "aspell", "aspell-en", "beta-viewer", "delta-player",
            "dictionaries-common", "epsilon-codecs", "eta-game-data", "gamma-tools-dbg", "libfoo-perl", "libgamma-dev",
            "libreoffice-math", "libreoffice-writer", "theta-shell") + "\n", Read(dir, "trn.ids.txt"));
        Assert.Equal("python3\n", Read(dir, "tst.ids.txt"));
        Assert.Equal("15 17\n2:1 3:1\n0:1\n5:1\n1:1 5:1\n6:1 9:1 13:1\n4:1 7:1 13:1 16:1\n4:1\n4:1\n8:1\n9:1\n12:1\n9:1\n10:1\n10:1 11:1\n4:1 15:1\n",
            Read(dir, "trn_X_Y.txt"));
        Assert.Equal("1 17\n14:1\n", Read(dir, "tst_X_Y.txt"));
        Assert.Equal("0 13\n", Read(dir, "filter_labels_test.txt"));   // python3 is also a label: self pair
        var trnText = File.ReadAllLines(Path.Combine(dir, "trn.raw.txt"));
        Assert.Equal("Simple text editor", trnText[0]);
        Assert.Equal("Simple text editor (documentation)", trnText[1]);
        Assert.Equal("interactive high-level object-oriented language (default python3 version)\n", Read(dir, "tst.raw.txt"));
        Assert.Equal("command-line tools for gamma correction", File.ReadAllLines(Path.Combine(dir, "lbl.raw.txt"))[9]);

        var m = JsonDocument.Parse(Read(dir, "manifest.json")).RootElement;
        Assert.Equal("Sat, 01 Jan 2000 00:00:00 UTC", m.GetProperty("source").GetProperty("archive_release_date").GetString());
        var bc = m.GetProperty("build_counts");
        Assert.Equal(29, bc.GetProperty("packages").GetInt32());               // 30 stanzas, one duplicate name
        Assert.Equal(4, bc.GetProperty("reciprocal_pairs_removed").GetInt32()); // alpha-editor<->common, delta-player<->eta-game
        Assert.Equal(1, bc.GetProperty("excluded_transitional").GetInt32());
        Assert.Equal(16, bc.GetProperty("queries_full").GetInt32());
        var st = m.GetProperty("stats");
        Assert.Equal(1, st.GetProperty("zero_shot_test_labels").GetInt32());  // python3.11 only appears in test
        Assert.Equal(1, st.GetProperty("filter_pairs").GetInt32());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void DepsFullUsesLongDescriptionsMatchedByMd5ThenName()
    {
        var dir = Repo.TempDir();
        DebianDatasets.BuildTo("debian-deps", "full", Fake, dir);
        var trn = File.ReadAllLines(Path.Combine(dir, "trn.raw.txt"));
        Assert.Equal("Simple text editor Alpha is a small editor for plain text. It has syntax highlighting.", trn[0]);
        Assert.Equal("image viewer with plugins Beta views images and supports plugins.", trn[4]);
        Assert.Equal("Simple text editor (documentation)", trn[1]);   // no translation: short text only
        Assert.Equal("command-line tools for gamma correction Tools to apply gamma curves (matched by name: the md5 differs).",
            File.ReadAllLines(Path.Combine(dir, "lbl.raw.txt"))[9]);
        Assert.Equal("interactive high-level object-oriented language (default python3 version) Python, the high-level, interactive object oriented language.\n",
            Read(dir, "tst.raw.txt"));
        // Same labels and split as the titles variant.
        var titles = Repo.TempDir();
        DebianDatasets.BuildTo("debian-deps-titles", "full", Fake, titles);
        foreach (var f in new[] { "trn_X_Y.txt", "tst_X_Y.txt", "lbl.ids.txt", "filter_labels_test.txt" })
            Assert.Equal(Read(titles, f), Read(dir, f));
        Directory.Delete(dir, true);
        Directory.Delete(titles, true);
    }

    [Fact]
    public void FrequentLabelsAreDroppedAboveTheThreshold()
    {
        // With a threshold of 3, debconf (4 queries) goes; gamma-tools (3) stays; queries left without labels go.
        var pk = DebianDepsBuilder.ReadPackages(Fake);
        var d = DebianDepsBuilder.Build(pk, titlesOnly: true, "full", maxLabelQueries: 3);
        Assert.DoesNotContain("debconf", d.LabelIds);
        Assert.Contains("gamma-tools", d.LabelIds);
        Assert.DoesNotContain("dictionaries-common", d.TrainIds);
        Assert.DoesNotContain("epsilon-codecs", d.TrainIds);
        Assert.Equal(13, d.TrainIds.Length);
    }

    [Fact]
    public void SmallSubsetKeepsWholeLabelsWithinTheLimit()
    {
        // Limit 5 on the fake (16 queries): labels with 2..2 queries are visited in hash order and taken whole, so
        // every label of the subset has at least two points and the subset is deterministic.
        var pk = DebianDepsBuilder.ReadPackages(Fake);
        var small = DebianDepsBuilder.Build(pk, titlesOnly: true, "small", smallQueries: 5);
        var queries = small.TrainIds.Concat(small.TestIds).ToArray();
        Assert.InRange(queries.Length, 2, 5);
        var freq = small.TrainY.ColumnCounts().Zip(small.TestY.ColumnCounts(), (a, b) => a + b).ToArray();
        Assert.All(freq, f => Assert.True(f >= 2));
        // Labels with exactly two queries in the full fake: dictionaries-common {aspell, aspell-en}, python3
        // {beta-viewer, delta-player}, libreoffice-core {libreoffice-math, libreoffice-writer}; the subset is a union
        // of whole groups.
        var groups = new[] { new[] { "aspell", "aspell-en" }, ["beta-viewer", "delta-player"], ["libreoffice-math", "libreoffice-writer"] };
        foreach (var q in queries) Assert.Contains(groups, g => g.Contains(q));
        Assert.Equal(DebianDepsBuilder.Build(pk, true, "small", smallQueries: 5).TrainIds, small.TrainIds);
    }

    [Fact]
    public void AppsMatchHandComputedDataset()
    {
        var dir = Repo.TempDir();
        DebianDatasets.BuildTo("debian-apps-mm", "full", Fake, dir);
        Assert.Equal("category:Graphics\ncategory:Utility\ncategory:Viewer\nkeyword:editor\nkeyword:music\nkeyword:photo\nkeyword:text\n", Read(dir, "lbl.ids.txt"));
        Assert.Equal("Graphics\nUtility\nViewer\neditor\nmusic\nphoto\ntext\n", Read(dir, "lbl.raw.txt"));
        Assert.Equal("org.fake.beta.desktop\norg.fake.eta.desktop\norg.fake.nu.desktop\norg.fake.theta.desktop\n", Read(dir, "trn.ids.txt"));
        Assert.Equal("org.fake.alpha.desktop\norg.fake.delta.desktop\n", Read(dir, "tst.ids.txt"));
        Assert.Equal("4 7\n0:1 1:1 2:1 5:1\n4:1\n0:1 2:1 5:1\n1:1 6:1\n", Read(dir, "trn_X_Y.txt"));
        Assert.Equal("2 7\n1:1 3:1 6:1\n3:1 4:1\n", Read(dir, "tst_X_Y.txt"));
        Assert.Equal("Alpha Editor: Edit plain text Alpha edits text & code. fast small\nDelta Player: Play music Plays your music collection.\n",
            Read(dir, "tst.raw.txt"));
        Assert.Equal("Alpha Editor: Edit plain text\nDelta Player: Play music\n", Read(dir, "tst.title.txt"));
        Assert.False(File.Exists(Path.Combine(dir, "filter_labels_test.txt")));

        Assert.Equal("alpha-editor_alpha.png\nbeta-viewer_beta.png\ndelta-player_delta.png\neta-game_eta.png\nnu_nu.png\ntheta-shell_theta.png\n",
            Read(dir, "img.ids.txt"));
        Assert.Equal(6, Directory.GetFiles(Path.Combine(dir, "images")).Length);
        Assert.Equal(new long[] { 1, 3, 4, 5 }, ImageMap.Read(Path.Combine(dir, "trn_img_map.npy")).Indices);
        Assert.Equal(new long[] { 0, 2 }, ImageMap.Read(Path.Combine(dir, "tst_img_map.npy")).Indices);
        var bank = ImageBank.Read(Path.Combine(dir, "img_embs.npy"));
        Assert.Equal((6, 256), (bank.NumImages, bank.Dim));
        var expected = JsonDocument.Parse(File.ReadAllText(Repo.Fixture("apt-fake", "expected_icon_features.json"))).RootElement;
        var names = File.ReadAllLines(Path.Combine(dir, "img.ids.txt"));
        for (int i = 0; i < names.Length; i++)
        {
            var e = expected.GetProperty(names[i]).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            var row = bank.Row(i).ToArray();
            for (int j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - row[j]) < 1e-6, $"{names[i]}[{j}]: {e[j]} vs {row[j]}");
        }

        var bc = JsonDocument.Parse(Read(dir, "manifest.json")).RootElement.GetProperty("build_counts");
        Assert.Equal(8, bc.GetProperty("desktop_apps_with_cached_icon").GetInt32());
        Assert.Equal(1, bc.GetProperty("apps_icon_missing_in_tarball").GetInt32());
        Assert.Equal(1, bc.GetProperty("apps_without_labels").GetInt32());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void PngDecoderMatchesSourcePixelsOfEveryColourType()
    {
        // The features of all seven fake icons (RGBA, RGB, palette 1/4/8-bit with tRNS, grey+alpha, grey 16-bit) equal
        // numpy's features of the source pixels, so decoding is exact.
        var expected = JsonDocument.Parse(File.ReadAllText(Repo.Fixture("apt-fake", "expected_icon_features.json"))).RootElement;
        var icons = DebianAppsBuilder.ReadIcons(Repo.Fixture("apt-fake", "icons-64x64.tar.gz"),
            expected.EnumerateObject().Select(p => p.Name).ToHashSet());
        Assert.Equal(7, icons.Count);
        foreach (var (name, png) in icons)
        {
            var f = PixelFeatures.Compute(Png.Decode(png, name));
            var e = expected.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            for (int j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - f[j]) < 1e-6, $"{name}[{j}]");
        }
        var broken = icons["nu_nu.png"].ToArray();
        broken[40] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => Png.Decode(broken, "broken.png"));
    }

    [Theory]
    [InlineData("debian-deps-titles")]
    [InlineData("debian-deps")]
    [InlineData("debian-apps-mm")]
    public void BuildsAreByteIdentical(string name)
    {
        var a = Repo.TempDir();
        var b = Repo.TempDir();
        DebianDatasets.BuildTo(name, "small", Fake, a);
        DebianDatasets.BuildTo(name, "small", Fake, b);
        var fa = Directory.GetFiles(a, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(a, p)).Order().ToArray();
        var fb = Directory.GetFiles(b, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(b, p)).Order().ToArray();
        Assert.Equal(fa, fb);
        foreach (var f in fa) Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
        Assert.True(DatasetCheck.Run(a).Ok, string.Join("\n", DatasetCheck.Run(a).Errors));
        Directory.Delete(a, true);
        Directory.Delete(b, true);
    }

    [Fact]
    public void MissingMetadataSaysWhatToRun()
    {
        var dir = Repo.TempDir();
        File.Copy(Repo.Fixture("apt-fake", "Packages"), Path.Combine(dir, "Packages"));
        var e = Assert.Throws<AptMetadataMissingException>(() => DebianDatasets.Build("debian-apps-mm", "small", AptInputs.FromDirectory(dir)));
        Assert.Contains(AptInputs.FetchCommand, e.Message);
        e = Assert.Throws<AptMetadataMissingException>(() => DebianDatasets.Build("debian-deps", "small", AptInputs.FromDirectory(dir)));
        Assert.Contains("Translation-en", e.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void RelationNamesStripVersionsArchesAndRestrictions()
    {
        Assert.Equal(["a", "b", "c", "d"], Deb822.RelationNames("a (>= 1), b | c:any [amd64], d <!nocheck>").ToArray());
        Assert.Empty(Deb822.RelationNames(null));
    }
}
