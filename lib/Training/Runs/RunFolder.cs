using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.SafeTensors;

namespace ViXml.Training.Runs;

/// <summary>
/// Guards around a run folder, checked before any training work: a new run never writes into a folder that holds
/// anything; <c>--overwrite</c> only removes folders that are run folders; resuming picks the newest checkpoint that is
/// complete (state.json parses, each .safetensors header matches its file size), falling back to the previous one.
/// No tensors here: the checks read JSON and safetensors headers only.
/// </summary>
public static class RunFolder
{
    /// <summary>Refuses a path that cannot be a run folder, or a non-empty folder (which would be overwritten).</summary>
    public static void CheckNew(string runDir)
    {
        CheckPath(runDir);
        if (Directory.Exists(runDir) && Directory.EnumerateFileSystemEntries(runDir).Any())
        {
            var some = Directory.EnumerateFileSystemEntries(runDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(4);
            throw new InvalidOperationException(
                $"{runDir} is not empty (holds {string.Join(", ", some)}...): use --resume to continue the run in it, " +
                "--overwrite to replace it, or another --out");
        }
    }

    /// <summary>
    /// Takes the run folder's exclusive lock for the lifetime of the returned handle: <c>.NAME.lock</c> beside the folder
    /// (so an empty new folder stays empty), opened with <see cref="FileShare.None"/> (an flock(2) on Linux, which the
    /// kernel drops when the process dies: a lock left by a killed run is taken over); the holder's pid is in
    /// <c>.NAME.lock.pid</c>.
    /// A second run on the same folder is refused naming that pid. Re-entrant on one thread (the CLI locks before
    /// <c>--overwrite</c> removes the old run, then <c>Trainer.Run</c> locks again).
    /// </summary>
    public static IDisposable Lock(string runDir)
    {
        CheckPath(runDir);
        var full = Path.GetFullPath(runDir).TrimEnd('/');
        _held ??= new Dictionary<string, int>(StringComparer.Ordinal);
        if (_held.TryGetValue(full, out int depth)) { _held[full] = depth + 1; return new Handle(full, null); }
        var parent = Path.GetDirectoryName(full) ?? "/";
        Directory.CreateDirectory(parent);
        var path = LockPath(full);
        FileStream fs;
        try { fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) when (File.Exists(path))
        {
            throw new InvalidOperationException($"{runDir} is in use by another run (process {Holder(full)} holds {path}); " +
                                                "wait for it to finish or choose another --out");
        }
        File.WriteAllText(path + ".pid", $"{Environment.ProcessId}\n");   // readable while the lock file is held
        _held[full] = 1;
        return new Handle(full, fs);
    }

    /// <summary>The lock file of a run folder: <c>.NAME.lock</c> in its parent folder.</summary>
    public static string LockPath(string runDir)
    {
        var full = Path.GetFullPath(runDir).TrimEnd('/');
        return Path.Combine(Path.GetDirectoryName(full) ?? "/", $".{Path.GetFileName(full)}.lock");
    }

    private static string Holder(string full)
    {
        try { return File.ReadAllText(LockPath(full) + ".pid").Trim() is { Length: > 0 } pid ? pid : "unknown"; }
        catch (IOException) { return "unknown"; }
    }

    [ThreadStatic] private static Dictionary<string, int>? _held;

    private sealed class Handle(string full, FileStream? fs) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (fs is null) { _held![full]--; return; }
            _held!.Remove(full);
            try { File.Delete(LockPath(full) + ".pid"); } catch (IOException) { /* rewritten by the next holder */ }
            fs.Dispose();   // the lock file itself stays (empty): deleting it could let two runs lock two different files
        }
    }

    /// <summary>The folder path itself is usable: not a file, and no file where a parent folder should be.</summary>
    public static void CheckPath(string runDir)
    {
        if (File.Exists(runDir)) throw new InvalidOperationException($"{runDir} is a file; the run folder must be a folder");
        for (var d = Path.GetDirectoryName(Path.GetFullPath(runDir)); !string.IsNullOrEmpty(d); d = Path.GetDirectoryName(d))
            if (File.Exists(d)) throw new InvalidOperationException($"{runDir}: {d} is a file, so the run folder cannot be created under it");
    }

    /// <summary>Removes an earlier run (for --overwrite): only a folder that is empty or holds a run.json.</summary>
    public static void Remove(string runDir)
    {
        CheckPath(runDir);
        if (!Directory.Exists(runDir)) return;
        if (Directory.EnumerateFileSystemEntries(runDir).Any() && !File.Exists(Path.Combine(runDir, "run.json")))
            throw new InvalidOperationException($"--overwrite: {runDir} holds files but no run.json, so it is not a run folder; refusing to delete it");
        Directory.Delete(runDir, recursive: true);
    }

    /// <summary>run.json as a JSON object; a clear error names the file when it is missing or broken.</summary>
    public static JsonObject ReadRunJson(string runDir)
    {
        var path = Path.Combine(runDir, "run.json");
        if (Directory.Exists(path)) throw new InvalidDataException($"{path} is a folder, expected the run record file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found (is {runDir} a run folder?)", path);
        try
        {
            var text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ViXml.Common.InputFile.ReadAllBytes(path, 64L << 20));
            var o = JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
            _ = o.Count; // builds the dictionary now: a duplicate key fails here, naming the file, not later
            return o;
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: broken run record (not valid JSON: {e.Message})"); }
        catch (DecoderFallbackException) { throw new InvalidDataException($"{path}: broken run record (not UTF-8 text)"); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: broken run record ({e.Message})"); }
    }

    /// <summary>The checkpoint folders in the order to try (newest first).</summary>
    public static readonly string[] CheckpointNames = ["checkpoint", "checkpoint.old"];

    /// <summary>
    /// The newest complete checkpoint folder of <paramref name="runDir"/>, or null when there is none at all. A folder
    /// that exists but is damaged is skipped with a line on <paramref name="log"/>; when every one is damaged the error
    /// lists each reason.
    /// </summary>
    public static string? FindCheckpoint(string runDir, TextWriter? log = null)
    {
        var problems = new List<string>();
        foreach (var name in CheckpointNames)
        {
            var d = Path.Combine(runDir, name);
            if (!Directory.Exists(d)) continue;
            var why = CheckpointProblem(d);
            if (why is null)
            {
                if (problems.Count > 0) log?.WriteLine($"warning: {string.Join("; ", problems)}; resuming from {d}");
                return d;
            }
            problems.Add($"{d}: {why}");
        }
        if (problems.Count == 0) return null;
        throw new InvalidDataException($"cannot resume: no complete checkpoint ({string.Join("; ", problems)})");
    }

    /// <summary>Why a checkpoint folder cannot be loaded, or null when it looks complete.</summary>
    public static string? CheckpointProblem(string dir)
    {
        var state = Path.Combine(dir, "state.json");
        if (!File.Exists(state)) return "state.json is missing";
        try
        {
            using var doc = JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(state, 64L << 20));
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) return "state.json is not a JSON object";
            foreach (var key in new[] { "EpochsDone", "Step", "Sampler", "PositiveRng" })
                if (!r.TryGetProperty(key, out _)) return $"state.json has no '{key}'";
            if (r.GetProperty("EpochsDone").ValueKind != JsonValueKind.Number || r.GetProperty("EpochsDone").GetInt32() < 0)
                return "state.json: EpochsDone is not a non-negative integer";
        }
        catch (JsonException e) { return $"state.json is not valid JSON ({e.Message})"; }
        catch (ViXml.Common.InputFileException e) { return $"state.json {e.Detail}"; }
        catch (ViXml.Common.InputLimitException e) { return e.Message; }
        catch (FormatException) { return "state.json: EpochsDone is not an integer"; }
        catch (InvalidOperationException e) { return $"state.json is malformed ({e.Message})"; }
        foreach (var f in new[] { "model.safetensors", "optimizer.safetensors" })
        {
            var p = Path.Combine(dir, f);
            if (!File.Exists(p)) return $"{f} is missing";
            try
            {
                using var st = SafeTensorsFile.Open(p);
                long end = st.Tensors.Select(t => t.End).DefaultIfEmpty(0).Max();
                if (end != st.DataLength) return $"{f}: the header describes {end} data bytes but the file holds {st.DataLength}";
            }
            catch (SafeTensorsException e) { return e.Message; }
        }
        return null;
    }
}
