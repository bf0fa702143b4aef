using System.Text;

namespace ViXml.Common;

/// <summary>A bad input file: the message starts with "file:line:" (line omitted when it does not apply).</summary>
public sealed class InputFileException(string file, int line, string message)
    : Exception(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    /// <summary>The message without the "file:line:" prefix.</summary>
    public string Detail { get; } = message;
}

/// <summary>
/// Opening input files so that every failure is one clear sentence naming the path: a missing file or folder, a folder
/// given as a file, a device or pipe where a file is needed, an endless line (<c>/dev/zero</c>), invalid UTF-8 or a NUL
/// byte at a given line. Readers of every format go through here.
/// </summary>
public static class InputFile
{
    /// <summary>Longest line accepted by line readers (bytes): XC score rows with 100K entries fit many times over.</summary>
    public const int DefaultMaxLineBytes = 64 << 20;

    /// <summary>Why <paramref name="path"/> cannot be read as a file, or null when it can be opened. Only regular files (or
    /// symlinks to regular files) pass: a device, pipe or socket is refused here, before anything opens it (opening a FIFO
    /// blocks; reading <c>/dev/zero</c> never ends).</summary>
    public static string? Problem(string path)
    {
        if (string.IsNullOrEmpty(path)) return "empty path";
        if (path.Contains('\0')) return "the path holds a NUL character";
        if (Directory.Exists(path)) return "is a folder, expected a file";
        if (!File.Exists(path))
        {
            var full = Path.GetFullPath(path);
            for (var d = Path.GetDirectoryName(full); !string.IsNullOrEmpty(d); d = Path.GetDirectoryName(d))
            {
                if (File.Exists(d)) return $"{d} is a file, not a folder";
                if (Directory.Exists(d)) break;
                if (!Directory.Exists(Path.GetDirectoryName(d) ?? "/")) continue;
                return $"file not found (the folder {d} does not exist)";
            }
            return "file not found";
        }
        return Stat(path) switch
        {
            (FileKind.Missing, _) => "file not found (a dangling symlink?)",
            (FileKind.Other, _) => "is a device, pipe or socket, expected a regular file",
            _ => null,
        };
    }

    /// <summary>What a path is, following symlinks (a symlink to a regular file is <see cref="FileKind.Regular"/>).</summary>
    public enum FileKind { Missing, Regular, Directory, Other }

