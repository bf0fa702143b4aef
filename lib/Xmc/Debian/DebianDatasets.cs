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
    public static BuiltDataset BuildTo(string name, string size, AptInputs inputs, string outDir)
    {
        var d = Build(name, size, inputs);
        DatasetWriter.Write(d, outDir, inputs);
        return d;
    }
}
