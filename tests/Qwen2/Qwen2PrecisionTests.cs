using ViXml.Models.Lora;
using ViXml.Tests.Models;
using ViXml.Training;
using ViXml.Training.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Qwen2;

/// <summary>
/// The precision policy (TorchSharp 0.107 has no autocast): a bfloat16 frozen base, LoRA adapters as float32 masters cast
/// to the compute dtype in forward, norms/softmax/pooling/loss in float32. Stated tolerance of a bfloat16 forward against
/// the same weights in float32: every row's unit embedding within cosine 0.999 and 0.05 per component (bfloat16 keeps 8
/// significant bits, ~0.4 % per rounding; two layers here). Tiny shapes: this CPU may lack bf16 instructions.
/// </summary>
[Collection("Qwen2 torch")]
public class Qwen2PrecisionTests(ITestOutputHelper output)
{
    private static (Tensor Emb, Dictionary<string, Tensor> Grads) Step(SiameseModel model)
    {
        foreach (var p in model.parameters()) p.grad = null;
        model.eval();                                            // no dropout: both runs see the same function
        var (ids, mask, _) = DeviceTests.Batch(model, 4, 1, CPU);
        var e = model.Embed(ids, mask);                          // (4, H) float32 unit rows
        var probe = randn([4, model.Dim], generator: new Generator(9));
        (e * probe).sum().backward();
        return (e.detach().clone(), LoraAdapter.Parameters(model.Encoder.Module).ToDictionary(p => p.Name, p => p.Param.grad!.clone()));
    }

    [Fact]
    public void Bfloat16BaseWithFloat32AdaptersStaysWithinTheStatedToleranceOfFloat32()
    {
        using var scope = NewDisposeScope();
        using var model = DeviceTests.Build("qwen2-lora");
        using (no_grad())
            foreach (var (name, p) in LoraAdapter.Parameters(model.Encoder.Module))
                if (name.Contains("lora_B")) p.copy_(randn(p.shape, generator: new Generator(5)) * 0.5);   // a non-zero adapter
        var (e32, g32) = Step(model);

        model.Encoder.Module.to(ScalarType.BFloat16);
        foreach (var (_, m) in model.Encoder.Module.named_modules())
            if (m is LoraLinear { HasAdapter: true } lin) { lin.lora_A!.to(ScalarType.Float32); lin.lora_B!.to(ScalarType.Float32); }
        Assert.Equal(ScalarType.BFloat16, ((ViXml.Models.Qwen2TemplateEncoder)model.Encoder).Model.DType);
        Assert.All(LoraAdapter.Parameters(model.Encoder.Module), p => Assert.Equal(ScalarType.Float32, p.Param.dtype));
        var (e16, g16) = Step(model);

        Assert.Equal(ScalarType.Float32, e16.dtype);             // pooling and the head run in float32
        var cos = (e16 * e32).sum(1);                            // both unit rows
        double minCos = cos.min().ToDouble(), maxDiff = (e16 - e32).abs().max().ToDouble();
        output.WriteLine($"bf16 vs fp32: min row cosine {minCos:F6}, max |Δ| {maxDiff:E2}");
        Assert.True(minCos >= 0.999, $"row cosine {minCos}");
        Assert.True(maxDiff <= 0.05, $"max |Δ| {maxDiff}");
        Assert.True(maxDiff > 0, "bf16 and fp32 gave identical numbers: the base did not run in bf16");
        // The adapters' gradients reach their float32 masters through the casts, and point the same way.
        foreach (var (name, g) in g16)
        {
            Assert.Equal(ScalarType.Float32, g.dtype);
            Assert.False(g.isnan().any().item<bool>(), name);
        }
        var a = cat(g32.OrderBy(kv => kv.Key).Select(kv => kv.Value.flatten()).ToArray());
        var b = cat(g16.OrderBy(kv => kv.Key).Select(kv => kv.Value.flatten()).ToArray());
        double gcos = ((a * b).sum() / (a.norm() * b.norm())).ToDouble();
        output.WriteLine($"LoRA gradient cosine bf16 vs fp32: {gcos:F6}");
        Assert.True(gcos > 0.99, $"gradient cosine {gcos}");
    }

    [Fact]
    public void ModelDtypeIsCheckedWithTheKeyNamed()
    {
        var m = new ModelConfig { Dtype = "bfloat16" };   // a BERT encoder: every weight trains
        Assert.Contains("model.dtype: bfloat16 needs a frozen base", Assert.Throws<ConfigException>(() => SiameseModel.BaseDtype(m)).Message);
        Assert.Contains("model.dtype: 'half' is not float32 | bfloat16",
            Assert.Throws<ConfigException>(() => SiameseModel.BaseDtype(new ModelConfig { Dtype = "half" })).Message);
        Assert.Equal(ScalarType.Float32, SiameseModel.BaseDtype(new ModelConfig()));   // never bf16 by default
        var q = new ModelConfig { Encoder = EncoderKind.Qwen2, Dtype = "bfloat16" };
        Assert.Equal(ScalarType.BFloat16, SiameseModel.BaseDtype(q));
        q.Decoder.Dtype = "fp32";                                // the legacy decoder key wins when set
        Assert.Equal(ScalarType.Float32, SiameseModel.BaseDtype(q));
        q.Decoder.Dtype = "";
        q.Decoder.LoraR = 0;
        Assert.Throws<ConfigException>(() => SiameseModel.BaseDtype(q));
    }
}
