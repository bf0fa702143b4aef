namespace ViXml.Common;

/// <summary>Atomic file writes: write to a temp file in the same folder, then rename over the target.</summary>
public static class Atomic
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = TempPath(path);
        try
        {
            using (var fs = Create(path, tmp))
            {
                fs.Write(bytes);
                fs.Flush(true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e) when (e is not OutputPathException)
        {
            TryDelete(tmp);
            throw new OutputPathException($"cannot write {path}: {e.Message.Replace(tmp, path)}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));

    /// <summary>Streams into a temp file through <paramref name="write"/>, then renames; on failure nothing is left.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var tmp = TempPath(path);
        try
        {
            using (var fs = Create(path, tmp))
            {
                write(fs);
                fs.Flush(true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e) when (e is not OutputPathException)
        {
            TryDelete(tmp);
            throw new OutputPathException($"cannot write {path}: {e.Message.Replace(tmp, path)}", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Checks an output path before anything is written: not a folder, no file where a parent folder should be; creates
    /// missing parent folders. Errors name the path the user gave and the cause.
    /// </summary>
    public static void CheckOutputPath(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new OutputPathException("empty output path");
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new OutputPathException($"cannot write {path}: it is a folder (give a file name)");
        var dir = Path.GetDirectoryName(full)!;
        for (var d = dir; !string.IsNullOrEmpty(d); d = Path.GetDirectoryName(d))
        {
            if (File.Exists(d)) throw new OutputPathException($"cannot write {path}: {d} is a file, not a folder");
            if (Directory.Exists(d)) break;
        }
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputPathException($"cannot write {path}: cannot create the folder {dir} ({e.Message})", e);
        }
    }

    private static FileStream Create(string path, string tmp)
    {
        try { return new FileStream(tmp, FileMode.CreateNew, FileAccess.Write); }
        catch (UnauthorizedAccessException e)
        {
            throw new OutputPathException($"cannot write {path}: permission denied in {Path.GetDirectoryName(tmp)} (a temporary file is created beside the target, then renamed)", e);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new OutputPathException($"cannot write {path}: the folder {Path.GetDirectoryName(tmp)} does not accept new files (a special or read-only file system?)", e);
        }
        catch (IOException e)
        {
            throw new OutputPathException($"cannot write {path}: {e.Message.Replace(tmp, Path.GetDirectoryName(tmp))}", e);
        }
    }

    private static string TempPath(string path)
    {
        CheckOutputPath(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        return Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    private static void TryDelete(string p)
    {
        try { File.Delete(p); } catch { /* best effort */ }
    }
}

/// <summary>An output path that cannot be written: names the path the user gave and the cause.</summary>
public sealed class OutputPathException(string message, Exception? inner = null) : IOException(message, inner);
