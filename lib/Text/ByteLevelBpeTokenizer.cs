using System.Collections.Concurrent;
using System.Text;
using ViXml.Text.Unicode;

namespace ViXml.Text;

/// <summary>
/// Byte-level BPE as Qwen2 (and Qwen1.5/2.5/3) uses it through HF tokenizers: added tokens matched as whole strings
/// first (longest match, before normalisation), NFC, the Qwen2 split pattern, UTF-8 bytes mapped through GPT-2's
/// byte table, then merges applied lowest rank first. Decoding maps the characters back to bytes (invalid UTF-8
/// becomes U+FFFD, as HF's lossy decode).
/// </summary>
public sealed class ByteLevelBpeTokenizer : TokenizerBase
{
    /// <summary>Highest added-token id of Qwen2.5 (its 22 added tokens are 151643–151664; Qwen3 adds 151665–151668).</summary>
    public const int Qwen25MaxAddedTokenId = 151664;

    private readonly string[] _idToToken;                       // id -> token (byte-level string, or added content)
    private readonly Dictionary<string, int> _vocab;            // byte-level string -> id
    private readonly Dictionary<long, Merge> _merges;           // (left id, right id) -> rank and merged id
    private readonly int[] _byteToId = new int[256];            // id of each single-byte token
    private readonly AddedTokenMatcher _added;
    private readonly Dictionary<int, AddedToken> _addedById;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly int _padId;
    private int _cacheCount;

    private readonly record struct Merge(int Rank, int Id);

    /// <summary>Where the tokenizer came from (for error messages).</summary>
    public string Source { get; }
    /// <summary>Apply NFC before splitting (HF normalizer "NFC").</summary>
    public bool Nfc { get; }
    /// <summary>Look a whole piece up in the vocabulary before merging (HF model.ignore_merges).</summary>
    public bool IgnoreMerges { get; }
    /// <summary>Number of merge rules.</summary>
    public int MergeCount => _merges.Count;
    /// <summary>Size of the BPE vocabulary proper (added tokens come after it).</summary>
    public int BaseVocabSize { get; }
    /// <summary>Words cached at most; the cache is cleared when it grows past this.</summary>
    public int CacheCapacity { get; init; } = 100_000;

    public override int VocabSize => _idToToken.Length;
    public override int PadId => _padId;
    protected override int[] PrefixIds { get; }
    protected override int[] SuffixIds { get; }

    /// <param name="vocab">Byte-level token strings in id order.</param>
    /// <param name="merges">Merge rules in rank order, as pairs of token strings.</param>
    /// <param name="addedTokens">Whole-string tokens matched before BPE.</param>
    /// <param name="padToken">Token used for padding (Qwen: &lt;|endoftext|&gt;).</param>
    /// <param name="source">File named in errors.</param>
    public ByteLevelBpeTokenizer(IReadOnlyList<string> vocab, IReadOnlyList<(string Left, string Right)> merges,
        IEnumerable<AddedToken> addedTokens, string padToken, string source = "<memory>", bool nfc = true,
        bool ignoreMerges = false, int[]? prefixIds = null, int[]? suffixIds = null)
    {
        Source = source;
        Nfc = nfc;
        IgnoreMerges = ignoreMerges;
        BaseVocabSize = vocab.Count;
        var added = addedTokens.ToList();
        int size = Math.Max(vocab.Count, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1);
        _idToToken = new string[size];
        _vocab = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
        {
            _idToToken[i] = vocab[i];
            if (!_vocab.TryAdd(vocab[i], i))
                throw new InvalidDataException($"{source}: token '{vocab[i]}' appears twice in the vocabulary");
        }
        _addedById = new Dictionary<int, AddedToken>();
        foreach (var a in added)
        {
            if (a.Id < 0) throw new InvalidDataException($"{source}: added token '{a.Content}' has negative id {a.Id}");
            _idToToken[a.Id] = a.Content; // an added token overrides the vocabulary string of its id, as in HF
            _addedById[a.Id] = a;
        }
        for (int i = 0; i < size; i++)
            if (_idToToken[i] is null) throw new InvalidDataException($"{source}: no token has id {i} (ids must be contiguous)");
        _added = new AddedTokenMatcher(added);

        for (int b = 0; b < 256; b++)
        {
            var ch = ByteLevel.ByteToChar[b].ToString();
            _byteToId[b] = _vocab.TryGetValue(ch, out var id) ? id
                : throw new InvalidDataException($"{source}: the vocabulary lacks the byte token '{ch}' (byte 0x{b:X2}); byte-level BPE needs all 256");
        }
        _merges = new Dictionary<long, Merge>(merges.Count, PairComparer.Instance);
        for (int r = 0; r < merges.Count; r++)
        {
            var (l, rt) = merges[r];
            if (!_vocab.TryGetValue(l, out var li) || !_vocab.TryGetValue(rt, out var ri))
                throw new InvalidDataException($"{source}: merge {r} ('{l}' '{rt}') uses a token missing from the vocabulary");
            if (!_vocab.TryGetValue(l + rt, out var mi))
                throw new InvalidDataException($"{source}: merge {r} ('{l}' '{rt}') produces '{l + rt}', missing from the vocabulary");
            _merges.TryAdd(Key(li, ri), new Merge(r, mi)); // a repeated rule keeps its first (lowest) rank
        }
        var pad = added.FirstOrDefault(a => a.Content == padToken)?.Id ?? (_vocab.TryGetValue(padToken, out var p) ? p : -1);
        _padId = pad >= 0 ? pad : throw new InvalidDataException($"{source}: pad token '{padToken}' is not in the vocabulary or added tokens");
        PrefixIds = prefixIds ?? [];
        SuffixIds = suffixIds ?? [];
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>Why: long's default hash (low ^ high word) collides for id pairs and made lookups ~100× slower.</summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();
        public bool Equals(long x, long y) => x == y;
        public int GetHashCode(long k) => (int)(((ulong)k * 0x9E3779B97F4A7C15UL) >> 32); // Fibonacci hashing
    }

