using System.CommandLine;
using ViXml.Notebooks;
using ViXml.Reporting;

namespace ViXml.Cli.Commands;

/// <summary><c>vixml reproduce [--profile ci|cpu|paper]</c>: every notebook in order, then the paper tables.</summary>
public sealed class ReproduceCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("reproduce",
            "Run notebooks/NN-*.ipynb in order into results/<profile>/ and regenerate paper-tables/*.md.");
        var profile = new Option<string>("--profile")
        {
            Description = "ci (tiny, minutes), cpu (this machine, hours) or paper (the paper's scale).",
            DefaultValueFactory = _ => "ci",
        };
        profile.AcceptOnlyFromAmong(Reproduce.Profiles);
        var notebooks = new Option<string?>("--notebooks") { Description = "Notebook folder (default: <repo>/notebooks)." };
        var results = new Option<string?>("--results") { Description = "Results root (default: <repo>/results)." };
        var tables = new Option<string?>("--paper-tables") { Description = "Paper tables folder (default: <repo>/paper-tables)." };
        var timeout = new Option<double?>("--timeout") { Description = "Limit per notebook, in seconds." };
        foreach (var o in new Option[] { profile, notebooks, results, tables, timeout }) cmd.Options.Add(o);
        cmd.SetAction(parse => UserErrors.Guard(() =>
        {
            var root = ChartExport.RepoRoot() ?? Environment.CurrentDirectory;
            var limit = CliNumbers.Seconds(parse.GetValue(timeout), "--timeout");
            var options = new ReproduceOptions
            {
                Profile = parse.GetValue(profile)!,
                NotebooksDirectory = parse.GetValue(notebooks) ?? Path.Combine(root, "notebooks"),
                ResultsRoot = parse.GetValue(results) ?? Path.Combine(root, "results"),
                PaperTablesDirectory = parse.GetValue(tables) ?? Path.Combine(root, "paper-tables"),
                TimeoutPerNotebook = limit,
                Log = Console.Error,
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
