using ViXml.Experiments;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using ViXml.Training.Baselines;
using ViXml.Training.Data;
using ViXml.Xmc;

namespace ViXml.Tests.Experiments;

/// <summary>
/// The typed experiments behind notebooks 00 and 01 on the committed apt fake (expected counts worked out by hand in
/// tests/fixtures/apt-fake/README.md), the profile → dataset rules and the mean/std arithmetic.
/// </summary>
public class ExperimentsTests
{
    private static string AptFake => Repo.Fixture("apt-fake");

    [Fact]
    public void DatasetsExperimentOnTheAptFakeMatchesTheHandCountedStatistics()
    {
        var root = Repo.TempDir("vixml-exp-data");
        var r = DatasetsExperiment.Run(new DatasetsConfig { Profile = "ci", DataRoot = root, AptDir = AptFake });
        Assert.Equal(["debian-deps-titles-small", "debian-deps-small", "debian-apps-mm-small"], r.Datasets.Select(d => d.Source.Name));
        Assert.All(r.Datasets, d => Assert.True(d.Built));
        // README: 16 deps queries, only python3 is test; 17 labels; python3.11 (its only label) never in training.
        var deps = r.Datasets[0].Stats;
        Assert.Equal((15, 1, 17), (deps.TrainPoints, deps.TestPoints, deps.Labels));
        Assert.Equal((1, 1, 1.0, 1), (deps.TestLabels, deps.ZeroShotTestLabels, deps.ZeroShotShare, deps.TestPointsOnlyZeroShot));
        // Apps: train beta, eta, nu, theta; test alpha, delta; labels Graphics, Utility, Viewer, editor, music, photo, text.
        var apps = r.Datasets[2].Stats;
        Assert.Equal((4, 2, 7), (apps.TrainPoints, apps.TestPoints, apps.Labels));
        Assert.True(apps.ZeroShotTestLabels >= 1, "'editor' occurs only in test");
        // The statistics table carries the same numbers, and percent for the share.
        var row = r.Statistics.Rows[0];
        var col = r.Statistics.Columns.ToList();
        Assert.Equal(15, row[col.IndexOf("train points")]);
        Assert.Equal(100.0, row[col.IndexOf("zero-shot share %")]);
        Assert.Equal("embedded Debian data (not Amazon)", r.Statistics.Scale!.Note);
        // Bins of the long tail add up to the labels that have training points.
        Assert.Equal(deps.Labels - deps.LabelsWithoutTrainPoints, deps.Histogram.Sum(b => b.Labels));
        Assert.Equal(3, r.LongTail.TraceCount);
        Assert.Contains("\"type\":\"log\"", r.LongTail.ToJsonString());
        // Rank-frequency of the featured dataset: descending frequencies.
        var rf = r.RankFrequency.ToJson()["data"]![0]!["y"]!.AsArray().Select(v => (double)v!).ToList();
        Assert.Equal(rf.OrderDescending(), rf);
        // A second run finds the folders (manifest.json) and does not rebuild.
        var again = DatasetsExperiment.Run(new DatasetsConfig { Profile = "ci", DataRoot = root, AptDir = AptFake, Datasets = ["debian-deps-titles"] });
        Assert.False(Assert.Single(again.Datasets).Built);
    }

    [Fact]
    public void ProfilesPickTheDatasetFolderAndPaperNeedsADataDir()
    {
        var s = DatasetResolver.Resolve("ci", "debian-deps", "/d", null);
        Assert.Equal(("debian-deps-small", "/d/debian-deps-small", "small"), (s.Name, s.Directory, s.Size));
        Assert.Equal("/d/debian-deps-full", DatasetResolver.Resolve("cpu", "debian-deps", "/d", null).Directory);
        var e = Assert.Throws<ArgumentException>(() => DatasetResolver.Resolve("paper", "debian-deps", "/d", ""));
        Assert.Contains("needs data_dir", e.Message);
        Assert.Contains("/nowhere/LF-AmazonTitles-131K",
            Assert.Throws<DirectoryNotFoundException>(() => DatasetResolver.Resolve("paper", "x", "/d", "/nowhere/LF-AmazonTitles-131K")).Message);
        var empty = Repo.TempDir("vixml-notxc");
        Assert.Contains("no trn_X_Y.txt", Assert.Throws<FileNotFoundException>(() => DatasetResolver.Resolve("paper", "x", "/d", empty)).Message);
        Assert.Contains("unknown profile 'gpu'", Assert.Throws<ArgumentException>(() => DatasetResolver.Resolve("gpu", "debian-deps", "/d", null)).Message);
        Assert.Contains("unknown embedded dataset 'amazon'", Assert.Throws<ArgumentException>(() => DatasetResolver.Resolve("ci", "amazon", "/d", null)).Message);
    }

