using System.Globalization;
using System.Text;
using ViXml.Text.Unicode;

namespace ViXml.Text;

/// <summary>Settings of a BERT WordPiece tokenizer (HF BertNormalizer + WordPiece model names in comments).</summary>
public sealed record WordPieceOptions
{
    /// <summary>Lower-case the text (uncased vocabularies). HF: normalizer.lowercase.</summary>
    public bool Lowercase { get; init; } = true;
    /// <summary>NFD + drop non-spacing marks; null follows <see cref="Lowercase"/>. HF: normalizer.strip_accents.</summary>
    public bool? StripAccents { get; init; }
    /// <summary>Put spaces around CJK ideographs so each is its own word. HF: normalizer.handle_chinese_chars.</summary>
    public bool HandleChineseChars { get; init; } = true;
    /// <summary>Drop control characters, NUL and U+FFFD; map whitespace to ' '. HF: normalizer.clean_text.</summary>
    public bool CleanText { get; init; } = true;
    /// <summary>Prefix of word-continuation pieces. HF: model.continuing_subword_prefix.</summary>
    public string ContinuingSubwordPrefix { get; init; } = "##";
    /// <summary>Longer words (in code points) become the unknown token. HF: model.max_input_chars_per_word.</summary>
    public int MaxInputCharsPerWord { get; init; } = 100;
    /// <summary>Unknown-word token. HF: model.unk_token.</summary>
    public string UnkToken { get; init; } = "[UNK]";
    /// <summary>Start-of-sequence token added by Encode(addSpecialTokens: true).</summary>
    public string ClsToken { get; init; } = "[CLS]";
    /// <summary>End-of-sequence token added by Encode(addSpecialTokens: true).</summary>
    public string SepToken { get; init; } = "[SEP]";
    /// <summary>Padding token.</summary>
    public string PadToken { get; init; } = "[PAD]";
    /// <summary>Mask token (MLM); null if the vocabulary has none.</summary>
    public string? MaskToken { get; init; } = "[MASK]";
}

/// <summary>
/// BERT's tokenizer, as HF's fast BertTokenizer does it: added/special tokens matched first (never split), then
/// BertNormalizer (clean text, CJK split, accent strip, lower-case), BertPreTokenizer (split on whitespace, isolate
/// punctuation), then greedy longest-match-first WordPiece with "##" continuations.
/// </summary>
public sealed class WordPieceTokenizer : TokenizerBase
{
    private readonly string[] _idToToken;                  // id -> vocabulary string (plus added tokens)
    private readonly Dictionary<string, int> _vocab;       // whole-word pieces
    private readonly Dictionary<string, int> _cont;        // continuation pieces, keyed without the prefix
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabSpan, _contSpan;
    private readonly AddedTokenMatcher _added;
    private readonly int[] _prefix, _suffix;
    private readonly int _unkId, _padId;

    public WordPieceOptions Options { get; }

    /// <summary>Where the vocabulary came from (for error messages).</summary>
    public string Source { get; }

    public int UnkId => _unkId;
    public int ClsId { get; }
    public int SepId { get; }
    public int? MaskId { get; }

    public override int VocabSize => _idToToken.Length;

    /// <summary>Size of the model vocabulary proper (ids below it come from vocab.txt / model.vocab).</summary>
    public int BaseVocabSize { get; }
    public override int PadId => _padId;
    protected override int[] PrefixIds => _prefix;
    protected override int[] SuffixIds => _suffix;

