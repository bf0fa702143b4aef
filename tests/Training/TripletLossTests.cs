using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Training;

public class TripletLossTests
{
    private static LossConfig Cfg(int topK = 10, MarginKind margin = MarginKind.Dynamic, double mv = 0.3,
        bool aggressive = false, double tau = 0.1, double l2q = 0) =>
        new() { TopK = topK, Margin = margin, MarginValue = mv, Aggressive = aggressive, Tau = tau, LabelToQuery = l2q };

    // Two queries, three labels; query 0's positive is label 0, query 1's is label 1.
    private static readonly double[] S = [0.9, 0.5, 0.85, 0.2, 0.7, 0.75];
    private static readonly float[] T = [1, 0, 0, 0, 1, 0];

    private static double Loss(LossConfig c, out double[] gradS)
    {
        using var scope = NewDisposeScope();
        var sim = tensor(S, [2, 3], requires_grad: true);
        var loss = new TripletLoss(c).Direction(sim, tensor(T, [2, 3]), tensor(new long[] { 0, 1 }, [2]));
        loss.backward();
        gradS = sim.grad!.ToArray<double>();
        return loss.ToDouble();
    }

    [Fact]
    public void HandComputedSmallCases()
    {
        // Dynamic margin: row 0: s_p = .9; neg .5 → m = clamp(.4) = .3, hinge relu(.5−.9+.3) = 0;
        //   neg .85 → m = clamp(.05) = .1, hinge .85−.9+.1 = .05.  Row 1: s_p = .7; neg .2 → 0; neg .75 → m = .1, .15.
        //   Mean over rows of the sums: (.05 + .15) / 2 = .1.
        Assert.Equal(0.1, Loss(Cfg(), out var g), 12);
        // The margin carries no gradient: d/ds_n = +1/R, d/ds_p = −1/R for each violating pair.
        Assert.Equal([-0.5, 0, 0.5, 0, -0.5, 0.5], g.Select(x => Math.Round(x, 12)));
        // Fixed margin .3: row 0: relu(.5−.9+.3)=0, .85−.9+.3=.25; row 1: 0, .75−.7+.3=.35 → mean .3.
        Assert.Equal(0.3, Loss(Cfg(margin: MarginKind.Fixed), out _), 12);
        // top_k = 1 keeps only the hardest negative (.85 and .75): the same here.
        Assert.Equal(0.3, Loss(Cfg(topK: 1, margin: MarginKind.Fixed), out _), 12);
        // Fixed margin .45 with aggressive weighting: row 0 both negatives violate (hinges .05, .4) and are weighted by
        // softmax([.5, .85] / .1); row 1: relu(.2−.7+.45) = 0 (not violating), .75−.7+.45 = .5 with weight 1.
        double w0 = Math.Exp(5) / (Math.Exp(5) + Math.Exp(8.5)), w1 = 1 - w0;
        double expected = ((0.05 * w0 + 0.4 * w1) + 0.5) / 2;
        Assert.Equal(expected, Loss(Cfg(margin: MarginKind.Fixed, mv: 0.45, aggressive: true), out _), 12);
    }

    [Fact]
    public void PositivesAreNeverNegativesEvenWhenTopKExceedsTheNegatives()
    {
        // Row with two true positives (cols 0 and 2) and one negative: only col 1 can contribute.
        using var scope = NewDisposeScope();
        var sim = tensor(new double[] { 0.1, 0.5, 0.9 }, [1, 3], requires_grad: true);
        var loss = new TripletLoss(Cfg(topK: 10, margin: MarginKind.Fixed)).Direction(
            sim, tensor(new float[] { 1, 0, 1 }, [1, 3]), tensor(new long[] { 0 }, [1]));
        Assert.Equal(0.5 - 0.1 + 0.3, loss.ToDouble(), 12);
    }

    private sealed record Case(JsonElement Config, int B, int L, int D, double[] Q, double[] Lv, int[] Pos, float[] Target,
        double Loss, double[] GradQ, double[] GradL);

