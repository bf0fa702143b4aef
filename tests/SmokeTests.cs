using ViXml.Tests.TestSupport;

namespace ViXml.Tests;

public class SmokeTests
{
    [Fact]
    public void AtomicWriteReplacesAndLeavesNoTemp()
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "a.txt");
        ViXml.Common.Atomic.WriteAllText(p, "one");
        ViXml.Common.Atomic.WriteAllText(p, "two");
        Assert.Equal("two", File.ReadAllText(p));
        Assert.Single(Directory.GetFiles(dir));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void CliListsCommands()
    {
        var root = ViXml.Cli.Program.BuildRoot();
        Assert.NotNull(root);
    }
}
