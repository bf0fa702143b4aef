using ViXml.Models;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Qwen2;

[Collection("Qwen2 torch")]
public class Qwen2TemplateEncoderTests
{
    private static Qwen2Config TinyShapes => new()
    {
        HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        VocabSize = 151936, MaxPositionEmbeddings = 128, RopeTheta = 1e6, TieWordEmbeddings = true,
    };

    [Fact]
    public void FromScratchWithLoraAndTemplateEncodesSavesAndReloads()
    {
        using var scope = NewDisposeScope();
        var tok = Qwen2Encoders.Tokenizer(null);
        var settings = new Qwen2EncoderSettings
        {
            Shapes = TinyShapes, Template = "prefix-eos", Dtype = ScalarType.Float32, Seed = 3,
            Lora = new LoraConfig { R = 4, Alpha = 4, UseRsLora = true },
        };
        using var enc = Qwen2Encoders.Create(settings, tok);
        Assert.True(enc.Module.named_parameters().Where(p => p.parameter.requires_grad).All(p => LoraAdapter.IsLoraParameter(p.name)));
        // give the adapter a non-zero B so the round trip checks the adapter too
        using (no_grad()) foreach (var (n, p) in LoraAdapter.Parameters(enc.Model)) if (n.Contains("lora_B")) p.normal_(0, 0.2, new Generator(9));
        string[] texts = ["libc6 GNU C Library: Shared libraries", "python3", "zlib compression library - runtime"];
        var rows = texts.Select(t => tok.Encode(t, 32, addSpecialTokens: false)).ToList();
        int T = rows.Max(r => r.Length);
        var ids = new long[texts.Length * T];
        var mask = new long[texts.Length * T];
        Array.Fill(ids, tok.PadId);
        for (int b = 0; b < rows.Count; b++) for (int j = 0; j < rows[b].Length; j++) { ids[b * T + j] = rows[b][j]; mask[b * T + j] = 1; }
        var idsT = tensor(ids, [texts.Length, T]);
        var maskT = tensor(mask, [texts.Length, T]);
        Tensor pooled;
        using (no_grad())
        {
            pooled = enc.EncodePooled(idsT, maskT, PoolingMode.Mean);
            Assert.Equal(new long[] { 3, 32 }, pooled.shape);
            // the same as the prompt encoder on the token lists: [This product text][text][pads][<|endoftext|>]
            Assert.Equal(0.0, Expected.MaxDiff(pooled, enc.Prompt.Encode(rows)));
            // and not the template-free pooling
            Assert.True(Expected.MaxDiff(pooled, Pooling.Pool(enc.Forward(idsT, maskT), maskT, PoolingMode.Mean)) > 1e-4);
        }
        var dir = Repo.TempDir();
        enc.save_pretrained(dir);
        Assert.True(File.Exists(Path.Combine(dir, "adapter_model.safetensors")));
        using var back = Qwen2Encoders.Load(dir, tok);
        Assert.Equal("prefix-eos", back.Prompt.Template.Template.Name);
        using (no_grad()) Assert.True(Expected.MaxDiff(back.EncodePooled(idsT, maskT, PoolingMode.Mean), pooled) < 1e-6);
    }

    [Fact]
    public void AnImageTemplateWithoutImagesMasksEverySlot()
    {
        using var scope = NewDisposeScope();
        var tok = Qwen2Encoders.Tokenizer(null);
        using var enc = Qwen2Encoders.Create(
            new Qwen2EncoderSettings { Shapes = TinyShapes with { NumHiddenLayers = 1 }, Template = "t1-e-eeos", Dtype = ScalarType.Float32 }, tok);
        Assert.Equal(3, enc.ImageSlots);
        var row = tok.Encode("python3", 32, addSpecialTokens: false);
        var ids = tensor(row.Select(x => (long)x).ToArray(), [1, row.Length]);
        var mask = ones(1, row.Length, dtype: ScalarType.Int64);
        using var _ = no_grad();
        var want = enc.Prompt.Encode([row], zeros(1, 3, 32), [[false, false, false]]);
        Assert.Equal(0.0, Expected.MaxDiff(enc.EncodePooled(ids, mask, PoolingMode.Mean), want));
    }
}