    [Fact]
    public void PaperProfileReadsAUserFolderAndMarksItsScale()
    {
        // A user-supplied XC folder: here the apt-fake deps build written somewhere else under an Amazon-like name.
        var user = Path.Combine(Repo.TempDir("vixml-user"), "LF-Tiny-Titles");
        ViXml.Xmc.Debian.DebianDatasets.BuildTo("debian-deps-titles", "full", ViXml.Xmc.Debian.AptInputs.FromDirectory(AptFake), user);
        var r = DatasetsExperiment.Run(new DatasetsConfig { Profile = "paper", DataDir = user });
        Assert.Equal("LF-Tiny-Titles", Assert.Single(r.Datasets).Source.Name);
        Assert.Equal("user-supplied XC dataset", r.Statistics.Scale!.Note);
        var t = TextEncodersExperiment.Run(new TextEncodersConfig { Profile = "paper", DataDir = user, Methods = ["bm25"] });
        Assert.Equal("CPU, user-supplied XC data, random init", t.Summary.Scale!.Note);
    }

    [Fact]
    public void MeanAndSampleStdByHand()
    {
        // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; sample variance 5/3.
        var (m, s) = TextEncodersExperiment.MeanStd([1, 2, 3, 4]);
        Assert.Equal(2.5, m, 12);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), s, 12);
        Assert.Equal((7.0, 0.0), TextEncodersExperiment.MeanStd([7]));
        Assert.Throws<ArgumentException>(() => TextEncodersExperiment.MeanStd([]));
        Assert.Equal([1, 2, 3], TextEncodersConfig.ParseSeeds("1-3"));
        Assert.Equal([4, 9], TextEncodersConfig.ParseSeeds(" 4, 9 "));
        Assert.Contains("'x' is not an integer", Assert.Throws<ArgumentException>(() => TextEncodersConfig.ParseSeeds("1,x")).Message);
        Assert.Equal([1, 2], TextEncodersConfig.DefaultSeeds("ci"));
        Assert.Equal([1, 2, 3], TextEncodersConfig.DefaultSeeds("cpu"));
    }

    [Fact]
    public void SummaryTableAggregatesRunsPerMethod()
    {
        static MethodRun Run(string m, int seed, double p1) => new(m, seed,
            new Dictionary<string, double> { ["P@1"] = p1, ["PSP@1"] = p1 / 2 }, 1, []);
        var t = TextEncodersExperiment.SummaryTable([Run("a", 1, 10), Run("a", 2, 14), Run("b", 1, 3)], 1, new Scale("d", "ci", [1, 2]));
        Assert.Equal(["method", "runs", "P@1", "P@1 std", "PSP@1", "PSP@1 std"], t.Columns);
        // a: P@1 mean 12, sample std sqrt(((10-12)^2 + (14-12)^2) / 1) = sqrt(8); PSP@1 halves both.
        Assert.Equal(["a", 2, 12.0, Math.Sqrt(8), 6.0, Math.Sqrt(2)], t.Rows[0]);
        Assert.Equal(["b", 1, 3.0, 0.0, 1.5, 0.0], t.Rows[1]);
        Assert.Equal(["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"], TextEncodersExperiment.MetricNames(5));
    }

    [Fact]
    public void TextEncodersBm25RowIsTheBaselineInPercentWithOneDeterministicRun()
    {
        var root = Repo.TempDir("vixml-exp-te");
        var r = TextEncodersExperiment.Run(new TextEncodersConfig { Profile = "ci", DataRoot = root, AptDir = AptFake, Methods = ["bm25"] });
        Assert.Equal("debian-deps-titles-small", r.Dataset.Name);
        var run = Assert.Single(r.Runs);
        Assert.Null(run.Seed);
        // The same search through the baseline directly: the experiment reports it ×100 under the same keys.
        var direct = Bm25Baseline.Run(XmcDataset.Load(r.Dataset.Directory), topK: 100, metricsK: 5);
        Assert.Equal(100 * direct.Metrics.P[0], run.Metrics["P@1"], 10);
        Assert.Equal(100 * direct.Metrics.Psp![4], run.Metrics["PSP@5"], 10);
        var row = Assert.Single(r.Summary.Rows);
        Assert.Equal(("bm25", 1, 0.0), ((string)row[0]!, (int)row[1]!, (double)row[3]!));
        Assert.Empty(r.Summary.Scale!.Seeds);
        Assert.Equal(0, r.Curves.TraceCount);
        Assert.Contains("unknown method 'gpt'",
            Assert.Throws<ArgumentException>(() => TextEncodersExperiment.Run(new TextEncodersConfig { DataRoot = root, AptDir = AptFake, Methods = ["gpt"] })).Message);
    }

    [Fact]
    public void TrainedMethodsRunPerSeedWithCurvesAndAggregate()
    {
        var root = Repo.TempDir("vixml-exp-train");
        var c = new TextEncodersConfig
        {
            Profile = "ci", DataRoot = root, AptDir = AptFake, RunsRoot = Path.Combine(root, "runs"),
            Methods = ["random-batches", "ngame"], Seeds = [1, 2],
            // A tiny encoder on the 15 training queries of the apt fake: seconds, not minutes.
            TrainOverrides = ["optim.epochs=2", "model.hidden=32", "model.intermediate=64", "model.heads=2", "sampler.batch_size=8"],
        };
        var r = TextEncodersExperiment.Run(c);
        Assert.Equal([("random-batches", 1), ("random-batches", 2), ("ngame", 1), ("ngame", 2)],
            r.Runs.Select(x => (x.Method, x.Seed!.Value)));
        foreach (var run in r.Runs)
        {
            // epoch 0 (untrained, no loss yet), 1, 2 from the run's metrics.csv.
            Assert.Equal([0.0, 1.0, 2.0], run.Curve.Select(p => p.Epoch));
            Assert.True(double.IsNaN(run.Curve[0].Loss));
            Assert.All(run.Curve.Skip(1), p => Assert.True(p.Loss > 0 && double.IsFinite(p.Loss)));
            // The last curve point is the final evaluation.
            Assert.Equal(run.Metrics["P@1"], run.Curve[^1].P1, 9);
            Assert.True(File.Exists(Path.Combine(root, "runs", $"{run.Method}-seed{run.Seed}", "run.json")));
        }
        // Different seeds train differently.
        Assert.NotEqual(r.Runs[0].Curve[1].Loss, r.Runs[1].Curve[1].Loss);
        // Summary = mean and sample std of the per-seed values.
        var col = r.Summary.Columns.ToList();
        var ngame = r.Summary.Rows.Single(x => (string)x[0]! == "ngame");
        var (m, sd) = TextEncodersExperiment.MeanStd([r.Runs[2].Metrics["PSP@3"], r.Runs[3].Metrics["PSP@3"]]);
        Assert.Equal(m, (double)ngame[col.IndexOf("PSP@3")]!, 12);
        Assert.Equal(sd, (double)ngame[col.IndexOf("PSP@3 std")]!, 12);
        Assert.Equal([1, 2], r.Summary.Scale!.Seeds);
        // A tweaked schedule never passes for the profile's own: the overrides are named in the scale line.
        Assert.EndsWith("; training overrides: optim.epochs=2, model.hidden=32, model.intermediate=64, model.heads=2, sampler.batch_size=8",
            r.Summary.Scale.Note);
        Assert.Equal("", (c with { TrainOverrides = [] }).OverridesNote());
        Assert.Equal(4, r.Curves.TraceCount);
        Assert.Equal(4, TextEncodersExperiment.P1Curves(r.Runs).TraceCount);
        // A second call redoes the runs in the same folders instead of refusing.
        var again = TextEncodersExperiment.Run(c with { Methods = ["ngame"], Seeds = [1] });
        Assert.Equal(r.Runs[2].Metrics["P@1"], Assert.Single(again.Runs).Metrics["P@1"], 12);
    }

    [Fact]
    public void ConfigsShareTheBaseAndKeepTheirOwnDefaultsUnlessTheNotebookSetsThem()
    {
        ExperimentConfig[] all = [new TextEncodersConfig(), new PretrainedEncodersConfig(), new FusionConfig()];
        Assert.All(all, c => Assert.Equal(("ci", 5, 0.6, 2.6), (c.Profile, c.K, c.PropensityA, c.PropensityB)));
        Assert.Equal(["debian-deps-titles", "debian-deps-titles", "emoji-mm"], all.Select(c => c.Dataset));
        Assert.Equal([1, 2], all[0].Seeds);
        Assert.Equal([1, 2, 3], all[2].Seeds);
        Assert.Equal(TextEncodersExperiment.KnownMethods, all[0].Methods);
        Assert.Equal(PretrainedEncodersExperiment.KnownMethods, all[1].Methods);
        Assert.Equal(FusionExperiment.KnownMethods, all[2].Methods);
        // An initializer (what a notebook's parameters become) wins over the constructor's default; `with` keeps the type.
        var f = new FusionConfig { Dataset = "debian-apps-mm", Seeds = [7], PropensityA = 0.55 };
        Assert.Equal(("debian-apps-mm", 7, 0.55), (f.Dataset, f.Seeds.Single(), f.PropensityA));
        Assert.IsType<FusionConfig>(f with { K = 3 });
        Assert.NotEqual(f, f with { Encoder = "scratch" });
    }
}
