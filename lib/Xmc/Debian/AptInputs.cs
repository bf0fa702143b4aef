using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace ViXml.Xmc.Debian;

/// <summary>Raised when the Debian metadata a builder needs is not on this machine; the message says what to run.</summary>
public sealed class AptMetadataMissingException(string message) : Exception(message);

/// <summary>
/// The apt list files a dataset is built from, all of one archive release (e.g. bookworm main; the -updates and
/// -security suites are ignored so the dataset follows the stable point release).
/// </summary>
public sealed class AptInputs
{
    /// <summary>The apt-get update invocation that fetches everything the builders read.</summary>
    public const string FetchCommand =
        "apt-get update -o Acquire::Languages=en -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=true";

    /// <summary>Binary package lists (Packages, possibly compressed).</summary>
    public required IReadOnlyList<string> Packages { get; init; }
    /// <summary>English long descriptions (Translation-en).</summary>
    public required IReadOnlyList<string> Translations { get; init; }
    /// <summary>AppStream DEP-11 Components-amd64.yml(.gz), or null.</summary>
    public string? Components { get; init; }
    /// <summary>DEP-11 icons-64x64.tar.gz, or null.</summary>
    public string? Icons { get; init; }
    /// <summary>The archive's InRelease/Release file (for its Date), or null.</summary>
    public string? Release { get; init; }

    /// <summary>A folder with fixed names (tests/fixtures/apt-fake): Packages, Translation-en, Components-amd64.yml[.gz],
    /// icons-64x64.tar.gz, Release; compressed variants (.gz, .xz, .lz4) are accepted.</summary>
    public static AptInputs FromDirectory(string dir)
    {
        string? Find(string stem) => new[] { "", ".gz", ".xz", ".lz4", ".zst" }
            .Select(ext => Path.Combine(dir, stem + ext)).FirstOrDefault(File.Exists);
        var pk = Find("Packages") ?? throw new AptMetadataMissingException($"{dir}: no Packages file");
        return new AptInputs
        {
            Packages = [pk],
            Translations = Find("Translation-en") is string t ? [t] : [],
            Components = Find("Components-amd64.yml"),
            Icons = Find("icons-64x64.tar"),
            Release = Find("InRelease") ?? Find("Release"),
        };
    }

