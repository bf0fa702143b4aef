namespace ViXml.Xmc;

/// <summary>Invalid input data. The message always starts with "file:line:" (line omitted when it does not apply).</summary>
public sealed class XmcFormatException : Exception
{
    /// <summary>The offending file (as given by the caller).</summary>
    public string File { get; }
    /// <summary>1-based line number, or 0 when the error is about the file as a whole.</summary>
    public int Line { get; }

    public XmcFormatException(string file, int line, string message)
        : base(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
    {
        File = file;
        Line = line;
    }
}
