using ViXml.Training;
using ViXml.Training.Sampling;

namespace ViXml.Tests.Training;

public class PositiveSamplerTests
{
    // 5 queries over 6 labels: q0 {0,1}, q1 {1}, q2 {1,2,3}, q3 {4}, q4 {0,5}
    private static readonly int[] Indptr = [0, 2, 3, 6, 7, 9];
    private static readonly int[] Indices = [0, 1, 1, 1, 2, 3, 4, 0, 5];

    [Fact]
    public void InversePropensityMatchesPyxclibFormula()
    {
        // Hand computation: N = 5, A = 0.6, B = 2.6 → C = (ln 5 − 1)·3.6^0.6
        var w = PositiveSampler.InversePropensity([2, 3, 1, 1, 1, 1], 5);
        double c = (Math.Log(5) - 1) * Math.Pow(3.6, 0.6);
        Assert.Equal(1 + c * Math.Pow(2 + 2.6, -0.6), w[0], 12);
        Assert.Equal(1 + c * Math.Pow(3 + 2.6, -0.6), w[1], 12);
        // Numeric anchor computed by hand (python: 1 + (log(5)-1)*3.6**0.6*(4.6)**-0.6 = 1.52609)
        Assert.Equal(1.52609, w[0], 4);
        Assert.True(w[2] > w[0] && w[0] > w[1]); // rarer → larger
    }

    [Fact]
    public void TargetMarksEveryTruePositiveInTheBatch()
    {
        var s = new PositiveSampler(Indptr, Indices, 6, PositiveSampling.Uniform);
        var rng = new Rng(3);
        for (int trial = 0; trial < 50; trial++)
        {
            var batch = s.Sample([0, 1, 2, 3, 4], rng);
            Assert.Equal(batch.Labels.Distinct().Count(), batch.L);
            for (int i = 0; i < batch.B; i++)
            {
                var truth = s.LabelsOf(batch.Queries[i]).ToArray();
                Assert.Contains(batch.Labels[batch.PositiveColumn[i]], truth);
                Assert.Equal(1f, batch.Target[i * batch.L + batch.PositiveColumn[i]]);
                for (int j = 0; j < batch.L; j++)
                    Assert.Equal(truth.Contains(batch.Labels[j]) ? 1f : 0f, batch.Target[i * batch.L + j]);
            }
            // Batch labels are exactly the drawn positives.
            Assert.Equal(batch.PositiveColumn.Distinct().Order(), Enumerable.Range(0, batch.L));
        }
    }

    [Theory]
    [InlineData(PositiveSampling.Uniform)]
    [InlineData(PositiveSampling.InversePropensity)]
    public void DrawFrequenciesFollowTheWeights(PositiveSampling mode)
    {
        var s = new PositiveSampler(Indptr, Indices, 6, mode);
        var rng = new Rng(11);
        int n = 200_000;
        var counts = new int[6];
        for (int t = 0; t < n; t++) counts[s.Draw(2, rng)]++; // q2 has labels {1,2,3}
        var freq = new[] { 2, 3, 1, 1, 1, 1 };
        var w = mode == PositiveSampling.Uniform ? [1.0, 1, 1, 1, 1, 1] : PositiveSampler.InversePropensity(freq, 5);
        double total = w[1] + w[2] + w[3];
        foreach (var l in new[] { 1, 2, 3 })
            Assert.InRange(counts[l] / (double)n, w[l] / total - 0.01, w[l] / total + 0.01);
        Assert.Equal(0, counts[0] + counts[4] + counts[5]);
    }

    [Fact]
    public void QueryWithoutLabelsIsAnError()
    {
        var s = new PositiveSampler([0, 1, 1], [0], 1, PositiveSampling.Uniform);
        var e = Assert.Throws<InvalidOperationException>(() => s.Draw(1, new Rng(1)));
        Assert.Contains("query 1", e.Message);
    }
}
