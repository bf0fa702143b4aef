namespace ViXml.Reporting;

/// <summary>
/// An object that knows how to show itself in a notebook: a Jupyter mime bundle (mime type → data). Text mime types
/// map to strings; JSON mime types (<c>application/json</c>, <c>application/*+json</c>) to a JsonNode or any
/// object System.Text.Json can serialize. The runner turns it into a <c>display_data</c> or <c>execute_result</c>.
/// </summary>
public interface IRichDisplay
{
    Dictionary<string, object> ToMimeBundle();
}

/// <summary>Mime types the project emits.</summary>
public static class MimeTypes
{
    public const string Plain = "text/plain";
    public const string Html = "text/html";
    public const string Markdown = "text/markdown";
    public const string Plotly = "application/vnd.plotly.v1+json";
    public const string Json = "application/json";

    /// <summary>nbformat stores these as JSON values rather than strings.</summary>
    public static bool IsJson(string mime) =>
        mime.StartsWith("application/", StringComparison.Ordinal) &&
        (mime.EndsWith("/json", StringComparison.Ordinal) || mime.EndsWith("+json", StringComparison.Ordinal));
}
