using System.Globalization;
using System.Text;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>A number the paper (or a cited work) reports, copied from ../shared/paper/PAPER.md with its source.</summary>
/// <param name="Dataset">Dataset it was measured on.</param>
/// <param name="Method">Model or method, as the paper names it.</param>
/// <param name="Metric">Metric, e.g. "P@1" (in percent, as the paper prints it).</param>
/// <param name="Value">The value.</param>
/// <param name="Source">Where the project took it from.</param>
public sealed record PaperNumber(string Dataset, string Method, string Metric, double Value, string Source);

/// <summary>
/// The paper's numbers the project knows (PAPER.md, "Numbers known to the project"). Anything not here is "not
/// transcribed" in paper tables, never guessed.
/// </summary>
public static class PaperNumbers
{
    public const string AmazonTitles131K = "LF-AmazonTitles-131K";
    public const string AmazonTitles13M = "LF-AmazonTitles-1.3M";

    public static readonly IReadOnlyList<PaperNumber> All =
    [
        new(AmazonTitles131K, "Qwen2.5-7B-Instruct (text-only)", "P@1", 48.06, "paper review"),
        new("(paper summary; dataset not stated)", "DistilBERT (66M) + ViXML", "P@1", 49.55, "paper summary"),
        new("(paper summary; dataset not stated)", "Qwen2.5-3B (text-only)", "P@1", 47.42, "paper summary"),
        new("(paper summary; dataset not stated)", "decoder, prompt template T1 ⊕ E ⊕ eEOS", "P@1", 44.66, "paper summary"),
        new("(paper summary; dataset not stated)", "decoder, no prompt", "P@1", 43.14, "paper summary"),
        new(AmazonTitles131K, "DEXML", "P@1", 42.52, "DEXML README (context, not this paper)"),
        new(AmazonTitles131K, "DEXML", "P@5", 20.64, "DEXML README (context, not this paper)"),
        new(AmazonTitles13M, "DEXML", "P@1", 58.40, "DEXML README (context, not this paper)"),
        new(AmazonTitles13M, "DEXML", "P@5", 45.46, "DEXML README (context, not this paper)"),
    ];

    /// <summary>The paper's value, or null when the project has not transcribed it.</summary>
    public static PaperNumber? Find(string dataset, string method, string metric) =>
        All.FirstOrDefault(n => n.Dataset == dataset && n.Method == method && n.Metric == metric);
}

/// <summary>
/// A paper table: for each (method, metric) the paper's value beside ours, Δ = ours − paper, and the scale our number
/// was measured at, so a CI-sized run is never read as a reproduction at the paper's scale. Unknown paper values say
/// "not transcribed"; missing runs say "not run".
/// </summary>
public sealed class PaperComparison(string title, string mirrors)
{
    private readonly List<(string Method, string Metric, double? Paper, double? Ours, Scale? Scale)> _rows = [];

    /// <summary>Table title, e.g. "Text encoders on LF-AmazonTitles-131K".</summary>
    public string Title { get; } = title;

    /// <summary>Which table or claim of the paper it mirrors.</summary>
    public string Mirrors { get; } = mirrors;

    /// <summary>Display format of values and Δ.</summary>
    public string Format { get; init; } = "F2";

    public PaperComparison Add(string method, string metric, double? paper, double? ours, Scale? scale)
    {
        _rows.Add((method, metric, paper, ours, scale));
        return this;
    }

    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        string Num(double v) => v.ToString(Format, inv);
        var sb = new StringBuilder();
        sb.Append("# ").Append(ResultTable.MarkdownCell(Title)).Append("\n\n");
        sb.Append("Mirrors: ").Append(ResultTable.MarkdownCell(Mirrors)).Append(". Δ = ours − paper.\n\n");
        sb.Append("| Method | Metric | Paper | Ours | Δ | Scale of ours |\n");
        sb.Append("| --- | --- | ---: | ---: | ---: | --- |\n");
        foreach (var (method, metric, paper, ours, scale) in _rows)
        {
            var delta = paper is { } p && ours is { } o ? (o - p >= 0 ? "+" : "") + Num(o - p) : "";
            sb.Append("| ").Append(ResultTable.MarkdownCell(method))
              .Append(" | ").Append(ResultTable.MarkdownCell(metric))
              .Append(" | ").Append(paper is { } pv ? Num(pv) : "not transcribed")
              .Append(" | ").Append(ours is { } ov ? Num(ov) : "not run")
              .Append(" | ").Append(delta)
              .Append(" | ").Append(scale is null ? "" : ResultTable.MarkdownCell(scale.ToString()))
              .Append(" |\n");
        }
        return sb.ToString();
    }

    public void Save(string path) => Atomic.WriteAllText(path, ToMarkdown());
}
