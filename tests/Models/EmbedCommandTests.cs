using ViXml.Torch;
using ViXml.SafeTensors;
using ViXml.Xmc;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Models;

/// <summary>The `./vixml embed` contract, run in-process, against the Debian PyTorch reference.</summary>
public class EmbedCommandTests
{
    private static int Run(params string[] args) => ViXml.Cli.Program.Main(args);

    [Theory]
    [InlineData("bert_plain", "mean")]
    [InlineData("distilbert_mlm", "cls")]
    [InlineData("bert_sharded", "last")]
    public void Ids_file_embeddings_match_the_reference(string fixture, string pooling)
    {
        var (ids, mask, exp) = BertParityTests.Expected(fixture);
        using var _e = exp;
        var (b, t) = (ids.size(0), ids.size(1));
        var flat = ids.ToArray<long>();
        var m = mask.ToArray<long>();
        var dir = Repo.TempDir("vixml-embed");
        var idsFile = Path.Combine(dir, "ids.txt");
        File.WriteAllLines(idsFile, Enumerable.Range(0, (int)b).Select(r =>
            string.Join(" ", Enumerable.Range(0, (int)t).Where(j => m[r * t + j] == 1).Select(j => flat[r * t + j]))));
        var outFile = Path.Combine(dir, "emb.npy");
        Assert.Equal(0, Run("embed", "--model", Repo.Fixture("bert", fixture), "--ids", idsFile, "--pooling", pooling,
            "--batch", "2", "--out", outFile));
        var npy = Npy.Read(outFile);
        Assert.Equal(NpyDType.Float32, npy.DType);
        Assert.Equal([b, 32L], npy.Shape);
        var want = exp.ReadFloat32("normalized_" + pooling);
        var got = npy.ToFloat32();
        for (var i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= BertParityTests.Tol, $"{i}: {want[i]} vs {got[i]}");
    }

    [Fact]
    public void Input_texts_use_the_model_folder_tokenizer_with_special_tokens_and_truncation()
    {
        var dir = Repo.TempDir("vixml-embed");
        var model = Repo.Fixture("bert", "st_minilm");
        var texts = Path.Combine(dir, "texts.txt");
        File.WriteAllLines(texts, ["Red Shoes, USB-cable!", "new booking", "zebra", "red shoes, usb"]);
        // The same sequences by hand from the fixture's vocab.txt: [CLS]=5 red=18 shoes=24 ,=41 usb=30 -=43 cable=29
        // !=44 [SEP]=6 new=34 book=25 ##ing=37 [UNK]=4; the last text truncated by --max-len 6.
        var ids = Path.Combine(dir, "ids.txt");
        File.WriteAllLines(ids, ["5 18 24 41 30 43 29 44 6", "5 34 25 37 6", "5 4 6", "5 18 24 41 30 6"]);
        File.WriteAllLines(Path.Combine(dir, "ids_first3.txt"), File.ReadAllLines(ids).Take(3));
        var a = Path.Combine(dir, "a.npy");
        var b = Path.Combine(dir, "b.npy");
        Assert.Equal(0, Run("embed", "--model", model, "--input", texts, "--max-len", "6", "--out", a));
        Assert.Equal(0, Run("embed", "--model", model, "--ids", ids, "--out", b));
        var (x, y) = (Npy.Read(a).ToFloat32(), Npy.Read(b).ToFloat32());
        Assert.Equal(4 * 32, x.Length);
        // Rows 0-2 fit in 6 tokens only if short: row 0 (9 ids) is truncated to [CLS] red shoes , usb [SEP] = row 3.
        for (var i = 0; i < 32; i++)
        {
            Assert.Equal(y[3 * 32 + i], x[i], 5);          // truncated row 0 == hand row 3
            Assert.Equal(y[1 * 32 + i], x[32 + i], 5);     // new booking
            Assert.Equal(y[2 * 32 + i], x[64 + i], 5);     // zebra -> [UNK]
            Assert.Equal(y[3 * 32 + i], x[96 + i], 5);
        }
        var norm = Math.Sqrt(x.Take(32).Sum(v => (double)v * v));
        Assert.Equal(1.0, norm, 5);
    }

    [Fact]
    public void Bad_usage_and_bad_input_fail_without_writing_output()
    {
        var dir = Repo.TempDir("vixml-embed");
        var model = Repo.Fixture("bert", "bert_plain");
        var ids = Path.Combine(dir, "ids.txt");
        File.WriteAllLines(ids, ["5 6", "5 99 6"]);
        var outFile = Path.Combine(dir, "x.npy");
        Assert.NotEqual(0, Run("embed", "--model", model, "--ids", ids, "--out", outFile));                       // id 99 out of range
        Assert.NotEqual(0, Run("embed", "--model", model, "--ids", ids, "--input", ids, "--out", outFile));        // both
        Assert.NotEqual(0, Run("embed", "--model", model, "--out", outFile));                                     // neither
        Assert.NotEqual(0, Run("embed", "--model", dir, "--ids", ids, "--out", outFile));                          // no config
        Assert.NotEqual(0, Run("embed", "--model", model, "--ids", ids, "--pooling", "max", "--out", outFile));    // bad pooling
        Assert.False(File.Exists(outFile));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.Contains(".tmp"));
    }
}

public class EmbedPoolingDefaultTests
{
    [Fact]
    public void Without_pooling_option_the_sentence_transformers_pooling_config_decides()
    {
        var (ids, mask, exp) = BertParityTests.Expected("st_minilm");
        using var _e = exp;
        var (b, t) = (ids.size(0), ids.size(1));
        var flat = ids.ToArray<long>();
        var m = mask.ToArray<long>();
        var work = Repo.TempDir("vixml-embed");
        var model = Path.Combine(work, "model");
        Directory.CreateDirectory(Path.Combine(model, "1_Pooling"));
        foreach (var f in Directory.GetFiles(Repo.Fixture("bert", "st_minilm"))) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        var poolCfg = Path.Combine(model, "1_Pooling", "config.json");
        var idsFile = Path.Combine(work, "ids.txt");
        File.WriteAllLines(idsFile, Enumerable.Range(0, (int)b).Select(r =>
            string.Join(" ", Enumerable.Range(0, (int)t).Where(j => m[r * t + j] == 1).Select(j => flat[r * t + j]))));
        foreach (var (flag, key) in new[] { ("pooling_mode_mean_tokens", "mean"), ("pooling_mode_cls_token", "cls") })
        {
            File.WriteAllText(poolCfg, $"{{\"word_embedding_dimension\": 32, \"{flag}\": true, \"pooling_mode_max_tokens\": false}}");
            var outFile = Path.Combine(work, key + ".npy");
            Assert.Equal(0, ViXml.Cli.Program.Main(["embed", "--model", model, "--ids", idsFile, "--out", outFile]));
            var want = exp.ReadFloat32("normalized_" + key);
            var got = Npy.Read(outFile).ToFloat32();
            for (var i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= BertParityTests.Tol, $"{key} {i}");
        }
        File.WriteAllText(poolCfg, "{\"pooling_mode_max_tokens\": true}");
        Assert.NotEqual(0, ViXml.Cli.Program.Main(["embed", "--model", model, "--ids", idsFile, "--out", Path.Combine(work, "max.npy")]));
        Assert.Equal(0, ViXml.Cli.Program.Main(["embed", "--model", model, "--ids", idsFile, "--pooling", "last", "--out", Path.Combine(work, "last.npy")]));
    }
}
