namespace ViXml.Reporting;

/// <summary>
/// Where notebooks and experiments save their tables and charts. Inside <c>vixml nb run</c> / <c>vixml reproduce</c>
/// it is the executed notebook's folder (results/&lt;profile&gt;/); elsewhere $VIXML_RESULTS_DIR, else
/// ./results/interactive. The folder is per logical call flow, so concurrent runs do not mix.
/// </summary>
public static class Results
{
    private static readonly AsyncLocal<string?> Scoped = new();

    public static string Directory
    {
        get
        {
            if (Scoped.Value is { } scoped) return scoped;
            var env = Environment.GetEnvironmentVariable("VIXML_RESULTS_DIR");
            return Path.GetFullPath(string.IsNullOrEmpty(env) ? Path.Combine("results", "interactive") : env);
        }
    }

    /// <summary>Sends saves in this call flow to <paramref name="directory"/> until disposed.</summary>
    public static IDisposable UseDirectory(string directory)
    {
        var previous = Scoped.Value;
        Scoped.Value = Path.GetFullPath(directory);
        return new Restore(() => Scoped.Value = previous);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}
