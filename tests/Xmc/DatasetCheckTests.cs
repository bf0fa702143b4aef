using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Tests.Xmc;

/// <summary>`data check` accepts freshly built folders and rejects corrupted copies with messages naming the problem.</summary>
public class DatasetCheckTests
{
    private static string BuildFake(string name)
    {
        var dir = Repo.TempDir();
        DebianDatasets.BuildTo(name, "full", AptInputs.FromDirectory(Repo.Fixture("apt-fake")), dir);
        return dir;
    }

    private static void Edit(string dir, string file, Func<string, string> change)
    {
        var p = Path.Combine(dir, file);
        var before = File.ReadAllText(p);
        var after = change(before);
        Assert.NotEqual(before, after);   // the corruption must actually change the file
        File.WriteAllText(p, after);
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "header-rows", "file ends after 2 rows but the header says 3 rows" },
        { "column-range", "column 9 out of range" },
        { "duplicate-column", "duplicate column 1" },
        { "nan-value", "value 'NaN' of column 4 is not a finite number" },
        { "text-missing-line", "trn.raw.txt: 3 lines but there are 4 training points" },
        { "label-text-extra-line", "lbl.raw.txt: 8 lines but there are 7 labels" },
        { "label-count-mismatch", "8 labels in the header but trn_X_Y.txt has 7" },
        { "map-index-range", "trn_img_map.npy: item 2 slot 0: image index 6 out of range [-1, 6)" },
        { "bank-truncated", "img_embs.npy: data size" },
        { "text-edited", "trn.raw.txt: sha256 differs from manifest.json" },
        { "missing-file", "tst_X_Y.txt: missing" },
        { "crlf", "carriage return inside a text line" },
        { "map-rows", "tst_img_map.npy: image map has 3 rows but there are 2 items" },
        { "image-deleted", "image file images/nu_nu.png is missing" },
        { "duplicate-id", "trn.ids.txt:4: duplicate id 'org.fake.beta.desktop'" },
        { "filter-range", "filter_labels_test.txt:2: row 5 out of range: the test set has 1 rows" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void RejectsCorruptedCopies(string corruption, string message)
    {
        var dir = BuildFake(corruption == "filter-range" ? "debian-deps-titles" : "debian-apps-mm");
        Assert.True(DatasetCheck.Run(dir).Ok, "fresh build must pass: " + string.Join("; ", DatasetCheck.Run(dir).Errors));
        switch (corruption)
        {
            case "header-rows": Edit(dir, "tst_X_Y.txt", s => s.Replace("2 7\n", "3 7\n")); break;
            case "column-range": Edit(dir, "trn_X_Y.txt", s => s.Replace("\n4:1\n", "\n9:1\n")); break;
            case "duplicate-column": Edit(dir, "trn_X_Y.txt", s => s.Replace("0:1 1:1 2:1 5:1", "0:1 1:1 1:1 5:1")); break;
            case "nan-value": Edit(dir, "trn_X_Y.txt", s => s.Replace("\n4:1\n", "\n4:NaN\n")); break;
            case "text-missing-line": Edit(dir, "trn.raw.txt", s => string.Join("\n", s.Split('\n').Skip(1))); break;
            case "label-text-extra-line": Edit(dir, "lbl.raw.txt", s => s + "extra label\n"); break;
            case "label-count-mismatch": Edit(dir, "tst_X_Y.txt", s => s.Replace("2 7\n", "2 8\n")); break;
            case "map-index-range": new ImageMap(4, 1, [1, 3, 6, 5]).Write(Path.Combine(dir, "trn_img_map.npy")); break;
            case "bank-truncated":
            {
                var p = Path.Combine(dir, "img_embs.npy");
                File.WriteAllBytes(p, File.ReadAllBytes(p)[..^4]);
                break;
            }
            case "text-edited": Edit(dir, "trn.raw.txt", s => s.Replace("Beta Viewer", "Beta Vieuer")); break;
            case "missing-file": File.Delete(Path.Combine(dir, "tst_X_Y.txt")); break;
            case "crlf": Edit(dir, "trn.raw.txt", s => s.Replace("\n", "\r\n")); break;
            case "map-rows": new ImageMap(3, 1, [0, 2, 2]).Write(Path.Combine(dir, "tst_img_map.npy")); break;
            case "image-deleted": File.Delete(Path.Combine(dir, "images", "nu_nu.png")); break;
            case "duplicate-id": Edit(dir, "trn.ids.txt", s => s.Replace("org.fake.theta.desktop", "org.fake.beta.desktop")); break;
            case "filter-range": Edit(dir, "filter_labels_test.txt", s => s + "5 0\n"); break;
            default: throw new ArgumentException(corruption);
        }
        var rep = DatasetCheck.Run(dir);
        Assert.False(rep.Ok);
        Assert.True(rep.Errors.Any(e => e.Contains(message)), $"no error contains '{message}':\n{string.Join("\n", rep.Errors)}");

        // The CLI reports the same and exits non-zero.
        var (code, _, err) = CliRunner.Run("data", "check", dir);
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void CheckAndStatsCliOnAFreshBuild()
    {
        var dir = BuildFake("debian-deps-titles");
        var (code, stdout, err) = CliRunner.Run("data", "check", dir);
        Assert.True(code == 0, err);
        Assert.Contains("OK: 15 train / 1 test points, 17 labels", stdout);
        Assert.Contains("zero-shot test labels 100.0%", stdout);   // the one test label, python3.11, is unseen in training

        (code, stdout, _) = CliRunner.Run("data", "stats", dir, "--json");
        Assert.Equal(0, code);
        var o = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(15, o.GetProperty("train_points").GetInt32());
        Assert.Equal(17, o.GetProperty("labels").GetInt32());
        Assert.Equal(24, o.GetProperty("train_pairs").GetInt32());
        // Train label frequencies (hand count): debconf 4, gamma-tools 3, dictionaries-common 2, python3 2,
        // libreoffice-core 2, eleven labels once (alpha-editor, aspell, aspell-en, beta-viewer, dpkg, epsilon-codecs,
        // eta-game, libreoffice-math, perl, theta-shell-common, zeta-codecs), python3.11 never -> 1: 11, 2-3: 4, 4-7: 1.
        var hist = o.GetProperty("train_frequency_histogram").EnumerateArray()
            .Select(b => (b.GetProperty("lo").GetInt32(), b.GetProperty("labels").GetInt32())).ToArray();
        Assert.Equal([(1, 11), (2, 4), (4, 1)], hist);
        Assert.Equal(1, o.GetProperty("labels_without_train_points").GetInt32());
        Assert.Equal(1.0, o.GetProperty("median_train_frequency").GetDouble());

        (code, stdout, _) = CliRunner.Run("data", "stats", dir);
        Assert.Equal(0, code);
        Assert.Contains("train label frequency histogram", stdout);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void BuildCliWithAptDirAndUnknownName()
    {
        var dir = Repo.TempDir();
        var (code, stdout, err) = CliRunner.Run("data", "build", "debian-apps-mm", "--size", "small", "--out", dir, "--apt-dir", Repo.Fixture("apt-fake"));
        Assert.True(code == 0, err);
        Assert.Contains("points: 4 train, 2 test; labels: 7", stdout);
        (code, _, err) = CliRunner.Run("data", "build", "no-such-set", "--out", dir);
        Assert.NotEqual(0, code);
        Assert.Contains("unknown dataset 'no-such-set'", err);
        Directory.Delete(dir, true);
    }
}

public class XmcDatasetTests
{
    [Fact]
    public void LoadsABuiltFolderWithImages()
    {
        var dir = Repo.TempDir();
        DebianDatasets.BuildTo("debian-apps-mm", "full", AptInputs.FromDirectory(Repo.Fixture("apt-fake")), dir);
        var d = XmcDataset.Load(dir);
        Assert.Equal((4, 2, 7), (d.TrainY.Rows, d.TestY.Rows, d.NumLabels));
        Assert.Equal("Beta Viewer: View images", d.TrainTexts[0]);
        Assert.Equal("org.fake.alpha.desktop", d.TestIds![0]);
        Assert.Equal(6, d.Images!.NumImages);
        Assert.Equal([2], d.TestImages!.ImagesOf(1).ToArray());
        Assert.Null(d.Filter);
        Assert.Equal("Alpha Editor: Edit plain text", d.Titles()!.Value.Test[0]);
        // Inverse propensity of a label never seen in training (keyword:editor, index 3): 1 + C * B^-A with N = 4.
        var w = d.InversePropensity(PropensityParams.Other);
        double c = (Math.Log(4) - 1) * Math.Pow(2.5, 0.55);
        Assert.Equal(1 + c * Math.Pow(1.5, -0.55), w[3], 12);
        File.AppendAllText(Path.Combine(dir, "tst.raw.txt"), "one more\n");
        Assert.Contains("tst.raw.txt", Assert.Throws<XmcFormatException>(() => XmcDataset.Load(dir)).Message);
        Directory.Delete(dir, true);
    }
}
