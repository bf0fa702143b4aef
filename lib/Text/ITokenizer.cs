namespace ViXml.Text;

/// <summary>
/// A batch of token ids, right-padded into flat row-major arrays.
/// </summary>
/// <param name="Ids">(B, T) token ids, int64 as the models take them; padding positions hold PadId.</param>
/// <param name="Mask">(B, T) attention mask: 1 for real tokens, 0 for padding.</param>
/// <param name="B">Number of sequences.</param>
/// <param name="T">Padded sequence length.</param>
/// <param name="Lengths">(B) real length of each sequence (the number of ones in its mask row).</param>
public sealed record TokenBatch(long[] Ids, long[] Mask, int B, int T, int[] Lengths)
{
    /// <summary>The (ids, mask, B, T) view of the batch.</summary>
    public void Deconstruct(out long[] ids, out long[] mask, out int b, out int t)
    {
        ids = Ids; mask = Mask; b = B; t = T;
    }

    /// <summary>The real (unpadded) ids of row <paramref name="row"/>.</summary>
    public int[] Row(int row) => Array.ConvertAll(Ids[(row * T)..(row * T + Lengths[row])], x => (int)x);
}

/// <summary>The common surface of the WordPiece and byte-level BPE tokenizers.</summary>
public interface ITokenizer
{
    /// <summary>Number of ids the tokenizer can produce (model vocabulary plus added tokens).</summary>
    int VocabSize { get; }

    /// <summary>Id used for padding in <see cref="EncodeBatch"/>.</summary>
    int PadId { get; }

    /// <summary>Token ids of one text; <paramref name="addSpecialTokens"/> adds the model's template tokens
    /// (BERT: [CLS] … [SEP]; Qwen adds none, as its HF post-processor). No truncation.</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>As <see cref="Encode(string, bool)"/>, truncated to <paramref name="maxLen"/> ids: the text is cut, the
    /// template tokens are kept.</summary>
    int[] Encode(string text, int maxLen, bool addSpecialTokens = true);

    /// <summary>Encodes each text, truncates to <paramref name="maxLen"/> (template tokens included and kept), and
    /// right-pads: to exactly maxLen when <paramref name="pad"/> is true, otherwise to the longest row.</summary>
    TokenBatch EncodeBatch(IReadOnlyList<string> texts, int maxLen = 32, bool pad = true, bool addSpecialTokens = true);

    /// <summary>Text of a sequence of ids; special tokens are dropped when <paramref name="skipSpecialTokens"/>.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    /// <summary>The vocabulary string of one id (error if out of range).</summary>
    string IdToToken(int id);

    /// <summary>Id of a token string (vocabulary entry or added/special token), or null if unknown.</summary>
    int? TokenToId(string token);

    /// <summary>Id of a special/added token such as "[CLS]" or "&lt;|im_end|&gt;"; throws naming the token if absent.</summary>
    int SpecialTokenId(string token);
}
