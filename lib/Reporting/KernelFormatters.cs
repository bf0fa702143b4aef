using System.Text;

namespace ViXml.Reporting;

/// <summary>
/// Marks a type for .NET Interactive's formatter (the kernel of VS Code's Polyglot Notebooks, of Jupyter's .net-csharp
/// kernel and of <c>vixml nb run</c>). Microsoft.DotNet.Interactive.Formatting looks this attribute up <b>by its
/// name</b> (a "convention-based formatter source"): it reads <see cref="FormatterSourceType"/> and
/// <see cref="PreferredMimeTypes"/> through reflection, creates the source and calls its <c>CreateTypeFormatters()</c>.
/// So the library registers its formatters the moment a kernel first shows one of our values, in any kernel that
/// <c>#r</c>s it, without referencing Microsoft.DotNet.Interactive (whose copy inside the dotnet-interactive tool has
/// its own version: a compile-time reference would have to match it exactly).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
{
    public Type FormatterSourceType { get; } = formatterSourceType;

    /// <summary>The mime types a display or a cell's return value produces, in the order a front end prefers them.</summary>
    public string[]? PreferredMimeTypes { get; init; }
}

/// <summary>The formatter source for every <see cref="IRichDisplay"/> type of the library.</summary>
public sealed class RichDisplayFormatterSource
{
    /// <summary>One formatter per (type, mime type) the library shows; called by the kernel's formatter.</summary>
    public IEnumerable<object> CreateTypeFormatters() =>
    [
        new RichDisplayFormatter(typeof(Figure), MimeTypes.Plotly),
        new RichDisplayFormatter(typeof(Figure), MimeTypes.Html),
        new RichDisplayFormatter(typeof(Figure), MimeTypes.Plain),
        new RichDisplayFormatter(typeof(ResultTable), MimeTypes.Html),
        new RichDisplayFormatter(typeof(ResultTable), MimeTypes.Markdown),
        new RichDisplayFormatter(typeof(ResultTable), MimeTypes.Plain),
    ];
}

/// <summary>
/// A formatter in the shape .NET Interactive's convention expects (<c>Type</c>, <c>MimeType</c>,
/// <c>bool Format(object, TextWriter)</c>). Figures get their Plotly JSON, an HTML that draws offline
/// (<see cref="ChartExport.KernelHtml"/>) and a text line; tables their HTML, Markdown and text.
/// </summary>
public sealed class RichDisplayFormatter(Type type, string mimeType)
{
    public Type Type { get; } = type;

    public string MimeType { get; } = mimeType;

    public bool Format(object? value, TextWriter writer)
    {
        if (value is null || !Type.IsInstanceOfType(value)) return false;
        var text = (value, MimeType) switch
        {
            (Figure f, MimeTypes.Plotly) => f.ToJsonString(),
            (Figure f, MimeTypes.Html) => ChartExport.KernelHtml(f),
            (ResultTable t, MimeTypes.Html) => t.ToHtml(),
            (ResultTable t, MimeTypes.Markdown) => t.ToMarkdown(),
            (IRichDisplay r, _) => r.ToMimeBundle().TryGetValue(MimeType, out var content) ? content?.ToString() : null,
            _ => null,
        };
        if (text is null) return false;
        writer.Write(text);
        return true;
    }
}

/// <summary>Keeps track of whether this process has already sent plotly.js to the notebook page.</summary>
internal static class PlotlyInNotebook
{
    private static int _sent;

    /// <summary>True exactly once per process (per kernel session): the first figure carries plotly.js.</summary>
    public static bool TakeFirst() => Interlocked.Exchange(ref _sent, 1) == 0;

    public static string Wrap(string plotlyJs)
    {
        // plotly.min.js is a UMD bundle: inside Jupyter (RequireJS) or a CommonJS-like page it would register as a
        // module and never set window.Plotly. Shadowing define/module/exports makes it take the global path.
        var sb = new StringBuilder();
        sb.Append("<script type=\"text/javascript\">if (!window.Plotly) { (function () { var define, module, exports;\n");
        sb.Append(plotlyJs.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase));
        sb.Append("\n}).call(window); }</script>\n");
        return sb.ToString();
    }
}
