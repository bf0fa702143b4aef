using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ViXml.Common;

/// <summary>
/// Builds a folder beside its final place and swaps it in, so an interruption (even SIGKILL) leaves either the old
/// folder or the new one, never a mix: <c>.NAME.build-PID</c> is written, then exchanged with NAME in one
/// <c>renameat2(RENAME_EXCHANGE)</c> (two renames where the file system lacks it; the old folder is kept under
/// <c>.NAME.old-PID</c> until the new one is in place). Leftovers of killed builds are removed on the next build.
/// </summary>
public static class DirectorySwap
{
    /// <summary>A fresh, empty sibling folder to build <paramref name="target"/> in (stale siblings of dead builds removed).</summary>
    public static string Begin(string target)
    {
        var full = Path.GetFullPath(target).TrimEnd('/');
        var parent = Path.GetDirectoryName(full)!;
        CheckTarget(target, full);
        Directory.CreateDirectory(parent);
        CleanStale(full);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.build-{Environment.ProcessId}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        return tmp;
    }

    private static void CheckTarget(string target, string full)
    {
        if (File.Exists(full)) throw new OutputPathException($"cannot write {target}: it is a file, expected a folder");
        for (var d = Path.GetDirectoryName(full); !string.IsNullOrEmpty(d); d = Path.GetDirectoryName(d))
        {
            if (File.Exists(d)) throw new OutputPathException($"cannot write {target}: {d} is a file, not a folder");
            if (Directory.Exists(d)) break;
        }
    }

    /// <summary>Puts <paramref name="built"/> (from <see cref="Begin"/>) in the place of <paramref name="target"/>.</summary>
    public static void Commit(string built, string target)
    {
        var full = Path.GetFullPath(target).TrimEnd('/');
        if (!Directory.Exists(full))
        {
            Directory.Move(built, full);
            return;
        }
        if (renameat2(AtFdCwd, built, AtFdCwd, full, RenameExchange) == 0)
        {
            Directory.Delete(built, true);   // now holds the old folder
            return;
        }
        var old = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.old-{Environment.ProcessId}");
        if (Directory.Exists(old)) Directory.Delete(old, true);
        Directory.Move(full, old);
        Directory.Move(built, full);
        Directory.Delete(old, true);
    }

    /// <summary>Removes <c>.NAME.build-PID</c> / <c>.NAME.old-PID</c> siblings whose process is gone. An old folder left
    /// while NAME is missing (killed between the two renames) is moved back first.</summary>
    public static void CleanStale(string target)
    {
        var full = Path.GetFullPath(target).TrimEnd('/');
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        var name = Path.GetFileName(full);
        foreach (var d in Directory.GetDirectories(parent, $".{name}.*"))
        {
            var suffix = Path.GetFileName(d)[(name.Length + 2)..];
            int dash = suffix.LastIndexOf('-');
            if (dash < 0 || !int.TryParse(suffix[(dash + 1)..], out int pid) || suffix[..dash] is not ("build" or "old")) continue;
            if (pid != Environment.ProcessId && Alive(pid)) continue;
            if (suffix[..dash] == "old" && !Directory.Exists(full)) Directory.Move(d, full);
            else Directory.Delete(d, true);
        }
    }

    /// <summary>
    /// Copies into <paramref name="built"/> every top-level entry of the existing <paramref name="target"/> that the new
    /// build does not write and <paramref name="drop"/> does not claim (files a user added, image banks computed later),
    /// so the swap replaces only what the builder owns. Hard links where possible (no copy of big files), else copies;
    /// symlinks are kept as links. Returns the names kept (sorted).
    /// </summary>
    public static List<string> CarryOver(string target, string built, Func<string, bool>? drop = null)
    {
        var kept = new List<string>();
        var full = Path.GetFullPath(target).TrimEnd('/');
        if (!Directory.Exists(full)) return kept;
        foreach (var src in Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(src);
            var dst = Path.Combine(built, name);
            if (File.Exists(dst) || Directory.Exists(dst) || new FileInfo(dst).LinkTarget is not null) continue;   // the build wrote it
            if (drop?.Invoke(name) == true) continue;
            CopyEntry(src, dst);
            kept.Add(name);
        }
        return kept;
    }

    private static void CopyEntry(string src, string dst)
    {
        var info = new FileInfo(src);
        if (info.LinkTarget is string link) { File.CreateSymbolicLink(dst, link); return; }
        if (Directory.Exists(src))
        {
            Directory.CreateDirectory(dst);
            foreach (var e in Directory.EnumerateFileSystemEntries(src)) CopyEntry(e, Path.Combine(dst, Path.GetFileName(e)));
            return;
        }
        if (link_(src, dst) != 0) File.Copy(src, dst);
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int link_(string oldpath, string newpath);

    private static bool Alive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;

    [DllImport("libc", SetLastError = true)]
    private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);
}
