using ViXml.Tests.TestSupport;
using ViXml.Text;

namespace ViXml.Tests.Text;

public class TokenizerLoaderTests
{
    [Fact]
    public void Picks_vocab_txt_then_tokenizer_json()
    {
        var dir = Repo.TempDir();
        try
        {
            File.Copy(TokenizerFixtures.BertVocab, Path.Combine(dir, "vocab.txt"));
            var fromVocab = TokenizerLoader.FromModelDir(dir);
            Assert.IsType<WordPieceTokenizer>(fromVocab);
            Assert.Equal([101, 11865, 17875, 102], fromVocab.Encode("Führer"));

            // tokenizer_config.json casing applies to a bare vocab.txt: cased keeps "F" (unknown here -> [UNK])
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"do_lower_case\": false}");
            var cased = (WordPieceTokenizer)TokenizerLoader.FromModelDir(dir);
            Assert.False(cased.Options.Lowercase);
            Assert.NotEqual(fromVocab.Encode("Führer"), cased.Encode("Führer"));
            File.Delete(Path.Combine(dir, "tokenizer_config.json"));

            // tokenizer.json wins over vocab.txt
            TokenizerJson.WriteWordPiece((WordPieceTokenizer)fromVocab, Path.Combine(dir, "tokenizer.json"));
            var fromJson = TokenizerLoader.FromModelDir(dir);
            Assert.Equal(fromVocab.Encode("Hello, world!"), fromJson.Encode("Hello, world!"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Loads_qwen_bpe_with_pad_from_tokenizer_config()
    {
        var dir = Repo.TempDir();
        try
        {
            File.Copy(TokenizerFixtures.QwenTokenizerJson, Path.Combine(dir, "tokenizer.json"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"pad_token\": \"<|im_end|>\"}");
            var t = TokenizerLoader.FromModelDir(dir);
            Assert.IsType<ByteLevelBpeTokenizer>(t);
            Assert.Equal(151645, t.PadId);
            Assert.Equal([9707, 1879], t.Encode("Hello world"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Errors_name_the_folder_or_file()
    {
        var dir = Repo.TempDir();
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromModelDir(dir));
            Assert.Contains(dir, e.Message);
            var json = Path.Combine(dir, "tokenizer.json");
            File.WriteAllText(json, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
            var e2 = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromModelDir(dir));
            Assert.Contains(json, e2.Message);
            Assert.Contains("Unigram", e2.Message);
            File.WriteAllText(json, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [1]}}");
            var e3 = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromModelDir(dir));
            Assert.Contains("model.merges[0]", e3.Message);
            File.WriteAllText(json, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}}");
            var e4 = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromModelDir(dir));
            Assert.Contains("invalid JSON", e4.Message);
            Assert.Throws<DirectoryNotFoundException>(() => TokenizerLoader.FromModelDir(Path.Combine(dir, "nope")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