    /// <summary>Finds the local apt lists through <c>apt-get indextargets</c> for the release that carries DEP-11 data
    /// (else the first release without '-' in its name).</summary>
    public static AptInputs FromSystem()
    {
        string output;
        try
        {
            output = RunCapture("apt-get", ["indextargets", "-o", "Acquire::Languages=en",
                "-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=true",
                "--format", "$(FILENAME)\t$(IDENTIFIER)\t$(RELEASE)\t$(COMPONENT)"]);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new AptMetadataMissingException($"cannot run apt-get ({e.Message}); this builder needs Debian's apt metadata");
        }
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t')).Where(p => p.Length == 4)
            .Select(p => (File: p[0], Id: p[1], Release: p[2], Component: p[3])).ToList();
        var release = rows.Where(r => r.Id == "DEP-11").Select(r => r.Release).FirstOrDefault()
            ?? rows.Where(r => r.Id == "Packages" && !r.Release.Contains('-')).Select(r => r.Release).FirstOrDefault()
            ?? throw new AptMetadataMissingException($"apt knows no Packages index. Run as root: {FetchCommand}");
        var mine = rows.Where(r => r.Release == release && r.Component == "main").ToList();
        List<string> Existing(string id) => mine.Where(r => r.Id == id && File.Exists(r.File)).Select(r => r.File).ToList();
        var packages = Existing("Packages");
        if (packages.Count == 0)
            throw new AptMetadataMissingException($"the {release} Packages list is not downloaded. Run as root: {FetchCommand}");
        // InRelease sits next to the lists: <prefix>_dists_<release>_InRelease.
        string? rel = null;
        var marker = $"_dists_{release}_";
        int at = packages[0].IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            var stem = packages[0][..(at + marker.Length)];
            rel = new[] { stem + "InRelease", stem + "Release" }.FirstOrDefault(File.Exists);
        }
        return new AptInputs
        {
            Packages = packages,
            Translations = Existing("Translations"),
            Components = Existing("DEP-11").FirstOrDefault(),
            Icons = Existing("DEP-11-icons").FirstOrDefault(),
            Release = rel,
        };
    }

    /// <summary>Throws with the fetch command if a file the dataset needs is missing.</summary>
    public void Require(bool translations, bool appstream)
    {
        var missing = new List<string>();
        if (translations && Translations.Count == 0) missing.Add("Translation-en (English long descriptions)");
        if (appstream && Components is null) missing.Add("DEP-11 Components-amd64.yml.gz (AppStream)");
        if (appstream && Icons is null) missing.Add("DEP-11 icons-64x64.tar.gz (application icons)");
        if (missing.Count > 0)
            throw new AptMetadataMissingException(
                $"missing apt metadata: {string.Join(", ", missing)}. Run as root: {FetchCommand} " +
                "(a later plain 'apt-get update' deletes the translations and icons again)");
    }

    /// <summary>Opens a list file as text: plain, .gz through GZipStream, other compressions through apt-helper cat-file.</summary>
    public static TextReader OpenText(string path) => new StreamReader(OpenBinary(path), new UTF8Encoding(false), false, 1 << 16);

    /// <summary>
    /// Refuses a control file that was cut off: apt writes every line with its "\n", so an uncompressed list that does
    /// not end with one is truncated (a smaller dataset would otherwise be built without a word). Compressed lists are
    /// checked by their decompressor.
    /// </summary>
    public static void CheckComplete(string path)
    {
        if (path.EndsWith(".gz", StringComparison.Ordinal) || path.EndsWith(".lz4", StringComparison.Ordinal)
            || path.EndsWith(".xz", StringComparison.Ordinal) || path.EndsWith(".zst", StringComparison.Ordinal)
            || path.EndsWith(".bz2", StringComparison.Ordinal)) return;
        using var fs = ViXml.Common.InputFile.OpenRead(path);
        if (fs.Length == 0) throw new XmcFormatException(path, 0, "empty apt list (interrupted download?); run apt-get update again");
        fs.Seek(-1, SeekOrigin.End);
        if (fs.ReadByte() != '\n')
            throw new XmcFormatException(path, 0, "truncated: the last line has no newline (interrupted download?); run apt-get update again");
    }

    public static Stream OpenBinary(string path)
    {
        if (path.EndsWith(".gz", StringComparison.Ordinal))
            return new GZipStream(ViXml.Common.InputFile.OpenRead(path), CompressionMode.Decompress);
        if (path.EndsWith(".lz4", StringComparison.Ordinal) || path.EndsWith(".xz", StringComparison.Ordinal)
            || path.EndsWith(".zst", StringComparison.Ordinal) || path.EndsWith(".bz2", StringComparison.Ordinal))
        {
            // apt-helper knows every compressor apt was built with; read its whole output (tens of MB) into memory.
            var bytes = RunCaptureBytes("/usr/lib/apt/apt-helper", ["cat-file", path]);
            return new MemoryStream(bytes, writable: false);
        }
        return ViXml.Common.InputFile.OpenRead(path);
    }

    /// <summary>The Date field of the Release file, or "unknown".</summary>
    public string ReleaseDate()
    {
        if (Release is null) return "unknown";
        foreach (var (_, line) in ViXml.Common.InputFile.ReadLines(Release))
            if (line.StartsWith("Date:", StringComparison.Ordinal)) return line[5..].Trim();
        return "unknown";
    }

    public static string Sha256File(string path) => ViXml.Common.InputFile.Sha256(path);

    private static string RunCapture(string exe, string[] args) => Encoding.UTF8.GetString(RunCaptureBytes(exe, args));

    private static byte[] RunCaptureBytes(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        var errTask = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new AptMetadataMissingException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {errTask.Result.Trim()}");
        return ms.ToArray();
    }
}
