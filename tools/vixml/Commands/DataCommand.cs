using System.CommandLine;
using System.Diagnostics;
using ViXml.Xmc;
using ViXml.Xmc.Debian;
using ViXml.Xmc.Emoji;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml data build NAME [--size small|full] [--out DIR] [--apt-dir DIR]</c>, <c>vixml data check DIR</c>,
/// <c>vixml data stats DIR [--json]</c>: the embedded Debian datasets and dataset-folder validation.
/// </summary>
public sealed class DataCommand : ICliCommand
{
    public Command Build()
    {
        var data = new Command("data", "Build, check and describe XMC dataset folders.");
        data.Subcommands.Add(BuildCmd());
        data.Subcommands.Add(CheckCmd());
        data.Subcommands.Add(StatsCmd());
        return data;
    }

    private static Command BuildCmd()
    {
        var name = new Argument<string>("NAME") { Description = $"dataset: {string.Join(", ", Names)}" };
        var size = new Option<string>("--size") { Description = "small (<= 3,000 queries) or full", DefaultValueFactory = _ => "small" };
        var outDir = new Option<string?>("--out") { Description = "output folder (default data/<name>-<size>/ under the repository)" };
        var aptDir = new Option<string?>("--apt-dir") { Description = "read apt files from this folder (fixed names, as tests/fixtures/apt-fake) instead of the system's apt lists" };
        var npmDir = new Option<string?>("--npm-dir") { Description = $"{EmojiBuilder.Name}: read the npm tarballs from this folder as they are (no fetch, no integrity check; e.g. tests/fixtures/npm-emoji-fake) instead of the pinned, verified cache .cache/npm/" };
        var cmd = new Command("build", "Build an embedded dataset from Debian's apt metadata or pinned npm packages (offline once fetched, deterministic).");
        cmd.Arguments.Add(name);
        cmd.Options.Add(size); cmd.Options.Add(outDir); cmd.Options.Add(aptDir); cmd.Options.Add(npmDir);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            var n = pr.GetValue(name)!;
            var s = pr.GetValue(size)!;
            if (!Names.Contains(n)) throw new CliException($"unknown dataset '{n}' (known: {string.Join(", ", Names)})");
            if (s is not ("small" or "full")) throw new CliException($"--size must be small or full, got '{s}'");
            var dir = pr.GetValue(outDir) ?? Path.Combine(RepoRoot(), "data", $"{n}-{s}");
            var sw = Stopwatch.StartNew();
            BuiltDataset d;
            try
            {
                if (n == EmojiBuilder.Name)
                {
                    var npm = pr.GetValue(npmDir) is string nd
                        ? NpmInputs.FromDirectory(EmojiBuilder.Packages, nd)
                        : NpmInputs.FromCache(EmojiBuilder.Packages, Path.Combine(RepoRoot(), ".cache", "npm"), Console.Error);
                    d = EmojiBuilder.BuildTo(s, npm, dir);
                }
                else
                {
                    var inputs = pr.GetValue(aptDir) is string ad ? AptInputs.FromDirectory(ad) : AptInputs.FromSystem();
                    d = DebianDatasets.BuildTo(n, s, inputs, dir);
                }
            }
            catch (AptMetadataMissingException e) { throw new CliException(e.Message); }
            catch (NpmInputException e) { throw new CliException(e.Message); }
            catch (XmcFormatException e) { throw new CliException(e.Message); }
            var st = DatasetStats.Compute(d.TrainY, d.TestY);
            Console.Out.WriteLine($"{n} ({s}) -> {dir} in {sw.Elapsed.TotalSeconds:F1} s");
            ReportKept(dir, d.Kept);
            Console.Out.Write(st.ToText());
            return 0;
        }));
        return cmd;
    }

    private static Command CheckCmd()
    {
        var dir = new Argument<string>("DIR") { Description = "dataset folder" };
        var cmd = new Command("check", "Validate a dataset folder (files, shapes, ranges, texts, images, manifest checksums).");
        cmd.Arguments.Add(dir);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            var report = DatasetCheck.Run(pr.GetValue(dir)!);
            foreach (var w in report.Warnings) Console.Out.WriteLine($"warning: {w}");
            if (report.Errors.Count > 0)
            {
                foreach (var e in report.Errors) Console.Error.WriteLine($"error: {e}");
                Console.Out.WriteLine($"FAILED: {report.Errors.Count} error(s)");
                return 1;
            }
            Console.Out.WriteLine($"OK: {report.Summary}");
            if (report.Images is not null) Console.Out.WriteLine($"images: {report.Images}");
            Console.Out.Write(report.Stats!.ToText());
            return 0;
        }));
        return cmd;
    }

    private static Command StatsCmd()
    {
        var dir = new Argument<string>("DIR") { Description = "dataset folder" };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var cmd = new Command("stats", "Counts and the label-frequency histogram (log bins) of a dataset folder.");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(json);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            DatasetStats st;
            try { st = DatasetCheck.Stats(pr.GetValue(dir)!); }
            catch (XmcFormatException e) { throw new CliException(e.Message); }
            catch (FileNotFoundException e) { throw new CliException(e.Message); }
            Console.Out.Write(pr.GetValue(json) ? st.ToJson() + "\n" : st.ToText());
            return 0;
        }));
        return cmd;
    }

    /// <summary>Names what a rebuild kept of the old folder and which image banks among it no longer match the images.</summary>
    private static void ReportKept(string dir, IReadOnlyList<string> kept)
    {
        if (kept.Count == 0) return;
        Console.Error.WriteLine($"note: kept {kept.Count} entries the build does not write: {string.Join(", ", kept.Take(8))}{(kept.Count > 8 ? ", ..." : "")}");
        foreach (var bank in ImageBanks.Names(dir))
        {
            if (!kept.Contains(ImageBanks.EmbsFile(bank))) continue;
            try { ImageBanks.Load(dir, bank); }
            catch (Exception e) when (e is XmcFormatException or ViXml.Common.InputFileException or ViXml.Common.InputLimitException)
            {
                Console.Error.WriteLine($"note: image bank '{bank}' is stale ({e.Message}); rerun ./vixml images embed --data {dir} --name {bank}");
            }
        }
    }

    /// <summary>Every dataset `data build` knows.</summary>
    private static readonly string[] Names = [.. DebianDatasets.Names, EmojiBuilder.Name];

    /// <summary>The repository root: the nearest folder above the executable (or the working directory) holding ViXml.Lib.csproj.</summary>
    private static string RepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        }
        return Environment.CurrentDirectory;
    }
}
