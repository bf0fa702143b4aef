// MSBuild inline task (RoslynCodeTaskFactory, see Directory.Build.targets): makes TorchSharp's libLibTorchSharp.so load
// on systems whose libstdc++ lacks GLIBCXX_3.4.32 (GCC < 13, e.g. Debian 12). Runs after the natives are copied into
// an output folder; idempotent; does nothing where the system libstdc++ has that version.
//
// Two edits to the COPY in the output folder (never the NuGet cache):
//  1. In .gnu.version_r, the vernaux entry "GLIBCXX_3.4.32" gets VER_FLG_WEAK (0x2): the loader then accepts a
//     libstdc++ without that version instead of refusing to load (patchelf --clear-symbol-version is not enough: the
//     loader checks the version-needed entry itself).
//  2. patchelf --add-needed libvixml_stdcxx_compat.so: a tiny library (tools/torchsharp-compat/stdcxx_compat.c) that
//     defines the only symbol of that version, std::ios_base_library_init(), as a no-op.
using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class TorchSharpCompat : Task
{
    const string NeededVersion = "GLIBCXX_3.4.32";
    const string CompatName = "libvixml_stdcxx_compat.so";

    [Required] public string OutputDirectory { get; set; } = "";
    [Required] public string CompatSource { get; set; } = "";
    [Required] public string CompatBuildDirectory { get; set; } = "";
    [Output] public string Result { get; set; } = "";

    public override bool Execute()
    {
        try
        {
            string lib = Path.Combine(OutputDirectory, "libLibTorchSharp.so");
            if (!File.Exists(lib)) { Result = "no libLibTorchSharp.so"; return true; }
            string stdcxx = FindSystemLibStdCxx();
            if (stdcxx != null && ContainsAscii(File.ReadAllBytes(stdcxx), NeededVersion + "\0"))
            {
                Result = "not needed (" + stdcxx + " has " + NeededVersion + ")";
                return true;
            }
            string compat = BuildCompatLibrary();
            File.Copy(compat, Path.Combine(OutputDirectory, CompatName), overwrite: true);

            bool weakened = MarkVersionWeak(lib);
            bool added = false;
            if (!ContainsAscii(File.ReadAllBytes(lib), CompatName + "\0"))
            {
                Run("patchelf", "--add-needed " + CompatName + " \"" + lib + "\"");
                added = true;
            }
            Result = weakened || added ? "applied" : "already applied";
            Log.LogMessage(MessageImportance.Low, "TorchSharp compat (" + NeededVersion + "): " + Result + " in " + OutputDirectory);
            return true;
        }
        catch (Exception e)
        {
            Log.LogError("TorchSharp compat step failed in " + OutputDirectory + ": " + e.Message +
                         " (needs patchelf and a C compiler on Debian 12: run tools/setup.sh)");
            return false;
        }
    }

    static string FindSystemLibStdCxx()
    {
        foreach (var p in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                                  "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
            if (File.Exists(p)) return p;
        return null;
    }

    string BuildCompatLibrary()
    {
        Directory.CreateDirectory(CompatBuildDirectory);
        string so = Path.Combine(CompatBuildDirectory, CompatName);
        if (File.Exists(so) && File.GetLastWriteTimeUtc(so) >= File.GetLastWriteTimeUtc(CompatSource)) return so;
        string tmp = so + ".tmp";
        Run("cc", "-shared -fPIC -O2 -Wl,-soname," + CompatName + " -o \"" + tmp + "\" \"" + CompatSource + "\"");
        File.Copy(tmp, so, true); File.Delete(tmp);
        return so;
    }

    /// <summary>Sets VER_FLG_WEAK on the vernaux entry named GLIBCXX_3.4.32; returns false if it was set already.</summary>
    static bool MarkVersionWeak(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            throw new InvalidDataException(path + " is not a little-endian ELF64 file");
        long shoff = (long)BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != 0x6ffffffe) continue;          // SHT_GNU_verneed
            long off = (long)BitConverter.ToUInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28), count = (int)BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strOff = (long)BitConverter.ToUInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = off;
            for (int n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    string name = ReadCString(b, strOff + BitConverter.ToUInt32(b, (int)aux + 8));
                    if (name == NeededVersion)
                    {
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        if ((flags & 0x2) != 0) return false;
                        flags |= 0x2;
                        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
                        {
                            fs.Position = aux + 4;
                            fs.Write(BitConverter.GetBytes(flags), 0, 2);
                        }
                        return true;
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(b, (int)vn + 12);
            }
        }
        throw new InvalidDataException(path + " has no version-needed entry " + NeededVersion + " (unexpected TorchSharp build)");
    }

    static string ReadCString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    static bool ContainsAscii(byte[] hay, string needle)
    {
        byte[] n = Encoding.ASCII.GetBytes(needle);
        for (int i = 0; i + n.Length <= hay.Length; i++)
        {
            if (hay[i] != n[0]) continue;
            int j = 1;
            while (j < n.Length && hay[i + j] == n[j]) j++;
            if (j == n.Length) return true;
        }
        return false;
    }

    static void Run(string exe, string args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + exe);
        string err = p.StandardError.ReadToEnd(); p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException(exe + " " + args + " failed: " + err.Trim());
    }
}
