using System.Text;
using ViXml.Models.Hf;
using ViXml.Notebooks;
using ViXml.Tests.TestSupport;
using ViXml.Text;
using ViXml.Training.Config;
using ViXml.Xmc;

namespace ViXml.Tests.Fuzz;

/// <summary>Every crash the fuzz harness found, as a fixed input: each now gives one of our clear errors.</summary>
public class FuzzRegressionTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("vixml-fuzzreg");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    private string W(string name, byte[] bytes)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void ManifestStringWithInvalidUtf8()   // was InvalidOperationException from System.Text.Json
    {
        W("manifest.json", [.. B("{\"outputs\": [{\"file\": \"a"), 0xC3, 0x28, .. B("\", \"sha256\": \"x\"}]}")]);
        Assert.Contains(DatasetManifest.Verify(_dir, checksums: false), e => e.Contains("not valid UTF-8"));
        Assert.NotEmpty(DatasetCheck.Run(_dir).Errors);
    }

    [Fact]
    public void SiteTableWithADuplicateColumn()   // was ArgumentException from the ResultTable constructor (site-csv fuzzing)
    {
        var results = Path.Combine(_dir, "r");
        Directory.CreateDirectory(results);
        var csv = Path.Combine(results, "t.csv");
        File.WriteAllText(csv, "method,runs,runs\nbm25,1,2\n");
        var e = Assert.Throws<InvalidDataException>(() => ViXml.Reporting.Site.ResultsSite.Build(new() { ResultsDirectory = results }));
        Assert.Equal($"{csv}:1: column 'runs' appears more than once in the header", e.Message);
    }

    [Fact]
    public void NotebookWithADuplicateKey()     // was ArgumentException from JsonObject's lazy dictionary
    {
        var p = W("nb.ipynb", B("{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"metadata\": {}, \"cells\": []}"));
        Assert.Contains("malformed notebook", Assert.Throws<NotebookFormatException>(() => Notebook.Load(p)).Message);
    }

    [Fact]
    public void HfConfigWithInvalidUtf8Key()    // was InvalidOperationException while listing unknown keys
    {
        var text = File.ReadAllBytes(Repo.Fixture("bert", "distilbert_plain", "config.json"));
        var p = W("config.json", [.. text[..^2], .. B(",\n  \"x"), 0xFF, .. B("\": 1\n}")]);
        Assert.Contains("not valid UTF-8", Assert.Throws<HfConfigException>(() => HfConfig.Load(p)).Message);
    }

    [Theory]
    [InlineData("\"sep\": [\"[SEP]\", \"two\"]")]
    [InlineData("\"sep\": [\"[SEP]\", 99999999999]")]
    [InlineData("\"sep\": [7, 2]")]
    public void TokenizerJsonPairOfTheWrongKind(string sep)   // was FormatException / InvalidOperationException
    {
        var json = "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                   + "\"post_processor\": {\"type\": \"BertProcessing\", " + sep + ", \"cls\": [\"[CLS]\", 1]}, "
                   + "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[PAD]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"[UNK]\": 3}}}";
        var p = W("tokenizer.json", B(json));
        Assert.StartsWith(p, Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromFile(p)).Message);
    }

    [Fact]
    public void YamlThatTripsTheScanner()   // was InvalidOperationException from YamlDotNet's scanner (train-yaml case 404)
    {
        // frozen copies of the configs the case was found with (tests/fixtures/fuzz/seeds/README.md)
        var seeds = new[] { File.ReadAllBytes(Repo.Path_("tests", "fixtures", "fuzz", "seeds", "ci.yaml")),
                            File.ReadAllBytes(Repo.Path_("tests", "fixtures", "fuzz", "seeds", "cpu.yaml")) };
        var bytes = FuzzRunner.Cases(seeds, FuzzTests.SeedFor("train-yaml"), 405).Last();
        var p = W("t.yaml", bytes);
        Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile<TrainConfig>(p).Value.Validate());
        // the smallest form of it found by hand: a flow mapping whose key is cut off by a stray document marker
        foreach (var y in new[] { "a: {b: 1, c\n---\n", "{ ? [\n" })
        {
            var q = W("m.yaml", B(y));
            Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile<TrainConfig>(q));
        }
    }

    [Theory]
    [InlineData("42")]
    [InlineData("[\"a\", 3]")]
    [InlineData("{\"x\": 1}")]
    public void NotebookSourceThatIsNotText(string source)   // was silently stringified
    {
        var p = W("n.ipynb", B("{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": [{\"cell_type\": \"code\", \"metadata\": {}, \"outputs\": [], \"execution_count\": null, \"source\": " + source + "}]}"));
        Assert.Contains("\"source\"", Assert.Throws<NotebookFormatException>(() => Notebook.Load(p)).Message);
    }

    [Fact]
    public void AddedTokenIdNearIntMax()   // was a 2^31-entry table allocation (tokenizer-json, long run, seed 7)
    {
        var p = W("tokenizer.json", B("{\"added_tokens\": [{\"id\": 2147483647, \"content\": \"<new>\", \"special\": false}], " +
            "\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": false}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, " +
            "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"[PAD]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"[UNK]\": 3}}}"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromFile(p));
        Assert.Contains("added_tokens[0].id", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }
}
