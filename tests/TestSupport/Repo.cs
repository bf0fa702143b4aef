namespace ViXml.Tests.TestSupport;

/// <summary>Locates the repository root (the folder holding ViXml.Lib.csproj) from the test's output folder.</summary>
public static class Repo
{
    private static readonly Lazy<string> _root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ViXml.Lib.csproj")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException(
            $"cannot find ViXml.Lib.csproj above {AppContext.BaseDirectory}");
    });

    public static string Root => _root.Value;

    /// <summary>Path under the repository root.</summary>
    public static string Path_(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Path under tests/fixtures.</summary>
    public static string Fixture(params string[] parts) => Path.Combine([Root, "tests", "fixtures", .. parts]);

    /// <summary>A fresh temporary directory, deleted by the caller or left for inspection.</summary>
    public static string TempDir(string prefix = "vixml-test")
    {
        var p = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(p);
        return p;
    }
}
