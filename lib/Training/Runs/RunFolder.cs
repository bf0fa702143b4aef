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
            using var doc = JsonDocument.Parse(File.ReadAllBytes(state));
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) return "state.json is not a JSON object";
            foreach (var key in new[] { "EpochsDone", "Step", "Sampler", "PositiveRng" })
                if (!r.TryGetProperty(key, out _)) return $"state.json has no '{key}'";
            if (r.GetProperty("EpochsDone").ValueKind != JsonValueKind.Number || r.GetProperty("EpochsDone").GetInt32() < 0)
                return "state.json: EpochsDone is not a non-negative integer";
        }
        catch (JsonException e) { return $"state.json is not valid JSON ({e.Message})"; }
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
