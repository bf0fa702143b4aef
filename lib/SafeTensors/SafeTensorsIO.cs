using TorchSharp;
using TorchSharp.Modules;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.SafeTensors;

/// <summary>safetensors files &lt;-&gt; TorchSharp tensors (the pure C# reader/writer plus raw-bytes tensor I/O).</summary>
public static class SafeTensorsIO
{
    public static ScalarType ToTorch(this SafeDType t) => t switch
    {
        SafeDType.BOOL => ScalarType.Bool,
        SafeDType.U8 => ScalarType.Byte,
        SafeDType.I32 => ScalarType.Int32,
        SafeDType.I64 => ScalarType.Int64,
        SafeDType.F16 => ScalarType.Float16,
        SafeDType.BF16 => ScalarType.BFloat16,
        SafeDType.F32 => ScalarType.Float32,
        SafeDType.F64 => ScalarType.Float64,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown safetensors dtype"),
    };

    public static SafeDType ToSafeTensors(this ScalarType t) => t switch
    {
        ScalarType.Bool => SafeDType.BOOL,
        ScalarType.Byte => SafeDType.U8,
        ScalarType.Int32 => SafeDType.I32,
        ScalarType.Int64 => SafeDType.I64,
        ScalarType.Float16 => SafeDType.F16,
        ScalarType.BFloat16 => SafeDType.BF16,
        ScalarType.Float32 => SafeDType.F32,
        ScalarType.Float64 => SafeDType.F64,
        _ => throw new ArgumentException($"dtype {t.Name()} cannot be stored (supported: bf16, f16, f32, f64, i64, i32, u8, bool)"),
    };

    /// <summary>
    /// Every tensor of a .safetensors file, a model folder (model.safetensors or its sharded index) or an index file.
    /// The tensors belong to the current dispose scope, like any other tensor created here; if loading fails part-way,
    /// those already created are disposed.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null)
    {
        using var src = Directory.Exists(path) ? SafeTensorsCheckpoint.OpenFolder(path)
            : path.EndsWith(".index.json", StringComparison.Ordinal) ? ShardedSafeTensors.Open(path)
            : SafeTensorsFile.Open(path);
        return Load(src, device);
    }

    /// <summary>Every tensor of an open source, by name.</summary>
    public static Dictionary<string, Tensor> Load(ISafeTensorsSource source, Device? device = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in source.Names)
                result[name] = LoadTensor(source, name, device);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>One tensor, read on demand (one copy of its bytes in managed memory while it is created).</summary>
    public static Tensor LoadTensor(ISafeTensorsSource source, string name, Device? device = null)
    {
        var info = source.Info(name);
        var bytes = source.ReadBytes(name);
        return TensorExtensions.from_bytes(bytes, info.DType.ToTorch(), info.Shape, device);
    }

    /// <summary>
    /// Writes the tensors (any device, contiguous or not; each copied out one at a time) atomically in the reference
    /// layout. Unsupported dtypes are rejected before anything is written.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = new List<SafeTensorsWriteEntry>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            SafeDType dt;
            try { dt = t.dtype.ToSafeTensors(); }
            catch (ArgumentException e) { throw new ArgumentException($"{path}: tensor '{name}': {e.Message}", e); }
            var shape = t.shape;
            entries.Add(new SafeTensorsWriteEntry(name, dt, shape, shape.Aggregate(1L, (a, d) => a * d) * dt.ItemSize(),
                s => s.Write(t.to_bytes())));
        }
        SafeTensorsWriter.Write(path, entries, metadata);
    }
}
