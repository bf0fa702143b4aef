using System.Globalization;
using System.Text.Json;
using TorchSharp;
using ViXml.SafeTensors;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Models.Vision;

/// <summary>A problem with a vision model folder or its input, naming the file (and key).</summary>
public sealed class VisionModelException(string file, string problem, Exception? inner = null)
    : Exception($"{file}: {problem}", inner)
{
    public string File { get; } = file;
}

/// <summary>
/// A frozen image encoder: planar RGB 0..255 images already resized to <see cref="InputSize"/> in, one pooled vector per
/// image out. The model-specific preprocessing (channel order, mean image, rescale, normalisation) is inside the model.
/// </summary>
public interface IImageEncoder : IDisposable
{
    /// <summary>Square input side S.</summary>
    int InputSize { get; }
    /// <summary>Pooled output width D.</summary>
    int OutputDim { get; }
    /// <summary>The model's own preprocessing, for manifests.</summary>
    string Preprocessing { get; }
    /// <summary>(B, 3, S, S) float32 row-major RGB 0..255 → (B, D) float32 row-major.</summary>
    float[] Embed(float[] rgb, int batch);
}

/// <summary>Loads the vision tower of a model folder by its config.json.</summary>
public static class VisionTowers
{
    /// <summary>
    /// "resnet" (an imported ResNet folder) or a SigLIP vision tower (config model_type "siglip" with a vision_config, or
    /// "siglip_vision_model"). Other types are an error naming the file.
    /// </summary>
    public static IImageEncoder Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new VisionModelException(dir, "model folder not found");
        var cfgPath = Path.Combine(dir, "config.json");
        if (!System.IO.File.Exists(cfgPath)) throw new VisionModelException(cfgPath, "missing");
        string? type;
        try
        {
            using var doc = JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(cfgPath, 64L << 20));
            type = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString() : null;
        }
        catch (JsonException e) { throw new VisionModelException(cfgPath, $"invalid JSON ({e.Message})"); }
        return type switch
        {
            "resnet" => ResNetModel.Load(dir),
            "siglip" or "siglip_vision_model" => SiglipVisionModel.Load(dir),
            "siglip2" or "siglip2_vision_model" => throw new VisionModelException(cfgPath,
                $"model_type '{type}' is SigLIP2 NaFlex (variable resolution, linear patch embedding): not supported; SigLIP2 FixRes checkpoints (e.g. google/siglip2-base-patch16-224) are model_type 'siglip' and load"),
            null => throw new VisionModelException(cfgPath, "no string 'model_type'"),
            _ => throw new VisionModelException(cfgPath, $"model_type '{type}' is not a vision tower this library runs (resnet, siglip)"),
        };
    }
}

/// <summary>Shared loading and batch checks of the vision towers.</summary>
internal static class VisionGuards
{
    public static Dictionary<string, Tensor> LoadTensors(string path)
    {
        try { return SafeTensorsIO.Load(path); }
        catch (SafeTensorsException e) { throw new VisionModelException(path, e.Message, e); }
        catch (FileNotFoundException) { throw new VisionModelException(path, "missing"); }
    }

