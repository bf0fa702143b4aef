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
            var labels = top.Indices.AsSpan(q * k, k).ToArray();
            for (int j = 0; j < k; j++)
            {
                if (j < expected.Length)
                {
                    Assert.Equal(expected[j].d, labels[j]);
                    Assert.Equal(expected[j].s, top.Scores[q * k + j], 4);
                }
                else Assert.Equal(-1, labels[j]);
            }
        }
        // "nothing matches here" has no candidate at all.
        Assert.All(top.Indices.AsSpan(3 * k, k).ToArray(), l => Assert.Equal(-1, l));
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
}

[Collection("Console")]
public class Bm25BaselineCliTests
{
    [Fact]
    public void BaselineCommandPrintsMetricsJsonWithTheMetricsCommandKeys()
    {
        var dir = TinyXmc.Write(ViXml.Tests.TestSupport.Repo.TempDir());
        var outFile = Path.Combine(dir, "bm25_scores.txt");
        var w = new StringWriter();
        var old = Console.Out;
        Console.SetOut(w);
        int rc;
        try { rc = ViXml.Cli.Program.BuildRoot().Parse(["baseline", "bm25", "--data", dir, "--json", "--out", outFile]).Invoke(); }
        finally { Console.SetOut(old); }
        Assert.Equal(0, rc);
        var j = System.Text.Json.JsonDocument.Parse(w.ToString()).RootElement;
        foreach (var key in new[] { "P@1", "P@5", "nDCG@3", "PSP@1", "PSP@5", "PSnDCG@5", "R@5" })
            Assert.True(j.TryGetProperty(key, out _), key);
        // Each query names its first positive's two words exactly, so BM25 puts a true label first nearly always;
        // P@1 must be far above chance (1/60).
        Assert.True(j.GetProperty("P@1").GetDouble() > 0.6, w.ToString());
        // The written predictions give the same metrics through the independent metrics command path.
        var ds = ViXml.Training.Data.XmcDataset.Load(dir);
        var again = ds.Evaluate(ViXml.Xmc.TopK.FromScores(ViXml.Xmc.XcSparse.Read(outFile), 100), 5, 0.6, 2.6);
        Assert.Equal(j.GetProperty("P@1").GetDouble(), again.P[0], 9);
        Assert.Equal(j.GetProperty("PSP@5").GetDouble(), again.Psp![4], 9);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MissingDatasetIsAClearError()
    {
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        int rc;
        try { rc = ViXml.Cli.Program.BuildRoot().Parse(["baseline", "bm25", "--data", "/nonexistent/ds"]).Invoke(); }
        finally { Console.SetError(old); }
        Assert.NotEqual(0, rc);
        Assert.Contains("/nonexistent/ds", err.ToString());
    }
}
