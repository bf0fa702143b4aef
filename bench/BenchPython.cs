using System.Diagnostics;
using System.Globalization;

namespace ViXml.Bench;

/// <summary>Runs a bench/python/*.py script with Debian's /usr/bin/python3 and returns "key ... value" lines.</summary>
internal static class BenchPython
{
    public static string? ScriptPath(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "bench", "python", name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Output lines split on spaces, or null (with a printed reason) if python/torch is unavailable.</summary>
    public static List<string[]>? Run(string script, params string[] args)
    {
        var path = ScriptPath(script);
        if (path is null || !File.Exists("/usr/bin/python3")) { Console.WriteLine($"  python side skipped: {script} or /usr/bin/python3 not found"); return null; }
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(path);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { Console.WriteLine($"  python side failed ({p.ExitCode}): {stderr.Trim()}"); return null; }
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')).ToList();
    }

    public static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