    /// <summary>Strict: every key of the module present with its shape, nothing unexpected beyond the allow-list.
    /// The module ends frozen (no grad) and in eval mode.</summary>
    public static void LoadStrict(nn.Module model, string path, IEnumerable<string>? allowUnexpected, Func<string, string>? rename = null)
    {
        if (!System.IO.File.Exists(path))
        {
            var index = path + ".index.json";                      // sharded HF checkpoint
            if (!System.IO.File.Exists(index)) throw new VisionModelException(path, "missing (and no sharded index model.safetensors.index.json)");
            path = index;
        }
        using var scope = NewDisposeScope();
        var raw = LoadTensors(path);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, v) in raw)
        {
            if (v.dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64 or ScalarType.Int64))
                throw new VisionModelException(path, $"tensor '{k}' has dtype {v.dtype}, expected a float type");
            var name = rename is null ? k : rename(k);
            state[name] = v.dtype == ScalarType.Int64 ? v : v.to_type(ScalarType.Float32);
        }
        try { model.load_hf_state_dict(state, strict: true, allow_unexpected: allowUnexpected, source: path); }
        catch (TorchException e) { throw new VisionModelException(path, e.Message, e); }
        foreach (var p in model.parameters()) p.requires_grad = false;
        model.eval();
    }

    /// <summary>(B, 3, S, S) float32 → (B, D): shape and value checks before libtorch sees the data, then a no_grad forward.</summary>
    public static float[] RunBatch(nn.Module<Tensor, Tensor> model, float[] rgb, int batch, int size, int dim)
    {
        if (batch <= 0) throw new ArgumentException($"batch must be positive, got {batch}");
        long per = 3L * size * size;
        if (rgb.LongLength != batch * per)
            throw new ArgumentException($"expected {batch} images of 3x{size}x{size} ({batch * per} floats), got {rgb.LongLength}");
        for (long i = 0; i < rgb.LongLength; i++)
            if (!float.IsFinite(rgb[i])) throw new ArgumentException($"image {i / per} has a non-finite pixel value");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(rgb, [batch, 3, size, size]);
        var y = TorchException.Guard($"{model.GetType().Name} forward", () => model.forward(x));
        if (!y.shape.SequenceEqual(new long[] { batch, dim }))
            throw new InvalidOperationException($"{model.GetType().Name} returned [{string.Join(", ", y.shape)}], expected [{batch}, {dim}]");
        return y.ToArray<float>();
    }
}

/// <summary>Typed access to a JSON object with errors naming the file and the key path.</summary>
internal sealed class JsonReader(string file, JsonElement element, string prefix = "")
{
    public JsonElement Element => element;
    private string Key(string k) => prefix.Length == 0 ? k : $"{prefix}.{k}";

    public bool Has(string k) => element.TryGetProperty(k, out var v) && v.ValueKind != JsonValueKind.Null;

    private JsonElement Get(string k, JsonValueKind kind, string what)
    {
        if (!element.TryGetProperty(k, out var v)) throw new VisionModelException(file, $"missing key '{Key(k)}' ({what})");
        if (v.ValueKind != kind && !(kind == JsonValueKind.True && v.ValueKind == JsonValueKind.False))
            throw new VisionModelException(file, $"key '{Key(k)}' must be {what}, found {v.ValueKind}");
        return v;
    }

    public string Str(string k) => Get(k, JsonValueKind.String, "a string").GetString()!;
    public bool Bool(string k) => Get(k, JsonValueKind.True, "a boolean").GetBoolean();
    public double Double(string k) => Get(k, JsonValueKind.Number, "a number").GetDouble();
    public int Int(string k) => Get(k, JsonValueKind.Number, "an integer").TryGetInt32(out var i) ? i
        : throw new VisionModelException(file, $"key '{Key(k)}' must be an integer");
    public int Int(string k, int fallback) => Has(k) ? Int(k) : fallback;
    public double Double(string k, double fallback) => Has(k) ? Double(k) : fallback;
    public string Str(string k, string fallback) => Has(k) ? Str(k) : fallback;
    public bool Bool(string k, bool fallback) => Has(k) ? Bool(k) : fallback;
    public int[] Ints(string k)
    {
        var a = Get(k, JsonValueKind.Array, "an array of integers");
        var r = new List<int>();
        foreach (var e in a.EnumerateArray())
            r.Add(e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var i) ? i
                : throw new VisionModelException(file, $"key '{Key(k)}' must hold integers, found {e}"));
        return r.ToArray();
    }
    public double[] Doubles(string k)
    {
        var a = Get(k, JsonValueKind.Array, "an array of numbers");
        return a.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? e.GetDouble()
            : throw new VisionModelException(file, $"key '{Key(k)}' must hold numbers, found {e}")).ToArray();
    }
    public JsonReader Obj(string k) => new(file, Get(k, JsonValueKind.Object, "an object"), Key(k));

    public static JsonReader Open(string path)
    {
        try { return new JsonReader(path, JsonDocument.Parse(ViXml.Common.InputFile.ReadAllBytes(path, 64L << 20)).RootElement.Clone()); }
        catch (JsonException e) { throw new VisionModelException(path, $"invalid JSON ({e.Message})"); }
    }

    public static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
