using ViXml.Tests.TestSupport;
using ViXml.Text;
using ViXml.Text.Unicode;

namespace ViXml.Tests.Text;

public class QwenBpeTests
{
    private static readonly Lazy<ByteLevelBpeTokenizer> Qwen = new(() => ByteLevelBpeTokenizer.Load(TokenizerFixtures.QwenTokenizerJson));
    private static readonly Lazy<List<(string Input, int[] Ids)>> Cases =
        new(() => TokenizerFixtures.Load("qwen2", "ggml-vocab-qwen2.gguf"));

    public static TheoryData<int, string> QwenRows => TokenizerFixtures.Rows("qwen2", "ggml-vocab-qwen2.gguf");

    [Theory]
    [MemberData(nameof(QwenRows))]
    public void Matches_llama_cpp_qwen2_vector(int index, string shown)
    {
        var (input, expected) = Cases.Value[index];
        var got = Qwen.Value.Encode(input, addSpecialTokens: false);
        Assert.True(expected.SequenceEqual(got),
            $"case {index} '{shown}': expected [{string.Join(' ', expected)}] got [{string.Join(' ', got)}]");
    }

    [Theory]
    [MemberData(nameof(QwenRows))]
    public void Decode_of_encode_is_the_nfc_text(int index, string shown)
    {
        var input = Cases.Value[index].Input;
        Assert.True(UnicodeNormalizer.Nfc(input) == Qwen.Value.Decode(Qwen.Value.Encode(input), skipSpecialTokens: false), shown);
    }

    [Fact]
    public void Vocabulary_merges_and_special_ids()
    {
        var t = Qwen.Value;
        Assert.Equal(151643, t.BaseVocabSize);
        Assert.Equal(151669, t.VocabSize);
        Assert.Equal(151387, t.MergeCount);
        Assert.Equal(151643, t.PadId);
        Assert.Equal((151643, 151644, 151645), (t.SpecialTokenId("<|endoftext|>"), t.SpecialTokenId("<|im_start|>"), t.SpecialTokenId("<|im_end|>")));
        Assert.Equal(151667, t.SpecialTokenId("<think>"));
        Assert.Equal([9707], t.Encode("Hello"));
        Assert.Equal([21927], t.Encode(" Hello"));
        Assert.Equal([18, 18, 18, 18], t.Encode("3333"));
    }

    [Fact]
    public void Added_tokens_are_matched_whole_before_bpe()
    {
        var t = Qwen.Value;
        var ids = t.Encode("<|im_start|>user\nHi<|im_end|><|endoftext|>");
        Assert.Equal(151644, ids[0]);
        Assert.Equal([151645, 151643], ids[^2..]);
        Assert.Equal(t.Encode("user\nHi"), ids[1..^2]);
        // a broken marker is ordinary text
        Assert.DoesNotContain(151645, t.Encode("<|im_end|"));
        // special tokens are dropped by default when decoding; non-special added tokens are kept
        Assert.Equal("user\nHi", t.Decode(ids));
        Assert.Equal("<tool_call>x", t.Decode(t.Encode("<tool_call>x")));
    }

    [Fact]
    public void Decode_is_byte_level_and_lossy_on_broken_utf8()
    {
        var t = Qwen.Value;
        var ids = t.Encode("中文 ok");
        Assert.Equal("中文 ok", t.Decode(ids));
        // the lone first byte of a three-byte character decodes to U+FFFD, as HF's from_utf8_lossy
        int e4 = t.SpecialTokenId(ByteLevel.ByteToChar[0xE4].ToString());
        Assert.Equal("\uFFFDok", t.Decode([e4, t.Encode("ok")[0]]));
        Assert.Equal("Ġ", t.IdToToken(t.Encode(" ")[0]));
    }

