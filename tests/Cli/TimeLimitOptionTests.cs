using ViXml.Notebooks;
using ViXml.Tests.TestSupport;
using ViXml.Tests.Xmc;

namespace ViXml.Tests.Cli;

/// <summary>
/// Numeric options of nb / reproduce (issue 20: <c>nb run --timeout 1e300</c> overflowed TimeSpan and exited 70): every
/// time limit is checked (finite, above 0, at most a week) with one "error: --option ..." line and exit 2, before
/// anything runs; the library refuses the same values with an ArgumentException.
/// </summary>
public class TimeLimitOptionTests
{
    public static TheoryData<string, string, string> Bad()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var value in new[] { "1e300", "NaN", "Infinity", "-Infinity", "0", "-1", "604801", "1e20" })
        {
            data.Add("nb-run", "--timeout", value);
            data.Add("nb-run", "--cell-timeout", value);
            data.Add("reproduce", "--timeout", value);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Bad))]
    public void AnInsaneTimeLimitIsAUserErrorNamingTheOption(string command, string option, string value)
    {
        var nb = Repo.Fixture("notebooks", "basic.ipynb");
        var scratch = Repo.TempDir("vixml-timeouts");
        string[] args = command == "nb-run"
            ? ["nb", "run", nb, "--out", Path.Combine(scratch, "out.ipynb"), option, value]
            : ["reproduce", "--notebooks", Path.Combine(scratch, "none"), "--results", scratch, "--paper-tables", scratch, option, value];
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {option} ", err);
        Assert.Contains("expected a number of seconds above 0 and at most 604800 (7 days)", err);
        Assert.DoesNotContain("internal error", err);
        Assert.False(File.Exists(Path.Combine(scratch, "out.ipynb")));
    }

    [Fact]
    public void TheRunnerRefusesTheSameLimits()
    {
        foreach (var t in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1), TimeSpan.FromDays(8), TimeSpan.MaxValue })
        {
            var e = Assert.Throws<ArgumentException>(() => NotebookRunner.Run(Repo.Fixture("notebooks", "basic.ipynb"), new NotebookRunOptions { Timeout = t }));
            Assert.Contains("timeout", e.Message);
            e = Assert.Throws<ArgumentException>(() => NotebookRunner.Run(Repo.Fixture("notebooks", "basic.ipynb"), new NotebookRunOptions { CellTimeout = t }));
            Assert.Contains("cell timeout", e.Message);
        }
    }
}
