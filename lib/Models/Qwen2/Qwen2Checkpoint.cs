using ViXml.Models.Hf;
using ViXml.Torch;
using ViXml.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Qwen2;

/// <summary>
/// Strict loading and saving of Qwen2 checkpoints in Hugging Face layout: config.json bound field by field,
/// model.safetensors or a sharded index, weights under "model." (Qwen2ForCausalLM) or bare (Qwen2Model), any float
/// storage dtype (BF16 in the published files) converted to the requested compute dtype. Missing, unexpected,
/// mis-shaped or non-float tensors are errors naming the key and file; the only tolerated extra is the LM head.
/// </summary>
public static class Qwen2Checkpoint
{
    /// <summary>Where Qwen2 weights sit and what may be skipped.</summary>
    public static readonly CheckpointLayout Layout = new("Qwen2Model", ["model.", ""],
    [
        new("lm_head.weight", false, "LM head (an encoder uses the hidden states; tied checkpoints may still store it)"),
        new("layers.*.self_attn.rotary_emb.inv_freq", true, "RoPE buffer saved by old transformers versions; recomputed from rope_theta"),
    ]);

    /// <summary>Reads one tensor of a safetensors source into a CPU tensor of its stored dtype.</summary>
    public static Tensor ReadTensor(ISafeTensorsSource source, string name)
    {
        var info = source.Info(name);
        var bytes = source.ReadBytes(name);
        return TensorExtensions.from_bytes(bytes, info.DType.ToTorch(), info.Shape);
    }

    /// <summary>Loads config and weights from a model folder; compute in <paramref name="dtype"/>.</summary>
    public static Qwen2Model Load(string dir, ScalarType dtype = ScalarType.Float32)
    {
        var config = Qwen2Config.Load(dir);
        var model = new Qwen2Model(config, dtype);
        try
        {
            LoadWeights(model, dir);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Fills an existing model's base weights (LoRA adapters, if any, are not touched).</summary>
    public static KeyMapping LoadWeights(Qwen2Model model, string dir)
    {
        using var source = SafeTensorsCheckpoint.OpenFolder(dir);
        var parameters = model.named_parameters().Where(p => !p.name.Contains(".lora_")).ToList();
        var expected = parameters.Select(p => new ExpectedTensor(p.name, p.parameter.shape)).ToList();
        var inFile = source.Names.Select(n =>
        {
            var i = source.Info(n);
            return new CheckpointTensor(n, i.DType.ToString(), i.Shape, i.File);
        });
        var mapping = CheckpointKeys.Match(source.Path, inFile, expected, Layout);
        using var _ = no_grad();
        foreach (var (name, param) in parameters)
        {
            using var scope = NewDisposeScope();
            var t = ReadTensor(source, mapping.Sources[name].Name);
            param.copy_(t.to(param.dtype));
        }
        return mapping;
    }

    /// <summary>Saves config.json and model.safetensors (keys under "model.", as Qwen2ForCausalLM; the LM head is left
    /// out, so only tied configs reload into a causal LM). LoRA adapters are not part of the base checkpoint.</summary>
    public static void Save(Qwen2Model model, string dir, ScalarType storage = ScalarType.BFloat16)
    {
        Directory.CreateDirectory(dir);
        var entries = new List<SafeTensorsWriteEntry>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.Contains(".lora_")) continue;
            using var t = p.detach().to(storage).contiguous();
            entries.Add(new SafeTensorsWriteEntry("model." + name, storage.ToSafeTensors(), p.shape, t.to_bytes()));
        }
        SafeTensorsWriter.Write(Path.Combine(dir, SafeTensorsCheckpoint.SingleFileName), entries,
            new Dictionary<string, string> { ["format"] = "pt" });
        var cfg = model.Config with { TorchDtype = storage == ScalarType.BFloat16 ? "bfloat16" : "float32" };
        cfg.Save(dir);
    }
}
