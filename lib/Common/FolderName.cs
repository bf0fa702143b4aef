namespace ViXml.Common;

/// <summary>
/// The one rule for names that a file (a dataset or image-bank manifest, a shard index, an image list, a model folder)
/// gives relative to its own folder: they must stay inside that folder. A name is refused when it is empty, rooted
/// (<c>/etc/passwd</c>, <c>C:\x</c>), has a <c>..</c> or <c>.</c> component or an empty one (<c>a//b</c>), a backslash,
/// or a NUL or other control character. Without the rule a manifest could make a reader open (and hash, and report on)
/// any file of the machine. Checked lexically, before any file is touched.
/// </summary>
public static class FolderName
{
    /// <summary>Why <paramref name="name"/> is not a name inside its folder, or null when it is.</summary>
    /// <param name="subfolders">Whether '/'-separated components are allowed (a manifest's "images/x.png"); a shard
    /// index or an image list needs a plain file name.</param>
    public static string? Problem(string? name, bool subfolders = true)
    {
        if (string.IsNullOrEmpty(name)) return "is empty";
        if (name.Any(char.IsControl)) return "holds a control character";
        if (name.Contains('\\')) return "holds a backslash (use '/' inside the folder)";
        if (Path.IsPathRooted(name) || name.StartsWith('/') || (name.Length >= 2 && name[1] == ':'))
            return "is an absolute path; it must be relative to the folder";
        var parts = name.Split('/');
        if (!subfolders && parts.Length > 1) return "must be a plain file name in the folder (no '/')";
        foreach (var p in parts)
        {
            if (p.Length == 0) return "has an empty path component";
            if (p is "." or "..") return $"has a '{p}' component; it must stay inside the folder";
        }
        return null;
    }

    /// <summary>
    /// <paramref name="dir"/>/<paramref name="name"/> when the name stays inside the folder; otherwise an
    /// <see cref="InputFileException"/> naming <paramref name="where"/> (the file and key that gave the name).
    /// </summary>
    public static string Resolve(string dir, string name, string where, bool subfolders = true)
    {
        if (Problem(name, subfolders) is string why) throw new InputFileException(where, 0, $"'{Printable(name)}' {why}");
        return Path.Combine(dir, name);
    }

    /// <summary>A name as it can be printed in one error line (control characters escaped, long names cut).</summary>
    public static string Printable(string? name)
    {
        if (name is null) return "";
        var s = string.Concat(name.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return s.Length > 200 ? s[..200] + "..." : s;
    }
}
