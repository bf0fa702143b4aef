using ViXml.Reporting;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Experiments;

/// <summary>
/// What the run profiles mean for the experiments: <c>smoke</c> = a few hundred queries cut from the small embedded
/// datasets, seconds of training, one seed (proves the notebooks run, in any kernel; its numbers mean nothing);
/// <c>ci</c> = the small embedded datasets, short schedules (about a minute per notebook on a fast 2-core machine);
/// <c>cpu</c> = the full embedded datasets (this machine, hours); <c>paper</c> = a user-supplied XC dataset folder.
/// </summary>
public static class ExperimentProfile
{
    public static readonly string[] Names = ["smoke", "ci", "cpu", "paper"];

    /// <summary>Training queries the smoke profile keeps (the first ones of the small dataset).</summary>
    public const int SmokeTrainQueries = 200;

    /// <summary>Test queries the smoke profile keeps (the first ones of the small dataset).</summary>
    public const int SmokeTestQueries = 100;

    /// <summary>Whether a profile runs on the small embedded datasets and their short schedules' configuration files
    /// (configs/ci.yaml rather than cpu.yaml): smoke and ci.</summary>
    public static bool IsSmall(string profile) => profile is "smoke" or "ci";

    /// <summary>
    /// Under smoke, a subset of <paramref name="src"/> (<see cref="SmokeTrainQueries"/> training and
    /// <see cref="SmokeTestQueries"/> test queries and the labels they use; <see cref="DatasetSubset"/>) written under
    /// <paramref name="runsRoot"/>/data/, and the note its tables' scale line adds; any other profile: the dataset
    /// itself and "".
    /// </summary>
    public static (DatasetSource Source, string Note) ForProfile(string profile, DatasetSource src, string runsRoot, TextWriter? log = null)
    {
        if (profile != "smoke") return (src, "");
        var info = DatasetSubset.Write(src.Directory, Path.Combine(runsRoot, "data", src.Name + "-smoke"), SmokeTrainQueries, SmokeTestQueries);
        log?.WriteLine($"smoke: {info.TrainQueries} training / {info.TestQueries} test queries and {info.Labels} labels of {src.Name} -> {info.Directory}");
        return (src with { Name = src.Name + "-smoke", Directory = info.Directory }, info.Note);
    }

    /// <summary>The note every table of ours carries, so nobody mistakes it for a paper number.</summary>
    public const string OurScaleNote = "CPU, embedded Debian data, random init";

    /// <summary>The scale note for a profile: the embedded data unless the user supplied a folder (profile paper).</summary>
    public static string ScaleNote(string profile) =>
        profile == "paper" ? "CPU, user-supplied XC data, random init" : OurScaleNote;

    public static void Check(string profile)
    {
        if (!Names.Contains(profile))
            throw new ArgumentException($"unknown profile '{profile}'; use one of {string.Join(", ", Names)}");
    }

    /// <summary>Embedded dataset size for a profile: smoke, ci → small (smoke then cuts a subset from it), cpu → full
    /// (paper uses a user folder instead).</summary>
    public static string EmbeddedSize(string profile)
    {
        Check(profile);
        return profile switch
        {
            "smoke" or "ci" => "small",
            "cpu" => "full",
            _ => throw new ArgumentException(
                "profile 'paper' does not use the embedded Debian datasets: pass data_dir = an XC dataset folder " +
                "(e.g. LF-AmazonTitles-131K with trn_X_Y.txt, tst_X_Y.txt, trn/tst/lbl .raw.txt)"),
        };
    }

    /// <summary>The repository root ($VIXML_ROOT or the folder above holding ViXml.Lib.csproj), else the current folder.</summary>
    public static string RepoRoot() => ChartExport.RepoRoot() ?? Environment.CurrentDirectory;
}

/// <summary>Where a dataset folder comes from and how to make it if it is missing.</summary>
public sealed record DatasetSource
{
    /// <summary>Display name, e.g. "debian-deps-titles-small" or "LF-AmazonTitles-131K".</summary>
    public required string Name { get; init; }

    /// <summary>The XC-layout folder.</summary>
    public required string Directory { get; init; }

    /// <summary>Embedded dataset name to build with when the folder is missing; null for user-supplied folders.</summary>
    public string? EmbeddedName { get; init; }

    /// <summary>"small" or "full" for embedded datasets.</summary>
    public string? Size { get; init; }
}

/// <summary>Resolves profile + dataset names to folders, building the embedded ones exactly as `vixml data build` does.</summary>
public static class DatasetResolver
{
    /// <summary>
    /// The folder for <paramref name="dataset"/> under <paramref name="profile"/>: for smoke/ci/cpu an embedded dataset under
    /// DATA_ROOT/&lt;name&gt;-&lt;size&gt;; for paper the user's <paramref name="dataDir"/> (which must exist).
    /// </summary>
    public static DatasetSource Resolve(string profile, string dataset, string dataRoot, string? dataDir)
    {
        ExperimentProfile.Check(profile);
        if (profile == "paper")
        {
            if (string.IsNullOrWhiteSpace(dataDir))
                throw new ArgumentException(
                    "profile 'paper' needs data_dir: the folder of an Extreme Classification Repository dataset " +
                    "(trn_X_Y.txt, tst_X_Y.txt, trn.raw.txt, tst.raw.txt, lbl.raw.txt), e.g. -p data_dir=/data/LF-AmazonTitles-131K");
            var full = Path.GetFullPath(dataDir);
            if (!System.IO.Directory.Exists(full))
                throw new DirectoryNotFoundException($"data_dir '{dataDir}' does not exist (resolved to {full})");
            foreach (var f in new[] { "trn_X_Y.txt", "tst_X_Y.txt" })
                if (!File.Exists(Path.Combine(full, f)))
                    throw new FileNotFoundException($"data_dir {full} has no {f}: not an XC dataset folder", Path.Combine(full, f));
            return new DatasetSource { Name = Path.GetFileName(full.TrimEnd('/')), Directory = full };
        }
        if (!DebianDatasets.Names.Contains(dataset))
            throw new ArgumentException($"unknown embedded dataset '{dataset}' (known: {string.Join(", ", DebianDatasets.Names)})");
        var size = ExperimentProfile.EmbeddedSize(profile);
        return new DatasetSource
        {
            Name = $"{dataset}-{size}",
            Directory = Path.GetFullPath(Path.Combine(dataRoot, $"{dataset}-{size}")),
            EmbeddedName = dataset,
            Size = size,
        };
    }

    /// <summary>
    /// Builds the embedded dataset if its folder has no manifest.json yet (the builder writes it last, atomically), from
    /// <paramref name="aptDir"/> (fixed file names, as tests/fixtures/apt-fake) or else the system's apt lists.
    /// Returns true when it built.
    /// </summary>
    public static bool EnsureBuilt(DatasetSource source, string? aptDir, TextWriter? log = null)
    {
        if (File.Exists(Path.Combine(source.Directory, "manifest.json")) || source.EmbeddedName is null)
        {
            if (source.EmbeddedName is null && !File.Exists(Path.Combine(source.Directory, "trn_X_Y.txt")))
                throw new FileNotFoundException($"{source.Directory}: no trn_X_Y.txt");
            return false;
        }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var inputs = string.IsNullOrWhiteSpace(aptDir) ? AptInputs.FromSystem() : AptInputs.FromDirectory(aptDir);
        DebianDatasets.BuildTo(source.EmbeddedName, source.Size!, inputs, source.Directory);
        log?.WriteLine($"built {source.Name} -> {source.Directory} in {sw.Elapsed.TotalSeconds:F1} s");
        return true;
    }
}
