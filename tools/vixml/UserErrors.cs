namespace ViXml.Cli;

/// <summary>
/// Prints a <see cref="CliException"/> as "error: message" with its exit code instead of a stack trace, also when a
/// caller (a test) invokes a command with System.CommandLine's default exception handler, which would print a trace.
/// </summary>
internal static class UserErrors
{
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (Program.Verbose) Console.Error.WriteLine(e.ToString());
            return e.ExitCode;
        }
    }
}
