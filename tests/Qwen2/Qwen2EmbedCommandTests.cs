using ViXml.Torch;
using ViXml.Tests.TestSupport;
using ViXml.Xmc;

namespace ViXml.Tests.Qwen2;

/// <summary>`./vixml embed --model QWEN2_DIR --ids F --pooling mean|last` against the Debian PyTorch reference.</summary>
[Collection(ViXml.Tests.Training.TrainingSerial.Name)]
public class Qwen2EmbedCommandTests
{
    [Theory]
    [InlineData("tiny-bf16", "mean")]
    [InlineData("tiny-bf16", "last")]
    [InlineData("tiny-f32-sharded", "mean")]
    public void IdsFileEmbeddingsMatchTheReference(string fixture, string pooling)
    {
        using var e = new Expected(fixture);
        var ids = e["right.input_ids"].ToArray<long>();
        var mask = e["right.attention_mask"].ToArray<long>();
        var shape = e["right.input_ids"].shape;
        var (b, t) = ((int)shape[0], (int)shape[1]);
        var dir = Repo.TempDir("vixml-qwen-embed");
        var idsFile = Path.Combine(dir, "ids.txt");
        File.WriteAllLines(idsFile, Enumerable.Range(0, b).Select(r =>
            string.Join(" ", Enumerable.Range(0, t).Where(j => mask[r * t + j] == 1).Select(j => ids[r * t + j]))));
        var outFile = Path.Combine(dir, "emb.npy");
        Assert.Equal(0, ViXml.Cli.Program.Main(["embed", "--model", Repo.Fixture("qwen2", fixture), "--ids", idsFile,
            "--pooling", pooling, "--batch", "3", "--out", outFile]));
        var got = Npy.Read(outFile).ToFloat32();
        var want = e[$"right.{pooling}"].ToArray<float>();
        int h = want.Length / b;
        Assert.Equal(want.Length, got.Length);
        for (int r = 0; r < b; r++)
        {
            // the command L2-normalises the pooled vectors
            double norm = Math.Sqrt(Enumerable.Range(0, h).Sum(i => (double)want[r * h + i] * want[r * h + i]));
            for (int i = 0; i < h; i++) Assert.True(Math.Abs(want[r * h + i] / norm - got[r * h + i]) < 1e-5, $"row {r} dim {i}");
        }
    }
}
