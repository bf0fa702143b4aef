using System.Runtime.InteropServices;

namespace ViXml.Torch;

/// <summary>A tensor-level error with a message a user can act on (libtorch's own first line, without the C++
/// backtrace TorchSharp appends).</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
    public TorchException(string message, Exception inner) : base(message, inner) { }

    /// <summary>libtorch's message without the "Exception raised from ..." backtrace that TorchSharp's
    /// ExternalException carries (13-23 lines of C++ frames).</summary>
    public static string Clean(string message)
    {
        var lines = message.Replace("\r", "").Split('\n');
        var kept = lines.TakeWhile(l => !l.StartsWith("Exception raised from", StringComparison.Ordinal) &&
                                        !l.TrimStart().StartsWith("frame #", StringComparison.Ordinal))
                        .Where(l => l.Trim().Length > 0).ToList();
        return kept.Count == 0 ? lines[0].Trim() : string.Join(" ", kept.Select(l => l.Trim()));
    }

    /// <summary>Runs f; a native libtorch error (ExternalException) becomes one TorchException with the clean message,
    /// prefixed by what was being done.</summary>
    public static T Guard<T>(string what, Func<T> f)
    {
        try { return f(); }
        catch (ExternalException e) { throw new TorchException($"{what}: {Clean(e.Message)}", e); }
    }

    public static void Guard(string what, Action f)
    {
        try { f(); }
        catch (ExternalException e) { throw new TorchException($"{what}: {Clean(e.Message)}", e); }
    }
}
