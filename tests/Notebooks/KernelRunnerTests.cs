using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive.Formatting;
using ViXml.Notebooks;
using ViXml.Reporting;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Notebooks;

/// <summary>
/// What running cells in the real .NET Interactive kernel, in its own process, adds: kernel deaths are a cell's error
/// with the notebook kept, output is capped, value sharing and #r "nuget:" work, and the library's formatters are the
/// ones the kernel's own Formatter finds (the same code path VS Code and Jupyter take).
/// </summary>
public class KernelRunnerTests
{
    private static readonly string Cwd = Environment.CurrentDirectory;
    private const string LibRef = "#r \"../tools/vixml/bin/Release/net10.0/ViXml.Lib.dll\"";

    private static string Write(string dir, string name, params string[] cells) =>
        Write(dir, name, cells.Select(c => NotebookCell.NewCode(c)).ToArray());

    private static string Write(string dir, string name, params NotebookCell[] cells)
    {
        var path = Path.Combine(dir, name);
        Notebook.Create(cells).Save(path);
        return path;
    }

    private static NotebookRunResult Run(string path, NotebookRunOptions? o = null) =>
        NotebookRunner.Run(path, (o ?? new NotebookRunOptions()) with { WorkingDirectory = Cwd });

    [Theory]
    [InlineData("stack-overflow", "int Down(int n) => Down(n + 1) + 1;\nDown(0)", "stack overflow")]
    [InlineData("exit", "Console.WriteLine(\"bye\");\nEnvironment.Exit(3);", "exit code 3")]
    [InlineData("raw-thread", "var t = new System.Threading.Thread(() => throw new InvalidOperationException(\"raw thread boom\"));\nt.Start();\nt.Join();",
        "InvalidOperationException: raw thread boom")]
    public void KernelDeathIsThatCellsErrorAndTheNotebookIsWritten(string kind, string code, string expected)
    {
        var dir = Repo.TempDir("vixml-kdeath");
        var path = Write(dir, kind + ".ipynb", "var before = 1;\nConsole.WriteLine(\"ran first\");", code, "Console.WriteLine(\"never\");");
        var output = Path.Combine(dir, kind + ".out.ipynb");
        // Through the CLI: exit code 1, and the message names the cell.
        var stderr = new StringWriter();
        var oldErr = Console.Error;
        int exit;
        try
        {
            Console.SetError(stderr);
            exit = ViXml.Cli.Program.BuildRoot().Parse(["nb", "run", path, "--out", output, "--cwd", Cwd]).Invoke();
        }
        finally { Console.SetError(oldErr); }
        Assert.Equal(1, exit);
        Assert.Contains("cell 1 (In [2]", stderr.ToString());
        Assert.Contains("KernelDied", stderr.ToString());

        var nb = Read(output);
        Assert.Equal("ran first\n", SourceText(Outputs(Cell(nb, 0))[0]["text"]));
        var err = Outputs(Cell(nb, 1)).Single(o => (string?)o["output_type"] == "error");
        Assert.Equal("KernelDied", (string?)err["ename"]);
        Assert.Contains(expected, (string?)err["evalue"]);
        Assert.Equal("failed", (string?)Cell(nb, 1)["metadata"]!["papermill"]!["status"]);
        Assert.Null(Cell(nb, 2)["execution_count"]);
        Assert.True((bool)nb["metadata"]!["papermill"]!["exception"]!);
        AssertValidNbformat(output);
    }

    [Fact]
    public void OutputIsCappedPerCellWithANoteAndTheNextCellStillRuns()
    {
        var dir = Repo.TempDir("vixml-kcap");
        // 20,000 lines of 11 characters = 220,000 characters against a cap of 50,000.
        var path = Write(dir, "cap.ipynb", "for (var i = 0; i < 20_000; i++) Console.WriteLine($\"line {i,5:D5}\");", "Console.WriteLine(\"next\");");
        var r = Run(path, new NotebookRunOptions { OutputCap = 50_000 });
        Assert.True(r.Succeeded, r.Failure?.ToString());
        var outs = Outputs(Cell(Read(r.OutputPath), 0));
        var stdout = string.Concat(outs.Where(o => (string?)o["name"] == "stdout").Select(o => SourceText(o["text"])));
        Assert.Equal(50_000, stdout.Length);
        Assert.StartsWith("line 00000\nline 00001\n", stdout);
        var note = SourceText(outs.Last()["text"]);
        Assert.Contains("truncated at 50,000 characters", note);
        Assert.Contains("170,000 more", note);
        Assert.Equal("next\n", SourceText(Outputs(Cell(Read(r.OutputPath), 1))[0]["text"]));
    }

