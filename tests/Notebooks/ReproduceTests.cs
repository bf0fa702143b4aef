using System.Text.Json.Nodes;
using ViXml.Notebooks;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Notebooks;

public class ReproduceTests
{
    private sealed class RecordingGenerator : IPaperTableGenerator
    {
        public List<PaperTableContext> Calls { get; } = [];
        public string Name => "test-table";

        public IReadOnlyList<string> Generate(PaperTableContext context)
        {
            Calls.Add(context);
            // Reads what the notebook saved, as a real generator would.
            var csv = File.ReadAllText(Path.Combine(context.ResultsDirectory, "scores.csv"));
            var path = Path.Combine(context.PaperTablesDirectory, "test-table.md");
            File.WriteAllText(path, csv);
            return [path];
        }
    }

    private static (string Nbs, string Root) Layout(params string[] notebooks)
    {
        var root = Repo.TempDir("vixml-repro");
        var nbs = Path.Combine(root, "notebooks");
        Directory.CreateDirectory(nbs);
        foreach (var n in notebooks) File.Copy(Repo.Fixture("notebooks", "reproduce", n), Path.Combine(nbs, n));
        // Not numbered or already executed: must be ignored.
        File.WriteAllText(Path.Combine(nbs, "scratch.ipynb"), "not a notebook");
        File.WriteAllText(Path.Combine(nbs, "01-table.out.ipynb"), "not a notebook");
        return (nbs, root);
    }

    private static ReproduceOptions Options(string nbs, string root, IPaperTableGenerator gen) => new()
    {
        Profile = "ci",
        NotebooksDirectory = nbs,
        ResultsRoot = Path.Combine(root, "results"),
        PaperTablesDirectory = Path.Combine(root, "paper-tables"),
        Generators = [gen],
        // Keep the process's current directory: other test classes run in parallel.
        WorkingDirectory = Environment.CurrentDirectory,
    };

    [Fact]
    public void RunsNumberedNotebooksInOrderIntoResultsProfileThenThePaperTableHook()
    {
        var (nbs, root) = Layout("01-table.ipynb", "03-after.ipynb");
        var gen = new RecordingGenerator();
        var r = Reproduce.Run(Options(nbs, root, gen));
        Assert.True(r.Succeeded, r.Failure);
        var results = Path.Combine(root, "results", "ci");
        Assert.Equal(["01-table.ipynb", "03-after.ipynb"], r.Steps.Select(s => Path.GetFileName(s.Notebook)));
        // profile=ci was injected (the notebooks default to "paper") and results landed in results/ci/.
        Assert.Equal("method,P@1,scale_dataset,scale_profile,scale_seeds,scale_note\nBM25,0.25,tiny,ci,7,\nNGAME,0.5,tiny,ci,7,\n",
            File.ReadAllText(Path.Combine(results, "scores.csv")));
        Assert.Equal("ran with ci", File.ReadAllText(Path.Combine(results, "after.txt")));
        AssertValidNbformat(Path.Combine(results, "01-table.ipynb"));
        var call = Assert.Single(gen.Calls);
        Assert.Equal(("ci", results), (call.Profile, call.ResultsDirectory));
        Assert.Equal([Path.Combine(root, "paper-tables", "test-table.md")], r.PaperTables);
        var summary = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(results, "reproduce.json")))!;
        Assert.True((bool)summary["succeeded"]!);
        Assert.Equal(2, ((JsonArray)summary["notebooks"]!).Count);
        // Each notebook's entry lists the files it wrote: what the site shows and the paper tables read (nothing stale).
        var listed = ((JsonArray)summary["notebooks"]!).Select(n => ((JsonArray)n!["results"]!).Select(f => (string)f!).ToList()).ToList();
        Assert.Equal(["scores.csv", "scores.html", "scores.md", "scores.parquet"], listed[0]);
        Assert.Equal(["after.txt"], listed[1]);
        Assert.Equal(["after.txt", "scores.csv", "scores.html", "scores.md", "scores.parquet"], call.RunFiles!.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void FilesOfAnOlderRunAreNotListedAsThisRunsAndNotFedToThePaperTables()
    {
        var (nbs, root) = Layout("01-table.ipynb");
        var results = Path.Combine(root, "results", "ci");
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(results, "old-scores.csv"), "method,P@1\nBM25,0.99\n");
        File.WriteAllText(Path.Combine(results, "07-old.ipynb"), "{}");
        var gen = new RecordingGenerator();
        var r = Reproduce.Run(Options(nbs, root, gen));
        Assert.True(r.Succeeded, r.Failure);
        var ctx = Assert.Single(gen.Calls);
        Assert.Null(ctx.ResultPath("old-scores.csv"));
        Assert.Equal(["old-scores.csv"], ctx.StaleIgnored);
        Assert.Equal(Path.Combine(results, "scores.csv"), ctx.ResultPath("scores.csv"));
        var step = Assert.Single(r.Steps);
        Assert.DoesNotContain("old-scores.csv", step.Results);
        Assert.DoesNotContain("07-old.ipynb", step.Results);
    }

    [Fact]
    public void WrittenIsWhatIsNewOrChangedBetweenTwoSnapshots()
    {
        var dir = Repo.TempDir("vixml-snap");
        File.WriteAllText(Path.Combine(dir, "same.csv"), "a");
        File.WriteAllText(Path.Combine(dir, "rewritten.csv"), "a");
        var before = Reproduce.Snapshot(dir);
        File.WriteAllText(Path.Combine(dir, "new.csv"), "b");
        File.SetLastWriteTimeUtc(Path.Combine(dir, "rewritten.csv"), DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(["new.csv", "rewritten.csv"], Reproduce.Written(before, Reproduce.Snapshot(dir)));
    }

    [Fact]
    public void StopsAtTheFirstFailingNotebookAndSkipsTheRest()
    {
        var (nbs, root) = Layout("01-table.ipynb", "02-fails.ipynb", "03-after.ipynb");
        var gen = new RecordingGenerator();
        var r = Reproduce.Run(Options(nbs, root, gen));
        Assert.False(r.Succeeded);
        Assert.Contains("02-fails.ipynb", r.Failure);
        Assert.Contains("profile ci is not ready", r.Failure);
        Assert.Equal(2, r.Steps.Count);
        var results = Path.Combine(root, "results", "ci");
        Assert.False(File.Exists(Path.Combine(results, "03-after.ipynb")));
        Assert.False(File.Exists(Path.Combine(results, "after.txt")));
        Assert.Empty(gen.Calls);
        // The failing notebook is still written, with its error.
        var failed = Read(Path.Combine(results, "02-fails.ipynb"));
        Assert.Contains(Outputs(Cell(failed, 2)), o => (string?)o["ename"] == "System.ArgumentException");
        Assert.False((bool)JsonNode.Parse(File.ReadAllText(Path.Combine(results, "reproduce.json")))!["succeeded"]!);

        Assert.Throws<ArgumentException>(() => Reproduce.Run(Options(nbs, root, gen) with { Profile = "gpu" }));
    }
}
