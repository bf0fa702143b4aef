namespace ViXml.Reporting;

/// <summary>What a paper-table generator gets after every notebook of a profile ran.</summary>
/// <param name="Profile">smoke, ci, cpu or paper.</param>
/// <param name="ResultsDirectory">results/&lt;profile&gt;/ with the executed notebooks and their CSV tables.</param>
/// <param name="PaperTablesDirectory">paper-tables/ where the generator writes its *.md.</param>
/// <param name="Log">Progress and notes.</param>
/// <param name="CuratedDirectory">Where the curated multi-seed tables are committed (the repository's results/); null = none.</param>
/// <param name="PaperNumbersFile">The paper's numbers (paper-numbers.json); null = the one in <paramref name="PaperTablesDirectory"/>.</param>
public sealed record PaperTableContext(string Profile, string ResultsDirectory, string PaperTablesDirectory, TextWriter Log,
    string? CuratedDirectory = null, string? PaperNumbersFile = null);

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
