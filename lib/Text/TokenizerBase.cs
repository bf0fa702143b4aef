namespace ViXml.Text;

/// <summary>
/// Shared encode/batch logic: subclasses provide the raw tokenisation (no template) and the template tokens.
/// </summary>
public abstract class TokenizerBase : ITokenizer
{
    public abstract int VocabSize { get; }
    public abstract int PadId { get; }

    /// <summary>Ids placed before / after the text when special tokens are requested (BERT: [CLS] / [SEP]).</summary>
    protected abstract int[] PrefixIds { get; }
    protected abstract int[] SuffixIds { get; }

    /// <summary>The template ids, for engines that wrap this tokenizer (<see cref="MlTokenizers"/>).</summary>
    internal int[] TemplatePrefix => PrefixIds;
    internal int[] TemplateSuffix => SuffixIds;

    /// <summary>Tokenises the text without template tokens, appending ids to <paramref name="output"/>.</summary>
    protected abstract void EncodeCore(string text, List<int> output);

    public abstract string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);
    public abstract string IdToToken(int id);
    public abstract int? TokenToId(string token);

    public int SpecialTokenId(string token) =>
        TokenToId(token) ?? throw new KeyNotFoundException($"tokenizer has no token '{token}'");

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(PrefixIds);
        EncodeCore(text, ids);
        if (addSpecialTokens) ids.AddRange(SuffixIds);
        return ids.ToArray();
    }

    /// <summary>Encodes and truncates to <paramref name="maxLen"/> ids; the template tokens are kept and the text
    /// is cut (HF's "longest_first" for single sequences).</summary>
    public int[] Encode(string text, int maxLen, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        int nSpecial = addSpecialTokens ? PrefixIds.Length + SuffixIds.Length : 0;
        if (maxLen < nSpecial)
            throw new ArgumentOutOfRangeException(nameof(maxLen), $"maxLen {maxLen} cannot hold the {nSpecial} template tokens");
        var body = new List<int>(text.Length / 3 + 4);
        EncodeCore(text, body);
        int keep = Math.Min(body.Count, maxLen - nSpecial);
        var ids = new int[keep + nSpecial];
        int k = 0;
        if (addSpecialTokens) foreach (var id in PrefixIds) ids[k++] = id;
        for (int i = 0; i < keep; i++) ids[k++] = body[i];
        if (addSpecialTokens) foreach (var id in SuffixIds) ids[k++] = id;
        return ids;
    }

    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, int maxLen = 32, bool pad = true, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (maxLen <= 0) throw new ArgumentOutOfRangeException(nameof(maxLen), $"maxLen must be positive, got {maxLen}");
        int b = texts.Count;
        var rows = new int[b][];
        for (int i = 0; i < b; i++)
            rows[i] = Encode(texts[i] ?? throw new ArgumentNullException(nameof(texts), $"text {i} is null"), maxLen, addSpecialTokens);
        int t = pad ? maxLen : Math.Max(1, rows.Length == 0 ? 1 : rows.Max(r => r.Length));
        var ids = new long[b * t];   // (B, T)
        var mask = new long[b * t];  // (B, T)
        var lengths = new int[b];    // (B)
        Array.Fill(ids, PadId);
        for (int i = 0; i < b; i++)
        {
            var r = rows[i];
            lengths[i] = r.Length;
            for (int j = 0; j < r.Length; j++)
            {
                ids[i * t + j] = r[j];
                mask[i * t + j] = 1;
            }
        }
        return new TokenBatch(ids, mask, b, t, lengths);
    }

    /// <summary>Throws if an id is not a valid index into this tokenizer's vocabulary.</summary>
    protected void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is outside the vocabulary [0, {VocabSize})");
    }
}
