namespace ViXml.SafeTensors;

/// <summary>A malformed, hostile or inconsistent safetensors file or index. The message names the file (and the key).</summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>The file the problem was found in.</summary>
    public string File { get; }

    /// <summary>The tensor name or JSON key concerned, when there is one.</summary>
    public string? Key { get; }

    public SafeTensorsException(string file, string? key, string problem, Exception? inner = null)
        : base(Format(file, key, problem), inner)
    {
        File = file;
        Key = key;
    }

    private static string Format(string file, string? key, string problem) =>
        key is null ? $"{file}: {problem}" : $"{file}: tensor '{key}': {problem}";
}
