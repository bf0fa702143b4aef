using System.CommandLine;
using ViXml.Common;
using ViXml.Notebooks;
using ViXml.Reporting;
using ViXml.Reporting.Site;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml report [--profile smoke|ci|cpu|paper] [--check] [--no-build]</c>: the static results site under
/// results/&lt;profile&gt;/site/, and optionally its check in headless Chromium.
/// </summary>
public sealed class ReportCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("report",
            "Build the offline results site results/<profile>/site/ (index, executed notebooks, tables, charts, paper comparison).");
        var profile = new Option<string>("--profile") { Description = "Which results/<profile>/ to report.", DefaultValueFactory = _ => "ci" };
        profile.AcceptOnlyFromAmong(Reproduce.Profiles);
        var results = new Option<string?>("--results") { Description = "Results root (default: <repo>/results)." };
        var tables = new Option<string?>("--paper-tables")
        {
            Description = "Paper tables folder (default: <repo>/paper-tables; for smoke <results>/smoke/paper-tables).",
        };
        var check = new Option<bool>("--check")
        {
            Description = "Then open every page in headless Chromium: no console errors, no request off the machine, every chart drawn; " +
                          "saves site/screenshot.png and site/site-check.json. Exit 1 when a check fails.",
        };
        var noBuild = new Option<bool>("--no-build") { Description = "Check the existing site without rebuilding it (with --check)." };
        foreach (var o in new Option[] { profile, results, tables, check, noBuild }) cmd.Options.Add(o);
        cmd.SetAction(parse => UserErrors.Guard(() =>
        {
            var root = ChartExport.RepoRoot() ?? Environment.CurrentDirectory;
            var resultsRoot = parse.GetValue(results) ?? Path.Combine(root, "results");
            var dir = Path.Combine(resultsRoot, parse.GetValue(profile)!);
            var site = Path.Combine(dir, "site");
            try
            {
                if (!parse.GetValue(noBuild))
                {
                    var r = ResultsSite.Build(new ResultsSiteOptions
                    {
                        ResultsDirectory = dir,
                        PaperTablesDirectory = parse.GetValue(tables) ?? Reproduce.DefaultPaperTablesDirectory(root, resultsRoot, parse.GetValue(profile)!),
                    });
                    foreach (var w in r.Warnings) Console.Error.WriteLine($"warning: {w}");
                    Console.WriteLine($"report: {r.Notebooks} notebooks, {r.Tables} tables, {r.Charts} charts, {r.Pages.Count} pages -> {r.IndexPage}");
                }
                if (!parse.GetValue(check)) return 0;
                var result = SiteCheck.Run(site, Path.Combine(site, "screenshot.png"), Console.Error);
                Atomic.WriteAllText(Path.Combine(site, "site-check.json"), SiteCheck.ToJson(result) + "\n");
                foreach (var p in result.Problems()) Console.Error.WriteLine($"site check: {p}");
                Console.WriteLine($"site check: {(result.Ok ? "passed" : "FAILED")}: {result.Pages.Count} pages, " +
                                  $"{result.Pages.Sum(p => p.ChartsWithTraces)}/{result.Pages.Sum(p => p.Charts)} charts drawn, " +
                                  $"{result.Seconds:0.0} s; screenshot {result.Screenshot ?? "none"}");
                return result.Ok ? 0 : 1;
            }
            // a site that cannot be written (disk full, permissions) is the environment's problem: exit 74 with the path
            catch (Exception e) when (e is not OutputPathException && e is IOException or InvalidDataException or FormatException or TimeoutException
                                          or InvalidOperationException or System.Net.WebSockets.WebSocketException or HttpRequestException)
            {
                throw new CliException(e.Message);
            }
        }));
        return cmd;
    }
}
