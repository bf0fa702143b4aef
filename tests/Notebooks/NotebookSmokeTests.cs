using System.Diagnostics;
using ViXml.Notebooks;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Notebooks;

/// <summary>
/// The project's real notebooks (notebooks/00-datasets.ipynb, 01-text-encoders.ipynb) run headless on the committed
/// apt fake (tests/fixtures/apt-fake): executed notebooks validate with Debian's nbformat, carry no error output, and
/// save the tables/charts the paper tables and tools/reproduce-check.sh expect.
/// </summary>
public class NotebookSmokeTests
{
    private static string AptFake => Repo.Fixture("apt-fake");

    private static void AssertNoErrorOutputs(string path)
    {
        var nb = Read(path);
        foreach (var cell in Cells(nb).Select(c => (System.Text.Json.Nodes.JsonObject)c!).Where(c => (string?)c["cell_type"] == "code"))
        {
            Assert.NotNull(cell["execution_count"]);
            Assert.DoesNotContain(Outputs(cell), o => (string?)o["output_type"] == "error");
        }
    }

    private static void AssertNonEmpty(string path)
    {
        Assert.True(File.Exists(path), $"missing {path}");
        Assert.True(new FileInfo(path).Length > 0, $"empty {path}");
    }

    [Fact]
    public void DatasetsNotebookRunsOnTheAptFakeWithInjectedParameters()
    {
        var tmp = Repo.TempDir("vixml-nb00");
        var outDir = Path.Combine(tmp, "results");
        var output = Path.Combine(outDir, "00-datasets.ipynb");
        var r = NotebookRunner.Run(Repo.Path_("notebooks", "00-datasets.ipynb"), new NotebookRunOptions
        {
            Parameters = [new("profile", "ci"), new("data_root", Path.Combine(tmp, "data")), new("apt_dir", AptFake)],
            OutputPath = output,
            ResultsDirectory = outDir,
        });
        Assert.True(r.Succeeded, r.Failure?.ToString());
        AssertValidNbformat(output);
        AssertNoErrorOutputs(output);
        var injected = Cells(Read(output)).Select(c => (System.Text.Json.Nodes.JsonObject)c!)
            .Single(c => c["metadata"]?["tags"]?.AsArray().Any(t => (string?)t == "injected-parameters") == true);
        Assert.Contains(Path.Combine(tmp, "data").Replace("\\", "\\\\"), Source(injected));
        // The datasets were built from the fake into the injected data_root (not the repository's data/).
        Assert.True(File.Exists(Path.Combine(tmp, "data", "debian-deps-titles-small", "manifest.json")));
        // Hand-counted in tests/fixtures/apt-fake/README.md: 15 train / 1 test deps queries, 17 labels; apps 4 / 2 / 7.
        var csv = ResultCsv.TryRead(Path.Combine(outDir, "datasets-statistics.csv"))!;
        Assert.Equal(["15", "1", "17", "100"], new[] { "train points", "test points", "labels", "zero-shot share %" }
            .Select(c => csv.Row("dataset", "debian-deps-titles-small")![c]));
        Assert.Equal(["4", "2", "7"], new[] { "train points", "test points", "labels" }
            .Select(c => csv.Row("dataset", "debian-apps-mm-small")![c]));
        foreach (var stem in new[] { "datasets-statistics", "datasets-label-frequency" })
            foreach (var ext in new[] { ".csv", ".md", ".html" })
                AssertNonEmpty(Path.Combine(outDir, stem + ext));
        foreach (var stem in new[] { "datasets-long-tail", "datasets-rank-frequency", "datasets-zero-shot" })
            foreach (var ext in new[] { ".html", ".plotly.json" })
                AssertNonEmpty(Path.Combine(outDir, stem + ext));
    }

    /// <summary>Replaces a parameter default in a notebook copy, failing if the notebook no longer declares it so.</summary>
    private static string SetDefault(string text, string declaration, string value)
    {
        var escaped = declaration.Replace("\"", "\\\"");
        Assert.Contains(escaped, text);
        var eq = declaration.IndexOf('=');
        return text.Replace(escaped, (declaration[..(eq + 1)] + " " + value).Replace("\\", "\\\\").Replace("\"", "\\\""));
    }

