using System.CommandLine;
using ViXml.Notebooks;
using ViXml.Reporting;

namespace ViXml.Cli.Commands;

/// <summary><c>vixml reproduce [--profile smoke|ci|cpu|paper] [--no-site]</c>: every notebook in order, then the paper
/// tables (for smoke into results/smoke/paper-tables/, never over the committed ones) and the results site.</summary>
public sealed class ReproduceCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("reproduce",
            "Run notebooks/NN-*.ipynb in order into results/<profile>/ and regenerate paper-tables/*.md.");
        var profile = new Option<string>("--profile")
        {
            Description = "smoke (seconds per notebook: proves they run), ci (small data, about a minute per notebook), " +
                          "cpu (this machine, hours) or paper (the paper's scale).",
            DefaultValueFactory = _ => "ci",
        };
        profile.AcceptOnlyFromAmong(Reproduce.Profiles);
        var notebooks = new Option<string?>("--notebooks") { Description = "Notebook folder (default: <repo>/notebooks)." };
        var results = new Option<string?>("--results") { Description = "Results root (default: <repo>/results)." };
        var tables = new Option<string?>("--paper-tables")
        {
            Description = "Paper tables folder (default: <repo>/paper-tables; for smoke <results>/smoke/paper-tables).",
        };
        var timeout = new Option<double?>("--timeout") { Description = "Limit per notebook, in seconds." };
        var noSite = new Option<bool>("--no-site") { Description = "Do not build the results site at the end." };
        foreach (var o in new Option[] { profile, notebooks, results, tables, timeout, noSite }) cmd.Options.Add(o);
        cmd.SetAction(parse => UserErrors.Guard(() =>
        {
            var root = ChartExport.RepoRoot() ?? Environment.CurrentDirectory;
            var limit = CliNumbers.Seconds(parse.GetValue(timeout), "--timeout");
            var name = parse.GetValue(profile)!;
            var resultsRoot = parse.GetValue(results) ?? Path.Combine(root, "results");
            var tablesDir = parse.GetValue(tables) ?? Reproduce.DefaultPaperTablesDirectory(root, resultsRoot, name);
            var committedNumbers = Path.Combine(root, "paper-tables", PaperNumbers.FileName);
            var options = new ReproduceOptions
            {
                Profile = name,
                NotebooksDirectory = parse.GetValue(notebooks) ?? Path.Combine(root, "notebooks"),
                ResultsRoot = resultsRoot,
                PaperTablesDirectory = tablesDir,
                // A folder without its own copy of the paper's numbers (results/smoke/paper-tables/) reads the committed one.
                PaperNumbersFile = File.Exists(Path.Combine(tablesDir, PaperNumbers.FileName)) ? null : committedNumbers,
                TimeoutPerNotebook = limit,
                Log = Console.Error,
                BuildSite = !parse.GetValue(noSite),
            };
            ReproduceResult r;
            try
            {
                r = Reproduce.Run(options);
            }
            catch (Exception e) when (e is IOException or ArgumentException or NotebookFormatException or NotebookParameterException)
            {
                throw new CliException(e.Message);
            }
            if (r.Failure is not null) throw new CliException($"reproduce --profile {r.Profile} stopped: {r.Failure}", 1);
            Console.Error.WriteLine($"reproduce --profile {r.Profile}: {r.Steps.Count} notebooks in {r.Seconds:0.0} s -> {r.ResultsDirectory}");
            return 0;
        }));
        return cmd;
    }
}
