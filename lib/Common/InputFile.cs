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

    /// <summary>Why <paramref name="path"/> cannot be read as a file, or null when it can be opened.</summary>
    public static string? Problem(string path)
    {
        if (string.IsNullOrEmpty(path)) return "empty path";
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
        return null;
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
        Require(path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (!fs.CanSeek) throw new InputFileException(path, 0, "is a device or pipe, expected a regular file");
        long len = fs.Length;
        if (len == 0 && path.StartsWith("/dev/", StringComparison.Ordinal))
            throw new InputFileException(path, 0, "is a device, expected a regular file");
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
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
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
