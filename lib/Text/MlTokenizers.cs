using System.Text.RegularExpressions;
using ViXml.Text.Unicode;
using Ml = Microsoft.ML.Tokenizers;

namespace ViXml.Text;

/// <summary>Which normaliser and pre-tokeniser an <see cref="MlTokenizers"/> engine runs in front of the
/// Microsoft.ML.Tokenizers model.</summary>
public enum MlComponents
{
    /// <summary>Ours (the code-point exact BertNormalizer / BertPreTokenizer / NFC / Qwen2 split), plugged into
    /// Microsoft.ML.Tokenizers' <c>Normalizer</c> / <c>PreTokenizer</c> extension points.</summary>
    Ours,
    /// <summary>Microsoft.ML.Tokenizers' own wherever it has one: its BertNormalizer (ApplyBasicTokenization) and a
    /// <c>RegexPreTokenizer</c> (BERT: whitespace split + punctuation isolation as a regex; Qwen: the tokenizer.json
    /// pattern). It has no NFC normaliser that works under InvariantGlobalization, so Qwen keeps our NFC.</summary>
    Library,
}

/// <summary>
/// Microsoft.ML.Tokenizers 2.0.1 (<c>BertTokenizer</c>, byte-level <c>BpeTokenizer</c>) as the engine behind
/// <see cref="ITokenizer"/>, fed from our own loaders (vocab.txt / tokenizer.json: vocabulary, merges, added tokens,
/// normaliser settings, split pattern). Added tokens are matched on the raw text by our <see cref="AddedTokenMatcher"/>
/// (HF's order: before normalisation); each plain slice between them is encoded by the library. Template tokens,
/// truncation, padding, decoding and the vocabulary queries are those of the wrapped tokenizer of ours, so only the
/// tokenisation of text differs between the two engines. Kept as the comparison behind
/// tests/Text/MlTokenizersDifferentialTests.cs and <c>bench/run tokenizer</c> (see lib/Text/README.md for why our
/// engine stays the default).
/// </summary>
public sealed class MlTokenizers : TokenizerBase
{
    private readonly TokenizerBase _ours;
    private readonly Ml.Tokenizer _ml;
    private readonly Ml.BertTokenizer? _bert;
    private readonly AddedTokenMatcher _added;

    /// <summary>The Microsoft.ML.Tokenizers object doing the work.</summary>
    public Ml.Tokenizer Engine => _ml;
    /// <summary>Our tokenizer over the same files (template ids, decoding, vocabulary).</summary>
    public ITokenizer Ours => _ours;
    public MlComponents Components { get; }

    private MlTokenizers(TokenizerBase ours, Ml.Tokenizer ml, IEnumerable<AddedToken> added, MlComponents components)
    {
        _ours = ours;
        _ml = ml;
        _bert = ml as Ml.BertTokenizer;
        _added = new AddedTokenMatcher(added);
        Components = components;
    }

