namespace ViXml.Torch.SafeTensors;

/// <summary>safetensors files &lt;-&gt; libtorch tensors (the pure C# reader/writer plus the binding's raw-bytes API).</summary>
public static class SafeTensorsIO
{
    public static DType ToTorch(this SafeDType t) => t switch
    {
        SafeDType.BOOL => DType.bool_,
        SafeDType.U8 => DType.uint8,
        SafeDType.I32 => DType.int32,
        SafeDType.I64 => DType.int64,
        SafeDType.F16 => DType.float16,
        SafeDType.BF16 => DType.bfloat16,
        SafeDType.F32 => DType.float32,
        SafeDType.F64 => DType.float64,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown safetensors dtype"),
    };

    public static SafeDType ToSafeTensors(this DType t) => t switch
    {
        DType.bool_ => SafeDType.BOOL,
        DType.uint8 => SafeDType.U8,
        DType.int32 => SafeDType.I32,
        DType.int64 => SafeDType.I64,
        DType.float16 => SafeDType.F16,
        DType.bfloat16 => SafeDType.BF16,
        DType.float32 => SafeDType.F32,
        DType.float64 => SafeDType.F64,
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
        return torch.from_bytes(bytes, info.DType.ToTorch(), info.Shape, device);
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
                s => s.Write(t.bytes())));
        }
        SafeTensorsWriter.Write(path, entries, metadata);
    }
}
