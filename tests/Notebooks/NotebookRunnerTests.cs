using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ViXml.Notebooks;
using ViXml.Tests.TestSupport;
using static ViXml.Tests.Notebooks.NbSupport;

namespace ViXml.Tests.Notebooks;

public class NotebookRunnerTests
{
    private static string Fixture(string name) => Repo.Fixture("notebooks", name);

    // The kernel process would otherwise start in the notebook's folder (Jupyter's behaviour); --cwd overrides it.
    private static readonly string Cwd = Environment.CurrentDirectory;

    [Fact]
    public void BasicNotebookCarriesStateCapturesStreamsAndInjectsTypedParameters()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "basic.out.ipynb");
        var result = NotebookRunner.Run(Fixture("basic.ipynb"), new NotebookRunOptions
        {
            WorkingDirectory = Cwd,
            OutputPath = output,
            Parameters =
            [
                new("profile", "cpu"), new("seeds", "5"), new("lr", "1e-4"), new("fast", "false"), new("steps", "7"),
                new("label", "x \"y\" \\ z"),
            ],
        });
        Assert.True(result.Succeeded, result.Failure?.ToString());
        Assert.Equal(6, result.CellsExecuted);
        var nb = Read(output);
        Assert.Equal(5, (int)nb["nbformat_minor"]!);
        Assert.Equal(".net-csharp", (string?)nb["metadata"]!["kernelspec"]!["name"]);
        Assert.Equal("csharp", (string?)nb["metadata"]!["language_info"]!["name"]);

        // The injected cell sits right after the parameters cell, each value typed like its default.
        var injected = Cell(nb, 2);
        Assert.Equal("injected-parameters", (string?)injected["metadata"]!["tags"]![0]);
        Assert.Equal("""
            // Parameters injected by vixml nb run
            string profile = "cpu";
            int seeds = 5;
            double lr = 0.0001;
            bool fast = false;
            long steps = 7L;
            string label = "x \"y\" \\ z";
            """.Replace("\r\n", "\n"), Source(injected));

        // Cell 3: values and their runtime types after injection, stdout and stderr as separate streams in order.
        var outs = Outputs(Cell(nb, 3));
        Assert.Equal(["stream", "stream", "stream"], outs.Select(o => (string)o["output_type"]!));
        Assert.Equal(["stdout", "stderr", "stdout"], outs.Select(o => (string)o["name"]!));
        Assert.Equal("profile=cpu seeds=5 lr=0.0001 fast=False steps=7 label=x \"y\" \\ z\n", SourceText(outs[0]["text"]));
        Assert.Equal("note on stderr\n", SourceText(outs[1]["text"]));
        Assert.Equal("types: String,Int32,Double,Boolean,Int64\n", SourceText(outs[2]["text"]));

        // Raw cell untouched; `total + 1` with total = seeds * 2 = 10.
        Assert.Equal("raw", (string)Cell(nb, 4)["cell_type"]!);
        var r = Outputs(Cell(nb, 5)).Single();
        Assert.Equal("execute_result", (string)r["output_type"]!);
        Assert.Equal("11", SourceText(r["data"]!["text/plain"]));
        Assert.Equal(4, (int)r["execution_count"]!);

        // #!csharp ignored, a static local function, await, a task's stdout; 1+4+9+16 = 30.
        var c6 = Outputs(Cell(nb, 6));
        Assert.Equal("from a task\n", SourceText(c6[0]["text"]));
        Assert.Equal("30", SourceText(c6[1]["data"]!["text/plain"]));

        // A statement ending in ';' has no value.
        Assert.DoesNotContain(Outputs(Cell(nb, 7)), o => (string)o["output_type"]! == "execute_result");

        var counts = Cells(nb).Where(c => (string)c!["cell_type"]! == "code").Select(c => (int)c!["execution_count"]!);
        Assert.Equal([1, 2, 3, 4, 5, 6], counts);
        Assert.All(Cells(nb), c => Assert.False(string.IsNullOrEmpty((string?)c!["id"])));
        var pm = Cell(nb, 5)["metadata"]!["papermill"]!;
        Assert.Equal("completed", (string?)pm["status"]);
        Assert.True((double)pm["duration"]! >= 0);
        Assert.NotNull((string?)Cell(nb, 5)["metadata"]!["execution"]!["iopub.execute_input"]);
        AssertValidNbformat(output);
    }

    [Fact]
    public void ParameterErrorsNameTheParameterAndWriteNothing()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "never.ipynb");
        NotebookParameterException Fail(string name, string value) =>
            Assert.Throws<NotebookParameterException>(() =>
                NotebookRunner.Run(Fixture("basic.ipynb"), new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output, Parameters = [new(name, value)] }));

        var unknown = Fail("profil", "cpu");
        Assert.Contains("unknown parameter 'profil'", unknown.Message);
        Assert.Contains("profile (string), seeds (int), lr (double), fast (bool), steps (long), label (string)", unknown.Message);
        var badInt = Fail("seeds", "five");
        Assert.Contains("'seeds' is int", badInt.Message);
        Assert.Contains("'five'", badInt.Message);
        Assert.Contains("'fast' is bool", Fail("fast", "yes").Message);
        Assert.Contains("'lr' is double", Fail("lr", "1,5").Message);
        Assert.Contains("'steps' is long", Fail("steps", "99999999999999999999").Message);
        Assert.Contains("no code cell tagged 'parameters'", Assert.Throws<NotebookParameterException>(() =>
            NotebookRunner.Run(Fixture("fails-compile.ipynb"), new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output, Parameters = [new("a", "2")] })).Message);
        Assert.Throws<NotebookParameterException>(() => NotebookParameters.ParseAssignment("novalue"));
        Assert.Equal(new KeyValuePair<string, string>("expr", "a=b"), NotebookParameters.ParseAssignment("expr=a=b"));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void DeclaredParametersAreTypedFromTheirDefaults()
    {
        var declared = NotebookParameters.Declared("""
            #!csharp
            string profile = "ci";   // comment
            var n = -3;
            var big = 3L; var ratio = 0.5; var f = 1.5f; var on = false;
            decimal money = 1.25m;
            int[] notInjectable = { 1 };
            if (true) { var nested = 1; }
            """);
        Assert.Equal(
            ["profile:string", "n:int", "big:long", "ratio:double", "f:float", "on:bool", "money:decimal", "notInjectable:int[]"],
            declared.Select(d => $"{d.Name}:{d.TypeName}"));
        Assert.False(declared[^1].Injectable);
        var ratio = declared.Single(d => d.Name == "ratio");
        Assert.Equal("2.0", NotebookParameters.Literal(ratio, "2"));
        Assert.Equal("double.NaN", NotebookParameters.Literal(ratio, "NaN"));
        Assert.Equal("-1E-05", NotebookParameters.Literal(ratio, "-0.00001"));

        // Re-running an executed notebook replaces its injected cell instead of stacking a second one.
        var nb = Notebook.Load(Fixture("basic.ipynb"));
        NotebookParameters.Inject(nb, [new("seeds", "1")]);
        NotebookParameters.Inject(nb, [new("seeds", "2"), new("fast", "TRUE")]);
        var injected = Assert.Single(nb.Cells, c => c.HasTag(NotebookParameters.InjectedTag));
        Assert.Equal(2, nb.Cells.IndexOf(injected));
        Assert.Equal("// Parameters injected by vixml nb run\nint seeds = 2;\nbool fast = true;", injected.Source);
        Assert.Contains("given twice", Assert.Throws<NotebookParameterException>(() =>
            NotebookParameters.Inject(nb, [new("seeds", "1"), new("seeds", "2")])).Message);
    }

    [Fact]
    public void RuntimeExceptionStopsTheRunNamesTheCellAndSavesTheError()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "fails.ipynb");
        var result = NotebookRunner.Run(Fixture("fails-runtime.ipynb"), new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output });
        var f = Assert.IsType<CellFailure>(result.Failure);
        Assert.Equal(2, f.CellIndex);
        Assert.Equal(2, f.ExecutionCount);
        Assert.Equal("Console.WriteLine(\"about to fail\");", f.FirstLine);
        Assert.Equal("System.InvalidOperationException", f.EName);
        Assert.Equal("boom 42", f.EValue);
        Assert.Contains("cell 2", f.ToString());

        var nb = Read(output);
        var outs = Outputs(Cell(nb, 2));
        Assert.Equal("about to fail\n", SourceText(outs[0]["text"]));
        var err = outs[1];
        Assert.Equal("error", (string)err["output_type"]!);
        Assert.Equal("boom 42", (string)err["evalue"]!);
        var tb = ((JsonArray)err["traceback"]!).Select(l => (string)l!).ToList();
        Assert.Equal("System.InvalidOperationException: boom 42", tb[0]);
        // The kernel's frames name the submission's method (no file: .NET Interactive compiles cells without paths).
        Assert.Contains(tb, l => l.Contains("Fail(Int32"));
        Assert.DoesNotContain(tb, l => l.Contains("Microsoft.CodeAnalysis"));
        Assert.Equal("failed", (string?)Cell(nb, 2)["metadata"]!["papermill"]!["status"]);
        // The cell after the failure is untouched.
        var after = Cell(nb, 3);
        Assert.Null(after["execution_count"]);
        Assert.Empty(Outputs(after));
        Assert.Equal("pending", (string?)after["metadata"]!["papermill"]!["status"]);
        Assert.True((bool)nb["metadata"]!["papermill"]!["exception"]!);
        AssertValidNbformat(output);
    }

    [Fact]
    public void CompileErrorMakesTheCliExitNonZeroAndIsSavedWithItsPosition()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "compile.ipynb");
        var code = ViXml.Cli.Program.BuildRoot().Parse(["nb", "run", Fixture("fails-compile.ipynb"), "--out", output, "--cwd", Cwd]).Invoke();
        Assert.Equal(1, code);
        var nb = Read(output);
        var err = Outputs(Cell(nb, 1)).Single();
        Assert.Equal("CompilationError", (string)err["ename"]!);
        Assert.Equal("cell 1 (2,9): error CS0103: The name 'undefinedName' does not exist in the current context",
            (string)err["traceback"]![0]!);
        Assert.Null(Cell(nb, 2)["execution_count"]);
        Assert.Equal(1, (int)Cell(nb, 0)["execution_count"]!);
        AssertValidNbformat(output);

        // Usage errors are exit code 2 and write nothing.
        var bad = Path.Combine(dir, "bad.ipynb");
        Assert.Equal(2, ViXml.Cli.Program.BuildRoot().Parse(["nb", "run", Fixture("basic.ipynb"), "-p", "nope=1", "--out", bad, "--cwd", Cwd]).Invoke());
        Assert.False(File.Exists(bad));
    }

    [Fact]
    public void DisplayOfChartAndTableProducesMimeBundlesInOrder()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "display.ipynb");
        var result = NotebookRunner.Run(Fixture("display.ipynb"), new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output });
        Assert.True(result.Succeeded, result.Failure?.ToString());
        var nb = Read(output);

        var chart = Outputs(Cell(nb, 0));
        Assert.Equal(["stream", "display_data", "stream"], chart.Select(o => (string)o["output_type"]!));
        Assert.Equal("before display\n", SourceText(chart[0]["text"]));
        Assert.Equal("after display\n", SourceText(chart[2]["text"]));
        var data = (JsonObject)chart[1]["data"]!;
        var expected = JsonNode.Parse("""
            {"data": [
               {"type": "bar", "name": "ci", "x": ["BM25", "NGAME"], "y": [10.5, 20.25]},
               {"type": "bar", "name": "cpu", "x": ["BM25", "NGAME"], "y": [11, 22]}],
             "layout": {"xaxis": {"type": "category", "title": {"text": "method"}},
                        "yaxis": {"type": "log", "title": {"text": "P@1 (%)"}},
                        "title": {"text": "P@1 by method"}, "barmode": "group"}}
            """);
        Assert.True(JsonNode.DeepEquals(expected, data["application/vnd.plotly.v1+json"]), data["application/vnd.plotly.v1+json"]!.ToJsonString());
        Assert.Contains("Plotly.newPlot", SourceText(data["text/html"]));
        Assert.Contains("2 trace(s)", SourceText(data["text/plain"]));

        var table = Outputs(Cell(nb, 1));
        Assert.Equal(["display_data", "execute_result"], table.Select(o => (string)o["output_type"]!));
        foreach (var o in table)
        {
            var d = (JsonObject)o["data"]!;
            Assert.Equal(["text/html", "text/markdown", "text/plain"], d.Select(kv => kv.Key).Order());
            Assert.Contains("| NGAME \\| hard | 20.25 |", SourceText(d["text/markdown"]));
            Assert.Contains("<td>NGAME | hard</td>", SourceText(d["text/html"]));
        }
        AssertValidNbformat(output);
    }

    [Fact]
    public void HashRResolvesRelativeToTheNotebookAndMapsTheLibraryToTheHostCopy()
    {
        var dir = Repo.TempDir();
        File.Copy(Fixture("refs.ipynb"), Path.Combine(dir, "refs.ipynb"));
        Directory.CreateDirectory(Path.Combine(dir, "refs"));
        Directory.CreateDirectory(Path.Combine(dir, "bin"));
        File.Copy(typeof(NotebookRunner).Assembly.Location, Path.Combine(dir, "bin", "ViXml.Lib.dll"));
        // A tiny library compiled here, so the notebook's #r must find it next to the notebook, not on any search path.
        var tiny = CSharpCompilation.Create("Tiny",
            [CSharpSyntaxTree.ParseText(cancellationToken: TestContext.Current.CancellationToken, text: "namespace Tiny { public static class Greeter { public static string Hello(string who) => \"Hello, \" + who; } }")],
            [MetadataReference.CreateFromFile(typeof(object).Assembly.Location),
             MetadataReference.CreateFromFile(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "System.Runtime.dll"))],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var emit = tiny.Emit(Path.Combine(dir, "refs", "Tiny.dll"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));

        // The current directory is not the notebook's folder: resolution must not depend on it.
        var result = NotebookRunner.Run(Path.Combine(dir, "refs.ipynb"), new NotebookRunOptions { WorkingDirectory = Cwd });
        Assert.True(result.Succeeded, result.Failure?.ToString());
        Assert.Equal(Path.Combine(dir, "refs.out.ipynb"), result.OutputPath);
        var outs = Outputs(Cell(Read(result.OutputPath), 1));
        // The table came from the #r'd ViXml.Lib.dll yet display() recognised it as IRichDisplay: one shared copy.
        Assert.Contains("text/html", ((JsonObject)outs[0]["data"]!).Select(kv => kv.Key));
        Assert.Equal("Hello, notebook", SourceText(outs[1]["data"]!["text/plain"])); // strings show unquoted, as in .NET Interactive
    }

    [Fact]
    public void TimeoutStopsTheNotebookAndLeavesLaterCellsUnexecuted()
    {
        var dir = Repo.TempDir();
        var output = Path.Combine(dir, "slow.ipynb");
        var result = NotebookRunner.Run(Fixture("slow.ipynb"),
            new NotebookRunOptions { WorkingDirectory = Cwd, OutputPath = output, Timeout = TimeSpan.FromSeconds(8) });
        var f = Assert.IsType<CellFailure>(result.Failure);
        Assert.Equal("TimeoutError", f.EName);
        // Normally the sleeping cell (1); under heavy machine load the engine warm-up alone may exceed the limit (0).
        Assert.InRange(f.CellIndex, 0, 1);
        Assert.True(result.Duration < TimeSpan.FromSeconds(20), $"took {result.Duration}");
        var nb = Read(output);
        Assert.Null(Cell(nb, 2)["execution_count"]);
        Assert.Equal("TimeoutError", (string)Outputs(Cell(nb, f.CellIndex)).Last()["ename"]!);
        AssertValidNbformat(output);
    }

    [Fact]
    public void ForeignKernelCellsAndBadFilesFailClearly()
    {
        var dir = Repo.TempDir();
        var nb = Notebook.Create([NotebookCell.NewCode("#!fsharp\nlet x = 1")]);
        var path = Path.Combine(dir, "fs.ipynb");
        nb.Save(path);
        var result = NotebookRunner.Run(path, new NotebookRunOptions { WorkingDirectory = Cwd });
        Assert.Equal("UnsupportedLanguage", result.Failure?.EName);

        // Echo to Console.Out (the CLI's --log-output) while Console.Out is the capturing router: no feedback loop.
        var echo = Path.Combine(dir, "echo.ipynb");
        Notebook.Create([NotebookCell.NewCode("Console.WriteLine(\"echoed\");\n2 + 3")]).Save(echo);
        var echoed = NotebookRunner.Run(echo, new NotebookRunOptions { WorkingDirectory = Cwd, Echo = Console.Out });
        Assert.True(echoed.Succeeded, echoed.Failure?.ToString());
        var outs = Outputs(Cell(Read(echoed.OutputPath), 0));
        Assert.Equal("echoed\n", SourceText(outs[0]["text"]));
        Assert.Equal("5", SourceText(outs[1]["data"]!["text/plain"]));
        Assert.Contains("fsharp", result.Failure!.EValue);

        var broken = Path.Combine(dir, "broken.ipynb");
        File.WriteAllText(broken, "{\n \"cells\": [\n  {\"cell_type\": \"code\",\n");
        var e = Assert.Throws<NotebookFormatException>(() => Notebook.Load(broken));
        Assert.Contains("broken.ipynb", e.Message);
        Assert.Contains("line", e.Message);
        File.WriteAllText(broken, "{\"nbformat\": 3, \"cells\": []}");
        Assert.Contains("nbformat 3", Assert.Throws<NotebookFormatException>(() => Notebook.Load(broken)).Message);
    }
}
