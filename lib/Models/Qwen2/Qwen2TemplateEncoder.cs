using ViXml.Models.Hf;
using ViXml.Models.Lora;
using ViXml.Text.Prompts;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models;

/// <summary>
/// An encoder that pools through its own input layout (e.g. a decoder wrapping each text in a prompt template), so the
/// caller's mask cannot be used to pool its hidden states. Trainers check for it before falling back to
/// Pool(Forward(ids, mask), mask).
/// </summary>
public interface IPromptedEncoder
{
    /// <summary>ids, mask (B, T): right-padded raw text tokens → pooled float32 vectors (B, H), not normalised.
    /// A template with image slots gets them all masked.</summary>
    Tensor EncodePooled(Tensor ids, Tensor mask, PoolingMode mode);

    /// <summary>Image slots of the prompt template (0 = a text-only template).</summary>
    int ImageSlots { get; }

    /// <summary>As <see cref="EncodePooled(Tensor, Tensor, PoolingMode)"/> with the template's image slots filled:
    /// images (B, ImageSlots, H) already projected to the hidden size, imageMask (B, ImageSlots) (1 = present).</summary>
    Tensor EncodePooled(Tensor ids, Tensor mask, PoolingMode mode, Tensor images, Tensor imageMask);
}

/// <summary>
/// The decoder encoder of the paper: a Qwen2 backbone (optionally LoRA-adapted) whose every text is wrapped in a prompt
/// template at the embedding level and mean- (or last-token-) pooled. <see cref="IEncoder.Forward"/> stays the plain
/// (template-free) forward over the ids, as `./vixml embed --ids` specifies; <see cref="EncodePooled"/> applies the template.
/// </summary>
public sealed class Qwen2TemplateEncoder : IEncoder, IPromptedEncoder
{
    public const string TemplateFile = "prompt_template.yaml";

    public Qwen2.Qwen2Model Model { get; }
    public Qwen2.Qwen2PromptEncoder Prompt { get; }
    /// <summary>The adapter settings, or null for a fully trained (or frozen) backbone.</summary>
    public LoraConfig? Lora { get; }

    public Qwen2TemplateEncoder(Qwen2.Qwen2Model model, TokenizedPromptTemplate template, int padId, LoraConfig? lora)
    {
        Model = model;
        Prompt = new Qwen2.Qwen2PromptEncoder(model, template, padId);
        Lora = lora;
    }

    public HfConfig Config => Model.Config;
    public int HiddenSize => Model.HiddenSize;
    public int MaxPositions => Model.MaxPositions;
    public int VocabSize => Model.VocabSize;
    public nn.Module Module => Model;
    public AttentionDirection Attention { get => Model.Attention; set => Model.Attention = value; }
    public bool GradientCheckpointing { get => Model.GradientCheckpointing; set => Model.GradientCheckpointing = value; }

    public Tensor Forward(Tensor ids, Tensor mask) => Model.Forward(ids, mask);
    public Tensor EmbedTokens(Tensor ids) => Model.EmbedTokens(ids);
    public Tensor ForwardEmbeds(Tensor inputsEmbeds, Tensor mask) => Model.ForwardEmbeds(inputsEmbeds, mask);

    public int ImageSlots => Prompt.Template.Template.HasImages ? Prompt.Template.Template.MaxImages : 0;

    public Tensor EncodePooled(Tensor ids, Tensor mask, PoolingMode mode)
    {
        if (ImageSlots == 0) return EncodePooledCore(ids, mask, mode, null, null);
        using var scope = NewDisposeScope();
        var b = ids.size(0);
        return EncodePooledCore(ids, mask, mode, zeros(b, ImageSlots, HiddenSize, device: Model.Device), zeros(b, ImageSlots, dtype: ScalarType.Int64))
            .MoveToOuterDisposeScope();
    }

    public Tensor EncodePooled(Tensor ids, Tensor mask, PoolingMode mode, Tensor images, Tensor imageMask)
    {
        if (ImageSlots == 0)
            throw new ArgumentException($"prompt template '{Prompt.Template.Template.Name}' has no image slots (use t1-e-eeos or an image-first template)");
        var want = new[] { ids.size(0), ImageSlots };
        if (!imageMask.shape.SequenceEqual(want))
            throw new ArgumentException($"image mask is [{string.Join(", ", imageMask.shape)}], expected [{string.Join(", ", want)}]");
        return EncodePooledCore(ids, mask, mode, images, imageMask);
    }