    [Fact]
    public void CellTimeoutStopsTheKernelAndNamesTheCell()
    {
        var dir = Repo.TempDir("vixml-kto");
        var output = Path.Combine(dir, "slow.ipynb");
        var r = NotebookRunner.Run(Repo.Fixture("notebooks", "slow.ipynb"),
            new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output, CellTimeout = TimeSpan.FromSeconds(8) });
        var f = Assert.IsType<CellFailure>(r.Failure);
        Assert.Equal("TimeoutError", f.EName);
        // Normally the sleeping cell (1); on a badly overloaded machine the kernel's start inside cell 0 may take longer.
        Assert.InRange(f.CellIndex, 0, 1);
        Assert.Contains("cell timeout of 8 s", f.EValue);
        Assert.True(r.Duration < TimeSpan.FromSeconds(24), $"took {r.Duration} (the sleeping cell alone takes 25 s)");
        Assert.Null(Cell(Read(output), 2)["execution_count"]);
    }

    [Fact]
    public void ValueKernelMagicsAndNugetReferencesWorkAsInPolyglot()
    {
        var dir = Repo.TempDir("vixml-kmagic");
        var value = NotebookCell.NewCode("#!value --name greeting\nhello from the value kernel");
        value.Metadata["polyglot_notebook"] = new JsonObject { ["kernelName"] = "value" };
        var path = Write(dir, "magic.ipynb",
            value,
            NotebookCell.NewCode("#!set --name g --value @value:greeting\ng.ToUpperInvariant()"),
            // Humanizer.Core is in the local package cache (a dependency of the kernel), so this restore is quick.
            NotebookCell.NewCode("#r \"nuget: Humanizer.Core, 2.14.1\"\nusing Humanizer;\n\"some_snake_case\".Humanize()"),
            NotebookCell.NewCode("#!csharp\nvar answer = 6 * 7;\nanswer"));
        var r = Run(path);
        Assert.True(r.Succeeded, r.Failure?.ToString());
        var nb = Read(r.OutputPath);
        string Result(int i) => SourceText(Outputs(Cell(nb, i)).Single(o => (string?)o["output_type"] == "execute_result")["data"]!["text/plain"]);
        Assert.Equal("HELLO FROM THE VALUE KERNEL", Result(1));
        Assert.Equal("some snake case", Result(2));
        Assert.Equal("42", Result(3));
        // The nuget progress display is updated in place (update_display_data), not appended once per tick.
        Assert.Single(Outputs(Cell(nb, 2)), o => (string?)o["output_type"] == "display_data");
        AssertValidNbformat(r.OutputPath);
    }

    [Fact]
    public void FiguresCarryLocalPlotlyJsOncePerKernelSessionAndTablesTheirHtml()
    {
        var dir = Repo.TempDir("vixml-kfmt");
        var fakePlotly = Path.Combine(dir, "plotly.min.js");
        File.WriteAllText(fakePlotly, "/* local plotly stand-in */ window.Plotly = { newPlot: function () {} };");
        var fig = "new Figure(\"f\").Line(\"a\", new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 })";
        var path = Write(dir, "fmt.ipynb",
            LibRef + "\nusing ViXml.Reporting;\ndisplay(" + fig + ");",
            "display(" + fig + ");",
            "new ResultTable(\"T\", new[] { \"m\", \"P@1\" }).AddRow(\"x\", 0.5)");
        var r = Run(path, new NotebookRunOptions { KernelEnvironment = new Dictionary<string, string> { ["VIXML_PLOTLY_JS"] = fakePlotly } });
        Assert.True(r.Succeeded, r.Failure?.ToString());
        var nb = Read(r.OutputPath);
        var first = (JsonObject)Outputs(Cell(nb, 0)).Single()["data"]!;
        Assert.Equal([MimeTypes.Plotly, MimeTypes.Html, MimeTypes.Plain], first.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(1.0, (double)first[MimeTypes.Plotly]!["data"]![0]!["x"]![0]!);
        var html1 = SourceText(first[MimeTypes.Html]);
        Assert.Contains("local plotly stand-in", html1);
        Assert.DoesNotContain("cdn", html1, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script src", html1);
        var html2 = SourceText(Outputs(Cell(nb, 1)).Single()["data"]![MimeTypes.Html]);
        Assert.DoesNotContain("local plotly stand-in", html2);
        Assert.Contains("Plotly.newPlot", html2);
        var table = (JsonObject)Outputs(Cell(nb, 2)).Single()["data"]!;
        Assert.Contains("<caption>T</caption>", SourceText(table[MimeTypes.Html]));
        Assert.Contains("x  0.5", SourceText(table[MimeTypes.Plain]));
        AssertValidNbformat(r.OutputPath);
    }

    [Fact]
    public void TheKernelsOwnFormatterFindsTheLibrarysFormattersByConvention()
    {
        // Microsoft.DotNet.Interactive.Formatting in-process, exactly as a kernel that #r's the library uses it.
        var fig = new Figure("conv").Bar("b", ["x", "y"], [1.0, 2.0]);
        Assert.Equal(fig.ToJsonString(), fig.ToDisplayString(MimeTypes.Plotly));
        Assert.Contains("Plotly.newPlot", fig.ToDisplayString(MimeTypes.Html));
        Assert.Equal([MimeTypes.Plotly, MimeTypes.Html, MimeTypes.Plain], Formatter.GetPreferredMimeTypesFor(typeof(Figure)));
        var table = new ResultTable("conv", ["a"]).AddRow(1);
        Assert.Equal(table.ToHtml(), table.ToDisplayString(MimeTypes.Html));
        Assert.Equal(table.ToText(), table.ToDisplayString(MimeTypes.Plain));
    }

    [Fact]
    public void TheNotebooksReferenceTheCliBuildFolderWhichHoldsTheLibraryAndItsDependencies()
    {
        foreach (var nbPath in Directory.GetFiles(Repo.Path_("notebooks"), "*.ipynb"))
        {
            var refs = Notebook.Load(nbPath).Cells.SelectMany(c => c.Source.Split('\n'))
                .Where(l => l.TrimStart().StartsWith("#r \"", StringComparison.Ordinal)).ToList();
            var lib = Assert.Single(refs);
            Assert.Equal("#r \"../tools/vixml/bin/Release/net10.0/ViXml.Lib.dll\"", lib.Trim());
        }
        var folder = Repo.Path_("tools", "vixml", "bin", "Release", "net10.0");
        // What ViXml.Lib loads at run time must sit beside it: a kernel resolves dependencies from the #r'd folder.
        var shared = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        foreach (var dep in typeof(Figure).Assembly.GetReferencedAssemblies()
                     .Where(a => a.Name is not null && !File.Exists(Path.Combine(shared, a.Name + ".dll"))))
            Assert.True(File.Exists(Path.Combine(folder, dep.Name + ".dll")), $"{dep.Name}.dll missing in {folder}");
    }

    [Fact]
    public void InjectWritesACopyWithTheParametersCellAndAbsoluteReferences()
    {
        var dir = Repo.TempDir("vixml-kinject");
        var copy = Path.Combine(dir, "sub", "00-datasets.ipynb");
        var source = Repo.Path_("notebooks", "00-datasets.ipynb");
        Assert.Equal(0, ViXml.Cli.Program.BuildRoot().Parse(["nb", "inject", source, "-p", "profile=cpu", "--out", copy]).Invoke());
        var nb = Notebook.Load(copy);
        var original = Notebook.Load(source);
        Assert.Equal(original.Cells.Count + 1, nb.Cells.Count);
        var at = nb.Cells.FindIndex(c => c.HasTag(NotebookParameters.InjectedTag));
        Assert.True(nb.Cells[at - 1].HasTag(NotebookParameters.ParametersTag));
        Assert.Equal("// Parameters injected by vixml nb run\nstring profile = \"cpu\";", nb.Cells[at].Source);
        var lib = nb.Cells.SelectMany(c => c.Source.Split('\n')).Single(l => l.StartsWith("#r ", StringComparison.Ordinal));
        Assert.Equal($"#r \"{Repo.Path_("tools", "vixml", "bin", "Release", "net10.0", "ViXml.Lib.dll")}\"", lib);
        AssertValidNbformat(copy);
        // Errors are the same as nb run's: an unknown parameter is a usage error and nothing is written.
        var bad = Path.Combine(dir, "bad.ipynb");
        Assert.Equal(2, ViXml.Cli.Program.BuildRoot().Parse(["nb", "inject", source, "-p", "profil=cpu", "--out", bad]).Invoke());
        Assert.False(File.Exists(bad));
    }

    [Fact]
    public void NotebookSourceThatIsNotTextIsRefusedNamingTheCell()
    {
        var dir = Repo.TempDir("vixml-kbad");
        var path = Path.Combine(dir, "num.ipynb");
        File.WriteAllText(path, """
            {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "ok"},
                       {"cell_type": "code", "metadata": {}, "outputs": [], "source": 42}],
             "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """);
        var e = Assert.Throws<NotebookFormatException>(() => Notebook.Load(path));
        Assert.Contains("num.ipynb: cell 1 (code): \"source\" is a number (42)", e.Message);
        File.WriteAllText(path, """{"cells": [{"cell_type": "code", "metadata": {}, "source": ["a\n", null]}], "metadata": {}, "nbformat": 4}""");
        Assert.Contains("cell 0 (code): \"source\" item 1 is null", Assert.Throws<NotebookFormatException>(() => Notebook.Load(path)).Message);
        File.WriteAllText(path, """{"cells": [{"cell_type": "code", "metadata": [], "source": ""}], "metadata": {}, "nbformat": 4}""");
        Assert.Contains("\"metadata\" is a list", Assert.Throws<NotebookFormatException>(() => Notebook.Load(path)).Message);
        // The CLI: usage error (2), nothing written.
        var output = Path.Combine(dir, "never.ipynb");
        Assert.Equal(2, ViXml.Cli.Program.BuildRoot().Parse(["nb", "run", path, "--out", output]).Invoke());
        Assert.False(File.Exists(output));
    }
}
