using ViXml.Models;
using ViXml.Models.Hf;
using ViXml.Notebooks;
using ViXml.SafeTensors;
using ViXml.Training.Config;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Common;

/// <summary>How an exception reaches a user: a bad input (names the file, line, key or option), a problem of the
/// environment (disk full, permissions, closed output), exhausted memory, or a bug in ViXml.</summary>
public enum ErrorKind { Input, Environment, Memory, Internal }

/// <summary>
/// The one place that decides which exceptions are "clear errors" (our exception types, whose messages name the file,
/// line, key or option) and how any exception is printed as one line. The CLI's top level and the fuzz harness use it.
/// </summary>
public static class UserError
{
    /// <summary>Exception types whose message is written for the user (file:line: what is wrong).</summary>
    public static bool IsOurs(Exception e) => e is XmcFormatException or ConfigException or HfConfigException
        or CheckpointMismatchException or SafeTensorsException or EmbedInputException or NotebookFormatException
        or NotebookParameterException or AptMetadataMissingException or InputLimitException or InvalidDataException
        or InputFileException;

    public static ErrorKind Classify(Exception e) => e switch
    {
        _ when IsOurs(e) => ErrorKind.Input,
        FileNotFoundException or DirectoryNotFoundException => ErrorKind.Input,
        OutOfMemoryException or InsufficientMemoryException => ErrorKind.Memory,
        IOException or UnauthorizedAccessException => ErrorKind.Environment,
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerException!),
        _ => ErrorKind.Internal,
    };

    /// <summary>Exit code for a kind: 2 input (as usage errors), 74 environment (EX_IOERR), 71 memory, 70 internal (EX_SOFTWARE).</summary>
    public static int ExitCode(ErrorKind k) => k switch
    {
        ErrorKind.Input => 2, ErrorKind.Environment => 74, ErrorKind.Memory => 71, _ => 70,
    };

    /// <summary>One line: the message's first line (native backtraces and inner details go to --verbose).</summary>
    public static string OneLine(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerException!;
        var msg = e.Message.Trim();
        int nl = msg.IndexOf('\n');
        if (nl >= 0) msg = msg[..nl].TrimEnd() + " (more with --verbose)";
        return Classify(e) switch
        {
            ErrorKind.Input => msg,
            ErrorKind.Environment => e is UnauthorizedAccessException ? $"permission denied: {msg}" : msg,
            ErrorKind.Memory => $"out of memory ({msg}); the input declares sizes this machine cannot hold",
            _ => $"internal error ({e.GetType().Name}: {msg}); please report it with the output of --verbose",
        };
    }
}

/// <summary>An input that declares sizes beyond what is sane or what the file holds (checked before allocating).</summary>
public sealed class InputLimitException(string message) : Exception(message);
