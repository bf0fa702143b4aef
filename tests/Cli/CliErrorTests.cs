using System.Diagnostics;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Xmc;

namespace ViXml.Tests.Cli;

/// <summary>
/// The CLI's top level on bad input (issue 15): one line "error: ..." naming the file, line, key or option, an exit code
/// in 1..125, never a stack trace (unless --verbose); and no run or dataset is ever replaced without being asked.
/// </summary>
public class CliErrorTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-cli");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    private string W(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    private static void OneLineError((int Code, string Out, string Err) r, string expected)
    {
        Assert.InRange(r.Code, 1, 125);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("note:")).ToArray();
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: "), $"expected one error line, got:\n{r.Err}");
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void BadFilesGiveOneLine()
    {
        var y = W("y.txt", "2 3\n0:1\n1:1\n");
        OneLineError(CliRunner.Run("metrics", "--truth", W("big.txt", "2147483647 5\n1:1\n"), "--scores", y), "big.txt:1:");
        OneLineError(CliRunner.Run("metrics", "--truth", W("wide.txt", "1 2147483647\n1:1\n"), "--scores", y), "wide.txt:1:");
        OneLineError(CliRunner.Run("metrics", "--truth", Path.Combine(_dir, "none", "y.txt"), "--scores", y), "does not exist");
        OneLineError(CliRunner.Run("metrics", "--truth", _dir, "--scores", y), "is a folder");
        OneLineError(CliRunner.Run("metrics", "--truth", "/dev/zero", "--scores", y), "/dev/zero: is a device");
        OneLineError(CliRunner.Run("metrics", "--truth", y, "--scores", y, "--train", y, "--a", "NaN", "--b", "-5"), "--a/--b");
        OneLineError(CliRunner.Run("data", "stats", Path.Combine(_dir, "none")), "no such dataset folder");
        OneLineError(CliRunner.Run("eval", "--run", _dir), "run.json not found");
        W("run.json", "{\"config\": ");
        OneLineError(CliRunner.Run("eval", "--run", _dir), "run.json: broken run record");
        OneLineError(CliRunner.Run("train", "--config", W("empty.yaml", "# nothing\n")), "the configuration is empty");
        OneLineError(CliRunner.Run("train", "--config", W("b.yaml", "name: b\nsampler:\n  batch_size: 2147483647\n")), "b.yaml:3: sampler.batch_size");
        OneLineError(CliRunner.Run("train", "--config", W("h.yaml", "name: h\nmodel:\n  hidden: 1048576\n")), "h.yaml:3: model.hidden");
    }

    [Fact]
    public void KIsBoundedByTheLabelsAndSaysSo()
    {
        var y = W("y.txt", "2 3\n0:1\n1:1\n");
        var s = W("s.txt", "2 3\n0:0.9 1:0.5\n1:1\n");
        var (code, stdout, err) = CliRunner.Run("metrics", "--truth", y, "--scores", s, "--k", "5000000");
        Assert.Equal(0, code);
        Assert.Contains("note: --k 5000000 exceeds the 3 labels", err);
        Assert.Contains("@3", stdout);
        Assert.DoesNotContain("@4", stdout);
    }

    [Fact]
    public void OutputPathsThatCannotBeWrittenAreNamed()
    {
        var ds = Path.Combine(_dir, "ds");
        Assert.Equal(0, CliRunner.Run("data", "build", "debian-deps-titles", "--size", "full", "--apt-dir", Repo.Fixture("apt-fake"), "--out", ds).Code);
        Directory.CreateDirectory(Path.Combine(_dir, "folder"));
        var file = W("file", "");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--out", Path.Combine(_dir, "folder")), "it is a folder");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--out", Path.Combine(file, "x.txt")), $"{file} is a file");
        OneLineError(CliRunner.Run("baseline", "bm25", "--data", ds, "--out", "/proc/x"), "cannot write /proc/x: the folder /proc");
        OneLineError(CliRunner.Run("data", "build", "debian-deps-titles", "--size", "full", "--apt-dir", Repo.Fixture("apt-fake"), "--out", Path.Combine(_dir, "folder", "..")),
            "not a built dataset");
    }

    [Fact]
    public void TrainRefusesANonEmptyRunFolder()
    {
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "metrics.csv"), "epoch\n");
        File.WriteAllText(Path.Combine(run, "run.json"), "{}");
        var cfg = Repo.Path_("configs", "ci.yaml");
        OneLineError(CliRunner.Run("train", "--config", cfg, "--out", run), "is not empty");
        OneLineError(CliRunner.Run("train", "--config", cfg, "--out", run, "--resume", "--overwrite"), "exclude each other");
        OneLineError(CliRunner.Run("train", "--config", cfg, "--out", run, "--resume"), "no checkpoint to resume from");
        Assert.True(File.Exists(Path.Combine(run, "metrics.csv")));
    }

    private static (int Code, string Out, string Err) Process(string shellRedirect, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "vixml.dll");
        var quoted = string.Join(' ', args.Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        var psi = new ProcessStartInfo("/bin/sh", ["-c", $"dotnet '{dll}' {quoted} {shellRedirect}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o.Result, e);
    }

    [Fact]
    public void FullOrClosedStdoutAndVerbose()
    {
        var y = W("y.txt", "2 3\n0:1\n1:1\n");
        var full = Process(">/dev/full", "metrics", "--truth", y, "--scores", y, "--k", "2");
        Assert.Equal(74, full.Code);
        Assert.Contains("error: cannot write to standard output", full.Err);
        var closed = Process(">&-", "metrics", "--truth", y, "--scores", y, "--k", "2");
        Assert.Equal(74, closed.Code);
        Assert.Contains("standard output", closed.Err);
        var bad = W("bad.txt", "x y\n");
        var quiet = Process("", "metrics", "--truth", bad, "--scores", y);
        Assert.Equal(2, quiet.Code);
        Assert.DoesNotContain(" at ", quiet.Err);
        var verbose = Process("", "metrics", "--truth", bad, "--scores", y, "--verbose");
        Assert.Equal(2, verbose.Code);
        Assert.Contains("bad.txt:1:", verbose.Err);
        Assert.Contains("   at ", verbose.Err);   // the trace, only when asked
    }
}