    /// <param name="vocab">Tokens in id order (id = index).</param>
    /// <param name="options">Normaliser and special-token settings.</param>
    /// <param name="source">File the vocabulary came from, named in errors.</param>
    /// <param name="addedTokens">Extra whole-string tokens; the special tokens of <paramref name="options"/> are added
    /// automatically (never split), with their vocabulary ids.</param>
    /// <param name="prefixIds">Template ids before the text (default [CLS]).</param>
    /// <param name="suffixIds">Template ids after the text (default [SEP]).</param>
    public WordPieceTokenizer(IReadOnlyList<string> vocab, WordPieceOptions? options = null, string source = "<memory>",
        IEnumerable<AddedToken>? addedTokens = null, int[]? prefixIds = null, int[]? suffixIds = null)
    {
        Options = options ?? new WordPieceOptions();
        Source = source;
        if (Options.MaxInputCharsPerWord <= 0)
            throw new ArgumentException($"{source}: max_input_chars_per_word must be positive");
        var extra = addedTokens?.ToList() ?? [];
        BaseVocabSize = vocab.Count;
        int size = Math.Max(vocab.Count, extra.Count == 0 ? 0 : extra.Max(t => t.Id) + 1);
        _idToToken = new string[size];
        _vocab = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        _cont = new Dictionary<string, int>(vocab.Count / 4, StringComparer.Ordinal);
        var pre = Options.ContinuingSubwordPrefix;
        for (int id = 0; id < vocab.Count; id++)
        {
            var tok = vocab[id];
            _idToToken[id] = tok;
            _vocab[tok] = id; // a duplicate line keeps the later id, as HF does
            if (pre.Length > 0 && tok.Length > pre.Length && tok.StartsWith(pre, StringComparison.Ordinal))
                _cont[tok[pre.Length..]] = id;
        }
        foreach (var t in extra)
        {
            if (t.Id < 0) throw new ArgumentException($"{source}: added token '{t.Content}' has negative id {t.Id}");
            _idToToken[t.Id] ??= t.Content;
        }
        for (int id = 0; id < size; id++)
            if (_idToToken[id] is null)
                throw new InvalidDataException($"{source}: no token has id {id} (ids must be contiguous from 0)");
        _vocabSpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _contSpan = _cont.GetAlternateLookup<ReadOnlySpan<char>>();

        // The special tokens must exist; they are also matched whole in the input, as HF's added tokens are.
        var addedByContent = extra.ToDictionary(t => t.Content, StringComparer.Ordinal);
        int Require(string tok)
        {
            if (addedByContent.TryGetValue(tok, out var a)) return a.Id;
            if (_vocab.TryGetValue(tok, out var id)) return id;
            throw new InvalidDataException($"{source}: the vocabulary has no special token '{tok}'");
        }
        _unkId = Require(Options.UnkToken);
        ClsId = Require(Options.ClsToken);
        SepId = Require(Options.SepToken);
        _padId = Require(Options.PadToken);
        MaskId = Options.MaskToken is null ? null : Require(Options.MaskToken);
        foreach (var (tok, id) in new[] { (Options.UnkToken, _unkId), (Options.ClsToken, ClsId), (Options.SepToken, SepId),
                     (Options.PadToken, _padId) }.Concat(MaskId is int m ? [(Options.MaskToken!, m)] : []))
            addedByContent.TryAdd(tok, new AddedToken(tok, id, Special: true));
        _added = new AddedTokenMatcher(addedByContent.Values);
        _prefix = prefixIds ?? [ClsId];
        _suffix = suffixIds ?? [SepId];
        foreach (var id in _prefix.Concat(_suffix)) CheckId(id);
    }

    /// <summary>Added (never-split) tokens, including the special tokens.</summary>
    public IReadOnlyCollection<AddedToken> AddedTokens => _added.ByContent.Values.ToList();

