using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Training.Baselines;
using ViXml.Xmc.Search;

namespace ViXml.Tests.Training;

public class Bm25Tests
{
    private sealed record Fixture(double K1, double B, string[] Docs, string[] Queries, double[][] Scores);

    private static Fixture Load() => JsonSerializer.Deserialize<Fixture>(
        File.ReadAllText(Repo.Fixture("training", "bm25.json")),
        new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;

    [Fact]
    public void ScoresMatchTheIndependentPythonReference()
    {
        var f = Load();
        var bm = new Bm25(f.Docs, f.K1, f.B);
        for (int q = 0; q < f.Queries.Length; q++)
        {
            var s = bm.ScoreAll(f.Queries[q]);
            for (int d = 0; d < f.Docs.Length; d++) Assert.Equal(f.Scores[q][d], s[d], 4);
        }
    }

    [Fact]
    public void SparseTopKEqualsRankingTheReferenceScores()
    {
        var f = Load();
        var bm = new Bm25(f.Docs, f.K1, f.B);
        int k = 4;
        var top = bm.Search(f.Queries, k);
        for (int q = 0; q < f.Queries.Length; q++)
        {
            var expected = f.Scores[q].Select((s, d) => (s, d)).Where(x => x.s > 0)
                .OrderByDescending(x => x.s).ThenBy(x => x.d).Take(k).ToArray();
            var labels = top.RowLabels(q).ToArray();
            for (int j = 0; j < k; j++)
            {
                if (j < expected.Length)
                {
                    Assert.Equal(expected[j].d, labels[j]);
                    Assert.Equal(expected[j].s, top.RowScores(q)[j], 4);
                }
                else Assert.Equal(-1, labels[j]);
            }
        }
        // "nothing matches here" has no candidate at all.
        Assert.All(top.RowLabels(3).ToArray(), l => Assert.Equal(-1, l));
    }

    [Fact]
    public void TokenizerSplitsOnNonAlphanumerics()
    {
        Assert.Equal(["libssl", "dev", "ssl", "3", "x"], Bm25.Tokenize("libSSL-dev: (SSL 3) x_"));
    }

    [Fact]
    public void TopKHeapKeepsTheBestWithDeterministicTies()
    {
        var rng = new ViXml.Training.Rng(1);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 1 + rng.NextInt(60), k = 1 + rng.NextInt(10);
            var s = Enumerable.Range(0, n).Select(_ => (float)rng.NextInt(8)).ToArray(); // many ties
            var heap = new TopKHeap(k);
            foreach (var i in rng.Permutation(n)) heap.Push(s[i], i);
            var l = new int[k]; var v = new float[k];
            heap.Drain(l, v);
            var exp = Enumerable.Range(0, n).OrderByDescending(i => s[i]).ThenBy(i => i).Take(k).ToArray();
            Assert.Equal(exp, l.Take(exp.Length));
            Assert.All(l.Skip(exp.Length), x => Assert.Equal(-1, x));
        }
    }

    [Fact]
    public void XcScoreFormat()
    {
        var r = new TopKResult(2, 2, 5, [3, 1, 4, -1], [0.5f, 0.25f, 1f, float.NegativeInfinity]);
        var w = new StringWriter();
        r.WriteXcScores(w);
        Assert.Equal("2 5\n3:0.5 1:0.25\n4:1\n", w.ToString());
    }
}
