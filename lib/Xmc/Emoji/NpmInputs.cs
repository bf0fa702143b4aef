using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace ViXml.Xmc.Emoji;

/// <summary>Raised when an npm tarball cannot be had or fails its integrity check; the message says what to do.</summary>
public sealed class NpmInputException(string message) : Exception(message);

/// <summary>One pinned npm package: name, exact version, the registry's sha512 integrity and the licences that apply.</summary>
public sealed record NpmPackage(string Name, string Version, string Integrity, string NpmLicense, string ContentLicense, string Attribution)
{
    /// <summary>The file name `npm pack` gives the tarball (scoped names lose the '@' and turn '/' into '-').</summary>
    public string TarballName => $"{Name.TrimStart('@').Replace('/', '-')}-{Version}.tgz";
}

/// <summary>
/// The npm tarballs a registry-built dataset reads. Tarballs are fetched once with <c>npm pack NAME@VERSION</c> into a
/// cache folder (never committed), checked against the pinned sha512 integrity, and read in place (gzip + tar).
/// </summary>
public sealed class NpmInputs
{
    /// <summary>Package name -> tarball path.</summary>
    public IReadOnlyDictionary<string, string> Tarballs { get; }
    /// <summary>The pinned packages (for the manifest and the licence file).</summary>
    public IReadOnlyList<NpmPackage> Packages { get; }
    /// <summary>True when the tarballs were checked against the pinned integrity (false for test fakes).</summary>
    public bool Verified { get; }

    private NpmInputs(IReadOnlyList<NpmPackage> packages, IReadOnlyDictionary<string, string> tarballs, bool verified)
    {
        Packages = packages; Tarballs = tarballs; Verified = verified;
    }

    public string Tarball(string name) => Tarballs.TryGetValue(name, out var p) ? p
        : throw new NpmInputException($"package {name} is not among the inputs ({string.Join(", ", Tarballs.Keys)})");

    /// <summary>The sha512 integrity string npm uses ("sha512-" + base64 of the digest).</summary>
    public static string Integrity(string file)
    {
        using var fs = ViXml.Common.InputFile.OpenRead(file);
        return "sha512-" + Convert.ToBase64String(SHA512.HashData(fs));
    }

    /// <summary>
    /// Makes sure every pinned tarball is in <paramref name="cacheDir"/> with the pinned integrity, running
    /// <c>npm pack</c> for the missing ones. A cached file with the wrong digest is deleted and fetched again once.
    /// </summary>
    public static NpmInputs FromCache(IReadOnlyList<NpmPackage> packages, string cacheDir, TextWriter? log = null, string npm = "npm")
    {
        Directory.CreateDirectory(cacheDir);
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in packages)
        {
            var path = Path.Combine(cacheDir, p.TarballName);
            if (File.Exists(path) && Integrity(path) != p.Integrity)
            {
                log?.WriteLine($"npm: {path} does not match the pinned integrity; fetching it again");
                File.Delete(path);
            }
            if (!File.Exists(path))
            {
                // Pack into a private folder and move the verified tarball in: no half or unverified file ever
                // sits under the final name, even with two builds at once.
                log?.WriteLine($"npm: pack {p.Name}@{p.Version} -> {cacheDir}");
                var tmpDir = Path.Combine(cacheDir, $".pack.{Environment.ProcessId}.{Guid.NewGuid():N}");
                Directory.CreateDirectory(tmpDir);
                try
                {
                    NpmPack(npm, p, tmpDir);
                    var tmp = Path.Combine(tmpDir, p.TarballName);
                    if (!File.Exists(tmp)) throw new NpmInputException($"npm pack {p.Name}@{p.Version} did not write {p.TarballName}");
                    var got = Integrity(tmp);
                    if (got != p.Integrity)
                        throw new NpmInputException($"{p.Name}@{p.Version}: downloaded tarball has integrity {got}, pinned {p.Integrity} (deleted)");
                    File.Move(tmp, path, overwrite: true);
                }
                finally
                {
                    Directory.Delete(tmpDir, recursive: true);
                }
            }
            paths[p.Name] = path;
        }
        return new NpmInputs(packages, paths, verified: true);
    }

    /// <summary>A folder that already holds the tarballs under their `npm pack` names (test fakes): no integrity check.</summary>
    public static NpmInputs FromDirectory(IReadOnlyList<NpmPackage> packages, string dir)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in packages)
        {
            var path = Path.Combine(dir, p.TarballName);
            if (!File.Exists(path)) throw new NpmInputException($"{dir}: no {p.TarballName} (expected the `npm pack {p.Name}@{p.Version}` tarball)");
            paths[p.Name] = path;
        }
        return new NpmInputs(packages, paths, verified: false);
    }

    private static void NpmPack(string npm, NpmPackage p, string dir)
    {
        var psi = new ProcessStartInfo(npm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "pack", $"{p.Name}@{p.Version}", "--pack-destination", dir, "--loglevel=error", "--ignore-scripts" })
            psi.ArgumentList.Add(a);
        Process proc;
        try { proc = Process.Start(psi) ?? throw new NpmInputException("cannot start npm"); }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new NpmInputException($"npm is not installed; install it (apt-get install -y npm) or put {p.TarballName} into {dir}");
        }
        using (proc)
        {
            var err = proc.StandardError.ReadToEndAsync();
            proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0)
                throw new NpmInputException($"npm pack {p.Name}@{p.Version} failed ({proc.ExitCode}): {err.Result.Trim()}");
        }
    }

    /// <summary>
    /// Reads the regular-file entries of a .tgz whose path (without the leading "package/") satisfies
    /// <paramref name="want"/>; returns path -> bytes.
    /// </summary>
    public static Dictionary<string, byte[]> ReadEntries(string tgz, Func<string, bool> want)
    {
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var fs = ViXml.Common.InputFile.OpenRead(tgz);
            using var gz = new GZipStream(fs, CompressionMode.Decompress);
            using var tar = new TarReader(gz);
            TarEntry? e;
            while ((e = tar.GetNextEntry()) is not null)
            {
                if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || e.DataStream is null) continue;
                var name = e.Name.StartsWith("package/", StringComparison.Ordinal) ? e.Name["package/".Length..] : e.Name;
                if (!want(name) || found.ContainsKey(name)) continue;
                using var ms = new MemoryStream();
                e.DataStream.CopyTo(ms);
                found[name] = ms.ToArray();
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new XmcFormatException(tgz, 0, $"not a readable npm tarball ({ex.Message})");
        }
        return found;
    }

    /// <summary>One file of a tarball as UTF-8 text; a clear error when it is absent.</summary>
    public static string ReadText(string tgz, string path)
    {
        var e = ReadEntries(tgz, n => n == path);
        if (!e.TryGetValue(path, out var b)) throw new XmcFormatException(tgz, 0, $"no file package/{path} in the tarball");
        return new UTF8Encoding(false).GetString(b);
    }
}
