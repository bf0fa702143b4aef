namespace ViXml.Xmc.Debian;

/// <summary>The embedded datasets `vixml data build NAME` knows, built from Debian's apt metadata.</summary>
public static class DebianDatasets
{
    public static readonly string[] Names = ["debian-deps-titles", "debian-deps", "debian-apps-mm"];

    /// <summary>Builds a dataset in memory from the given apt files.</summary>
    public static BuiltDataset Build(string name, string size, AptInputs inputs) => name switch
    {
        "debian-deps-titles" => DebianDepsBuilder.Build(inputs, titlesOnly: true, size),
        "debian-deps" => DebianDepsBuilder.Build(inputs, titlesOnly: false, size),
        "debian-apps-mm" => DebianAppsBuilder.Build(inputs, size),
        _ => throw new ArgumentException($"unknown dataset '{name}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>Builds and writes; returns the built dataset (for its counts).</summary>
    /// <summary>
    /// Builds and writes; returns the built dataset (for its counts). The folder is written beside
    /// <paramref name="outDir"/> and swapped in at the end (<see cref="ViXml.Common.DirectorySwap"/>): an interrupted
    /// build leaves the previous dataset untouched. An existing folder that is not a built dataset (no manifest.json)
    /// is refused rather than replaced.
    /// </summary>
    public static BuiltDataset BuildTo(string name, string size, AptInputs inputs, string outDir)
    {
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any()
            && !File.Exists(Path.Combine(outDir, "manifest.json")))
            throw new ViXml.Common.OutputPathException(
                $"{outDir} holds files but no manifest.json, so it is not a built dataset; refusing to replace it (choose another --out)");
        var d = Build(name, size, inputs);
        d.Kept = DatasetWriter.WriteInPlaceOf(outDir, tmp => DatasetWriter.Write(d, tmp, inputs));
        return d;
    }
}