    private static IEnumerable<Case> Cases()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Repo.Fixture("training", "triplet.json"))).RootElement;
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            double[] D(string n) => c.GetProperty(n).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            yield return new Case(c.GetProperty("config"), c.GetProperty("B").GetInt32(), c.GetProperty("L").GetInt32(),
                c.GetProperty("d").GetInt32(), D("q"), D("l"), D("pos").Select(x => (int)x).ToArray(),
                D("target").Select(x => (float)x).ToArray(), c.GetProperty("loss").GetDouble(), D("grad_q"), D("grad_l"));
        }
    }

    private static LossConfig FromJson(JsonElement c) => new()
    {
        TopK = c.GetProperty("top_k").GetInt32(),
        Margin = c.GetProperty("margin").GetString() == "fixed" ? MarginKind.Fixed : MarginKind.Dynamic,
        MarginValue = c.GetProperty("margin_value").GetDouble(),
        MarginMin = c.GetProperty("margin_min").GetDouble(),
        MarginMax = c.GetProperty("margin_max").GetDouble(),
        Aggressive = c.GetProperty("aggressive").GetBoolean(),
        Tau = c.GetProperty("tau").GetDouble(),
        LabelToQuery = c.GetProperty("label_to_query").GetDouble(),
    };

    private static Tensor SimOf(Tensor q, Tensor l) =>
        nn.functional.normalize(q, dim: 1).matmul(nn.functional.normalize(l, dim: 1).t());

    [Fact]
    public void MatchesDebianPyTorchReferenceLossAndGradients()
    {
        int n = 0;
        foreach (var c in Cases())
        {
            using var scope = NewDisposeScope();
            var q = tensor(c.Q, [c.B, c.D], requires_grad: true);
            var l = tensor(c.Lv, [c.L, c.D], requires_grad: true);
            var batch = new LabelBatch(Enumerable.Range(0, c.B).ToArray(), Enumerable.Range(0, c.L).ToArray(), c.Pos, c.Target);
            var loss = new TripletLoss(FromJson(c.Config)).Forward(SimOf(q, l), batch);
            // Forward builds the target in float32; the sims stay float64, so the comparison is tight.
            Assert.Equal(c.Loss, loss.ToDouble(), 10);
            loss.backward();
            var gq = q.grad!.ToArray<double>();
            var gl = l.grad!.ToArray<double>();
            for (int i = 0; i < gq.Length; i++) Assert.Equal(c.GradQ[i], gq[i], 10);
            for (int i = 0; i < gl.Length; i++) Assert.Equal(c.GradL[i], gl[i], 10);
            n++;
        }
        Assert.Equal(5, n);
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        // Fixed-margin cases only: the dynamic margin is deliberately cut from the graph, so its autograd gradient is
        // not the derivative of the loss value (the Debian PyTorch comparison covers it instead).
        var fixedCases = Cases().Where(c => c.Config.GetProperty("margin").GetString() == "fixed").ToList();
        Assert.Equal(2, fixedCases.Count);
        foreach (var c in fixedCases)
        {
            var cfg = FromJson(c.Config);
            var batch = new LabelBatch(Enumerable.Range(0, c.B).ToArray(), Enumerable.Range(0, c.L).ToArray(), c.Pos, c.Target);
            using var scope = NewDisposeScope();
            GradCheck.Check(q => new TripletLoss(cfg).Forward(SimOf(q, tensor(c.Lv, [c.L, c.D])), batch),
                tensor(c.Q, [c.B, c.D]), absTol: 1e-6, relTol: 1e-4, stride: 3, name: "q");
        }
    }

    [Fact]
    public void FirstQueryPerLabel()
    {
        var b = new LabelBatch([10, 11, 12, 13], [7, 8], [1, 0, 1, 0], new float[8]);
        Assert.Equal([1L, 0L], TripletLoss.FirstQueryPerLabel(b));
    }
}
