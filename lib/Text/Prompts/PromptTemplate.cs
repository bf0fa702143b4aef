namespace ViXml.Text.Prompts;

/// <summary>The named places of a structured prompt. A template lists the slots it uses, in sequence order.</summary>
public enum PromptSlot
{
    /// <summary>Fixed text before the item text (the paper's T1: "This product text").</summary>
    Prefix,
    /// <summary>The item's own text tokens (truncated by the caller), followed by the batch's padding.</summary>
    Text,
    /// <summary>Fixed text introducing the images ("and its image").</summary>
    ImagePrefix,
    /// <summary>MaxImages slots of (projected) image embeddings; missing images are masked slots.</summary>
    Images,
    /// <summary>Fixed text closing the prompt (the paper's eEOS: "&lt;|endoftext|&gt;").</summary>
    Suffix,
}

/// <summary>How position ids are assigned along the assembled sequence.</summary>
public enum PositionMode
{
    /// <summary>
    /// The reference's semantics: position = index in the padded sequence (arange(T)), so the pads that sit between the
    /// text and what follows it (and masked image slots) still consume position ids.
    /// </summary>
    Padded,
    /// <summary>Only attended slots advance the position: cumsum(mask) - 1; as if each row had been built unpadded.</summary>
    Compact,
}

/// <summary>
/// A structured prompt template as data: which slots appear in which order, the fixed strings of the prompt slots,
/// the position mode and the number of image slots. Loaded from YAML (<see cref="PromptTemplates"/>); tokenised once
/// per tokenizer into a <see cref="TokenizedPromptTemplate"/>; laid out per batch by <see cref="PromptPlanner"/>.
/// The batch's padding always sits right after the text slot (the reference's layout).
/// </summary>
public sealed record PromptTemplate
{
    /// <summary>Name used in configs (e.g. "t1-e-eeos").</summary>
    public required string Name { get; init; }
    /// <summary>One line for humans.</summary>
    public string Description { get; init; } = "";
    /// <summary>Slots in sequence order; must contain Text exactly once; each slot at most once.</summary>
    public required IReadOnlyList<PromptSlot> Order { get; init; }
    /// <summary>Text of the Prefix slot (required iff Prefix is in Order).</summary>
    public string? Prefix { get; init; }
    /// <summary>Text of the ImagePrefix slot (required iff ImagePrefix is in Order).</summary>
    public string? ImagePrefix { get; init; }
    /// <summary>Text of the Suffix slot (required iff Suffix is in Order).</summary>
    public string? Suffix { get; init; }
    /// <summary>Number of image slots when Images is in Order (the paper: up to 3 images per item).</summary>
    public int MaxImages { get; init; } = 3;
    /// <summary>Position ids: Padded (reference) or Compact.</summary>
    public PositionMode Positions { get; init; } = PositionMode.Padded;

    public bool HasImages => Order.Contains(PromptSlot.Images);

    /// <summary>Checks the slot list against the strings; throws ArgumentException naming the template.</summary>
    public void Validate()
    {
        string Where() => $"prompt template '{Name}'";
        if (Order.Count(s => s == PromptSlot.Text) != 1) throw new ArgumentException($"{Where()}: order must contain 'text' exactly once");
        if (Order.Distinct().Count() != Order.Count) throw new ArgumentException($"{Where()}: a slot appears twice in order");
        void Need(PromptSlot slot, string? text, string key)
        {
            bool used = Order.Contains(slot);
            if (used && string.IsNullOrEmpty(text)) throw new ArgumentException($"{Where()}: slot '{key}' is in order but has no text");
            if (!used && text is not null) throw new ArgumentException($"{Where()}: '{key}' is given but not in order");
        }
        Need(PromptSlot.Prefix, Prefix, "prefix");
        Need(PromptSlot.ImagePrefix, ImagePrefix, "image_prefix");
        Need(PromptSlot.Suffix, Suffix, "suffix");
        if (HasImages && MaxImages <= 0) throw new ArgumentException($"{Where()}: max_images must be positive");
    }

    /// <summary>Tokenises each fixed piece once (no special tokens added around it; "&lt;|endoftext|&gt;" is matched as
    /// the added token it is by a tokenizer that knows it).</summary>
    public TokenizedPromptTemplate Tokenize(Func<string, int[]> encode)
    {
        Validate();
        int[] Piece(string? text, string key)
        {
            if (text is null) return [];
            var ids = encode(text);
            if (ids.Length == 0) throw new ArgumentException($"prompt template '{Name}': '{key}' = \"{text}\" tokenises to nothing");
            return ids;
        }
        return new TokenizedPromptTemplate(this, Piece(Prefix, "prefix"), Piece(ImagePrefix, "image_prefix"), Piece(Suffix, "suffix"));
    }

    /// <summary>Tokenises the fixed pieces with a real tokenizer (no BOS/EOS added around a piece).</summary>
    public TokenizedPromptTemplate Tokenize(ITokenizer tokenizer) => Tokenize(s => tokenizer.Encode(s, addSpecialTokens: false));

    /// <summary>The same template with another position mode (the configuration switch).</summary>
    public PromptTemplate WithPositions(PositionMode mode) => this with { Positions = mode };
}

/// <summary>A template with its fixed pieces as token ids (each tokenised once).</summary>
public sealed record TokenizedPromptTemplate(PromptTemplate Template, int[] PrefixIds, int[] ImagePrefixIds, int[] SuffixIds)
{
    /// <summary>Ids of a fixed slot (empty for Text/Images).</summary>
    public int[] IdsOf(PromptSlot slot) => slot switch
    {
        PromptSlot.Prefix => PrefixIds,
        PromptSlot.ImagePrefix => ImagePrefixIds,
        PromptSlot.Suffix => SuffixIds,
        _ => [],
    };
}
