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

public class InfoNceLossTests
{
    private static LossConfig Cfg(double temperature, double l2q = 0) =>
        new() { Kind = LossKind.Infonce, Temperature = temperature, LabelToQuery = l2q };

    // Two queries, three labels; query 0's drawn positive is label 0, query 1's is label 1.
    private static readonly double[] S = [0.9, 0.5, 0.85, 0.2, 0.7, 0.75];

    private static double Loss(LossConfig c, float[] target, out double[] gradS)
    {
        using var scope = NewDisposeScope();
        var sim = tensor(S, [2, 3], requires_grad: true);
        var loss = new InfoNceLoss(c).Direction(sim, tensor(target, [2, 3]).to(ScalarType.Float64), tensor(new long[] { 0, 1 }, [2]));
        loss.backward();
        gradS = sim.grad!.ToArray<double>();
        return loss.ToDouble();
    }

    [Fact]
    public void HandComputedSmallCase()
    {
        // Temperature .5: row 0 logits [1.8, 1.0, 1.7], positive 1.8; row 1 logits [.4, 1.4, 1.5], positive 1.4.
        double r0 = -1.8 + Math.Log(Math.Exp(1.8) + Math.Exp(1.0) + Math.Exp(1.7));
        double r1 = -1.4 + Math.Log(Math.Exp(0.4) + Math.Exp(1.4) + Math.Exp(1.5));
        Assert.Equal((r0 + r1) / 2, Loss(Cfg(0.5), [1, 0, 0, 0, 1, 0], out var g), 12);
        // d loss / d s_rc = (softmax_c − [c = pos]) / temperature / rows.
        double z0 = Math.Exp(1.8) + Math.Exp(1.0) + Math.Exp(1.7), z1 = Math.Exp(0.4) + Math.Exp(1.4) + Math.Exp(1.5);
        double[] expected =
        [
            (Math.Exp(1.8) / z0 - 1) / 0.5 / 2, Math.Exp(1.0) / z0 / 0.5 / 2, Math.Exp(1.7) / z0 / 0.5 / 2,
            Math.Exp(0.4) / z1 / 0.5 / 2, (Math.Exp(1.4) / z1 - 1) / 0.5 / 2, Math.Exp(1.5) / z1 / 0.5 / 2,
        ];
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], g[i], 12);
    }

    [Fact]
    public void OtherTruePositivesLeaveTheDenominator()
    {
        // Query 0 also has label 2 (s = .85): it is neither a negative nor pushed away; row 1 unchanged.
        double r0 = -1.8 + Math.Log(Math.Exp(1.8) + Math.Exp(1.0));
        double r1 = -1.4 + Math.Log(Math.Exp(0.4) + Math.Exp(1.4) + Math.Exp(1.5));
        Assert.Equal((r0 + r1) / 2, Loss(Cfg(0.5), [1, 0, 1, 0, 1, 0], out var g), 12);
        Assert.Equal(0.0, g[2]);
    }

    [Fact]
    public void ACollapsedEmbeddingCostsLogColumnsAndStillHasAGradient()
    {
        // All similarities equal: each row pays log(C) (the triplet loss instead sits at a flat 0.1 per violation).
        using var scope = NewDisposeScope();
        var sim = tensor(Enumerable.Repeat(0.7, 20).ToArray(), [4, 5], requires_grad: true);
        var t = new double[20];
        for (int r = 0; r < 4; r++) t[r * 5 + r] = 1.0;
        var target = tensor(t, [4, 5]);
        var pos = tensor(new long[] { 0, 1, 2, 3 }, [4]);
        var loss = new InfoNceLoss(Cfg(0.05)).Direction(sim, target, pos);
        Assert.Equal(Math.Log(5), loss.ToDouble(), 12);
        loss.backward();
        var g = sim.grad!.ToArray<double>();
        Assert.Equal((0.2 - 1) / 0.05 / 4, g[0], 12);   // the positive is pulled up
        Assert.Equal(0.2 / 0.05 / 4, g[1], 12);         // every negative pushed down
    }

    private sealed record Case(double Temperature, double L2q, int B, int L, int D, double[] Q, double[] Lv, int[] Pos,
        float[] Target, double Loss, double[] GradQ, double[] GradL);

    private static List<Case> Cases()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Repo.Fixture("training", "infonce.json"))).RootElement;
        var list = new List<Case>();
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            double[] D(string n) => c.GetProperty(n).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            list.Add(new Case(c.GetProperty("temperature").GetDouble(), c.GetProperty("label_to_query").GetDouble(),
                c.GetProperty("B").GetInt32(), c.GetProperty("L").GetInt32(), c.GetProperty("d").GetInt32(), D("q"), D("l"),
                D("pos").Select(x => (int)x).ToArray(), D("target").Select(x => (float)x).ToArray(),
                c.GetProperty("loss").GetDouble(), D("grad_q"), D("grad_l")));
        }
        return list;
    }

    private static Tensor SimOf(Tensor q, Tensor l) =>
        nn.functional.normalize(q, dim: 1).matmul(nn.functional.normalize(l, dim: 1).t());

    private static LabelBatch BatchOf(Case c) =>
        new(Enumerable.Range(0, c.B).ToArray(), Enumerable.Range(0, c.L).ToArray(), c.Pos, c.Target);

    [Fact]
    public void MatchesDebianPyTorchReferenceLossAndGradients()
    {
        var cases = Cases();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            using var scope = NewDisposeScope();
            var q = tensor(c.Q, [c.B, c.D], requires_grad: true);
            var l = tensor(c.Lv, [c.L, c.D], requires_grad: true);
            var loss = new InfoNceLoss(Cfg(c.Temperature, c.L2q)).Forward(SimOf(q, l), BatchOf(c));
            Assert.Equal(c.Loss, loss.ToDouble(), 10);
            loss.backward();
            var gq = q.grad!.ToArray<double>();
            var gl = l.grad!.ToArray<double>();
            for (int i = 0; i < gq.Length; i++) Assert.Equal(c.GradQ[i], gq[i], 10);
            for (int i = 0; i < gl.Length; i++) Assert.Equal(c.GradL[i], gl[i], 10);
        }
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        foreach (var c in Cases())
        {
            var cfg = Cfg(c.Temperature, c.L2q);
            using var scope = NewDisposeScope();
            GradCheck.Check(l => new InfoNceLoss(cfg).Forward(SimOf(tensor(c.Q, [c.B, c.D]), l), BatchOf(c)),
                tensor(c.Lv, [c.L, c.D]), absTol: 1e-6, relTol: 1e-4, stride: 2, name: "l");
        }
    }

    [Fact]
    public void MeanPairwiseCosineMatchesBruteForce()
    {
        var rng = new Random(7);
        int n = 9, d = 5;
        var e = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            double norm = 0;
            for (int k = 0; k < d; k++) { e[i * d + k] = (float)(rng.NextDouble() - 0.3); norm += e[i * d + k] * e[i * d + k]; }
            for (int k = 0; k < d; k++) e[i * d + k] /= (float)Math.Sqrt(norm);
        }
        double sum = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j) for (int k = 0; k < d; k++) sum += (double)e[i * d + k] * e[j * d + k];
        Assert.Equal(sum / (n * (n - 1)), Trainer.MeanPairwiseCosine(e, n, d), 9);
        // n identical unit rows: fully collapsed.
        Assert.Equal(1.0, Trainer.MeanPairwiseCosine(Enumerable.Repeat(new float[] { 0.6f, 0.8f }, 4).SelectMany(x => x).ToArray(), 4, 2), 6);
    }

    [Theory]
    [InlineData("loss.temperature=0", "loss.temperature")]
    [InlineData("loss.warmup_infonce_epochs=-1", "loss.warmup_infonce_epochs")]
    public void BadLossKeysAreNamed(string set, string key)
    {
        var c = ConfigLoader.LoadText<TrainConfig>("name: x\n", "v.yaml", [set]).Value;
        var e = Assert.Throws<ConfigException>(() => c.Validate());
        Assert.StartsWith($"--set '{set}': {key}:", e.Message); // where it was set, then the key
    }

    [Fact]
    public void WarmStartWithKindInfonceIsRejectedAndKindParses()
    {
        var c = ConfigLoader.LoadText<TrainConfig>("name: x\n", "v.yaml", ["loss.kind=infonce", "loss.warmup_infonce_epochs=2"]).Value;
        Assert.Equal(LossKind.Infonce, c.Loss.Kind);
        Assert.StartsWith("--set 'loss.warmup_infonce_epochs=2': loss.warmup_infonce_epochs:", Assert.Throws<ConfigException>(() => c.Validate()).Message);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("name: x\n", "v.yaml", ["loss.kind=ntxent"]));
        Assert.Contains("not one of triplet, infonce", e.Message);
    }
}
