using ViXml.Tests.TestSupport;
using ViXml.Text;

namespace ViXml.Tests.Text;

public class WordPieceTests
{
    private static readonly Lazy<WordPieceTokenizer> Bert = new(() => WordPieceTokenizer.FromVocabFile(TokenizerFixtures.BertVocab));
    private static readonly Lazy<List<(string Input, int[] Ids)>> Cases =
        new(() => TokenizerFixtures.Load("bert-bge", "ggml-vocab-bert-bge.gguf"));

    public static TheoryData<int, string> BgeRows => TokenizerFixtures.Rows("bert-bge", "ggml-vocab-bert-bge.gguf");

    [Theory]
    [MemberData(nameof(BgeRows))]
    public void Matches_llama_cpp_bert_bge_vector(int index, string shown)
    {
        var (input, expected) = Cases.Value[index];
        var got = Bert.Value.Encode(input, addSpecialTokens: false);
        Assert.True(expected.SequenceEqual(got),
            $"case {index} '{shown}': expected [{string.Join(' ', expected)}] got [{string.Join(' ', got)}]");
    }

    [Fact]
    public void Fixture_has_46_cases() => Assert.Equal(46, Cases.Value.Count);

    [Fact]
    public void Special_ids_of_the_real_vocab()
    {
        var t = Bert.Value;
        Assert.Equal(30522, t.VocabSize);
        Assert.Equal((0, 100, 101, 102, 103), (t.PadId, t.UnkId, t.ClsId, t.SepId, t.MaskId!.Value));
        Assert.Equal(7592, t.SpecialTokenId("hello"));
        Assert.Equal(101, t.SpecialTokenId("[CLS]"));
        Assert.Throws<KeyNotFoundException>(() => t.SpecialTokenId("[NOPE]"));
    }

    [Fact]
    public void Encode_adds_cls_and_sep()
    {
        Assert.Equal([101, 7592, 2088, 102], Bert.Value.Encode("Hello world"));
    }

    [Fact]
    public void Special_tokens_in_text_are_never_split()
    {
        // "[MASK]" written in the text is one id; lower-case "[mask]" is ordinary text: [ mask ]
        Assert.Equal([7592, 103, 2088], Bert.Value.Encode("hello [MASK]world", addSpecialTokens: false));
        Assert.Equal([1031, 7308, 1033], Bert.Value.Encode("[mask]", addSpecialTokens: false));
    }

    [Fact]
    public void Accents_case_cjk_and_control_characters()
    {
        var t = Bert.Value;
        Assert.Equal("fuhrer cafe", t.Normalize("Führer\u0000 Caf\u00e9\uFFFD"));
        Assert.Equal(" 你  好 ", t.Normalize("你好"));
        Assert.Equal("a b", t.Normalize("a\u2028b")); // line separator is whitespace for HF's BertNormalizer
        Assert.Equal(["ie", "##d"], t.IdsToTokens(t.Encode("ied", false)));
        // HF's Rust ranges: U+2B920 is split out as CJK, U+2B820 is not (Google's Python BERT would split both)
        Assert.Equal(" \U0002B920 ", t.Normalize("\U0002B920"));
        Assert.Equal("\U0002B820", t.Normalize("\U0002B820"));
        Assert.Equal("i", t.Normalize("\u0130")); // İ: NFD gives I + U+0307, the mark is dropped, then lower-cased
    }

    [Fact]
    public void Words_over_100_chars_become_unk()
    {
        var t = Bert.Value;
        Assert.Equal([100], t.Encode(new string('a', 101), false));
        Assert.NotEqual([100], t.Encode(new string('a', 100), false));
    }

    [Fact]
    public void Truncation_padding_and_masks()
    {
        var t = Bert.Value;
        var long_ = string.Join(' ', Enumerable.Repeat("hello", 50));
        var (ids, mask, b, tt) = t.EncodeBatch(["hello world", long_, ""], maxLen: 8, pad: true);
        Assert.Equal((3, 8), (b, tt));
        Assert.Equal(new long[] { 101, 7592, 2088, 102, 0, 0, 0, 0 }, ids[..8]);
        Assert.Equal(new long[] { 1, 1, 1, 1, 0, 0, 0, 0 }, mask[..8]);
        Assert.Equal(new long[] { 101, 7592, 7592, 7592, 7592, 7592, 7592, 102 }, ids[8..16]);
        Assert.All(mask[8..16], m => Assert.Equal(1, m));
        Assert.Equal(new long[] { 101, 102, 0, 0, 0, 0, 0, 0 }, ids[16..24]);
        // pad: false pads to the longest row
        var batch = t.EncodeBatch(["hello world", "hello"], maxLen: 32, pad: false);
        Assert.Equal(4, batch.T);
        Assert.Equal([4, 3], batch.Lengths);
        Assert.Equal(new long[] { 101, 7592, 102, 0 }, batch.Ids[4..8]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.EncodeBatch(["x"], maxLen: 1));
    }

    [Fact]
    public void Batch_equals_single()
    {
        var t = Bert.Value;
        var texts = Cases.Value.Select(c => c.Input).ToList();
        var batch = t.EncodeBatch(texts, maxLen: 16, pad: true);
        for (int i = 0; i < texts.Count; i++)
        {
            var single = t.Encode(texts[i], 16);
            Assert.Equal(single, batch.Row(i));
            Assert.Equal(single.Length, batch.Mask.Skip(i * 16).Take(16).Sum());
        }
    }

    [Fact]
    public void Decode_joins_pieces_and_skips_specials()
    {
        var t = Bert.Value;
        var ids = t.Encode("Hello, world! Unaffable tokenization.");
        Assert.Equal("hello, world! unaffable tokenization.", t.Decode(ids));
        Assert.StartsWith("[CLS] hello", t.Decode(ids, skipSpecialTokens: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([30522]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([-1]));
    }

    [Fact]
    public void Vocab_without_special_token_names_file_and_token()
    {
        var dir = Repo.TempDir();
        var path = Path.Combine(dir, "vocab.txt");
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\nhello\n");
        var e = Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromVocabFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("[SEP]", e.Message);
        Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromVocabFile(Path.Combine(dir, "missing.txt")));
        Directory.Delete(dir, true);
    }
}