    /// <summary>The kind and size of the file a path names, following symlinks: the target's size, not the link's.</summary>
    public static (FileKind Kind, long Size) Stat(string path)
    {
        if (NativeStat(path) is (uint mode, long size))
            return ((mode & 0xF000) switch { 0x8000 => FileKind.Regular, 0x4000 => FileKind.Directory, _ => FileKind.Other }, size);
        if (Directory.Exists(path)) return (FileKind.Directory, 0);
        if (!File.Exists(path)) return (FileKind.Missing, 0);
        // No stat(2) for this platform: a length of 0 under /dev is the one device we can tell apart.
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(true) is FileInfo t) info = t;
        if (!info.Exists) return (FileKind.Missing, 0);
        return (info.FullName.StartsWith("/dev/", StringComparison.Ordinal) ? FileKind.Other : FileKind.Regular, info.Length);
    }

    /// <summary>Size in bytes of the regular file <paramref name="path"/> names (a symlink's target); errors as <see cref="Require"/>.</summary>
    public static long Length(string path)
    {
        Require(path);
        return Stat(path).Size;
    }

    /// <summary>
    /// Opens a regular file for reading after checking what it is (never a device or pipe) and, with
    /// <paramref name="maxBytes"/>, its size: the one way user files are opened.
    /// </summary>
    public static FileStream OpenRead(string path, long maxBytes = long.MaxValue, int bufferSize = 1 << 16)
    {
        Require(path);
        long len = Stat(path).Size;
        if (len > maxBytes)
            throw new InputLimitException($"{path}: {len:N0} bytes, more than the {maxBytes:N0} this reader accepts");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize, FileOptions.SequentialScan);
    }

    /// <summary>sha256 (lower-case hex) of a regular file, read through <see cref="OpenRead"/>.</summary>
    public static string Sha256(string path)
    {
        using var fs = OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int stat_(string path, byte* buf);

    private static bool _noStat;

    /// <summary>st_mode and st_size from stat(2) (follows symlinks), or null when unavailable or the call failed.
    /// The offsets are those of struct stat on Linux x86-64 and arm64, the platforms ViXml runs on.</summary>
    private static unsafe (uint Mode, long Size)? NativeStat(string path)
    {
        if (_noStat || !OperatingSystem.IsLinux()) return null;
        int modeAt = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => 24,
            System.Runtime.InteropServices.Architecture.Arm64 => 16,
            _ => -1,
        };
        if (modeAt < 0) return null;
        byte* buf = stackalloc byte[256];
        try
        {
            if (stat_(path, buf) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _noStat = true;
            return null;
        }
        return (*(uint*)(buf + modeAt), *(long*)(buf + 48));
    }

    /// <summary>Throws <see cref="InputFileException"/> unless <paramref name="path"/> is a readable file.</summary>
    public static void Require(string path)
    {
        if (Problem(path) is string why) throw new InputFileException(path, 0, why);
    }

    /// <summary>
    /// All bytes of a regular file of at most <paramref name="maxBytes"/> bytes (devices and endless files refused
    /// before reading; a file over the limit is named with its size).
    /// </summary>
    public static byte[] ReadAllBytes(string path, long maxBytes = int.MaxValue - 64)
    {
        using var fs = OpenRead(path, maxBytes, 1);
        long len = fs.Length;
        if (len > maxBytes)
            throw new InputLimitException($"{path}: {len:N0} bytes, more than the {maxBytes:N0} this reader accepts");
        var buf = new byte[len];
        fs.ReadExactly(buf);
        if (fs.ReadByte() >= 0) throw new InputFileException(path, 0, "the file grew while it was read (or is not a regular file)");
        return buf;
    }

    /// <summary>
    /// Lines of a UTF-8 text file ("\n" endings; a trailing "\r" is kept for the caller to judge), with the 1-based line
    /// number. Invalid UTF-8, a NUL byte (unless <paramref name="allowNul"/>) and a line longer than
    /// <paramref name="maxLineBytes"/> are errors naming the line. A trailing newline does not make an empty last line.
    /// </summary>
    public static IEnumerable<(int Line, string Text)> ReadLines(string path, int maxLineBytes = DefaultMaxLineBytes, bool allowNul = false)
    {
        Require(path);
        return ReadLinesCore(path, maxLineBytes, allowNul);
    }

    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    private static IEnumerable<(int, string)> ReadLinesCore(string path, int maxLineBytes, bool allowNul)
    {
        using var fs = OpenRead(path);
        foreach (var x in ReadLines(fs, path, maxLineBytes, allowNul)) yield return x;
    }

    /// <summary>As <see cref="ReadLines(string,int,bool)"/> over an open stream; <paramref name="name"/> is used in messages.</summary>
    public static IEnumerable<(int Line, string Text)> ReadLines(Stream s, string name, int maxLineBytes = DefaultMaxLineBytes, bool allowNul = false)
    {
        var buf = new byte[1 << 16];
        var line = new MemoryStream();
        int lineNo = 1;
        bool bom = true;
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0)
        {
            int start = 0;
            if (bom && n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) start = 3;
            bom = false;
            while (start < n)
            {
                int nl = Array.IndexOf(buf, (byte)'\n', start, n - start);
                int end = nl < 0 ? n : nl;
                if (line.Length + (end - start) > maxLineBytes)
                    throw new InputFileException(name, lineNo, $"line longer than {maxLineBytes:N0} bytes (not a text file of this format?)");
                line.Write(buf, start, end - start);
                if (nl < 0) break;
                yield return (lineNo, Decode(line, name, lineNo, allowNul));
                line.SetLength(0);
                lineNo++;
                start = nl + 1;
            }
        }
        if (line.Length > 0) yield return (lineNo, Decode(line, name, lineNo, allowNul));
    }

    private static string Decode(MemoryStream line, string name, int lineNo, bool allowNul)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (!allowNul && bytes.IndexOf((byte)0) is int z and >= 0)
            throw new InputFileException(name, lineNo, $"NUL byte at column {z + 1} (binary data in a text file?)");
        try { return Strict.GetString(bytes); }
        catch (DecoderFallbackException)
        {
            int bad = FirstInvalid(bytes);
            throw new InputFileException(name, lineNo, $"invalid UTF-8 at byte {bad + 1} of the line");
        }
    }

    private static int FirstInvalid(ReadOnlySpan<byte> b)
    {
        var status = System.Text.Unicode.Utf8.ToUtf16(b, new char[b.Length], out int read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? b.Length : read;
    }
}
