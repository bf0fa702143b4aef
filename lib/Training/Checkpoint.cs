using System.Text.Json;
using ViXml.Common;
using ViXml.Torch;
using ViXml.Training.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>
/// Epoch-end checkpoint in &lt;run&gt;/checkpoint/: model.safetensors (parameters), optimizer.safetensors (AdamW moments
/// and group settings, plus the stale query embeddings NGAME clusters on), state.json (epoch, step = the schedule
/// position, sampler RNG + clusters, positive-sampling RNG). The folder is written beside the old one and swapped in by
/// renames, so a crash leaves either the previous or the new checkpoint, never a mix. Dropout masks need no state: the
/// trainer re-seeds libtorch's generator from (seed, epoch) at every epoch start.
/// </summary>
public static class Checkpoint
{
    public const string DirName = "checkpoint";

    public sealed record State(int EpochsDone, long Step, NgameSampler.SamplerState Sampler, ulong[] PositiveRng, float[]? Stale)
    {
        /// <summary>The label side's own tensors (label_side.safetensors; none — and no file — for the plain label side).</summary>
        public IReadOnlyDictionary<string, Tensor> LabelSide { get; init; } = new Dictionary<string, Tensor>();
    }

    /// <summary>The label side's tensors inside a checkpoint folder (written only when there are any).</summary>
    public const string LabelSideFile = "label_side.safetensors";

    private sealed record StateJson(int EpochsDone, long Step, NgameSampler.SamplerState Sampler, ulong[] PositiveRng, int StaleLength);

    /// <summary>The newest complete checkpoint folder to resume from (the previous one when the newest is damaged or a
    /// swap was interrupted), or null when there is none; a clear error when every one is damaged.</summary>
    public static string? Find(string runDir, TextWriter? log = null) => Runs.RunFolder.FindCheckpoint(runDir, log);

    public static void Save(string runDir, SiameseModel model, Optim.AdamW opt, State state,
        IEnumerable<KeyValuePair<string, Tensor>>? labelSide = null)
    {
        var final = Path.Combine(runDir, DirName);
        var tmp = Path.Combine(runDir, DirName + ".tmp");
        var old = Path.Combine(runDir, DirName + ".old");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        using (var scope = NewDisposeScope())
        {
            TensorFile.Save(Path.Combine(tmp, "model.safetensors"), model.state_dict());
            var o = opt.state_dict().ToList();
            if (state.Stale is not null) o.Add(KeyValuePair.Create("ngame.stale_embeddings", tensor(state.Stale)));
            TensorFile.Save(Path.Combine(tmp, "optimizer.safetensors"), o);
            var ls = labelSide?.ToList() ?? [];
            if (ls.Count > 0) TensorFile.Save(Path.Combine(tmp, LabelSideFile), ls);
        }
        Atomic.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(
            new StateJson(state.EpochsDone, state.Step, state.Sampler, state.PositiveRng, state.Stale?.Length ?? 0),
            new JsonSerializerOptions { WriteIndented = false }) + "\n");
        // A damaged newest checkpoint (resume fell back to checkpoint.old) never pushes out the good previous one.
        if (Directory.Exists(final) && Runs.RunFolder.CheckpointProblem(final) is not null) Directory.Delete(final, true);
        if (Directory.Exists(final))
        {
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Directory.Move(final, old);
        }
        Directory.Move(tmp, final);
        // checkpoint.old stays: the fallback when the newest checkpoint is found damaged on resume
    }

    /// <summary>Loads parameters and optimiser state into the given objects and returns the rest (the caller disposes
    /// <see cref="State.LabelSide"/>'s tensors after restoring them).</summary>
    public static State Load(string dir, SiameseModel model, Optim.AdamW opt)
    {
        var statePath = Path.Combine(dir, "state.json");
        var s = JsonSerializer.Deserialize<StateJson>(ViXml.Common.InputFile.ReadAllBytes(statePath, 64L << 20))
                ?? throw new InvalidDataException($"{statePath}: empty");
        var m = TensorFile.Load(Path.Combine(dir, "model.safetensors"));
        var o = TensorFile.Load(Path.Combine(dir, "optimizer.safetensors"));
        try
        {
            model.load_hf_state_dict(m);
            float[]? stale = null;
            if (o.Remove("ngame.stale_embeddings", out var st))
            {
                stale = st.ToArray<float>();
                st.Dispose();
            }
            if ((stale?.Length ?? 0) != s.StaleLength)
                throw new InvalidDataException($"{dir}: stale embeddings have {stale?.Length ?? 0} values, state.json says {s.StaleLength}");
            opt.load_state_dict(o);
            var lsPath = Path.Combine(dir, LabelSideFile);
            var ls = File.Exists(lsPath) ? TensorFile.Load(lsPath) : new Dictionary<string, Tensor>();
            return new State(s.EpochsDone, s.Step, s.Sampler, s.PositiveRng, stale) { LabelSide = ls };
        }
        finally
        {
            foreach (var t in m.Values) t.Dispose();
            foreach (var t in o.Values) t.Dispose();
        }
    }
}
