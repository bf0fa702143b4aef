namespace ViXml.Text.Prompts;

/// <summary>What occupies one position of an assembled prompt sequence.</summary>
public enum SegmentKind : byte
{
    Prefix,
    Text,
    /// <summary>Padding of the text slot (masked).</summary>
    Pad,
    ImagePrefix,
    /// <summary>One image slot (masked when the item has no image there).</summary>
    Image,
    Suffix,
}

/// <summary>
/// The layout of one batch of prompts, row-major (B, T): the kind of each position, its source index (token index
/// within its fixed piece, token index within the row's text, or image slot), position ids and attention mask.
/// Pure data: the model side turns it into inputs_embeds (embed_tokens of <see cref="TokenIds"/>, image vectors
/// placed at <see cref="ImageSlots"/>).
/// </summary>
public sealed class PromptLayout
{
    public required int Batch { get; init; }
    /// <summary>Sequence length T (the same for every row).</summary>
    public required int Length { get; init; }
    /// <summary>Padded length of the text slot (max text length of the batch, or the requested pad length).</summary>
    public required int TextSlotLength { get; init; }
    public required SegmentKind[] Kinds { get; init; }
    public required int[] Sources { get; init; }
    public required long[] PositionIds { get; init; }
    public required long[] AttentionMask { get; init; }

    public SegmentKind KindAt(int row, int t) => Kinds[row * Length + t];

    /// <summary>
    /// Token ids (B*T) for the embedding lookup: the template's piece ids and each row's text ids; pads and image slots
    /// get <paramref name="padId"/> (their embeddings are masked out or replaced by image vectors).
    /// </summary>
    public long[] TokenIds(TokenizedPromptTemplate template, IReadOnlyList<int[]> texts, int padId)
    {
        if (texts.Count != Batch) throw new ArgumentException($"{texts.Count} texts for a layout of {Batch} rows");
        var ids = new long[Batch * Length];
        for (int b = 0; b < Batch; b++)
            for (int t = 0; t < Length; t++)
            {
                int i = b * Length + t, s = Sources[i];
                ids[i] = Kinds[i] switch
                {
                    SegmentKind.Prefix => template.PrefixIds[s],
                    SegmentKind.ImagePrefix => template.ImagePrefixIds[s],
                    SegmentKind.Suffix => template.SuffixIds[s],
                    SegmentKind.Text => texts[b][s],
                    _ => padId,
                };
            }
        return ids;
    }

    /// <summary>Every image slot: row, position in the sequence, image slot index, and whether it holds an image.</summary>
    public IEnumerable<(int Row, int Position, int Slot, bool Present)> ImageSlots()
    {
        for (int b = 0; b < Batch; b++)
            for (int t = 0; t < Length; t++)
            {
                int i = b * Length + t;
                if (Kinds[i] == SegmentKind.Image) yield return (b, t, Sources[i], AttentionMask[i] == 1);
            }
    }
}

/// <summary>
/// Lays out a batch of prompts from a tokenised template, the rows' text lengths and which image slots are filled.
/// Sequence per row: the template's slots in order, the text slot padded to a common length with its pads right after
/// the text (the reference's layout), MaxImages image slots when the template has images. Position ids follow the
/// template's mode: Padded = arange(T) (pads and empty image slots consume positions, as in the reference), Compact =
/// cumsum(mask) - 1 clamped at 0 (a masked slot repeats the position before it; it is never attended or pooled).
/// </summary>
public static class PromptPlanner
{
    /// <param name="template">The tokenised template.</param>
    /// <param name="textLengths">Tokens of each row's text (already truncated).</param>
    /// <param name="imagePresent">Per row, MaxImages flags (image slot filled or not); required iff the template has images.</param>
    /// <param name="padTextTo">Pad every text slot to this length instead of the batch maximum (fixed-length batches).</param>
    public static PromptLayout Plan(TokenizedPromptTemplate template, IReadOnlyList<int> textLengths,
                                    IReadOnlyList<bool[]>? imagePresent = null, int? padTextTo = null)
    {
        var tpl = template.Template;
        int B = textLengths.Count;
        if (B == 0) throw new ArgumentException("empty batch");
        if (textLengths.Any(l => l < 0)) throw new ArgumentException("negative text length");
        if (tpl.HasImages)
        {
            if (imagePresent is null) throw new ArgumentException($"prompt template '{tpl.Name}' has image slots but no image flags were given");
            if (imagePresent.Count != B) throw new ArgumentException($"{imagePresent.Count} image flag rows for {B} texts");
            for (int b = 0; b < B; b++)
                if (imagePresent[b].Length != tpl.MaxImages)
                    throw new ArgumentException($"row {b}: {imagePresent[b].Length} image flags, template '{tpl.Name}' has {tpl.MaxImages} slots");
        }
        else if (imagePresent is not null)
            throw new ArgumentException($"prompt template '{tpl.Name}' has no image slots but image flags were given");

        int Lmax = textLengths.Max();
        if (padTextTo is int p)
        {
            if (p < Lmax) throw new ArgumentException($"pad length {p} is shorter than the longest text ({Lmax} tokens)");
            Lmax = p;
        }
        int T = 0;
        foreach (var slot in tpl.Order)
            T += slot switch { PromptSlot.Text => Lmax, PromptSlot.Images => tpl.MaxImages, _ => template.IdsOf(slot).Length };

        var kinds = new SegmentKind[B * T];
        var sources = new int[B * T];
        var mask = new long[B * T];
        var pos = new long[B * T];
        for (int b = 0; b < B; b++)
        {
            int t = b * T;
            void Put(SegmentKind k, int src, bool on) { kinds[t] = k; sources[t] = src; mask[t] = on ? 1 : 0; t++; }
            foreach (var slot in tpl.Order)
            {
                switch (slot)
                {
                    case PromptSlot.Text:
                        for (int i = 0; i < Lmax; i++)
                            if (i < textLengths[b]) Put(SegmentKind.Text, i, true); else Put(SegmentKind.Pad, i, false);
                        break;
                    case PromptSlot.Images:
                        for (int i = 0; i < tpl.MaxImages; i++) Put(SegmentKind.Image, i, imagePresent![b][i]);
                        break;
                    default:
                        var kind = slot switch
                        {
                            PromptSlot.Prefix => SegmentKind.Prefix,
                            PromptSlot.ImagePrefix => SegmentKind.ImagePrefix,
                            _ => SegmentKind.Suffix,
                        };
                        for (int i = 0; i < template.IdsOf(slot).Length; i++) Put(kind, i, true);
                        break;
                }
            }
            long running = -1;
            for (int i = 0; i < T; i++)
            {
                int k = b * T + i;
                if (tpl.Positions == PositionMode.Padded) pos[k] = i;
                else { running += mask[k]; pos[k] = Math.Max(running, 0); }
            }
        }
        return new PromptLayout
        {
            Batch = B, Length = T, TextSlotLength = Lmax, Kinds = kinds, Sources = sources, PositionIds = pos, AttentionMask = mask,
        };
    }
}
