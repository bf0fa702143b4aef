using ViXml.Common;
using ViXml.Tests.TestSupport;
using ViXml.Xmc.Debian;

namespace ViXml.Tests.Cli;

/// <summary>`data build --out D` over an existing dataset: built beside it and swapped in; leftovers of killed builds
/// are cleaned; a folder that is not a dataset is never replaced.</summary>
public class DirectorySwapTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-swap");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    [Fact]
    public void CommitSwapsAndKeepsNoTemporaries()
    {
        var target = Path.Combine(_dir, "d");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "old.txt"), "old");
        var tmp = DirectorySwap.Begin(target);
        File.WriteAllText(Path.Combine(tmp, "new.txt"), "new");
        Assert.True(File.Exists(Path.Combine(target, "old.txt")));   // the old folder stays until the swap
        DirectorySwap.Commit(tmp, target);
        Assert.Equal(["new.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        Assert.Equal(["d"], Directory.GetDirectories(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void StaleFoldersOfKilledBuildsAreCleanedOrRestored()
    {
        var target = Path.Combine(_dir, "d");
        const int deadPid = 2_000_000_000;
        Directory.CreateDirectory(Path.Combine(_dir, $".d.build-{deadPid}"));
        var old = Path.Combine(_dir, $".d.old-{deadPid}");   // killed between the two renames of the fallback path
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, "manifest.json"), "{}");
        DirectorySwap.CleanStale(target);
        Assert.True(File.Exists(Path.Combine(target, "manifest.json")));
        Assert.Equal(["d"], Directory.GetDirectories(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void RebuildReplacesTheDatasetAndRefusesForeignFolders()
    {
        var apt = AptInputs.FromDirectory(Repo.Fixture("apt-fake"));
        var ds = Path.Combine(_dir, "apps");
        DebianDatasets.BuildTo("debian-apps-mm", "full", apt, ds);
        int icons = Directory.GetFiles(Path.Combine(ds, "images")).Length;
        File.WriteAllText(Path.Combine(ds, "mine.txt"), "a file the user added");
        // an output of an older build that this build no longer writes: listed in the old manifest, so the build's own
        var manifest = Path.Combine(ds, "manifest.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"outputs\": [", "\"outputs\": [{\"file\": \"stale.txt\", \"bytes\": 1, \"sha256\": \"\"}, "));
        File.WriteAllText(Path.Combine(ds, "stale.txt"), "from an older build");
        DebianDatasets.BuildTo("debian-apps-mm", "full", apt, ds);
        Assert.False(File.Exists(Path.Combine(ds, "stale.txt")));
        Assert.Equal("a file the user added", File.ReadAllText(Path.Combine(ds, "mine.txt")));   // kept (issue 20)
        Assert.Equal(icons, Directory.GetFiles(Path.Combine(ds, "images")).Length);
        Assert.Empty(ViXml.Xmc.DatasetManifest.Verify(ds, checksums: true));
        Assert.Equal(["apps"], Directory.GetDirectories(_dir).Select(Path.GetFileName));

        var foreign = Path.Combine(_dir, "mine");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "x");
        Assert.Throws<OutputPathException>(() => DebianDatasets.BuildTo("debian-deps-titles", "full", apt, foreign));
        Assert.True(File.Exists(Path.Combine(foreign, "notes.txt")));
    }

    [Fact]
    public void SigkillDuringARebuildNeverLeavesAMixedOrMissingDataset()
    {
        var ds = Path.Combine(_dir, "apps");
        var apt = Repo.Fixture("apt-fake");
        DebianDatasets.BuildTo("debian-apps-mm", "full", AptInputs.FromDirectory(apt), ds);
        int icons = Directory.GetFiles(Path.Combine(ds, "images")).Length;
        var dll = Path.Combine(AppContext.BaseDirectory, "vixml.dll");
        foreach (var delayMs in new[] { 300, 600, 900, 1200, 1600, 2200 })
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet", [dll, "data", "build", "debian-apps-mm", "--size", "full", "--apt-dir", apt, "--out", ds])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            Thread.Sleep(delayMs);
            try { p.Kill(); } catch (InvalidOperationException) { /* finished already */ }
            p.WaitForExit();
            // whatever the moment: the folder is a whole dataset that matches its manifest
            Assert.Empty(ViXml.Xmc.DatasetManifest.Verify(ds, checksums: true));
            Assert.Equal(icons, Directory.GetFiles(Path.Combine(ds, "images")).Length);
        }
        DebianDatasets.BuildTo("debian-apps-mm", "full", AptInputs.FromDirectory(apt), ds);   // cleans what the kills left
        Assert.Equal(["apps"], Directory.GetDirectories(_dir).Select(Path.GetFileName));
    }
}