    [Fact]
    public void ReproduceInjectsTheProfileIntoBothNotebooksAndRegeneratesPaperTables()
    {
        var tmp = Repo.TempDir("vixml-repro-real");
        var nbs = Path.Combine(tmp, "notebooks");
        Directory.CreateDirectory(nbs);
        foreach (var name in new[] { "00-datasets.ipynb", "01-text-encoders.ipynb" })
        {
            var text = File.ReadAllText(Repo.Path_("notebooks", name));
            // Defaults in the copies say cpu: only reproduce's injected profile can make the runs use the small builds.
            text = SetDefault(text, "string profile = \"ci\";", "\"cpu\";");
            text = SetDefault(text, "string data_root = \"\";", $"@\"{Path.Combine(tmp, "data")}\";");
            text = SetDefault(text, "string apt_dir = \"\";", $"@\"{AptFake}\";");
            // The copy lives elsewhere: point its #r at the library this test runs with (the runner maps it to its own copy).
            Assert.Contains("#r \\\"../tools/vixml/bin/Release/net10.0/ViXml.Lib.dll\\\"", text);
            text = text.Replace("#r \\\"../tools/vixml/bin/Release/net10.0/ViXml.Lib.dll\\\"",
                $"#r \\\"{typeof(PaperTablesGenerator).Assembly.Location}\\\"");
            // Training is tested in ExperimentsTests; here BM25 keeps the notebook quick.
            if (name.StartsWith("01")) text = SetDefault(text, "string methods = \"all\";", "\"bm25\";");
            File.WriteAllText(Path.Combine(nbs, name), text);
        }
        var tables = Path.Combine(tmp, "paper-tables");
        Directory.CreateDirectory(tables);
        File.Copy(Repo.Path_("paper-tables", "paper-numbers.json"), Path.Combine(tables, "paper-numbers.json"));
        var r = Reproduce.Run(new ReproduceOptions
        {
            Profile = "ci",
            NotebooksDirectory = nbs,
            ResultsRoot = Path.Combine(tmp, "results"),
            PaperTablesDirectory = tables,
            Generators = [new PaperTablesGenerator()],
        });
        Assert.True(r.Succeeded, r.Failure);
        var results = Path.Combine(tmp, "results", "ci");
        foreach (var name in new[] { "00-datasets.ipynb", "01-text-encoders.ipynb" })
        {
            AssertValidNbformat(Path.Combine(results, name));
            AssertNoErrorOutputs(Path.Combine(results, name));
        }
        // ci injected over the cpu defaults: small builds, scale_profile ci.
        Assert.True(Directory.Exists(Path.Combine(tmp, "data", "debian-deps-titles-small")));
        Assert.False(Directory.Exists(Path.Combine(tmp, "data", "debian-deps-titles-full")));
        var enc = ResultCsv.TryRead(Path.Combine(results, "text-encoders.csv"))!;
        var bm25 = enc.Row("method", "bm25")!;
        Assert.Equal(("ci", "debian-deps-titles-small"), (bm25["scale_profile"], bm25["scale_dataset"]));
        // The paper tables were regenerated from these CSVs: ours = the CSV's number (two decimals), Δ withheld.
        Assert.Equal(["datasets.md", "text-encoders.md", "prompts.md", "scaling.md", "claims.md"], r.PaperTables.Select(Path.GetFileName));
        var md = File.ReadAllText(Path.Combine(tables, "text-encoders.md"));
        var p1 = double.Parse(bm25["P@1"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"| BM25 (lexical baseline), P@1 | not transcribed | {p1.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} |", md);
        var datasetsMd = File.ReadAllText(Path.Combine(tables, "datasets.md"));
        Assert.Contains("| 131,073 | 17 | n/a (different dataset) |", datasetsMd);
        Assert.Contains("| 294,805 | 15 | n/a (different dataset) |", datasetsMd);
        // And the CI checker accepts the whole output.
        var (code, stdout) = Checker(results, nbs, tables);
        Assert.True(code == 0, stdout);
        Assert.Contains("reproduce-check: OK", stdout);
        // ...and rejects it once an output is missing.
        File.Delete(Path.Combine(results, "text-encoders.html"));
        (code, stdout) = Checker(results, nbs, tables);
        Assert.Equal(1, code);
        Assert.Contains("missing: " + Path.Combine(results, "text-encoders.html"), stdout);
    }

    private static (int Code, string Out) Checker(string results, string nbs, string tables)
    {
        var (nbCode, _, nbErr) = Python("import nbformat");
        if (nbCode != 0) Assert.Skip($"Debian's python3-nbformat is not available: {nbErr}");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Repo.Path_("tools", "reproduce-check.sh"), "--profile", "ci", "--results", results,
                     "--notebooks", nbs, "--paper-tables", tables })
            psi.ArgumentList.Add(a);
        // Charts are checked for PNGs only when chromium exists; the test environment decides, the checker follows.
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }
}