    /// <summary>Loads an HF tokenizer.json with a byte-level BPE model (see <see cref="TokenizerJson.LoadBpe"/>).</summary>
    public static ByteLevelBpeTokenizer Load(string path, int? maxAddedTokenId = null, string? padToken = null) =>
        TokenizerJson.LoadBpe(path, maxAddedTokenId, padToken);

    /// <summary>Loads a Qwen tokenizer.json keeping only Qwen2.5's added tokens (ids up to 151664), so the Qwen3-only
    /// &lt;tool_response&gt;, &lt;think&gt; … are ordinary text, as in Qwen2.5's own tokenizer.</summary>
    public static ByteLevelBpeTokenizer LoadQwen25(string path) => Load(path, Qwen25MaxAddedTokenId);

    public IReadOnlyCollection<AddedToken> AddedTokens => _addedById.Values;

    public override string IdToToken(int id)
    {
        CheckId(id);
        return _idToToken[id];
    }

    public override int? TokenToId(string token) =>
        _added.ByContent.TryGetValue(token, out var a) ? a.Id : _vocab.TryGetValue(token, out var id) ? id : null;

    protected override void EncodeCore(string text, List<int> output)
    {
        var parts = new List<(int Start, int Length, AddedToken? Token)>();
        var pieces = new List<(int Start, int Length)>();
        _added.Split(text, parts);
        foreach (var (start, len, tok) in parts)
        {
            if (tok is not null) { output.Add(tok.Id); continue; }
            var s = text.Substring(start, len);
            if (Nfc) s = UnicodeNormalizer.Nfc(s);
            pieces.Clear();
            Qwen2PreTokenizer.Split(s, pieces);
            foreach (var (ps, pl) in pieces) output.AddRange(EncodeWord(s.Substring(ps, pl)));
        }
    }

    /// <summary>BPE of one pre-token (cached).</summary>
    private int[] EncodeWord(string word)
    {
        if (_cache.TryGetValue(word, out var hit)) return hit;
        var bytes = Encoding.UTF8.GetBytes(word);
        int[] ids;
        if (IgnoreMerges && _vocab.TryGetValue(ByteLevel.Encode(bytes), out var whole)) ids = [whole];
        else
        {
            var sym = new List<int>(bytes.Length);
            foreach (var b in bytes) sym.Add(_byteToId[b]);
            // Merge the lowest-ranked adjacent pair (leftmost on ties) until none is mergeable: HF's order.
            while (sym.Count > 1)
            {
                int bestPos = -1;
                Merge best = new(int.MaxValue, -1);
                for (int p = 0; p + 1 < sym.Count; p++)
                    if (_merges.TryGetValue(Key(sym[p], sym[p + 1]), out var m) && m.Rank < best.Rank)
                    {
                        best = m;
                        bestPos = p;
                    }
                if (bestPos < 0) break;
                sym[bestPos] = best.Id;
                sym.RemoveAt(bestPos + 1);
            }
            ids = sym.ToArray();
        }
        if (word.Length <= 256)
        {
            // ConcurrentDictionary.Count takes every lock, so keep our own approximate count
            if (Interlocked.Increment(ref _cacheCount) > CacheCapacity)
            {
                _cache.Clear();
                Interlocked.Exchange(ref _cacheCount, 0);
            }
            _cache.TryAdd(word, ids);
        }
        return ids;
    }

    /// <summary>Byte-level decode: tokens back to bytes, then UTF-8 (lossy); added tokens as their text.</summary>
    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            CheckId(id);
            if (_addedById.TryGetValue(id, out var a))
            {
                if (skipSpecialTokens && a.Special) continue;
                bytes.AddRange(Encoding.UTF8.GetBytes(a.Content));
                continue;
            }
            var tok = _idToToken[id];
            if (!ByteLevel.TryDecode(tok, bytes)) bytes.AddRange(Encoding.UTF8.GetBytes(tok)); // HF falls back to raw text
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }
}
