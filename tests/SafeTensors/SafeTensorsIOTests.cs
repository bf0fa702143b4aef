using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.SafeTensors;

/// <summary>safetensors &lt;-&gt; TorchSharp tensors through raw-bytes tensor I/O.</summary>
public class SafeTensorsIOTests
{
    [Fact]
    public void TorchTensorsRoundTripEveryDtype()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["f64"] = randn([2, 5], ScalarType.Float64),
            ["bf16"] = randn(4, 3).to(ScalarType.BFloat16),
            ["f16"] = randn(2, 2, 2).to(ScalarType.Float16),
            ["i64"] = randint(-1000, 1000, [7], ScalarType.Int64),
            ["i32"] = randint(-1000, 1000, [2, 3], ScalarType.Int32),
            ["u8"] = randint(0, 256, [9], ScalarType.Byte),
            ["bool"] = rand(3, 3).gt(0.5),
            ["f32.transposed"] = randn(3, 5).transpose(0, 1), // not contiguous: saved in logical row-major order
            ["f32.scalar"] = tensor([2.5f], []),
            ["f32.empty"] = zeros(0, 4),
        };
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "torch.safetensors");
        SafeTensorsIO.Save(p, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        var loaded = SafeTensorsIO.Load(p);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        using var file = SafeTensorsFile.Open(p);
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var (name, t) in tensors)
        {
            var back = loaded[name];
            Assert.Equal(t.dtype, back.dtype);
            Assert.Equal(t.shape, back.shape);
            Assert.Equal(t.to_bytes(), back.to_bytes());
            Assert.True(t.equal_all(back), name);
            Assert.Equal(t.to_bytes(), file.ReadBytes(name)); // the pure C# reader sees the same bytes
        }
        // the transposed tensor was stored as its logical values, not its underlying storage
        Assert.Equal(tensors["f32.transposed"].contiguous().ToArray<float>(), loaded["f32.transposed"].ToArray<float>());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void PyTorchFileLoadsIntoEqualTensors()
    {
        using var scope = NewDisposeScope();
        var exp = JsonDocument.Parse(File.ReadAllBytes(Repo.Fixture("safetensors", "pytorch_all_dtypes.expected.json")))
            .RootElement.GetProperty("tensors");
        var loaded = SafeTensorsIO.Load(Repo.Fixture("safetensors", "pytorch_all_dtypes.safetensors"));
        foreach (var e in exp.EnumerateObject())
        {
            var t = loaded[e.Name];
            Assert.Equal(SafeTensorsIOExpect.TorchDType(e.Value.GetProperty("dtype").GetString()!), t.dtype);
            Assert.Equal(e.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.shape);
            Assert.Equal(Convert.FromHexString(e.Value.GetProperty("hex").GetString()!), t.to_bytes());
            if (e.Value.TryGetProperty("f32_bits", out var bits))
                Assert.Equal(bits.EnumerateArray().Select(x => x.GetUInt32()),
                    t.to(ScalarType.Float32).ToArray<float>().Select(BitConverter.SingleToUInt32Bits));
            else if (e.Value.TryGetProperty("ints", out var ints))
                Assert.Equal(ints.EnumerateArray().Select(x => x.GetInt64()), t.to(ScalarType.Int64).ToArray<long>());
        }
    }

    [Fact]
    public void ShardedFolderLoadsEveryTensor()
    {
        using var scope = NewDisposeScope();
        var dir = Repo.Fixture("safetensors", "sharded");
        var exp = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "expected.json"))).RootElement;
        var loaded = SafeTensorsIO.Load(dir);
        Assert.Equal(exp.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), loaded.Keys.Order(StringComparer.Ordinal));
        foreach (var e in exp.EnumerateObject())
            Assert.Equal(Convert.FromHexString(e.Value.GetProperty("hex").GetString()!), loaded[e.Name].to_bytes());
        Assert.Equal(new long[] { 1, 8 }, loaded["embeddings.position_ids"].shape);
    }

    [Fact]
    public void UnsupportedDtypeIsRejectedBeforeWriting()
    {
        using var scope = NewDisposeScope();
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "bad.safetensors");
        var ex = Assert.Throws<ArgumentException>(() => SafeTensorsIO.Save(p, new Dictionary<string, Tensor>
        {
            ["ok"] = zeros(2),
            ["small"] = zeros([2], ScalarType.Int16),
        }));
        Assert.Contains("'small'", ex.Message);
        Assert.Contains("int16", ex.Message);
        Assert.Empty(Directory.GetFiles(dir));
        Directory.Delete(dir, true);
    }
}

internal static class SafeTensorsIOExpect
{
    /// <summary>The header spelling mapped to torch's dtype by hand (not through the code under test).</summary>
    public static ScalarType TorchDType(string s) => s switch
    {
        "BF16" => ScalarType.BFloat16, "F16" => ScalarType.Float16, "F32" => ScalarType.Float32, "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool,
        _ => throw new ArgumentException(s),
    };
}