    /// <summary>Loads a BERT vocab.txt (one token per line, id = 0-based line number).</summary>
    public static WordPieceTokenizer FromVocabFile(string path, WordPieceOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"vocabulary file not found: {path}", path);
        // One token per line, UTF-8; a binary file (NUL bytes, invalid UTF-8, endless lines) is named with its line.
        List<string> lines;
        try { lines = ViXml.Common.InputFile.ReadLines(path, maxLineBytes: 1 << 16).Select(l => l.Text).ToList(); }
        catch (ViXml.Common.InputFileException e) { throw new InvalidDataException($"{e.Message} (a vocab.txt holds one token per line)"); }
        int n = lines.Count;
        if (n == 0) throw new InvalidDataException($"{path}: the vocabulary is empty");
        var vocab = new string[n];
        for (int i = 0; i < n; i++) vocab[i] = lines[i].TrimEnd(); // HF trims trailing whitespace (and '\r')
        return new WordPieceTokenizer(vocab, options, path);
    }

    public override string IdToToken(int id)
    {
        CheckId(id);
        return _idToToken[id];
    }

    public override int? TokenToId(string token) =>
        _added.ByContent.TryGetValue(token, out var a) ? a.Id : _vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>The vocabulary strings of an id sequence.</summary>
    public string[] IdsToTokens(ReadOnlySpan<int> ids)
    {
        var r = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++) r[i] = IdToToken(ids[i]);
        return r;
    }

    protected override void EncodeCore(string text, List<int> output)
    {
        var parts = new List<(int Start, int Length, AddedToken? Token)>();
        _added.Split(text, parts);
        foreach (var (start, len, tok) in parts)
        {
            if (tok is not null) { output.Add(tok.Id); continue; }
            var norm = Normalize(text.Substring(start, len));
            PreTokenizeAndWordPiece(norm, output);
        }
    }

    /// <summary>BertNormalizer: clean text, CJK spacing, accent stripping, lower-casing (HF's order).</summary>
    public string Normalize(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var r in s.EnumerateRunes())
        {
            int cp = r.Value;
            if (Options.CleanText)
            {
                if (cp == 0 || cp == 0xFFFD || IsControl(r)) continue;
                if (IsBertWhitespace(r)) { sb.Append(' '); continue; }
            }
            if (Options.HandleChineseChars && IsCjk(cp)) { sb.Append(' ').Append(r.ToString()).Append(' '); continue; }
            AppendRune(sb, r);
        }
        var t = sb.ToString();
        if (Options.StripAccents ?? Options.Lowercase)
        {
            var d = UnicodeNormalizer.Nfd(t);
            if (!ReferenceEquals(d, t)) // Nfd returns its input when nothing can decompose (all below U+00C0)
            {
                sb.Clear();
                foreach (var r in d.EnumerateRunes())
                    if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) AppendRune(sb, r);
                t = sb.ToString();
            }
        }
        if (Options.Lowercase)
        {
            sb.Clear();
            foreach (var r in t.EnumerateRunes())
            {
                if (r.Value == 0x130) sb.Append("i\u0307"); // the one unconditional multi-char lower-case mapping
                else AppendRune(sb, Rune.ToLowerInvariant(r));
            }
            t = sb.ToString();
        }
        return t;
    }

    private static void AppendRune(StringBuilder sb, Rune r)
    {
        if (r.IsBmp) sb.Append((char)r.Value);
        else { Span<char> buf = stackalloc char[2]; r.EncodeToUtf16(buf); sb.Append(buf); }
    }

    // HF BertNormalizer: '\t' '\n' '\r' count as whitespace; other C* categories (Cc, Cf, Cs, Co, Cn) are control.
    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    private static bool IsBertWhitespace(Rune r) => r.Value is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(r);

    // CJK Unified Ideographs blocks as HF's Rust BertNormalizer (what AutoTokenizer runs): note its range
    // 0x2B920..0x2CEAF where Google's Python BERT has 0x2B820..0x2CEAF, so U+2B820..U+2B91F are not split out here.
    private static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    // BertPreTokenizer punctuation: all ASCII punctuation (so $ + < = > ^ ` | ~ too) and Unicode P* categories.
    internal static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>Splits on whitespace (dropped) and punctuation (kept, one per word), then WordPiece per word.</summary>
    private void PreTokenizeAndWordPiece(string s, List<int> output)
    {
        int wordStart = -1;
        int i = 0;
        while (i < s.Length)
        {
            Rune.DecodeFromUtf16(s.AsSpan(i), out var r, out int n);
            if (Rune.IsWhiteSpace(r) || IsPunctuation(r))
            {
                if (wordStart >= 0) { WordPiece(s.AsSpan(wordStart, i - wordStart), output); wordStart = -1; }
                if (!Rune.IsWhiteSpace(r)) WordPiece(s.AsSpan(i, n), output);
            }
            else if (wordStart < 0) wordStart = i;
            i += n;
        }
        if (wordStart >= 0) WordPiece(s.AsSpan(wordStart), output);
    }

    /// <summary>Greedy longest-match-first; a word that cannot be covered, or is too long, becomes [UNK].</summary>
    private void WordPiece(ReadOnlySpan<char> word, List<int> output)
    {
        int nChars = 0;
        foreach (var _ in word.EnumerateRunes()) nChars++;
        if (nChars > Options.MaxInputCharsPerWord) { output.Add(_unkId); return; }
        int mark = output.Count;
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (end > start)
            {
                var piece = word[start..end];
                if (start == 0 ? _vocabSpan.TryGetValue(piece, out found) : _contSpan.TryGetValue(piece, out found)) break;
                found = -1;
                // step back one code point, never splitting a surrogate pair
                end -= end - 2 >= start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
            }
            if (found < 0)
            {
                output.RemoveRange(mark, output.Count - mark);
                output.Add(_unkId);
                return;
            }
            output.Add(found);
            start = end;
        }
    }

    /// <summary>Text of ids as HF's WordPiece decoder: tokens joined by spaces, "##" pieces glued to the previous
    /// one, then HF's clean-up of spaces before punctuation and contractions.</summary>
    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var sb = new StringBuilder();
        var pre = Options.ContinuingSubwordPrefix;
        bool first = true;
        foreach (var id in ids)
        {
            var tok = IdToToken(id);
            if (skipSpecialTokens && _added.ByContent.TryGetValue(tok, out var a) && a.Id == id && a.Special) continue;
            // as HF: the first token is kept as is; later ones are glued ("##") or space-separated
            if (first) sb.Append(tok);
            else if (pre.Length > 0 && tok.StartsWith(pre, StringComparison.Ordinal)) sb.Append(tok, pre.Length, tok.Length - pre.Length);
            else sb.Append(' ').Append(tok);
            first = false;
        }
        return CleanUpTokenization(sb.ToString());
    }

    /// <summary>HF's clean_up_tokenization: no space before . ? ! , and contractions.</summary>
    public static string CleanUpTokenization(string s) =>
        s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}