    private Tensor EncodePooledCore(Tensor ids, Tensor mask, PoolingMode mode, Tensor? images, Tensor? imageMask)
    {
        if (mode == PoolingMode.Cls) throw new ArgumentException("a decoder has no [CLS] token: use mean or last pooling");
        var (B, T) = (ids.size(0), ids.size(1));
        // The prompt layout is planned on the host from the token ids, the text mask and the image-present mask (a
        // device tensor is copied back once); the assembled prompt is then built on the model's device.
        HostReadable(ids, "token ids"); HostReadable(mask, "attention mask");
        if (imageMask is not null) HostReadable(imageMask, "image mask");
        var flatIds = ids.to(ScalarType.Int64).ToArray<long>();
        var flatMask = mask.to(ScalarType.Int64).ToArray<long>();
        var texts = new List<int[]>((int)B);
        for (int b = 0; b < B; b++)
        {
            int n = 0;
            while (n < T && flatMask[b * T + n] != 0) n++;
            for (int j = n; j < T; j++)
                if (flatMask[b * T + j] != 0) throw new ArgumentException($"row {b}: the mask is not right-padded");
            texts.Add(flatIds.AsSpan((int)(b * T), n).ToArray().Select(x => (int)x).ToArray());
        }
        // Text slots are padded to the input's width T (the longest text of a whole batch), not to the longest text of
        // these rows: a GradCache chunk of a batch then lays out its prompts (pads, the suffix's position ids) exactly
        // as the whole batch does. For a batch from TokenizedTexts.Batch, T is its longest text, so nothing changes.
        var encoder = new Qwen2.Qwen2PromptEncoder(Model, Prompt.Template, Prompt.PadId,
            mode == PoolingMode.Last ? "last" : "mean", Prompt.PadTextTo ?? (int)T);
        List<bool[]>? present = null;
        if (imageMask is not null)
        {
            var im = imageMask.to(ScalarType.Int64).ToArray<long>();
            int s = ImageSlots;
            present = Enumerable.Range(0, (int)B).Select(b => Enumerable.Range(0, s).Select(j => im[b * s + j] != 0).ToArray()).ToList();
        }
        return encoder.Encode(texts, images, present);
    }

    private static void HostReadable(Tensor t, string what)
    {
        if (t.device_type == DeviceType.META)
            throw new ArgumentException($"a prompted decoder plans its prompt from the {what} on the host: pass them as CPU tensors (the model itself may live on any device, meta included)");
    }

    /// <summary>Base weights (HF layout), the LoRA adapter (PEFT files) if any, and the template as YAML.</summary>
    public void save_pretrained(string dir)
    {
        Model.save_pretrained(dir);
        if (Lora is not null) LoraAdapter.Save(Model, Lora, dir);
        var t = Prompt.Template.Template;
        string Q(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var lines = new List<string> { "# The prompt template this encoder was trained with (lib/Text/Prompts/templates.yaml format).", "templates:", $"  {t.Name}:" };
        lines.Add($"    order: [{string.Join(", ", t.Order.Select(SlotName))}]");
        if (t.Prefix is not null) lines.Add($"    prefix: {Q(t.Prefix)}");
        if (t.ImagePrefix is not null) lines.Add($"    image_prefix: {Q(t.ImagePrefix)}");
        if (t.Suffix is not null) lines.Add($"    suffix: {Q(t.Suffix)}");
        if (t.HasImages) lines.Add($"    max_images: {t.MaxImages}");
        lines.Add($"    positions: {(t.Positions == PositionMode.Padded ? "padded" : "compact")}");
        ViXml.Common.Atomic.WriteAllText(Path.Combine(dir, TemplateFile), string.Join("\n", lines) + "\n");
    }

    private static string SlotName(PromptSlot s) => s switch
    {
        PromptSlot.Prefix => "prefix",
        PromptSlot.Text => "text",
        PromptSlot.ImagePrefix => "image_prefix",
        PromptSlot.Images => "images",
        _ => "suffix",
    };

    public void Dispose() => Model.Dispose();
}
