using System.Buffers.Binary;
using System.Text.Json;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Torch;

/// <summary>A tiny private safetensors reader for tests/fixtures/torch/ops.safetensors (written by
/// tests/reference/gen_torch.py with Debian's PyTorch). Independent of lib/Torch/SafeTensors on purpose.</summary>
internal static class RefFile
{
    public static Dictionary<string, Tensor> Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, n));
        var result = new Dictionary<string, Tensor>();
        foreach (var e in doc.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__") continue;
            var dt = e.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => ScalarType.Float32, "F64" => ScalarType.Float64, "I64" => ScalarType.Int64, "BOOL" => ScalarType.Bool, "BF16" => ScalarType.BFloat16,
                var s => throw new InvalidDataException($"{path}: {e.Name}: dtype {s}"),
            };
            var shape = e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var off = e.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            result[e.Name] = TensorExtensions.from_bytes(bytes.AsSpan(8 + n + (int)off[0], (int)(off[1] - off[0])), dt, shape).DetachFromDisposeScope();
        }
        return result;
    }

    private static readonly Lazy<Dictionary<string, Tensor>> _ops = new(() => Load(Repo.Fixture("torch", "ops.safetensors")));
    public static Dictionary<string, Tensor> Ops => _ops.Value;

    public static void AssertClose(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64).ToArray<double>();
        var a = actual.to(ScalarType.Float64).ToArray<double>();
        for (var i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]), $"{what}[{i}]: PyTorch {e[i]}, ours {a[i]}");
    }
}
