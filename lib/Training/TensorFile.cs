using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>Named tensors to and from one safetensors file (checkpoints: model, optimiser, sampler embeddings).</summary>
public static class TensorFile
{
    /// <summary>Writes the tensors atomically (their current values, copied to contiguous CPU memory).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var entries = new List<SafeTensorsWriteEntry>();
        foreach (var (name, t) in tensors)
        {
            using var c = t.detach().cpu().contiguous();
            entries.Add(new SafeTensorsWriteEntry(name, t.dtype.ToSafeTensors(), t.shape, c.to_bytes()));
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
            result[info.Name] = TensorExtensions.from_bytes(bytes, info.DType.ToTorch(), info.Shape).DetachFromDisposeScope();
        }
        return result;
    }
}
