using System.Diagnostics;

namespace ViXml.Notebooks;

/// <summary>Result of checking a notebook with Jupyter's own validator.</summary>
/// <param name="Checked">False when Debian's python3-nbformat is not installed (nothing was checked).</param>
/// <param name="Error">The validator's complaint, or null when valid / unchecked.</param>
public sealed record NbformatResult(bool Checked, string? Error)
{
    public bool Valid => Error is null;
}

/// <summary>
/// Validates written notebooks with Debian's python3-nbformat (<c>/usr/bin/python3</c>; the python3 first on PATH may
/// be another interpreter without it), the same check Jupyter applies when opening a file.
/// </summary>
public static class NbformatCheck
{
    public const string Python = "/usr/bin/python3";

    public static NbformatResult Validate(string path)
    {
        if (!File.Exists(Python)) return new(false, null);
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        // nbformat.read() quietly repairs some faults (it adds missing cell ids), so the raw JSON is first checked
        // against the schema of the minor version it claims, without repairs; then the usual read + validate.
        psi.ArgumentList.Add(
            "import sys, json\n" +
            "try:\n import nbformat\n from nbformat.validator import get_validator\nexcept ImportError:\n sys.exit(3)\n" +
            "with open(sys.argv[1], encoding='utf-8') as f:\n raw = json.load(f)\n" +
            "errs = list(get_validator(4, raw.get('nbformat_minor', 0)).iter_errors(raw))\n" +
            "for e in errs[:5]:\n print('/'.join(str(p) for p in e.absolute_path) + ': ' + e.message, file=sys.stderr)\n" +
            "if errs:\n sys.exit(1)\n" +
            "nbformat.validate(nbformat.read(sys.argv[1], 4))");
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode switch
        {
            0 => new(true, null),
            3 => new(false, null),
            _ => new(true, $"{path} is not valid nbformat: {LastLines(err, 6)}"),
        };
    }

    private static string LastLines(string s, int n) => string.Join("\n", s.TrimEnd().Split('\n').TakeLast(n));
}
