using System.Globalization;
using ViXml.Experiments;
using ViXml.Notebooks;
using ViXml.Reporting;
using ViXml.Tests.Fusion;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;

namespace ViXml.Tests.Experiments;

/// <summary>
/// The profiles every notebook takes (smoke, ci, cpu, paper), the schedules each experiment gives them, and the smoke
/// subset (checked against the source files read independently, line by line).
/// </summary>
public class ProfileScheduleTests
{
    private static string AptFake => Repo.Fixture("apt-fake");

    [Fact]
    public void EveryPlaceThatListsProfilesKnowsSmoke()
    {
        Assert.Equal(["smoke", "ci", "cpu", "paper"], ExperimentProfile.Names);
        Assert.Equal(ExperimentProfile.Names, Reproduce.Profiles);
        Assert.Equal("small", ExperimentProfile.EmbeddedSize("smoke"));
        Assert.Equal("small", ExperimentProfile.EmbeddedSize("ci"));
        Assert.Equal("/d/debian-deps-small", DatasetResolver.Resolve("smoke", "debian-deps", "/d", null).Directory);
        Assert.True(ExperimentProfile.IsSmall("smoke") && ExperimentProfile.IsSmall("ci") && !ExperimentProfile.IsSmall("cpu"));
        // Smoke paper tables never go over the committed ones.
        Assert.Equal(Path.Combine("/r", "results", "smoke", "paper-tables"), Reproduce.DefaultPaperTablesDirectory("/r", Path.Combine("/r", "results"), "smoke"));
        Assert.Equal(Path.Combine("/r", "paper-tables"), Reproduce.DefaultPaperTablesDirectory("/r", Path.Combine("/r", "results"), "ci"));
        // The notebooks' own parameters cell defaults stay "ci"; the runner injects the others (checked in NotebookSmokeTests).
        foreach (var nb in Reproduce.FindNotebooks(Repo.Path_("notebooks")))
            Assert.Contains("smoke", File.ReadAllText(nb));
    }

