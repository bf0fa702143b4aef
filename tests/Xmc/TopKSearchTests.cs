using ViXml.Xmc.Search;
using TorchSharp;
using ViXml.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Xmc;

public class TopKSearchTests
{
    /// <summary>Brute force in plain C# doubles: the full score row, sorted.</summary>
    private static (int[] Idx, double[] Score) Reference(float[] q, float[] l, int nq, int nl, int d, int k)
    {
        var idx = new int[nq * k]; var sc = new double[nq * k];
        Array.Fill(idx, -1);
        for (int i = 0; i < nq; i++)
        {
            var row = Enumerable.Range(0, nl).Select(j =>
            {
                double s = 0;
                for (int t = 0; t < d; t++) s += (double)q[i * d + t] * l[j * d + t];
                return (s, j);
            }).OrderByDescending(x => x.s).ThenBy(x => x.j).Take(k).ToArray();
            for (int j = 0; j < row.Length; j++) { idx[i * k + j] = row[j].j; sc[i * k + j] = row[j].s; }
        }
        return (idx, sc);
    }

    [Theory]
    [InlineData(37, 211, 16, 10, 8, 50)]      // several query batches and label shards, neither divides evenly
    [InlineData(37, 211, 16, 10, 1000, 1000)] // one block
    [InlineData(5, 7, 4, 10, 2, 3)]           // k larger than L: padded with −1
    [InlineData(64, 300, 32, 100, 64, 64)]    // k larger than the shard: merge across shards
    public void EqualsBruteForce(int nq, int nl, int d, int k, int batch, int shard)
    {
        var rng = new ViXml.Training.Rng((ulong)(nq * 1000 + nl));
        var q = Enumerable.Range(0, nq * d).Select(_ => (float)rng.NextGaussian()).ToArray();
        var l = Enumerable.Range(0, nl * d).Select(_ => (float)rng.NextGaussian()).ToArray();
        using var scope = NewDisposeScope();
        var res = TopKSearch.Search(tensor(q, [nq, d]), tensor(l, [nl, d]), k, batch, shard);
        var (ei, es) = Reference(q, l, nq, nl, d, k);
        Assert.Equal((nq, k), (res.Rows, res.K));
        Assert.Equal(ei, res.Indices);
        for (int i = 0; i < es.Length; i++)
            if (ei[i] >= 0) Assert.Equal(es[i], res.Scores[i], tolerance: 1e-4);
            else Assert.Equal(float.NegativeInfinity, res.Scores[i]);
    }

    [Fact]
    public void BadShapesAreErrors()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => TopKSearch.Search(zeros(3, 4), zeros(5, 3), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => TopKSearch.Search(zeros(3, 4), zeros(5, 4), 0));
    }
}
