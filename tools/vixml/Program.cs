using System.CommandLine;
using System.Reflection;

namespace ViXml.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = BuildRoot();
        try
        {
            // No default handler: user errors (CliException) print one line; anything else is a real bug and keeps its trace.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
    }

    /// <summary>The full command tree; public so tests can run commands in-process.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ViXml: extreme multi-label classification with LLM and multimodal encoders (C# over libtorch).");
        var commands = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => ((ICliCommand)Activator.CreateInstance(t)!).Build())
            .OrderBy(c => c.Name, StringComparer.Ordinal);
        foreach (var c in commands) root.Subcommands.Add(c);
        return root;
    }
}

/// <summary>A user-facing error: printed as "error: message" with the exit code, no stack trace.</summary>
public sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