    private static Dictionary<string, string> Keys(IEnumerable<string> overrides) =>
        overrides.Select(o => o.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void SmokeSchedulesAreOneEpochAndOneSeedInEveryExperiment()
    {
        foreach (var o in new[] { TextEncodersConfig.ProfileOverrides("smoke"), PretrainedEncodersConfig.ProfileOverrides("smoke"),
                     FusionConfig.ProfileOverrides("smoke", "minilm-l6"), FusionConfig.ProfileOverrides("smoke", "scratch") })
        {
            var k = Keys(o);
            Assert.Equal("1", k["optim.epochs"]);
            Assert.Equal("false", k["run.save_model"]);
            Assert.False(k.ContainsKey("data.max_train"), "smoke cuts its data by the subset, not by max_train");
        }
        Assert.Equal([1], TextEncodersConfig.DefaultSeeds("smoke"));
        Assert.Equal([1], PretrainedEncodersConfig.DefaultSeeds("smoke"));
        Assert.Equal([1], FusionConfig.DefaultSeeds("smoke"));
        Assert.Equal(["minilm-l6"], PretrainedEncodersConfig.DefaultModels("smoke"));
        Assert.Equal(PretrainedEncodersConfig.DefaultMethods("ci"), PretrainedEncodersConfig.DefaultMethods("smoke"));
        Assert.Equal("img", FusionConfig.DefaultBank("smoke"));
        Assert.Equal((200, 100), (ExperimentProfile.SmokeTrainQueries, ExperimentProfile.SmokeTestQueries));
    }

    [Fact]
    public void CiSchedulesAreTheShortenedOnes()
    {
        // 01: 2 epochs on 1,000 queries (16 steps), seeds 1-2.
        var te = Keys(TextEncodersConfig.ProfileOverrides("ci"));
        Assert.Equal(("2", "1000", "128"), (te["optim.epochs"], te["data.max_train"], te["sampler.batch_size"]));
        Assert.Equal([1, 2], TextEncodersConfig.DefaultSeeds("ci"));
        // 02: one epoch on 512 queries (4 steps of 128), NGAME clusters before the first step, one seed.
        var pe = Keys(PretrainedEncodersConfig.ProfileOverrides("ci"));
        Assert.Equal(("1", "512", "128", "0"), (pe["optim.epochs"], pe["data.max_train"], pe["sampler.batch_size"], pe["sampler.ngame.cl_start"]));
        Assert.Equal([1], PretrainedEncodersConfig.DefaultSeeds("ci"));
        // 03: MiniLM one epoch on 768 items (6 steps), scratch 15 epochs, the pixel-feature bank, one seed; cpu keeps ResNet18.
        var fu = Keys(FusionConfig.ProfileOverrides("ci", "minilm-l6"));
        Assert.Equal(("1", "768", "0"), (fu["optim.epochs"], fu["data.max_train"], fu["sampler.ngame.cl_start"]));
        Assert.Equal("15", Keys(FusionConfig.ProfileOverrides("ci", "scratch"))["optim.epochs"]);
        Assert.Equal(("img", "resnet18"), (FusionConfig.DefaultBank("ci"), FusionConfig.DefaultBank("cpu")));
        Assert.Equal([1], FusionConfig.DefaultSeeds("ci"));
        Assert.Equal([1, 2, 3], FusionConfig.DefaultSeeds("cpu"));
        // The scale line names the schedule (run.* bookkeeping left out).
        Assert.Equal("; schedule: configs/minilm-l6.yaml + optim.epochs=1, data.max_train=512",
            ExperimentConfig.ScheduleNote("configs/minilm-l6.yaml", ["optim.epochs=1", "run.save_model=false", "data.max_train=512"]));
        Assert.Equal("; schedule: x.yaml as written", ExperimentConfig.ScheduleNote("x.yaml", ["run.save_model=false"]));
        Assert.Equal("", ExperimentConfig.ScheduleNote("x.yaml", ["optim.epochs=1"], trained: false));
    }

    /// <summary>Rows of an XC label file as lists of column numbers, parsed here without the library's reader.</summary>
    private static List<int[]> Rows(string path) => File.ReadAllLines(path).Skip(1)
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p[..p.IndexOf(':')], CultureInfo.InvariantCulture)).ToArray())
        .ToList();

    [Fact]
    public void SubsetKeepsTheFirstRowsAndExactlyTheirLabelsWithTheSameTexts()
    {
        var root = Repo.TempDir("vixml-subset");
        var src = DatasetResolver.Resolve("smoke", "debian-deps-titles", root, null);
        DatasetResolver.EnsureBuilt(src, AptFake);
        var info = DatasetSubset.Write(src.Directory, Path.Combine(root, "sub"), 5, 1);
        var lbl = File.ReadAllLines(Path.Combine(src.Directory, "lbl.raw.txt"));
        var subLbl = File.ReadAllLines(Path.Combine(info.Directory, "lbl.raw.txt"));
        var trn = Rows(Path.Combine(src.Directory, "trn_X_Y.txt"));
        var tst = Rows(Path.Combine(src.Directory, "tst_X_Y.txt"));
        var subTrn = Rows(Path.Combine(info.Directory, "trn_X_Y.txt"));
        var subTst = Rows(Path.Combine(info.Directory, "tst_X_Y.txt"));
        // The apt fake: 15 training and 1 test query (tests/fixtures/apt-fake/README.md).
        Assert.Equal((5, 1, 15, 1), (subTrn.Count, subTst.Count, info.SourceTrainQueries, info.SourceTestQueries));
        var expectedLabels = trn.Take(5).Concat(tst.Take(1)).SelectMany(r => r).Distinct().Order().Select(c => lbl[c]).ToList();
        Assert.Equal(expectedLabels, subLbl);          // the labels those rows use, in their original order
        Assert.Equal(expectedLabels.Count, info.Labels);
        Assert.Equal($"{subTrn.Count} {subLbl.Length}", File.ReadLines(Path.Combine(info.Directory, "trn_X_Y.txt")).First());
        for (int r = 0; r < 5; r++)                      // each row names the same label texts
            Assert.Equal(trn[r].Select(c => lbl[c]).Order(), subTrn[r].Select(c => subLbl[c]).Order());
        Assert.Equal(tst[0].Select(c => lbl[c]).Order(), subTst[0].Select(c => subLbl[c]).Order());
        Assert.Equal(File.ReadAllLines(Path.Combine(src.Directory, "trn.raw.txt")).Take(5), File.ReadAllLines(Path.Combine(info.Directory, "trn.raw.txt")));
        // The library loads it, and the filter pairs survived renumbering (each names the same label text).
        var data = XmcDataset.Load(info.Directory);
        Assert.Equal((5, 1), (data.TrainTexts.Length, data.TestTexts.Length));
        var srcFilter = FilterPairs.Read(Path.Combine(src.Directory, "filter_labels_test.txt"));
        var subFilter = FilterPairs.Read(Path.Combine(info.Directory, "filter_labels_test.txt"));
        Assert.Equal(srcFilter.Pairs.Where(p => p.Row == 0 && expectedLabels.Contains(lbl[p.Col])).Select(p => lbl[p.Col]).Order(),
            subFilter.Pairs.Select(p => subLbl[p.Col]).Order());
        Assert.Contains("smoke subset of debian-deps-titles-small: first 5 of 15 training and 1 of 1 test queries", info.Note);
        // Rewritten in place on the next run (no half-written folder left beside it).
        DatasetSubset.Write(src.Directory, Path.Combine(root, "sub"), 3, 1);
        Assert.Equal(3, Rows(Path.Combine(info.Directory, "trn_X_Y.txt")).Count);
        Assert.DoesNotContain(Directory.GetDirectories(root), d => Path.GetFileName(d).Contains(".tmp-"));
        Assert.Throws<ArgumentException>(() => DatasetSubset.Write(src.Directory, Path.Combine(root, "x"), 0, 1));
    }

    [Fact]
    public void SubsetCutsTheImageMapsRowByRowAndKeepsTheBankLoadable()
    {
        var dir = Repo.TempDir("vixml-subset-img");
        var src = FusionTrainerTests.WriteData(Path.Combine(dir, "data"), 40, 10);
        var info = DatasetSubset.Write(src, Path.Combine(dir, "sub"), 7, 3);
        var a = ImageBanks.Load(src, "img");
        var b = ImageBanks.Load(info.Directory, "img");   // manifest checksums hold: the bank file is the same
        Assert.Equal(a.Bank.NumImages, b.Bank.NumImages);
        Assert.Equal((7, 3, info.Labels), (b.Maps["trn"].Items, b.Maps["tst"].Items, b.Maps["lbl"].Items));
        for (int i = 0; i < 7; i++) Assert.Equal(a.Maps["trn"].ImagesOf(i), b.Maps["trn"].ImagesOf(i));
        for (int i = 0; i < 3; i++) Assert.Equal(a.Maps["tst"].ImagesOf(i), b.Maps["tst"].ImagesOf(i));
        // Label rows follow the kept labels: the same text, the same images.
        var lbl = File.ReadAllLines(Path.Combine(src, "lbl.raw.txt")).ToList();
        var subLbl = File.ReadAllLines(Path.Combine(info.Directory, "lbl.raw.txt"));
        Assert.Equal(lbl.Distinct().Count(), lbl.Count);
        for (int j = 0; j < subLbl.Length; j++)
            Assert.Equal(a.Maps["lbl"].ImagesOf(lbl.IndexOf(subLbl[j])), b.Maps["lbl"].ImagesOf(j));
    }

    [Fact]
    public void SmokeRunOfNotebook01SaysItRanOnTheSubset()
    {
        var root = Repo.TempDir("vixml-smoke-te");
        var r = TextEncodersExperiment.Run(new TextEncodersConfig
        {
            Profile = "smoke", DataRoot = root, AptDir = AptFake, RunsRoot = Path.Combine(root, "runs"), Methods = ["bm25"],
        });
        Assert.Equal("debian-deps-titles-small-smoke", r.Dataset.Name);
        Assert.StartsWith(Path.Combine(root, "runs", "data"), r.Dataset.Directory);
        Assert.Equal("smoke", r.Summary.Scale!.Profile);
        Assert.Contains("; smoke subset of debian-deps-titles-small: first 15 of 15 training and 1 of 1 test queries", r.Summary.Scale.Note);
        Assert.DoesNotContain("schedule", r.Summary.Scale.Note);   // nothing was trained
    }
}
