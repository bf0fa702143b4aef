using System.Text.Json;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Xmc;

public class MetricsCliTests
{
    private static string F(string @case, string file) => Repo.Fixture("xmc-metrics", @case, file);

    [Fact]
    public void JsonOutputIsOneObjectWithContractKeys()
    {
        const string c = "small-04-filter"; // expected.json uses A/B 0.6/2.6 and the filter
        var (code, stdout, err) = CliRunner.Run("metrics", "--truth", F(c, "tst_X_Y.txt"), "--scores", F(c, "score_mat.txt"),
            "--train", F(c, "trn_X_Y.txt"), "--filter", F(c, "filter_labels_test.txt"), "--a", "0.6", "--b", "2.6", "--k", "5", "--json");
        Assert.True(code == 0, err);
        var obj = JsonDocument.Parse(stdout).RootElement;
        var keys = obj.EnumerateObject().Select(p => p.Name).ToArray();
        var want = new[] { "P", "nDCG", "PSP", "PSnDCG", "R" }.SelectMany(m => Enumerable.Range(1, 5).Select(k => $"{m}@{k}")).ToArray();
        Assert.Equal(want, keys);
        var exp = JsonDocument.Parse(File.ReadAllText(F(c, "expected.json"))).RootElement;
        foreach (var key in keys)
        {
            double e = key.StartsWith("nDCG") || key.StartsWith("PSnDCG")
                ? exp.GetProperty("reimpl_float64").GetProperty(key).GetDouble() : exp.GetProperty(key).GetDouble();
            Assert.True(Math.Abs(e - obj.GetProperty(key).GetDouble()) < 1e-9, $"{key}: {e} vs {obj.GetProperty(key).GetDouble()}");
        }
    }

    [Fact]
    public void WithoutTrainThereAreNoPspKeysAndPresetChangesPsp()
    {
        const string c = "small-01-basic";
        var (code, stdout, _) = CliRunner.Run("metrics", "--truth", F(c, "tst_X_Y.txt"), "--scores", F(c, "score_mat.txt"), "--k", "3", "--json");
        Assert.Equal(0, code);
        var keys = JsonDocument.Parse(stdout).RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["P@1", "P@2", "P@3", "nDCG@1", "nDCG@2", "nDCG@3", "R@1", "R@2", "R@3"], keys);

        // small-01's main pair is 0.55/1.5 = the "other" preset.
        (code, stdout, _) = CliRunner.Run("metrics", "--truth", F(c, "tst_X_Y.txt"), "--scores", F(c, "score_mat.txt"),
            "--train", F(c, "trn_X_Y.txt"), "--preset", "other", "--json");
        Assert.Equal(0, code);
        var exp = JsonDocument.Parse(File.ReadAllText(F(c, "expected.json"))).RootElement;
        Assert.Equal(exp.GetProperty("PSP@3").GetDouble(), JsonDocument.Parse(stdout).RootElement.GetProperty("PSP@3").GetDouble(), 12);
    }

    [Fact]
    public void TableOutputIsReadable()
    {
        const string c = "small-01-basic";
        var (code, stdout, _) = CliRunner.Run("metrics", "--truth", F(c, "tst_X_Y.txt"), "--scores", F(c, "score_mat.txt"),
            "--train", F(c, "trn_X_Y.txt"), "--a", "0.55", "--b", "1.5");
        Assert.Equal(0, code);
        // pyxclib_format's first row is "60.00,40.00,33.33,35.00,36.00".
        Assert.Contains("P         60.00   40.00   33.33   35.00   36.00", stdout);
        Assert.Contains("PSnDCG", stdout);
    }

    [Fact]
    public void BadInputIsAUserErrorNamingTheFile()
    {
        var dir = Repo.TempDir();
        var bad = Path.Combine(dir, "bad.txt");
        File.WriteAllText(bad, "2 3\n0:1 7:1\n\n");
        var (code, _, err) = CliRunner.Run("metrics", "--truth", bad, "--scores", F("small-01-basic", "score_mat.txt"));
        Assert.NotEqual(0, code);
        Assert.Contains("bad.txt:2:", err);
        Assert.Contains("column 7 out of range", err);
        Directory.Delete(dir, true);
    }
}