    /// <summary>A BERT WordPiece engine over the vocabulary, options and added tokens of <paramref name="ours"/>.</summary>
    public static MlTokenizers FromWordPiece(WordPieceTokenizer ours, MlComponents components = MlComponents.Ours)
    {
        var o = ours.Options;
        // BertTokenizer reads only a vocab.txt stream: one token per line, id = line number.
        var lines = new System.Text.StringBuilder();
        for (int id = 0; id < ours.BaseVocabSize; id++)
        {
            var tok = ours.IdToToken(id);
            if (tok.Contains('\n') || tok.Contains('\r'))
                throw new NotSupportedException($"{ours.Source}: token {id} contains a line break; Microsoft.ML.Tokenizers reads vocab.txt lines");
            lines.Append(tok).Append('\n');
        }
        var options = new Ml.BertOptions
        {
            UnknownToken = o.UnkToken,
            ContinuingSubwordPrefix = o.ContinuingSubwordPrefix,
            MaxInputCharsPerWord = o.MaxInputCharsPerWord,
            ClassificationToken = o.ClsToken,
            SeparatorToken = o.SepToken,
            PaddingToken = o.PadToken,
            MaskingToken = o.MaskToken ?? o.UnkToken,
            SplitOnSpecialTokens = false, // our matcher does it, on the raw text and case-sensitively as HF
        };
        if (components == MlComponents.Ours)
        {
            options.ApplyBasicTokenization = false;
            options.Normalizer = new BertNormalizerAdapter(ours);
            options.PreTokenizer = new BertPreTokenizerAdapter();
        }
        else
        {
            options.ApplyBasicTokenization = true;
            options.LowerCaseBeforeTokenization = o.Lowercase;
            options.RemoveNonSpacingMarks = o.StripAccents ?? o.Lowercase;
            options.IndividuallyTokenizeCjk = o.HandleChineseChars;
            options.PreTokenizer = new Ml.RegexPreTokenizer(new Regex(BertSplitPattern, RegexOptions.Compiled), null);
        }
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(lines.ToString()));
        var ml = Ml.BertTokenizer.Create(stream, options);
        return new MlTokenizers(ours, ml, ours.AddedTokens, components);
    }

    /// <summary>HF's BertPreTokenizer as a .NET regex: a punctuation character (ASCII punctuation or Unicode P*) alone,
    /// or a run of anything else but whitespace.</summary>
    public const string BertSplitPattern =
        @"[\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E]|[^\s\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E]+";

    /// <summary>A byte-level BPE engine over a tokenizer.json (read and checked by our loader).</summary>
    public static MlTokenizers LoadBpe(string path, int? maxAddedTokenId = null, string? padToken = null,
        MlComponents components = MlComponents.Ours)
    {
        var spec = TokenizerJson.ReadBpe(path, maxAddedTokenId, padToken);
        if (spec.IgnoreMerges)
            throw new NotSupportedException($"{path}: model.ignore_merges true has no Microsoft.ML.Tokenizers equivalent");
        var ours = spec.Build();
        var vocab = new KeyValuePair<string, int>[spec.Vocab.Length];
        for (int i = 0; i < vocab.Length; i++) vocab[i] = new(spec.Vocab[i], i);
        var merges = new string[spec.Merges.Count];
        for (int i = 0; i < merges.Length; i++)
        {
            var (l, r) = spec.Merges[i];
            if (l.Contains(' ') || r.Contains(' '))
                throw new NotSupportedException($"{path}: merge {i} has a space inside a token; Microsoft.ML.Tokenizers takes \"left right\" strings");
            merges[i] = l + " " + r;
        }
        var options = new Ml.BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            Normalizer = spec.Nfc ? new NfcNormalizerAdapter() : null,
            PreTokenizer = components == MlComponents.Ours
                ? new Qwen2PreTokenizerAdapter()
                : new Ml.RegexPreTokenizer(new Regex(Qwen2PreTokenizer.Pattern, RegexOptions.Compiled), null),
        };
        var ml = Ml.BpeTokenizer.Create(options);
        return new MlTokenizers(ours, ml, spec.Added, components);
    }

    public override int VocabSize => _ours.VocabSize;
    public override int PadId => _ours.PadId;
    protected override int[] PrefixIds => _ours.TemplatePrefix;
    protected override int[] SuffixIds => _ours.TemplateSuffix;
    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _ours.Decode(ids, skipSpecialTokens);
    public override string IdToToken(int id) => _ours.IdToToken(id);
    public override int? TokenToId(string token) => _ours.TokenToId(token);

    protected override void EncodeCore(string text, List<int> output)
    {
        if (_added.Count == 0) { EncodePlain(text, output); return; }
        var parts = new List<(int Start, int Length, AddedToken? Token)>();
        _added.Split(text, parts);
        foreach (var (start, len, tok) in parts)
        {
            if (tok is not null) output.Add(tok.Id);
            else EncodePlain(parts.Count == 1 ? text : text.Substring(start, len), output);
        }
    }

    private void EncodePlain(string text, List<int> output)
    {
        if (text.Length == 0) return;
        var ids = _bert is not null ? _bert.EncodeToIds(text, addSpecialTokens: false) : _ml.EncodeToIds(text);
        output.AddRange(ids);
    }

    // ---- our components behind the library's extension points ----

    private sealed class BertNormalizerAdapter(WordPieceTokenizer ours) : Ml.Normalizer
    {
        public override string Normalize(string original) => ours.Normalize(original);
        public override string Normalize(ReadOnlySpan<char> original) => ours.Normalize(original.ToString());
    }

    private sealed class NfcNormalizerAdapter : Ml.Normalizer
    {
        public override string Normalize(string original) => UnicodeNormalizer.Nfc(original);
        public override string Normalize(ReadOnlySpan<char> original) => UnicodeNormalizer.Nfc(original.ToString());
    }

    private sealed class Qwen2PreTokenizerAdapter : Ml.PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
        {
            var pieces = new List<(int Start, int Length)>();
            Qwen2PreTokenizer.Split(text, pieces);
            return pieces;
        }

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());
    }

    /// <summary>HF's BertPreTokenizer over code points: whitespace separates (and is dropped), each punctuation
    /// character is its own piece (the same rule as <see cref="WordPieceTokenizer"/>).</summary>
    private sealed class BertPreTokenizerAdapter : Ml.PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string s)
        {
            var pieces = new List<(int, int)>();
            int wordStart = -1, i = 0;
            while (i < s.Length)
            {
                System.Text.Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out int n);
                bool space = System.Text.Rune.IsWhiteSpace(r);
                if (space || WordPieceTokenizer.IsPunctuation(r))
                {
                    if (wordStart >= 0) { pieces.Add((wordStart, i - wordStart)); wordStart = -1; }
                    if (!space) pieces.Add((i, n));
                }
                else if (wordStart < 0) wordStart = i;
                i += n;
            }
            if (wordStart >= 0) pieces.Add((wordStart, s.Length - wordStart));
            return pieces;
        }

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());
    }
}
