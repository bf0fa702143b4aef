using System.Buffers.Binary;
using System.IO.Compression;
using ViXml.Models.Vision;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;
using ViXml.Xmc.Images;

namespace ViXml.Tests.Xmc;

/// <summary>
/// <c>./vixml images embed</c> on a small dataset of generated PNGs with the tiny SigLIP fixture tower
/// (tests/fixtures/siglip/siglip-model, 32x32 input): reference layout and manifest, byte-identical reruns, resume after
/// a stop, clear errors for corrupt inputs; <c>images check</c> on a bare bank from elsewhere.
/// </summary>
public class ImageEmbedTests(ITestOutputHelper output)
{
    private static readonly string Tower = Repo.Fixture("siglip", "siglip-model");
    private static readonly (int W, int H)[] Sizes = [(16, 16), (40, 24), (32, 32), (64, 64), (20, 50), (32, 32), (9, 7)];

    /// <summary>A minimal RGBA PNG (8-bit, filter 0).</summary>
    internal static byte[] EncodePng(int w, int h, Func<int, int, (byte R, byte G, byte B, byte A)> pixel)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < h; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < w; x++)
            {
                var (r, g, b, a) = pixel(x, y);
                raw.Write([r, g, b, a]);
            }
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw.ToArray());
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            var len = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length);
            png.Write(len);
            var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.Write(body);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Png.Crc32(body));
            png.Write(crc);
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)w);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)h);
        ihdr[8] = 8; ihdr[9] = 6;
        Chunk("IHDR", ihdr);
        Chunk("IDAT", z.ToArray());
        Chunk("IEND", []);
        return png.ToArray();
    }

    /// <summary>A dataset folder: images/ (7 PNGs of various sizes, some transparent), img.ids.txt, a trn map [4, 2].</summary>
    private static string Dataset()
    {
        var dir = Repo.TempDir("vixml-embed");
        Directory.CreateDirectory(Path.Combine(dir, "images"));
        var ids = new List<string>();
        for (int i = 0; i < Sizes.Length; i++)
        {
            var (w, h) = Sizes[i];
            var name = $"img{i}.png";
            File.WriteAllBytes(Path.Combine(dir, "images", name),
                EncodePng(w, h, (x, y) => ((byte)(x * 37 + i * 11), (byte)(y * 53 + i * 7), (byte)((x ^ y) * 19), (byte)(i % 2 == 0 ? 255 : (x * 29) % 256))));
            ids.Add(name);
        }
        RawText.Write(Path.Combine(dir, ImageBanks.ImageIdsFile), ids);
        new ImageMap(4, 2, [0, 1, 2, -1, 3, 4, 5, 6]).Write(Path.Combine(dir, "trn_img_map.npy"));
        return dir;
    }

    private static (int Code, string Out, string Err) Embed(string data, params string[] more) =>
        CliRunner.Run(["images", "embed", "--data", data, "--model", Tower, "--name", "sig", .. more]);

    [Fact]
    public void EmbedWritesTheReferenceLayoutWithAManifestAndIsByteIdenticalTwice()
    {
        var a = Dataset();
        var r = Embed(a, "--batch", "3");
        output.WriteLine(r.Out + r.Err);
        Assert.Equal(0, r.Code);
        Assert.Contains("bank 'sig' [7, 32]", r.Out);
        var b = Repo.TempDir("vixml-embed-b");
        CopyDir(a, b, skip: ["sig_embs.npy", "sig_embs.json"]);
        Assert.Equal(0, Embed(b, "--batch", "3").Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "sig_embs.npy")), File.ReadAllBytes(Path.Combine(b, "sig_embs.npy")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "sig_embs.json")), File.ReadAllBytes(Path.Combine(b, "sig_embs.json")));
        Assert.False(Directory.Exists(ImageBankBuilder.PartialDir(a, "sig")));

        // a rerun over an up-to-date bank does nothing; --force recomputes the same bytes; changed images recompute
        var before = File.GetLastWriteTimeUtc(Path.Combine(a, "sig_embs.npy"));
        r = Embed(a, "--batch", "3");
        Assert.Equal(0, r.Code);
        Assert.Contains("bank 'sig' [7, 32] is up to date (same model files and images); nothing to do", r.Out);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(a, "sig_embs.npy")));
        r = Embed(a, "--batch", "3", "--force");
        Assert.Contains("7 images embedded", r.Out);
        Assert.Equal(File.ReadAllBytes(Path.Combine(b, "sig_embs.npy")), File.ReadAllBytes(Path.Combine(a, "sig_embs.npy")));
        File.WriteAllBytes(Path.Combine(b, "images", "img6.png"), EncodePng(5, 5, (x, y) => (1, 2, 3, 255)));
        Assert.Contains("7 images embedded", Embed(b, "--batch", "3").Out);

        // the bank loads with its maps and checksums; the manifest names the model files' sha256 and the inputs
        var set = ImageBanks.Load(a, "sig");
        Assert.Equal((7, 32, 2), (set.Bank.NumImages, set.Bank.Dim, set.K));
        var m = set.Manifest!;
        Assert.StartsWith("siglip-model (SiglipVisionModel, pooled, 32-d, input 32x32)", m.Model);
        Assert.Contains($"model.safetensors sha256 {ImageBanks.Digest(Path.Combine(Tower, "model.safetensors"))}", m.Model);
        Assert.Contains("(x - [0.5, 0.5, 0.5]) / [0.5, 0.5, 0.5]", m.Preprocessing);
        Assert.Equal(["images", "img.ids.txt"], m.Inputs.Select(f => f.File));
        Assert.Equal(ImageBanks.Digest(Path.Combine(a, "images")), m.Inputs[0].Sha256);
        Assert.Equal(ImageBanks.Digest(Path.Combine(a, "sig_embs.npy")), m.Outputs.Single().Sha256);

        // row i is image i of img.ids.txt through the tower (composited over white, resized to 32 unless already 32x32)
        using var tower = VisionTowers.Load(Tower);
        for (int i = 0; i < Sizes.Length; i++)
        {
            var img = Png.Decode(File.ReadAllBytes(Path.Combine(a, "images", $"img{i}.png")), "x");
            var rgb = ImageInput.PlanarRgb(img);
            var x = (img.Width, img.Height) == (32, 32) ? rgb : ImageInput.ResizeBilinear(rgb, 3, img.Height, img.Width, 32, 32);
            var want = tower.Embed(x, 1);
            var got = set.Bank.Row(i).ToArray();
            Assert.True(want.Zip(got).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5, $"row {i} is not image {i}");
        }
        Directory.Delete(a, true);
        Directory.Delete(b, true);
    }

    [Fact]
    public void AStoppedRunResumesToTheSameBytes()
    {
        var full = Dataset();
        Assert.Equal(0, Embed(full, "--batch", "2").Code);
        var part = Repo.TempDir("vixml-embed-resume");
        CopyDir(full, part, skip: ["sig_embs.npy", "sig_embs.json"]);

        var r = Embed(part, "--batch", "2", "--stop-after", "3");                // stops after 2 batches = 4 images
        Assert.Equal(3, r.Code);
        Assert.Contains("stopped after 4 of 7 images", r.Out);
        Assert.False(File.Exists(Path.Combine(part, "sig_embs.npy")));
        var partial = ImageBankBuilder.PartialDir(part, "sig");
        Assert.Contains("\"done\": 4", File.ReadAllText(Path.Combine(partial, "progress.json")));
        // a crash between writing rows and the progress record leaves extra bytes: they are dropped on resume
        using (var fs = new FileStream(Path.Combine(partial, "rows.f32"), FileMode.Append)) fs.Write(new byte[100]);

        r = Embed(part, "--batch", "5");                                        // the partial run's batch (2) wins
        output.WriteLine(r.Out + r.Err);
        Assert.Equal(0, r.Code);
        Assert.Contains("resumed at 4", r.Out);
        Assert.Contains("resuming with the partial run's --batch 2", r.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, "sig_embs.npy")), File.ReadAllBytes(Path.Combine(part, "sig_embs.npy")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, "sig_embs.json")), File.ReadAllBytes(Path.Combine(part, "sig_embs.json")));
        Assert.False(Directory.Exists(partial));

        // a partial run for other images is not reused
        var other = Repo.TempDir("vixml-embed-other");
        CopyDir(full, other, skip: ["sig_embs.npy", "sig_embs.json"]);
        Assert.Equal(3, Embed(other, "--batch", "2", "--stop-after", "1").Code);
        File.WriteAllBytes(Path.Combine(other, "images", "img6.png"), EncodePng(5, 5, (x, y) => (1, 2, 3, 255)));
        r = Embed(other, "--batch", "2");
        Assert.Equal(0, r.Code);
        Assert.Contains("different model or different images; starting over", r.Err);
        Assert.DoesNotContain("resumed", r.Out);
        foreach (var d in new[] { full, part, other }) Directory.Delete(d, true);
    }

    [Fact]
    public void CorruptInputsAreOneLineErrorsNamingTheFileAndNothingIsWritten()
    {
        var d = Dataset();
        var png = Path.Combine(d, "images", "img3.png");
        var bytes = File.ReadAllBytes(png);
        File.WriteAllBytes(png, bytes[..(bytes.Length / 2)]);
        var r = Embed(d);
        Assert.Equal(2, r.Code);
        Assert.Contains($"error: {png}: cannot decode (row 4 of img.ids.txt)", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(File.Exists(Path.Combine(d, "sig_embs.npy")));
        File.WriteAllBytes(png, bytes);

        File.AppendAllText(Path.Combine(d, ImageBanks.ImageIdsFile), "nope.png\n");
        r = Embed(d);
        Assert.Equal(2, r.Code);
        Assert.Contains("img.ids.txt:8: image file images/nope.png is missing", r.Err);
        RawText.Write(Path.Combine(d, ImageBanks.ImageIdsFile), Enumerable.Range(0, 7).Select(i => $"img{i}.png"));

        new ImageMap(1, 2, [0, 7]).Write(Path.Combine(d, "tst_img_map.npy"));
        r = Embed(d);
        Assert.Equal(2, r.Code);
        Assert.Contains("tst_img_map.npy: item 0 slot 1: image index 7 out of range [-1, 7)", r.Err);
        File.Delete(Path.Combine(d, "tst_img_map.npy"));

        r = CliRunner.Run("images", "embed", "--data", d, "--model", Path.Combine(d, "no-model"));
        Assert.Equal(2, r.Code);
        Assert.Contains("model folder not found", r.Err);
        r = CliRunner.Run("images", "embed", "--data", Path.Combine(d, "images"), "--model", Tower);
        Assert.Equal(2, r.Code);
        Assert.Contains("img.ids.txt: missing", r.Err);
        Assert.Equal(2, Embed(d, "--batch", "0").Code);
        Assert.False(File.Exists(Path.Combine(d, "sig_embs.npy")));
        Directory.Delete(d, true);
    }

    [Fact]
    public void ABareBankFromElsewhereLoadsAsItIs()
    {
        var r = CliRunner.Run("images", "check", "--data", Repo.Fixture("image-bank-numpy"));
        output.WriteLine(r.Out + r.Err);
        Assert.Equal(0, r.Code);
        Assert.Contains("no manifest (a bank from elsewhere: loaded as it is)", r.Out);
        Assert.Contains("maps trn [", r.Out);
        r = CliRunner.Run("images", "check", "--data", Repo.Fixture("image-bank-numpy"), "--name", "siglip");
        Assert.Equal(2, r.Code);
        Assert.Contains("siglip_embs.npy: missing", r.Err);
    }

    private static void CopyDir(string from, string to, string[] skip)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            if (!skip.Contains(Path.GetFileName(f))) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var sub in Directory.GetDirectories(from))
            if (!Path.GetFileName(sub).StartsWith('.')) CopyDir(sub, Path.Combine(to, Path.GetFileName(sub)), skip);
    }
}
