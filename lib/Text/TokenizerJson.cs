using System.Text;
using System.Text.Json;
using ViXml.Common;

namespace ViXml.Text;

/// <summary>
/// Reads and writes Hugging Face <c>tokenizer.json</c> files. Only the components our tokenizers implement are
/// accepted; anything else is an error naming the file and the JSON key, never a silent approximation.
/// </summary>
public static class TokenizerJson
{
    /// <summary>
    /// A tokenizer.json with its two large tables (model.vocab, model.merges) read by a streaming Utf8JsonReader;
    /// the rest (settings, added tokens) is a JsonDocument in which those tables are replaced by {} and [].
    /// Why: building a JsonDocument over Qwen's 11 MB file costs more than the rest of the load together.
    /// </summary>
    internal sealed class TokenizerFile(JsonDocument doc, string[]? vocab, List<(string, string)>? merges) : IDisposable
    {
        public JsonElement Root => doc.RootElement;
        /// <summary>model.vocab in id order, or null when the file has none.</summary>
        public string[]? Vocab { get; } = vocab;
        /// <summary>model.merges in rank order, or null when the file has none.</summary>
        public List<(string Left, string Right)>? Merges { get; } = merges;
        public void Dispose() => doc.Dispose();
    }

    /// <summary>Reads a tokenizer.json; malformed JSON is reported with the file name and position.</summary>
    internal static TokenizerFile Open(string path, bool readTables = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        var bytes = ViXml.Common.InputFile.ReadAllBytes(path);
        (int Start, int End) vocabAt = (-1, -1), mergesAt = (-1, -1);
        try
        {
            // Locate model.vocab and model.merges (byte ranges of their values) without materialising anything.
            var r = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw Bad(path, "(root)", "a JSON object");
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                bool isModel = r.ValueTextEquals("model"u8);
                r.Read();
                if (!isModel || r.TokenType != JsonTokenType.StartObject) { r.Skip(); continue; }
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    int which = r.ValueTextEquals("vocab"u8) ? 1 : r.ValueTextEquals("merges"u8) ? 2 : 0;
                    r.Read();
                    int start = (int)r.TokenStartIndex;
                    r.Skip();
                    if (which == 1) vocabAt = (start, (int)r.BytesConsumed);
                    if (which == 2) mergesAt = (start, (int)r.BytesConsumed);
                }
            }
            // The rest, with the tables cut out, as a document (this also validates everything outside them).
            var stripped = new List<byte>(4096);
            int pos = 0;
            foreach (var (start, end, repl) in new[] { (vocabAt.Start, vocabAt.End, "{}"u8.ToArray()), (mergesAt.Start, mergesAt.End, "[]"u8.ToArray()) }
                         .Where(x => x.Item1 >= 0).OrderBy(x => x.Item1))
            {
                stripped.AddRange(bytes.AsSpan(pos, start - pos));
                stripped.AddRange(repl);
                pos = end;
            }
            stripped.AddRange(bytes.AsSpan(pos));
            var doc = JsonDocument.Parse(stripped.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            if (!readTables) return new TokenizerFile(doc, null, null);
            var vocab = vocabAt.Start >= 0 ? ReadVocab(bytes.AsSpan(vocabAt.Start, vocabAt.End - vocabAt.Start), path) : null;
            var merges = mergesAt.Start >= 0 ? ReadMerges(bytes.AsSpan(mergesAt.Start, mergesAt.End - mergesAt.Start), path) : null;
            return new TokenizerFile(doc, vocab, merges);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {e.Message}", e);
        }
    }

    /// <summary>The "type" of model (e.g. "WordPiece", "BPE") without loading the tables.</summary>
    public static string ModelType(string path) => Guard(path, () => ModelTypeCore(path));

    private static string ModelTypeCore(string path)
    {
        using var f = Open(path, readTables: false);
        return Str(Obj(f.Root, "model", path), "type", path, "model");
    }

    /// <summary>model.vocab {token: id} as an id-ordered array; ids must be exactly 0..n-1.</summary>
    private static string[] ReadVocab(ReadOnlySpan<byte> json, string path)
    {
        var r = new Utf8JsonReader(json);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw Bad(path, "model.vocab", "an object {token: id}");
        var entries = new List<(string, int)>(160_000);
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var tok = r.GetString()!;
            r.Read();
            if (r.TokenType != JsonTokenType.Number || !r.TryGetInt32(out var id) || id < 0)
                throw Bad(path, $"model.vocab[\"{tok}\"]", "a non-negative integer id");
            entries.Add((tok, id));
        }
        var arr = new string[entries.Count];
        foreach (var (tok, id) in entries)
        {
            if (id >= arr.Length)
                throw new InvalidDataException($"{path}: model.vocab id {id} of '{tok}' is outside 0..{arr.Length - 1} (ids must be contiguous)");
            if (arr[id] is not null)
                throw new InvalidDataException($"{path}: model.vocab id {id} is used by both '{arr[id]}' and '{tok}'");
            arr[id] = tok;
        }
        return arr;
    }

    /// <summary>model.merges: "left right" strings or [left, right] arrays, in rank order.</summary>
    private static List<(string, string)> ReadMerges(ReadOnlySpan<byte> json, string path)
    {
        var r = new Utf8JsonReader(json);
        if (!r.Read() || r.TokenType != JsonTokenType.StartArray) throw Bad(path, "model.merges", "an array");
        var merges = new List<(string, string)>(160_000);
        const string expected = "a \"left right\" string or a [left, right] array of strings";
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            int k = merges.Count;
            if (r.TokenType == JsonTokenType.String)
            {
                var str = r.GetString()!;
                int sp = str.IndexOf(' ');
                if (sp <= 0 || sp == str.Length - 1 || str.IndexOf(' ', sp + 1) >= 0) throw Bad(path, $"model.merges[{k}]", expected);
                merges.Add((str[..sp], str[(sp + 1)..]));
            }
            else if (r.TokenType == JsonTokenType.StartArray)
            {
                if (!r.Read() || r.TokenType != JsonTokenType.String) throw Bad(path, $"model.merges[{k}]", expected);
                var left = r.GetString()!;
                if (!r.Read() || r.TokenType != JsonTokenType.String) throw Bad(path, $"model.merges[{k}]", expected);
                var right = r.GetString()!;
                if (!r.Read() || r.TokenType != JsonTokenType.EndArray) throw Bad(path, $"model.merges[{k}]", expected);
                merges.Add((left, right));
            }
            else throw Bad(path, $"model.merges[{k}]", expected);
        }
        return merges;
    }

    // ---- small typed accessors whose errors name the file and the key path ----

    internal static JsonElement Obj(JsonElement parent, string key, string path, string at = "")
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Object)
            throw Bad(path, Join(at, key), "an object");
        return v;
    }

    internal static JsonElement? OptObj(JsonElement parent, string key, string path, string at = "")
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, Join(at, key), "an object or null");
        return v;
    }

    internal static string Str(JsonElement parent, string key, string path, string at = "")
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.String) throw Bad(path, Join(at, key), "a string");
        return v.GetString()!;
    }

    internal static string? OptStr(JsonElement parent, string key, string path, string at = "")
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Bad(path, Join(at, key), "a string or null");
        return v.GetString();
    }

    internal static bool? OptBool(JsonElement parent, string key, string path, string at = "")
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(path, Join(at, key), "a boolean or null"),
        };
    }

    internal static int? OptInt(JsonElement parent, string key, string path, string at = "")
    {
        if (!parent.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw Bad(path, Join(at, key), "an integer");
        return i;
    }

    internal static string Join(string at, string key) => at.Length == 0 ? key : $"{at}.{key}";

    internal static InvalidDataException Bad(string path, string key, string expected) =>
        new($"{path}: key '{key}' must be {expected}");

    internal static InvalidDataException Unsupported(string path, string key, string value, string supported) =>
        new($"{path}: {key} '{value}' is not supported (supported: {supported})");

    /// <summary>"added_tokens": [{id, content, special, lstrip, rstrip, single_word, normalized}, …].</summary>
    internal static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var list = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var arr) || arr.ValueKind == JsonValueKind.Null) return list;
        if (arr.ValueKind != JsonValueKind.Array) throw Bad(path, "added_tokens", "an array");
        int i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            var at = $"added_tokens[{i++}]";
            if (t.ValueKind != JsonValueKind.Object) throw Bad(path, at, "an object");
            int id = OptInt(t, "id", path, at) ?? throw Bad(path, at + ".id", "an integer");
            if (id < 0) throw Bad(path, at + ".id", "non-negative");
            // ids size the id -> token table: bound them before anything is allocated (the largest vocabularies: ~10^6)
            if (id >= MaxTokenId) throw Bad(path, at + ".id", $"below {MaxTokenId:N0} (got {id})");
            list.Add(new AddedToken(Str(t, "content", path, at), id, OptBool(t, "special", path, at) ?? false,
                OptBool(t, "lstrip", path, at) ?? false, OptBool(t, "rstrip", path, at) ?? false,
                OptBool(t, "single_word", path, at) ?? false));
        }
        return list;
    }

    // ================================ WordPiece ================================

    /// <summary>Loads a BERT-style tokenizer.json: WordPiece model, BertNormalizer, BertPreTokenizer, and a
    /// TemplateProcessing/BertProcessing post-processor for the [CLS]/[SEP] template.</summary>
    /// <summary>Largest token id accepted (ids size the id-to-token table).</summary>
    public const int MaxTokenId = 1 << 24;

    public static WordPieceTokenizer LoadWordPiece(string path) => Guard(path, () => LoadWordPieceCore(path));

    /// <summary>
    /// Runs a loader so that any malformed value it trips over (a number where a string belongs, an id beyond int,
    /// invalid UTF-8 inside a string, a duplicate key) is an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    private static T Guard<T>(string path, Func<T> load)
    {
        try { return load(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException or OverflowException
                                      or ArgumentException and not ArgumentNullException)
        {
            throw new InvalidDataException($"{path}: malformed tokenizer file ({e.Message})", e);
        }
    }

    private static WordPieceTokenizer LoadWordPieceCore(string path)
    {
        using var file = Open(path);
        var root = file.Root;
        var model = Obj(root, "model", path);
        var type = Str(model, "type", path, "model");
        if (type != "WordPiece") throw Unsupported(path, "model.type", type, "WordPiece here; BPE via LoadBpe");
        var vocab = file.Vocab ?? throw Bad(path, "model.vocab", "an object {token: id}");
        var added = ReadAddedTokens(root, path);

        var opts = new WordPieceOptions
        {
            UnkToken = OptStr(model, "unk_token", path, "model") ?? "[UNK]",
            ContinuingSubwordPrefix = OptStr(model, "continuing_subword_prefix", path, "model") ?? "##",
            MaxInputCharsPerWord = OptInt(model, "max_input_chars_per_word", path, "model") ?? 100,
        };
        if (OptObj(root, "normalizer", path) is JsonElement norm)
        {
            var nt = Str(norm, "type", path, "normalizer");
            if (nt != "BertNormalizer") throw Unsupported(path, "normalizer.type", nt, "BertNormalizer");
            opts = opts with
            {
                CleanText = OptBool(norm, "clean_text", path, "normalizer") ?? true,
                HandleChineseChars = OptBool(norm, "handle_chinese_chars", path, "normalizer") ?? true,
                StripAccents = OptBool(norm, "strip_accents", path, "normalizer"),
                Lowercase = OptBool(norm, "lowercase", path, "normalizer") ?? true,
            };
        }
        else opts = opts with { CleanText = false, HandleChineseChars = false, StripAccents = false, Lowercase = false };
        if (OptObj(root, "pre_tokenizer", path) is JsonElement pt)
        {
            var ptt = Str(pt, "type", path, "pre_tokenizer");
            if (ptt != "BertPreTokenizer") throw Unsupported(path, "pre_tokenizer.type", ptt, "BertPreTokenizer");
        }
        else throw Bad(path, "pre_tokenizer", "a BertPreTokenizer");

        // Template tokens from the post-processor; the names also set the options' CLS/SEP.
        var tokenId = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++) tokenId.TryAdd(vocab[i], i);
        foreach (var a in added) tokenId[a.Content] = a.Id;
        var (prefix, suffix, cls, sep) = ReadTemplate(root, path, tokenId);
        opts = opts with { ClsToken = cls ?? "[CLS]", SepToken = sep ?? "[SEP]" };
        string pad = "[PAD]";
        if (OptObj(root, "padding", path) is JsonElement padding) pad = OptStr(padding, "pad_token", path, "padding") ?? pad;
        opts = opts with { PadToken = pad, MaskToken = tokenId.ContainsKey("[MASK]") ? "[MASK]" : null };
        return new WordPieceTokenizer(vocab, opts, path, added, prefix, suffix);
    }

    /// <summary>Reads the single-sequence template: ids before and after "$A" (TemplateProcessing) or cls/sep
    /// (BertProcessing); no post-processor means no template tokens.</summary>
    private static (int[] Prefix, int[] Suffix, string? Cls, string? Sep) ReadTemplate(JsonElement root, string path,
        Dictionary<string, int> tokenId)
    {
        if (OptObj(root, "post_processor", path) is not JsonElement pp) return ([], [], null, null);
        var type = Str(pp, "type", path, "post_processor");
        if (type == "ByteLevel") return ([], [], null, null); // only offsets; adds no tokens
        if (type == "BertProcessing")
        {
            (string tok, int id) Pair(string key)
            {
                if (!pp.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array || a.GetArrayLength() != 2)
                    throw Bad(path, $"post_processor.{key}", "a [token, id] pair");
                return (a[0].GetString() ?? throw Bad(path, $"post_processor.{key}[0]", "a string"), a[1].GetInt32());
            }
            var c = Pair("cls");
            var s = Pair("sep");
            return ([c.id], [s.id], c.tok, s.tok);
        }
        if (type != "TemplateProcessing") throw Unsupported(path, "post_processor.type", type, "TemplateProcessing, BertProcessing, ByteLevel");
        if (!pp.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array)
            throw Bad(path, "post_processor.single", "an array");
        var specialIds = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (pp.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object)
            foreach (var p in st.EnumerateObject())
                if (p.Value.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
                    specialIds[p.Name] = ids.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var prefix = new List<int>();
        var suffix = new List<int>();
        string? first = null, last = null;
        bool seenA = false;
        int k = 0;
        foreach (var piece in single.EnumerateArray())
        {
            var at = $"post_processor.single[{k++}]";
            if (piece.TryGetProperty("Sequence", out _)) { seenA = true; continue; }
            if (!piece.TryGetProperty("SpecialToken", out var sp)) throw Bad(path, at, "a Sequence or SpecialToken");
            var name = Str(sp, "id", path, at + ".SpecialToken");
            int[] ids = specialIds.TryGetValue(name, out var x) ? x
                : tokenId.TryGetValue(name, out var one) ? [one]
                : throw new InvalidDataException($"{path}: {at} names special token '{name}', which has no id");
            if (seenA) { suffix.AddRange(ids); last = name; }
            else { prefix.AddRange(ids); first ??= name; }
        }
        if (!seenA) throw Bad(path, "post_processor.single", "a template containing the sequence $A");
        return (prefix.ToArray(), suffix.ToArray(), first, last);
    }

    /// <summary>Writes a tokenizer.json for a WordPiece tokenizer (BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]
    /// template, WordPiece decoder), readable by <see cref="LoadWordPiece"/> and by HF tokenizers. Atomic.</summary>
    public static void WriteWordPiece(WordPieceTokenizer t, string path)
    {
        var o = t.Options;
        Atomic.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions
            {
                Indented = true,
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            });
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var a in t.AddedTokens.OrderBy(a => a.Id))
            {
                w.WriteStartObject();
                w.WriteNumber("id", a.Id);
                w.WriteString("content", a.Content);
                w.WriteBoolean("single_word", a.SingleWord);
                w.WriteBoolean("lstrip", a.LStrip);
                w.WriteBoolean("rstrip", a.RStrip);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", a.Special);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartObject("normalizer");
            w.WriteString("type", "BertNormalizer");
            w.WriteBoolean("clean_text", o.CleanText);
            w.WriteBoolean("handle_chinese_chars", o.HandleChineseChars);
            if (o.StripAccents is bool sa) w.WriteBoolean("strip_accents", sa); else w.WriteNull("strip_accents");
            w.WriteBoolean("lowercase", o.Lowercase);
            w.WriteEndObject();

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "BertPreTokenizer");
            w.WriteEndObject();

            w.WriteStartObject("post_processor");
            w.WriteString("type", "TemplateProcessing");
            void Special(string name, int typeId)
            {
                w.WriteStartObject(); w.WriteStartObject("SpecialToken");
                w.WriteString("id", name); w.WriteNumber("type_id", typeId);
                w.WriteEndObject(); w.WriteEndObject();
            }
            void Seq(string name, int typeId)
            {
                w.WriteStartObject(); w.WriteStartObject("Sequence");
                w.WriteString("id", name); w.WriteNumber("type_id", typeId);
                w.WriteEndObject(); w.WriteEndObject();
            }
            w.WriteStartArray("single");
            Special(o.ClsToken, 0); Seq("A", 0); Special(o.SepToken, 0);
            w.WriteEndArray();
            w.WriteStartArray("pair");
            Special(o.ClsToken, 0); Seq("A", 0); Special(o.SepToken, 0); Seq("B", 1); Special(o.SepToken, 1);
            w.WriteEndArray();
            w.WriteStartObject("special_tokens");
            foreach (var (name, id) in new[] { (o.ClsToken, t.ClsId), (o.SepToken, t.SepId) })
            {
                w.WriteStartObject(name);
                w.WriteString("id", name);
                w.WriteStartArray("ids"); w.WriteNumberValue(id); w.WriteEndArray();
                w.WriteStartArray("tokens"); w.WriteStringValue(name); w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("decoder");
            w.WriteString("type", "WordPiece");
            w.WriteString("prefix", o.ContinuingSubwordPrefix);
            w.WriteBoolean("cleanup", true);
            w.WriteEndObject();

            w.WriteStartObject("model");
            w.WriteString("type", "WordPiece");
            w.WriteString("unk_token", o.UnkToken);
            w.WriteString("continuing_subword_prefix", o.ContinuingSubwordPrefix);
            w.WriteNumber("max_input_chars_per_word", o.MaxInputCharsPerWord);
            w.WriteStartObject("vocab");
            // the base vocabulary only: added tokens beyond it live in added_tokens, as in HF files
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int id = 0; id < t.BaseVocabSize; id++)
            {
                var tok = t.IdToToken(id);
                if (!seen.Add(tok))
                    throw new InvalidOperationException($"cannot write {path}: token '{tok}' appears twice in {t.Source} (JSON keys must be unique)");
                w.WriteNumber(tok, id);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    // ================================ byte-level BPE ================================

    /// <summary>
    /// Loads a byte-level BPE tokenizer.json as Qwen2 writes it: model BPE (merges as "a b" strings or ["a","b"]
    /// arrays), normalizer NFC or none, pre_tokenizer Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(no regex)]
    /// decoder ByteLevel. Anything else is rejected with the key named.
    /// </summary>
    /// <param name="path">The tokenizer.json.</param>
    /// <param name="maxAddedTokenId">Keep only added tokens with ids up to this (Qwen2.5: 151664); null keeps all.</param>
    /// <param name="padToken">Padding token; default padding.pad_token, else "&lt;|endoftext|&gt;".</param>
    public static ByteLevelBpeTokenizer LoadBpe(string path, int? maxAddedTokenId = null, string? padToken = null) =>
        Guard(path, () => ReadBpe(path, maxAddedTokenId, padToken).Build());

    /// <summary>The parts of a byte-level BPE tokenizer.json (checked as <see cref="LoadBpe"/> documents), before any
    /// engine is built from them: ours (<see cref="BpeSpec.Build"/>) or Microsoft.ML.Tokenizers' (<see cref="MlTokenizers"/>).</summary>
    internal sealed record BpeSpec(string Path, string[] Vocab, List<(string Left, string Right)> Merges, List<AddedToken> Added,
        string PadToken, bool Nfc, bool IgnoreMerges, int[] Prefix, int[] Suffix)
    {
        public ByteLevelBpeTokenizer Build() =>
            new(Vocab, Merges, Added, PadToken, Path, Nfc, IgnoreMerges, Prefix, Suffix);
    }

    internal static BpeSpec ReadBpe(string path, int? maxAddedTokenId = null, string? padToken = null)
    {
        using var file = Open(path);
        var root = file.Root;
        var model = Obj(root, "model", path);
        var type = Str(model, "type", path, "model");
        if (type != "BPE") throw Unsupported(path, "model.type", type, "BPE here; WordPiece via LoadWordPiece");
        if (OptBool(model, "byte_fallback", path, "model") == true) throw Unsupported(path, "model.byte_fallback", "true", "false");
        if (model.TryGetProperty("dropout", out var dr) && dr.ValueKind != JsonValueKind.Null)
            throw Unsupported(path, "model.dropout", dr.ToString(), "null");
        foreach (var k in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (OptStr(model, k, path, "model") is { Length: > 0 } v) throw Unsupported(path, "model." + k, v, "empty or null");
        bool ignoreMerges = OptBool(model, "ignore_merges", path, "model") ?? false;

        var vocab = file.Vocab ?? throw Bad(path, "model.vocab", "an object {token: id}");
        var merges = file.Merges ?? throw Bad(path, "model.merges", "an array");

        bool nfc = false;
        if (OptObj(root, "normalizer", path) is JsonElement norm)
        {
            var nt = Str(norm, "type", path, "normalizer");
            if (nt != "NFC") throw Unsupported(path, "normalizer.type", nt, "NFC or null");
            nfc = true;
        }
        CheckQwen2PreTokenizer(root, path);
        if (OptObj(root, "decoder", path) is JsonElement dec && Str(dec, "type", path, "decoder") is var dt && dt != "ByteLevel")
            throw Unsupported(path, "decoder.type", dt, "ByteLevel");

        var added = ReadAddedTokens(root, path);
        if (maxAddedTokenId is int max) added = added.Where(a => a.Id <= max).ToList();
        var tokenId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in added) tokenId[a.Content] = a.Id;
        var (prefix, suffix, _, _) = ReadTemplate(root, path, tokenId);
        if (padToken is null && OptObj(root, "padding", path) is JsonElement padding)
            padToken = OptStr(padding, "pad_token", path, "padding");
        padToken ??= "<|endoftext|>";
        return new BpeSpec(path, vocab, merges, added, padToken, nfc, ignoreMerges, prefix, suffix);
    }

    /// <summary>Accepts only the Qwen2 pre-tokeniser: Sequence[Split(pattern, Isolated), ByteLevel(use_regex false,
    /// add_prefix_space false)].</summary>
    private static void CheckQwen2PreTokenizer(JsonElement root, string path)
    {
        var pt = Obj(root, "pre_tokenizer", path);
        var type = Str(pt, "type", path, "pre_tokenizer");
        if (type != "Sequence" || !pt.TryGetProperty("pretokenizers", out var seq) || seq.ValueKind != JsonValueKind.Array
            || seq.GetArrayLength() != 2)
            throw Unsupported(path, "pre_tokenizer", pt.ToString().Length > 200 ? type : pt.ToString(),
                "Sequence[Split(Qwen2 pattern), ByteLevel]");
        var split = seq[0];
        var st = Str(split, "type", path, "pre_tokenizer.pretokenizers[0]");
        if (st != "Split") throw Unsupported(path, "pre_tokenizer.pretokenizers[0].type", st, "Split");
        var pattern = Obj(split, "pattern", path, "pre_tokenizer.pretokenizers[0]");
        var regex = OptStr(pattern, "Regex", path, "pre_tokenizer.pretokenizers[0].pattern");
        if (regex != Qwen2PreTokenizer.Pattern)
            throw Unsupported(path, "pre_tokenizer.pretokenizers[0].pattern.Regex", regex ?? "(none)", "the Qwen2 pattern " + Qwen2PreTokenizer.Pattern);
        var beh = OptStr(split, "behavior", path, "pre_tokenizer.pretokenizers[0]") ?? "Isolated";
        if (beh != "Isolated") throw Unsupported(path, "pre_tokenizer.pretokenizers[0].behavior", beh, "Isolated");
        if (OptBool(split, "invert", path, "pre_tokenizer.pretokenizers[0]") == true)
            throw Unsupported(path, "pre_tokenizer.pretokenizers[0].invert", "true", "false");
        var bl = seq[1];
        var bt = Str(bl, "type", path, "pre_tokenizer.pretokenizers[1]");
        if (bt != "ByteLevel") throw Unsupported(path, "pre_tokenizer.pretokenizers[1].type", bt, "ByteLevel");
        if (OptBool(bl, "add_prefix_space", path, "pre_tokenizer.pretokenizers[1]") == true)
            throw Unsupported(path, "pre_tokenizer.pretokenizers[1].add_prefix_space", "true", "false");
        if (OptBool(bl, "use_regex", path, "pre_tokenizer.pretokenizers[1]") != false)
            throw Unsupported(path, "pre_tokenizer.pretokenizers[1].use_regex", "true", "false (the Split does the splitting)");
    }
}
