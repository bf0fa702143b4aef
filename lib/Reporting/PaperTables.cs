namespace ViXml.Reporting;

/// <summary>What a paper-table generator gets after every notebook of a profile ran.</summary>
/// <param name="Profile">smoke, ci, cpu or paper.</param>
/// <param name="ResultsDirectory">results/&lt;profile&gt;/ with the executed notebooks and their CSV tables.</param>
/// <param name="PaperTablesDirectory">paper-tables/ where the generator writes its *.md.</param>
/// <param name="Log">Progress and notes.</param>
/// <param name="CuratedDirectory">Where the curated multi-seed tables are committed (the repository's results/); null = none.</param>
/// <param name="PaperNumbersFile">The paper's numbers (paper-numbers.json); null = the one in <paramref name="PaperTablesDirectory"/>.</param>
public sealed record PaperTableContext(string Profile, string ResultsDirectory, string PaperTablesDirectory, TextWriter Log,
    string? CuratedDirectory = null, string? PaperNumbersFile = null)
{
    /// <summary>File names in <see cref="ResultsDirectory"/> that this run wrote; null = every file counts (no run record).</summary>
    public IReadOnlySet<string>? RunFiles { get; init; }

    private readonly List<string> _stale = [];

    /// <summary>Results asked for through <see cref="ResultPath"/> that exist but were not written by this run.</summary>
    public IReadOnlyList<string> StaleIgnored => _stale;

    /// <summary>
    /// The path of results file <paramref name="fileName"/> when this run wrote it, else null: a file left by an older
    /// run is stale (logged, and listed in <see cref="StaleIgnored"/> so a table can say so), not this run's number.
    /// </summary>
    public string? ResultPath(string fileName)
    {
        var path = Path.Combine(ResultsDirectory, fileName);
        if (!File.Exists(path)) return null;
        if (RunFiles is null || RunFiles.Contains(fileName)) return path;
        if (!_stale.Contains(fileName))
        {
            _stale.Add(fileName);
            Log.WriteLine($"paper tables: ignoring {path}: not written by this run (stale)");
        }
        return null;
    }

    /// <summary>One Markdown line naming the stale results ignored so far, or "" when there were none.</summary>
    public string StaleNote() => _stale.Count == 0 ? ""
        : $"\nIgnored as stale (in results/{Profile}/ but not written by this run): {string.Join(", ", _stale)}.\n";
}

/// <summary>
/// The seam for <c>vixml reproduce</c>'s last step: each implementation regenerates one or more paper-tables/*.md
/// (the paper's numbers beside ours, with a Δ column and each row's scale) from the CSVs the notebooks saved.
/// Public non-abstract implementations with a parameterless constructor in ViXml.Lib are found by reflection and run
/// in <see cref="Name"/> order; adding a table is adding a class.
/// </summary>
public interface IPaperTableGenerator
{
    /// <summary>Short stable name, e.g. "table2-text-encoders"; also the run order.</summary>
    string Name { get; }

    /// <summary>Writes its tables (atomically) and returns the paths written.</summary>
    IReadOnlyList<string> Generate(PaperTableContext context);
}