    [Fact]
    public void Qwen25_restriction_keeps_22_added_tokens()
    {
        var t = ByteLevelBpeTokenizer.LoadQwen25(TokenizerFixtures.QwenTokenizerJson);
        Assert.Equal(151665, t.VocabSize);
        Assert.Equal(22, t.AddedTokens.Count);
        Assert.Equal(151664, t.SpecialTokenId("<|file_sep|>"));
        Assert.Null(t.TokenToId("<think>"));
        Assert.DoesNotContain(151667, t.Encode("<think>hi</think>"));
        Assert.Equal("<think>hi</think>", t.Decode(t.Encode("<think>hi</think>")));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([151665]));
    }

    [Fact]
    public void Pretokenizer_follows_the_regex_backtracking()
    {
        static string[] Pieces(string s)
        {
            var p = new List<(int, int)>();
            Qwen2PreTokenizer.Split(s, p);
            return p.Select(x => s.Substring(x.Item1, x.Item2)).ToArray();
        }
        Assert.Equal(["Hello", ",", " y", "'all", "!"], Pieces("Hello, y'all!"));
        Assert.Equal(["I", "'M", " fine", "'s"], Pieces("I'M fine's"));
        Assert.Equal(["  ", " Hello"], Pieces("   Hello"));
        Assert.Equal(["\n\n", " hi", " \t "], Pieces("\n\n hi \t "));
        Assert.Equal(["a", " \n", "b"], Pieces("a \nb"));
        Assert.Equal(["x", " ...\n\n", "1", "2"], Pieces("x ...\n\n12"));
        Assert.Equal(["(hello", " (", "1", ")"], Pieces("(hello (1)"));
        // letters and digits outside the BMP are classified by code point (U+1D400 is Lu, U+1D7CE is Nd)
        Assert.Equal([" \U0001D400\U0001D401", "\U0001D7CE", "\U0001D7CF"], Pieces(" \U0001D400\U0001D401\U0001D7CE\U0001D7CF"));
    }

    [Fact]
    public void Batch_equals_single_and_pads_with_endoftext()
    {
        var t = Qwen.Value;
        var texts = Cases.Value.Select(c => c.Input).ToList();
        var b = t.EncodeBatch(texts, maxLen: 12, pad: true);
        Assert.Equal((texts.Count, 12), (b.B, b.T));
        for (int i = 0; i < texts.Count; i++)
        {
            var full = t.Encode(texts[i]);
            Assert.Equal(full.Take(12).ToArray(), b.Row(i));
            for (int j = b.Lengths[i]; j < 12; j++)
            {
                Assert.Equal(151643, b.Ids[i * 12 + j]);
                Assert.Equal(0, b.Mask[i * 12 + j]);
            }
        }
    }

    [Fact]
    public void Merges_as_strings_and_arrays_load_alike()
    {
        // A tiny byte-level BPE: all 256 byte tokens plus "ab" and "abc" from two merges.
        var vocab = Enumerable.Range(0, 256).Select(b => ByteLevel.ByteToChar[b].ToString()).Concat(["ab", "abc"]).ToList();
        string Json(string merges) => $$$"""
            {"added_tokens": [{"id": 258, "content": "<pad>", "special": true}],
             "normalizer": null,
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": {{{System.Text.Json.JsonSerializer.Serialize(Qwen2PreTokenizer.Pattern)}}}}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]},
             "post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "byte_fallback": false,
               "vocab": {{{System.Text.Json.JsonSerializer.Serialize(vocab.Select((v, i) => (v, i)).ToDictionary(x => x.v, x => x.i))}}},
               "merges": {{{merges}}}}}
            """;
        var dir = Repo.TempDir();
        try
        {
            foreach (var merges in new[] { "[\"a b\", \"ab c\"]", "[[\"a\", \"b\"], [\"ab\", \"c\"]]" })
            {
                var path = Path.Combine(dir, "tokenizer.json");
                File.WriteAllText(path, Json(merges));
                var t = ByteLevelBpeTokenizer.Load(path, padToken: "<pad>");
                Assert.Equal([257, 256, 'a', 'c'], t.Encode("abcabac")); // a single byte's id is its index here
                Assert.Equal([257, 256], t.Encode("abcab"));
                Assert.Equal(258, t.PadId);
            }
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Json("[\"a b c\"]"));
            var e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.Load(Path.Combine(dir, "tokenizer.json"), padToken: "<pad>"));
            Assert.Contains("model.merges[0]", e.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Json("[\"a x\"]"));
            e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.Load(Path.Combine(dir, "tokenizer.json"), padToken: "<pad>"));
            Assert.Contains("merge 0", e.Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Json("[]").Replace("\"Isolated\"", "\"Removed\""));
            e = Assert.Throws<InvalidDataException>(() => ByteLevelBpeTokenizer.Load(Path.Combine(dir, "tokenizer.json"), padToken: "<pad>"));
            Assert.Contains("behavior", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class Qwen2PreTokenizerRegexTests
{
    /// <summary>On BMP text (where .NET's UTF-16 regex classes agree with code-point semantics) the hand-coded
    /// splitter must produce exactly the pieces of the pattern run by System.Text.RegularExpressions.</summary>
    [Fact]
    public void Agrees_with_dotnet_regex_on_random_bmp_text()
    {
        var regex = new System.Text.RegularExpressions.Regex(Qwen2PreTokenizer.Pattern);
        // letters (ASCII, accented, Greek, CJK, combining mark), digits (ASCII, Arabic-Indic, superscript),
        // apostrophe + contraction letters, whitespace of several kinds, CR/LF, punctuation and symbols
        var pool = "aZsStTrReEvVmMlLdDxé\u03A9\u4E2D\u0301" + "09\u0661\u00B2" + "'''" + "    \t\u00A0\u3000\u2028" +
                   "\r\n\n" + ".,!?()-_$\u00A9\u2014\"";
        var rng = new Random(7);
        for (int n = 0; n < 3000; n++)
        {
            var chars = new char[rng.Next(0, 16)];
            for (int i = 0; i < chars.Length; i++) chars[i] = pool[rng.Next(pool.Length)];
            var s = new string(chars);
            var expected = regex.Matches(s).Select(m => (m.Index, m.Length)).ToList();
            var got = new List<(int, int)>();
            Qwen2PreTokenizer.Split(s, got);
            Assert.True(expected.SequenceEqual(got),
                $"'{TokenizerFixtures.Printable(s)}': regex [{string.Join(' ', expected)}] ours [{string.Join(' ', got)}]");
        }
    }
}
