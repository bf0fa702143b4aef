using ViXml.Text.Prompts;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models.Qwen2;

/// <summary>
/// Encodes texts (and optionally image embeddings) through a structured prompt at the embedding level, as the
/// reference does: the template's fixed pieces and the text tokens are embedded with embed_tokens, image vectors
/// (already projected to H) fill the image slots, and the model runs on inputs_embeds with the layout's mask and
/// position ids. Labels and queries use the same template.
/// </summary>
public sealed class Qwen2PromptEncoder
{
    public Qwen2Model Model { get; }
    public TokenizedPromptTemplate Template { get; }
    /// <summary>Token id placed at pads and image slots before their embeddings are masked or replaced.</summary>
    public int PadId { get; }
    /// <summary>"mean" (the paper) or "last".</summary>
    public string Pooling { get; }
    /// <summary>Pad every text slot to this many tokens (fixed-length batches), or null for the batch maximum.</summary>
    public int? PadTextTo { get; }

    public Qwen2PromptEncoder(Qwen2Model model, TokenizedPromptTemplate template, int padId, string pooling = "mean", int? padTextTo = null)
    {
        if (pooling is not ("mean" or "last")) throw new ArgumentException($"pooling '{pooling}' (mean or last)");
        foreach (var id in template.PrefixIds.Concat(template.ImagePrefixIds).Concat(template.SuffixIds).Append(padId))
            if (id < 0 || id >= model.Config.VocabSize)
                throw new ArgumentException($"prompt token id {id} is outside the model's vocabulary [0, {model.Config.VocabSize})");
        Model = model;
        Template = template;
        PadId = padId;
        Pooling = pooling;
        PadTextTo = padTextTo;
    }

    /// <summary>
    /// The embedded prompt: inputs_embeds (B, T, H), attention mask (B, T) and position ids (B, T).
    /// images: (B, MaxImages, H) projected image embeddings (zeros where absent), present: per row and slot.
    /// </summary>
    public (Tensor Embeds, Tensor Mask, Tensor Positions, PromptLayout Layout) Assemble(
        IReadOnlyList<int[]> texts, Tensor? images = null, IReadOnlyList<bool[]>? present = null)
    {
        var layout = PromptPlanner.Plan(Template, texts.Select(t => t.Length).ToList(), present, PadTextTo);
        using var scope = NewDisposeScope();
        long B = layout.Batch, T = layout.Length;
        var device = Model.Device;                                                           // host layout → the model's device
        var ids = tensor(layout.TokenIds(Template, texts, PadId), [B, T], device: device);
        var embeds = Model.Embed(ids);                                                       // (B, T, H)
        if (Template.Template.HasImages)
        {
            if (images is null) throw new ArgumentException($"template '{Template.Template.Name}' needs image embeddings");
            long H = Model.Config.HiddenSize;
            var want = new[] { B, Template.Template.MaxImages, H };
            if (!images.shape.SequenceEqual(want))
                throw new ArgumentException($"images are [{string.Join(", ", images.shape)}], expected [{string.Join(", ", want)}]");
            var slots = layout.ImageSlots().ToList();
            var rows = tensor(slots.Select(s => (long)s.Row).ToArray(), device: device);
            var pos = tensor(slots.Select(s => (long)s.Position).ToArray(), device: device);
            var src = tensor(slots.Select(s => (long)s.Slot).ToArray(), device: device);
            var vectors = images.to(embeds.dtype, device)[rows, src];                // (n, H)
            embeds = embeds.index_put_(vectors, rows, pos);
        }
        var mask = tensor(layout.AttentionMask, [B, T], device: device);
        var positions = tensor(layout.PositionIds, [B, T], device: device);
        return (embeds.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), positions.MoveToOuterDisposeScope(), layout);
    }

    /// <summary>Pooled float32 embeddings (B, H) of the prompted texts.</summary>
    public Tensor Encode(IReadOnlyList<int[]> texts, Tensor? images = null, IReadOnlyList<bool[]>? present = null)
    {
        using var scope = NewDisposeScope();
        var (embeds, mask, positions, _) = Assemble(texts, images, present);
        var h = Model.forward(null, mask, positions, embeds);
        return Qwen2Ops.Pool(h, mask, Pooling).MoveToOuterDisposeScope();
    }
}
