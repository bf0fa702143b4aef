using System.CommandLine;
using ViXml.Notebooks;

namespace ViXml.Cli.Commands;

/// <summary><c>vixml nb run NOTEBOOK [-p name=value ...] [--out FILE] [--timeout S] [--cell-timeout S]</c>: the headless
/// notebook runner (cells run in the .NET Interactive C# kernel, in a worker process).</summary>
public sealed class NbCommand : ICliCommand
{
    public Command Build()
    {
        var nb = new Command("nb", "Jupyter notebooks (C#) without a Jupyter server.");
        var run = new Command("run", "Run a C# notebook headless, papermill-style, and write the executed notebook.");
        var notebook = new Argument<string>("NOTEBOOK") { Description = "The .ipynb to run." };
        var parameters = new Option<string[]>("--parameter", "-p")
        {
            Description = "name=value, typed like the default in the cell tagged 'parameters' (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Executed notebook path (default: NAME.out.ipynb next to the input).",
        };
        var timeout = new Option<double?>("--timeout") { Description = "Limit for the whole notebook, in seconds (the kernel is stopped when it is hit)." };
        var cellTimeout = new Option<double?>("--cell-timeout") { Description = "Limit for any one cell, in seconds (papermill's --execution-timeout)." };
        var logOutput = new Option<bool>("--log-output") { Description = "Also print cell outputs while they run." };
        var cwd = new Option<string?>("--cwd") { Description = "Current directory for the cells (default: the notebook's folder)." };
        run.Arguments.Add(notebook);
        run.Options.Add(parameters);
        run.Options.Add(output);
        run.Options.Add(timeout);
        run.Options.Add(cellTimeout);
        run.Options.Add(logOutput);
        run.Options.Add(cwd);
        run.SetAction(parse => UserErrors.Guard(() =>
        {
            var path = parse.GetValue(notebook)!;
            List<KeyValuePair<string, string>> values;
            try
            {
                values = (parse.GetValue(parameters) ?? []).Select(NotebookParameters.ParseAssignment).ToList();
            }
            catch (NotebookParameterException e)
            {
                throw new CliException(e.Message);
            }
            var limit = CliNumbers.Seconds(parse.GetValue(timeout), "--timeout");
            var cellLimit = CliNumbers.Seconds(parse.GetValue(cellTimeout), "--cell-timeout");
            var options = new NotebookRunOptions
            {
                Parameters = values,
                OutputPath = parse.GetValue(output),
                Timeout = limit,
                CellTimeout = cellLimit,
                Log = Console.Error,
                Echo = parse.GetValue(logOutput) ? Console.Out : null,
                WorkingDirectory = parse.GetValue(cwd) is { } d ? Path.GetFullPath(d) : null,
            };
            var result = RunOrExplain(path, options);
            if (result.Failure is { } f)
            {
                throw new CliException($"{path}: {f}\nexecuted notebook (with the error saved) written to {result.OutputPath}", 1);
            }
            Console.Error.WriteLine($"ran {result.CellsExecuted} code cells in {result.Duration.TotalSeconds:0.0} s -> {result.OutputPath}");
            return 0;
        }));
        nb.Subcommands.Add(run);
        nb.Subcommands.Add(BuildInject());
        return nb;
    }


    /// <summary>
    /// <c>vixml nb inject NOTEBOOK -p name=value … --out COPY</c>: the notebook with papermill's injected-parameters
    /// cell, and its relative <c>#r</c> paths made absolute, so the copy runs anywhere in any kernel (Jupyter's
    /// nbconvert, VS Code) exactly as the original would with those parameters. Nothing is executed.
    /// </summary>
    private static Command BuildInject()
    {
        var inject = new Command("inject", "Write a copy of a notebook with an injected-parameters cell (papermill-style), to run it in Jupyter or VS Code.");
        var notebook = new Argument<string>("NOTEBOOK") { Description = "The .ipynb to copy." };
        var parameters = new Option<string[]>("--parameter", "-p") { Description = "name=value, typed like the default in the cell tagged 'parameters' (repeatable)." };
        var output = new Option<string>("--out", "-o") { Description = "Where the copy goes.", Required = true };
        inject.Arguments.Add(notebook);
        inject.Options.Add(parameters);
        inject.Options.Add(output);
        inject.SetAction(parse => UserErrors.Guard(() =>
        {
            var path = Path.GetFullPath(parse.GetValue(notebook)!);
            var outPath = Path.GetFullPath(parse.GetValue(output)!);
            if (outPath == path) throw new CliException($"--out {outPath} would overwrite the input notebook");
            try
            {
                var nb = Notebook.Load(path);
                var values = (parse.GetValue(parameters) ?? []).Select(NotebookParameters.ParseAssignment).ToList();
                NotebookParameters.Inject(nb, values);
                var dir = Path.GetDirectoryName(path)!;
                foreach (var cell in nb.Cells.Where(c => c.CellType == "code"))
                {
                    var mapped = NotebookRunner.AbsoluteReferences(cell.Source, dir);
                    if (mapped != cell.Source) cell.Source = mapped;
                }
                var parent = Path.GetDirectoryName(outPath)!;
                if (File.Exists(parent)) throw new CliException($"--out {outPath}: {parent} is a file, not a folder");
                Directory.CreateDirectory(parent);
                nb.Save(outPath);
            }
            catch (Exception e) when (e is FileNotFoundException or NotebookFormatException or NotebookParameterException)
            {
                throw new CliException(e.Message);
            }
            Console.Error.WriteLine($"wrote {outPath}");
            return 0;
        }));
        return inject;
    }

    /// <summary>Runs, turning user errors (missing file, bad JSON, bad -p) into CliException.</summary>
    internal static NotebookRunResult RunOrExplain(string path, NotebookRunOptions options)
    {
        try
        {
            return NotebookRunner.Run(path, options);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or NotebookFormatException or NotebookParameterException or ArgumentException or KernelStartException)
        {
            throw new CliException(e.Message);
        }
    }
}
