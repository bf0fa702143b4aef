using ViXml.Tests.TestSupport;
using ViXml.Text;

namespace ViXml.Tests.Text;

public class TokenizerJsonWordPieceTests
{
    [Fact]
    public void Written_tokenizer_json_reloads_and_reproduces_the_bge_vectors()
    {
        var dir = Repo.TempDir();
        try
        {
            var path = Path.Combine(dir, "tokenizer.json");
            TokenizerJson.WriteWordPiece(WordPieceTokenizer.FromVocabFile(TokenizerFixtures.BertVocab), path);
            Assert.Equal("WordPiece", TokenizerJson.ModelType(path));
            var t = TokenizerJson.LoadWordPiece(path);
            Assert.Equal(30522, t.VocabSize);
            Assert.Equal((0, 101, 102), (t.PadId, t.ClsId, t.SepId));
            foreach (var (input, ids) in TokenizerFixtures.Load("bert-bge", "ggml-vocab-bert-bge.gguf"))
                Assert.Equal(ids, t.Encode(input, false));
            Assert.Equal([101, 7592, 102], t.Encode("hello"));
        }
        finally { Directory.Delete(dir, true); }
    }

    private const string CasedJson = """
        {
          "version": "1.0",
          "added_tokens": [ {"id": 6, "content": "<new>", "special": false} ],
          "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                         "strip_accents": null, "lowercase": false},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 5,
                    "vocab": {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "Caf": 4, "##é": 5}}
        }
        """;

    [Fact]
    public void Reads_settings_bert_processing_and_added_tokens()
    {
        var dir = Repo.TempDir();
        try
        {
            var path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, CasedJson);
            var t = TokenizerJson.LoadWordPiece(path);
            Assert.Equal(7, t.VocabSize);
            Assert.Null(t.MaskId);
            // cased: no lower-casing and (strip_accents null follows lowercase) no accent stripping
            Assert.Equal([1, 4, 5, 6, 3, 2], t.Encode("Café<new> caf"));
            Assert.Equal([3], t.Encode("Cafécafé", false)); // longer than max_input_chars_per_word = 5
            Assert.Equal("<new>", t.IdToToken(6));
            Assert.Equal("Café <new>", t.Decode(t.Encode("Café<new> caf"))); // [UNK] is special: skipped
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}", "invalid JSON")]
    [InlineData("{\"model\": {\"type\": \"Unigram\"}}", "model.type 'Unigram'")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"b\": 5}}}", "id 5")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}", "model.vocab[\"a\"]")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1}}}", "'[CLS]'")]
    [InlineData("{\"normalizer\": {\"type\": \"NFKC\"}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "normalizer.type 'NFKC'")]
    public void Bad_files_name_the_file_and_key(string json, string expected)
    {
        var dir = Repo.TempDir();
        try
        {
            var path = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(path, json);
            var e = Assert.Throws<InvalidDataException>(() => TokenizerJson.LoadWordPiece(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(expected, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
