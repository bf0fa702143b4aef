namespace ViXml.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of every input format we read (see <see cref="FuzzFormats"/>): each mutated file must give a valid
/// result or one of our clear errors, within a bounded allocation. CI runs <see cref="DefaultCases"/> cases per format
/// (a third of that for the three results-site formats: 11,250 in all). A longer run: <c>VIXML_FUZZ_CASES=20000 VIXML_FUZZ_SEED=7 dotnet test ... --filter
/// FullyQualifiedName~Fuzz</c> (see tests/Fuzz/README.md). Failures print the case's seed, index and bytes.
/// </summary>
[Collection("fuzz")]
public class FuzzTests(ITestOutputHelper output)
{
    public const int DefaultCases = 750;

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("VIXML_FUZZ_CASES"), out var n) && n > 0 ? n : DefaultCases;
    private static ulong Seed => ulong.TryParse(Environment.GetEnvironmentVariable("VIXML_FUZZ_SEED"), out var s) ? s : 20261201;

    public static TheoryData<string> Formats => new(FuzzFormats.All.Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Formats))]
    public void MutatedFilesGiveAValidResultOrAClearError(string name)
    {
        var format = FuzzFormats.All.Single(f => f.Name == name);
        var stats = FuzzRunner.Run(format, Math.Max(1, (int)Math.Round(Cases * format.Share)), SeedFor(name, Seed));
        output.WriteLine($"{name}: {stats}");
        Assert.True(stats.Crash == 0 && stats.OverAlloc == 0 && stats.Slow == 0,
            $"{name}: {stats}\n{string.Join("\n\n", stats.Failures)}");
        Assert.True(stats.Clear > 0, $"{name}: no mutation was refused, so the harness tested nothing ({stats})");
    }

    /// <summary>The seed a format's run uses (so a failure can be replayed with <see cref="FuzzRunner.Cases"/>).</summary>
    internal static ulong SeedFor(string name, ulong seed = 20261201) => seed ^ Fnv(name);

    private static ulong Fnv(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}
