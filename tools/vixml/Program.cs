using System.CommandLine;
using System.Reflection;

namespace ViXml.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>
    /// Runs one command line. Every exception becomes one readable line on stderr ("error: ...") with an exit code in
    /// 1..125: CliException its own, bad input 2, environment (disk full, permissions, closed stdout) 74, memory 71,
    /// a bug 70. <c>--verbose</c> (or VIXML_VERBOSE=1) also prints the stack trace.
    /// </summary>
    public static int Run(string[] args)
    {
        bool verbose = args.Contains("--verbose") || Environment.GetEnvironmentVariable("VIXML_VERBOSE") == "1";
        Verbose = verbose;
        int code;
        try
        {
            var root = BuildRoot();
            code = root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            Console.Out.Flush();
        }
        catch (CliException e)
        {
            return Report(e.Message, e.ExitCode, verbose ? e : null);
        }
        catch (Exception e)
        {
            var kind = ViXml.Common.UserError.Classify(e);
            var line = ViXml.Common.UserError.OneLine(e);
            if (IsStdoutFailure(e))
                line = e is UnauthorizedAccessException ? "cannot write to standard output: it is closed or not writable"
                    : $"cannot write to standard output: {e.Message}";
            return Report(line, ViXml.Common.UserError.ExitCode(kind), verbose ? e : null);
        }
        return code;
    }

    /// <summary>True while a command line with --verbose runs: user errors then also print their trace.</summary>
    internal static bool Verbose { get; private set; }

    private static bool IsStdoutFailure(Exception e) => e is IOException or UnauthorizedAccessException && e.StackTrace is string st
        && (st.Contains("System.ConsolePal", StringComparison.Ordinal) || st.Contains("ConsoleStream", StringComparison.Ordinal));

    private static int Report(string line, int code, Exception? trace)
    {
        try
        {
            Console.Error.WriteLine($"error: {line}");
            if (trace is not null) Console.Error.WriteLine(trace.ToString());
            Console.Error.Flush();
        }
        catch (IOException) { /* stderr is gone too: the exit code still tells */ }
        return code;
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
        root.Options.Add(new Option<bool>("--verbose") { Description = "on an error, also print the stack trace", Recursive = true });
        return root;
    }
}

/// <summary>A user-facing error: printed as "error: message" with the exit code, no stack trace.</summary>
public sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
