using ViXml.Torch;
using ViXml.Torch.SafeTensors;
using static ViXml.Torch.torch;

namespace ViXml.Training;

/// <summary>Named tensors to and from one safetensors file (checkpoints: model, optimiser, sampler embeddings).</summary>
public static class TensorFile
{
    private static SafeDType ToSafe(DType d, string name) => d switch
    {
        DType.float32 => SafeDType.F32,
        DType.float64 => SafeDType.F64,
        DType.int64 => SafeDType.I64,
        DType.int32 => SafeDType.I32,
        DType.uint8 => SafeDType.U8,
        DType.bool_ => SafeDType.BOOL,
        DType.bfloat16 => SafeDType.BF16,
        DType.float16 => SafeDType.F16,
        _ => throw new InvalidOperationException($"tensor '{name}': dtype {d} cannot be saved"),
    };

    private static DType FromSafe(SafeDType d) => d switch
    {
        SafeDType.F32 => DType.float32,
        SafeDType.F64 => DType.float64,
        SafeDType.I64 => DType.int64,
        SafeDType.I32 => DType.int32,
        SafeDType.U8 => DType.uint8,
        SafeDType.BOOL => DType.bool_,
        SafeDType.BF16 => DType.bfloat16,
        SafeDType.F16 => DType.float16,
        _ => throw new InvalidDataException($"unsupported safetensors dtype {d}"),
    };

    /// <summary>Writes the tensors atomically (their current values, copied to contiguous CPU memory).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var entries = new List<SafeTensorsWriteEntry>();
        foreach (var (name, t) in tensors)
        {
            using var c = t.detach().cpu().contiguous();
            entries.Add(new SafeTensorsWriteEntry(name, ToSafe(t.dtype, name), t.shape, c.bytes()));
        }
        SafeTensorsWriter.Write(path, entries);
    }

    /// <summary>Reads every tensor of the file; the caller owns the returned tensors.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var f = SafeTensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>();
        foreach (var info in f.Tensors)
        {
            var bytes = new byte[info.ByteLength];
            f.ReadInto(info.Name, bytes);
            result[info.Name] = from_bytes(bytes, FromSafe(info.DType), info.Shape).DetachFromDisposeScope();
        }
        return result;
    }
}
