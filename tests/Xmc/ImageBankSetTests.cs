using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;

namespace ViXml.Tests.Xmc;

/// <summary>
/// The reference image-bank layout ({name}_embs.npy, {split}_img_map.npy, {name}_embs.json): numpy-written banks load
/// as they are, our writes round-trip, and every inconsistency is an error that names the file.
/// </summary>
public class ImageBankSetTests
{
    private static string NumpyDir => Repo.Fixture("image-bank-numpy");

    /// <summary>A copy of the numpy fixture folder to modify.</summary>
    private static string CopyOfNumpy()
    {
        var dir = Repo.TempDir();
        foreach (var f in Directory.GetFiles(NumpyDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    [Fact]
    public void NumpyWrittenBankLoadsAsItIs()
    {
        var set = ImageBanks.Load(NumpyDir);
        Assert.Null(set.Manifest);
        Assert.Equal((4, 3), (set.Bank.NumImages, set.Bank.Dim));
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(NumpyDir, "values.json"))).RootElement.GetProperty("bank")
            .EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
        Assert.Equal(expected, set.Bank.Embeddings);
        Assert.Equal(2, set.K);
        Assert.Equal(new long[] { 0, 1, 2, -1, -1, -1 }, set.Maps["trn"].Indices);   // int32 on disk
        Assert.Equal(new long[] { 3, 0, 1, 2 }, set.Maps["tst"].Indices);            // int64 on disk
        Assert.Equal(new[] { 2 }, set.Maps["trn"].ImagesOf(1));
        Assert.Empty(set.Maps["trn"].ImagesOf(2));
        Assert.False(set.Maps.ContainsKey("lbl"));
    }

    [Fact]
    public void WrittenBankRoundTripsWithItsManifest()
    {
        var dir = CopyOfNumpy();
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        for (int i = 0; i < 4; i++) File.WriteAllBytes(Path.Combine(dir, "images", $"{i}.png"), [(byte)i, 1, 2]);
        RawText.Write(Path.Combine(dir, "img.ids.txt"), Enumerable.Range(0, 4).Select(i => $"{i}.png"));
        var emb = Enumerable.Range(0, 4 * 5).Select(i => MathF.Sin(i) * 3).ToArray();
        var written = ImageBanks.WriteBank(dir, "resnet18", new ImageBank(4, 5, emb), "resnet18-imagenet (pooled)", "224x224, ImageNet mean",
            ["images", "img.ids.txt"]);
        Assert.Equal(new[] { "resnet18_embs.npy", "resnet18_embs.json" }, written);
        var labels = new ImageMap(2, 2, [0, -1, 3, 2]);
        labels.Write(Path.Combine(dir, ImageBanks.MapFile("lbl")));

        var set = ImageBanks.Load(dir, "resnet18");
        Assert.Equal(emb, set.Bank.Embeddings);
        Assert.Equal(labels.Indices, set.Maps["lbl"].Indices);
        Assert.Equal(new[] { "0.png", "1.png", "2.png", "3.png" }, set.ImageIds);
        var m = set.Manifest!;
        Assert.Equal(("resnet18", "resnet18-imagenet (pooled)", "224x224, ImageNet mean", 4, 5), (m.Name, m.Model, m.Preprocessing, m.NumImages, m.Dim));
        Assert.Equal(ImageBanks.Digest(Path.Combine(dir, "resnet18_embs.npy")), m.Outputs.Single().Sha256);
        Assert.Equal(ViXml.Xmc.Debian.DatasetWriter.DirectoryDigest(Path.Combine(dir, "images")), m.Inputs[0].Sha256);
        Assert.Equal(new[] { "img", "resnet18" }, ImageBanks.Names(dir));
        Assert.True(DatasetCheck.Run(dir).Errors.All(e => !e.Contains("resnet18")), string.Join("\n", DatasetCheck.Run(dir).Errors));
        Directory.Delete(dir, true);
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "index-out-of-range", "tst_img_map.npy: item 1 slot 0: image index 9 out of range [-1, 4)" },
        { "index-below-minus-one", "trn_img_map.npy: item 2 slot 1: image index -2 out of range" },
        { "rows", "trn_img_map.npy: image map has 2 rows but there are 3 items" },
        { "k-mismatch", "tst_img_map.npy: K = 3 slots per item but trn_img_map.npy has K = 2" },
        { "1-d-map", "trn_img_map.npy: image map must be 2-D [num_items, K], got shape (7)" },
        { "float-map", "trn_img_map.npy: image map must hold integers, got Float32" },
        { "bank-3d", "img_embs.npy: image bank must be 2-D" },
        { "nan", "img_embs.npy: non-finite value in image 1, dim 2" },
        { "ids", "img.ids.txt: 3 lines but img_embs.npy has 4 rows" },
        { "missing-bank", "img_embs.npy: missing (no image bank of that name)" },
        { "manifest-shape", "img_embs.json: says [5, 3] but img_embs.npy is [4, 3]" },
        { "manifest-sha", "img_embs.npy: sha256 differs from img_embs.json" },
        { "manifest-key", "img_embs.json: missing or non-string key 'model'" },
        { "manifest-json", "img_embs.json: invalid JSON" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void InconsistenciesAreErrorsNamingTheFile(string corruption, string message)
    {
        var dir = CopyOfNumpy();
        string P(string f) => Path.Combine(dir, f);
        void Manifest(Func<string, string> edit)
        {
            ImageBanks.WriteBank(dir, "img", ImageBank.Read(P("img_embs.npy")), "m", "p", []);
            File.WriteAllText(P("img_embs.json"), edit(File.ReadAllText(P("img_embs.json"))));
        }
        switch (corruption)
        {
            case "index-out-of-range": new ImageMap(2, 2, [3, 0, 9, 2]).Write(P("tst_img_map.npy")); break;
            case "index-below-minus-one": new ImageMap(3, 2, [0, 1, 2, -1, -1, -2]).Write(P("trn_img_map.npy")); break;
            case "rows": new ImageMap(2, 2, [0, 1, 2, -1]).Write(P("trn_img_map.npy")); break;
            case "k-mismatch": new ImageMap(2, 3, [3, 0, -1, 1, 2, -1]).Write(P("tst_img_map.npy")); break;
            case "1-d-map": File.Copy(Repo.Fixture("xmc-npy", "i32_v1.npy"), P("trn_img_map.npy"), true); break;
            case "float-map": Npy.WriteFloat32(P("trn_img_map.npy"), [0, 1, 2, -1, -1, -1], 3, 2); break;
            case "bank-3d": Npy.WriteFloat32(P("img_embs.npy"), new float[12], 2, 2, 3); break;
            case "nan":
                var b = ImageBank.Read(P("img_embs.npy"));
                b.Embeddings[5] = float.NaN;
                b.Write(P("img_embs.npy"));
                break;
            case "ids": RawText.Write(P("img.ids.txt"), ["a.png", "b.png", "c.png"]); break;
            case "missing-bank": File.Delete(P("img_embs.npy")); break;
            case "manifest-shape": Manifest(s => s.Replace("\"num_images\": 4", "\"num_images\": 5")); break;
            case "manifest-sha":
                Manifest(s => s);
                var b2 = ImageBank.Read(P("img_embs.npy"));
                b2.Embeddings[0] = 42;
                b2.Write(P("img_embs.npy"));
                break;
            case "manifest-key": Manifest(s => s.Replace("\"model\"", "\"modell\"")); break;
            case "manifest-json": Manifest(s => s[..^5]); break;
        }
        var e = Assert.Throws<XmcFormatException>(() => ImageBanks.Load(dir));
        Assert.Contains(message, e.Message);
        Assert.Contains(dir, e.Message);
        Directory.Delete(dir, true);
    }
}
