using ViXml.Common;
using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Hf;

/// <summary>Moving weights between a module and an HF model folder (safetensors, single file or sharded).</summary>
public static class HfCheckpoint
{
    /// <summary>Tensor names and shapes declared by the folder's checkpoint (headers only).</summary>
    public static List<CheckpointTensor> Inspect(string dir)
    {
        using var src = SafeTensorsCheckpoint.OpenFolder(dir);
        return Describe(src);
    }

    private static List<CheckpointTensor> Describe(ISafeTensorsSource src) =>
        src.Names.Select(n =>
        {
            var i = src.Info(n);
            return new CheckpointTensor(n, i.DType.HeaderName(), i.Shape, Path.GetFileName(i.File));
        }).ToList();

    /// <summary>
    /// Checks a config.json against the checkpoint's headers BEFORE the model is built, so a config with a huge
    /// hidden size / vocabulary / position table is refused with a message instead of an attempt to allocate it:
    /// each (suffix, shape) the config implies must match the one header tensor whose canonical name ends with that
    /// suffix, and the float32 model (<paramref name="parameters"/> elements) must fit in the memory this process may use.
    /// </summary>
    public static void Preflight(string dir, long parameters, params (string Suffix, long[] Shape)[] implied)
    {
        var config = Path.Combine(dir, "config.json");
        var header = Inspect(dir);
        foreach (var (suffix, shape) in implied)
        {
            var hits = header.Where(t => CheckpointKeys.Canonical(t.Name).EndsWith(suffix, StringComparison.Ordinal)).ToList();
            if (hits.Count == 0) continue;   // the strict key matcher reports missing tensors after the build
            var t = hits[0];
            if (!t.Shape.SequenceEqual(shape))
                throw new CheckpointMismatchException(
                    $"{config} does not match the checkpoint: it implies {suffix} [{string.Join(", ", shape)}], " +
                    $"{t.File} has {t.Name} [{string.Join(", ", t.Shape)}]");
        }
        var bytes = parameters * 4.0;
        var available = (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > 0.8 * available)
            throw new CheckpointMismatchException(
                $"{config}: a model of {parameters:N0} parameters needs about {bytes / 1e9:F1} GB in float32; this process may use " +
                $"{available / 1e9:F1} GB (refused before allocating)");
    }

    /// <summary>
    /// Fills every parameter and persistent buffer of <paramref name="model"/> from the folder's checkpoint, strictly
    /// (see <see cref="CheckpointKeys.Match"/>); storage F32/F16/BF16/F64 is converted to the parameter's dtype.
    /// </summary>
    public static KeyMapping LoadInto(nn.Module model, string dir, CheckpointLayout layout)
    {
        using var src = SafeTensorsCheckpoint.OpenFolder(dir);
        var own = model.state_dict();
        var expected = own.Select(kv => new ExpectedTensor(kv.Key, kv.Value.shape)).ToList();
        var mapping = CheckpointKeys.Match(dir, Describe(src), expected, layout);
        using (no_grad())
        {
            foreach (var (key, ct) in mapping.Sources)
            {
                var info = src.Info(ct.Name);
                var bytes = GC.AllocateUninitializedArray<byte>(checked((int)info.ByteLength));
                src.ReadInto(ct.Name, bytes);
                using var stored = TensorExtensions.from_bytes(bytes, info.DType.ToTorch(), info.Shape);
                if (stored.is_floating_point())
                    using (var finite = stored.isfinite().all())
                        if (!finite.item<bool>())
                            throw new CheckpointMismatchException($"{info.File}: tensor '{ct.Name}' holds NaN or infinite values");
                own[key].copy_(stored); // converts storage dtype (bf16/f16) to the parameter's float32
            }
        }
        return mapping;
    }

    /// <summary>
    /// Writes <c>model.safetensors</c> (float32, names = the module's state_dict, i.e. the HF base-model layout without
    /// prefix) and then <c>config.json</c> with <paramref name="architecture"/>; each file is written atomically.
    /// </summary>
    public static void Save(nn.Module model, HfConfig config, string architecture, string dir)
    {
        Directory.CreateDirectory(dir);
        var entries = new List<SafeTensorsWriteEntry>();
        foreach (var (name, t) in model.state_dict())
        {
            var dtype = t.dtype switch
            {
                ScalarType.Float32 => SafeDType.F32,
                ScalarType.Int64 => SafeDType.I64,
                _ => throw new InvalidOperationException($"save_pretrained: '{name}' has dtype {t.dtype}; cast the model to float32 first"),
            };
            var tensor = t;
            entries.Add(new SafeTensorsWriteEntry(name, dtype, t.shape, t.numel() * t.element_size(), s =>
            {
                using var c = tensor.detach().contiguous();
                s.Write(c.to_bytes());
            }));
        }
        SafeTensorsWriter.Write(Path.Combine(dir, SafeTensorsCheckpoint.SingleFileName), entries,
            new Dictionary<string, string> { ["format"] = "pt" });
        Atomic.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson(architecture));
    }

    /// <summary>Tokenizer files a model folder may carry; copied by save_pretrained when asked.</summary>
    public static readonly string[] TokenizerFiles =
        ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>Copies the tokenizer files present in <paramref name="fromDir"/> to <paramref name="toDir"/> (atomic each).</summary>
    public static void CopyTokenizer(string fromDir, string toDir)
    {
        foreach (var f in TokenizerFiles)
        {
            var p = Path.Combine(fromDir, f);
            if (File.Exists(p)) Atomic.WriteAllBytes(Path.Combine(toDir, f), File.ReadAllBytes(p));
        }
    }
}
