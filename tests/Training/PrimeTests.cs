using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Prime;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Training;

/// <summary>PRIME's label side and loss against tests/reference/gen_prime.py (Debian PyTorch 1.13, whose combiner is
/// torch.nn.TransformerEncoderLayer itself), plus hand cases for the pure parts.</summary>
public class PrimeTests
{
    private static readonly string[] TorchNames =
    [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    ];

    private static JsonElement Fixture(string name) =>
        JsonDocument.Parse(File.ReadAllText(Repo.Fixture("prime", name))).RootElement;

    private static double[] D(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();
    private static int I(JsonElement e, string name) => e.GetProperty(name).GetInt32();
    private static long[] L(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0; int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; at = i; }
        }
        Assert.True(worst <= tol, $"{what}: max |diff| {worst:E3} at {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]}) > {tol:E1}");
    }

    /// <summary>A label side whose columns are labels 0..C−1, with the case's layer, bank, map and centroids, in dtype.</summary>
    private static PrimeLabelSide SideOf(JsonElement c, ScalarType dtype)
    {
        int e = I(c, "E"), cols = I(c, "C");
        var side = new PrimeLabelSide(e, I(c, "heads"), I(c, "ffn"), 0.1, I(c, "n_free"), cols, seed: 1);
        var p = c.GetProperty("params");
        var sd = side.combiner.state_dict();
        using (no_grad())
        {
            foreach (var name in TorchNames)
            {
                using var t = tensor(D(p, name), sd[name].shape, dtype: float32);
                sd[name].copy_(t);
            }
        }
        side.SetAssignment(L(c, "col_free").Select(x => (int)x).ToArray());
        side.SetCentroids(D(c, "centroids").Select(x => (float)x).ToArray());
        side.SetFreeVectors(D(c, "free_vectors").Select(x => (float)x).ToArray());
        side.to(dtype);
        if (dtype == float64)
            using (no_grad())
            {
                // Re-copy in double precision (the float32 staging above rounded them).
                var sd64 = side.combiner.state_dict();
                foreach (var name in TorchNames) sd64[name].copy_(tensor(D(p, name), sd64[name].shape, dtype: float64));
                side.free_vectors.copy_(tensor(D(c, "free_vectors"), side.free_vectors.shape, dtype: float64));
                side.CentroidBank.copy_(tensor(D(c, "centroids"), side.CentroidBank.shape, dtype: float64));
            }
        side.eval();
        return side;
    }

    private static LossConfig LossCfg(JsonElement c, TieRule rule) => new()
    {
        TopK = I(c, "k"), Margin = MarginKind.Dynamic, MarginMin = c.GetProperty("margin_min").GetDouble(),
        MarginMax = c.GetProperty("margin_max").GetDouble(), Aggressive = true, Tau = c.GetProperty("tau").GetDouble(),
        LabelToQuery = c.GetProperty("label_to_query").GetDouble(), RegWeight = c.GetProperty("reg_weight").GetDouble(),
        TieRule = rule,
    };

    [Fact]
    public void CombinerRegistersPyTorchStateDictNamesAndShapes()
    {
        using var side = new PrimeLabelSide(64, 8, 1024, 0.1, 16, 40, seed: 3);
        var sd = side.combiner.state_dict();
        Assert.Equal(TorchNames.Order(), sd.Keys.Order());
        Assert.Equal([192L, 64], sd["self_attn.in_proj_weight"].shape);
        Assert.Equal([192L], sd["self_attn.in_proj_bias"].shape);
        Assert.Equal([64L, 64], sd["self_attn.out_proj.weight"].shape);
        Assert.Equal([1024L, 64], sd["linear1.weight"].shape);
        Assert.Equal([64L, 1024], sd["linear2.weight"].shape);
        Assert.Equal(TorchNames.Concat(["free_vectors", "label_free_vector", "centroids"]).Order(), side.FileStateDict().Select(kv => kv.Key).Order());
        Assert.Equal(["combiner.", "free_vectors"], side.named_parameters().Select(p => p.name.StartsWith("combiner.") ? "combiner." : p.name).Distinct().Order());
        // PyTorch's init: zero attention biases, unit LayerNorm, xavier bound on the packed projection and the bank.
        Assert.Equal(0, sd["self_attn.in_proj_bias"].abs().max().ToSingle());
        Assert.Equal(1, sd["norm1.weight"].min().ToSingle());
        Assert.True(sd["self_attn.in_proj_weight"].abs().max().ToDouble() <= Math.Sqrt(6.0 / (64 + 192)));
        Assert.True(side.free_vectors.abs().max().ToDouble() <= Math.Sqrt(6.0 / (16 + 64)));
        // Seeded: the same seed gives the same weights, another seed others.
        using var same = new PrimeLabelSide(64, 8, 1024, 0.1, 16, 40, seed: 3);
        using var other = new PrimeLabelSide(64, 8, 1024, 0.1, 16, 40, seed: 4);
        Assert.True(same.combiner.state_dict()["linear1.weight"].equal_all(sd["linear1.weight"]));
        Assert.True(same.free_vectors.equal_all(side.free_vectors));
        Assert.False(other.combiner.state_dict()["linear1.weight"].equal_all(sd["linear1.weight"]));
    }

    [Fact]
    public void CombinerForwardMatchesTorchTransformerEncoderLayer()
    {
        int n = 0;
        foreach (var c in Fixture("loss.json").GetProperty("cases").EnumerateArray())
        {
            foreach (var dtype in new[] { float64, float32 })
            {
                using var scope = NewDisposeScope();
                using var side = SideOf(c, dtype);
                var u = tensor(D(c, "u"), [I(c, "C"), I(c, "E")], dtype: dtype);
                var e = side.Enrich(u, arange(I(c, "C"), dtype: int64));
                AssertClose(D(c, "enriched"), e.to(float64).ToArray<double>(), dtype == float64 ? 1e-10 : 1e-5, $"case {n} {dtype}");
            }
            n++;
        }
        Assert.Equal(3, n);
    }

    private static (double[] Terms, Dictionary<string, double[]> Grads) RunLoss(JsonElement c, TieRule rule, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        int b = I(c, "B"), cols = I(c, "C"), e = I(c, "E");
        using var side = SideOf(c, dtype);
        var q = tensor(D(c, "q"), [b, e], dtype: dtype).requires_grad_(true);
        var u = tensor(D(c, "u"), [cols, e], dtype: dtype).requires_grad_(true);
        var r = nn.functional.normalize(u, dim: 1);
        var en = side.Enrich(u, arange(cols, dtype: int64));
        var target = tensor(D(c, "target"), [b, cols], dtype: dtype);
        using var pos = new PrimePositives(tensor(L(c, "pos_u")), tensor(L(c, "pos_i")), tensor(L(c, "pos_uv")), tensor(L(c, "pos_r")));
        var t = new PrimeLoss(LossCfg(c, rule)).Forward(q, r, en, target, pos);
        t.Total.backward();
        var grads = new Dictionary<string, double[]>
        {
            ["q"] = q.grad!.to(float64).ToArray<double>(),
            ["u"] = u.grad!.to(float64).ToArray<double>(),
            ["free_vectors"] = side.free_vectors.grad!.to(float64).ToArray<double>(),
        };
        foreach (var (name, p) in side.combiner.named_parameters()) grads[name] = p.grad!.to(float64).ToArray<double>();
        return ([t.Total.ToDouble(), t.Lu.ToDouble(), t.Li.ToDouble(), t.Luv.ToDouble(), t.Lr.ToDouble()], grads);
    }

    [Theory]
    [InlineData("half", "float64")]
    [InlineData("zero", "float64")]
    [InlineData("half", "float32")]
    [InlineData("zero", "float32")]
    public void LossTermsAndGradientsMatchDebianPyTorch(string rule, string dtypeName)
    {
        var dtype = dtypeName == "float64" ? float64 : float32;
        double tol = dtype == float64 ? 1e-10 : 1e-5;
        int n = 0;
        foreach (var c in Fixture("loss.json").GetProperty("cases").EnumerateArray())
        {
            var exp = c.GetProperty(rule);
            var (terms, grads) = RunLoss(c, rule == "half" ? TieRule.Half : TieRule.Zero, dtype);
            string[] names = ["total", "loss_u", "loss_i", "loss_uv", "loss_r"];
            for (int i = 0; i < names.Length; i++)
                Assert.True(Math.Abs(exp.GetProperty(names[i]).GetDouble() - terms[i]) <= tol,
                    $"case {n} {rule} {dtypeName} {names[i]}: expected {exp.GetProperty(names[i]).GetDouble()}, got {terms[i]}");
            var eg = exp.GetProperty("grads");
            Assert.Equal(TorchNames.Concat(["q", "u", "free_vectors"]).Order(), eg.EnumerateObject().Select(p => p.Name).Order());
            foreach (var p in eg.EnumerateObject())
                AssertClose(p.Value.EnumerateArray().Select(x => x.GetDouble()).ToArray(), grads[p.Name], tol, $"case {n} {rule} {dtypeName} grad {p.Name}");
            n++;
        }
        Assert.Equal(3, n);
    }

    [Fact]
    public void FixtureCasesHaveTieRowsAndTheTieRuleChangesGradients()
    {
        // The fixture is only a test of the tie rule if ties occur; gen_prime.py asserts it, this re-checks the file.
        int[] ties = new int[3];
        foreach (var c in Fixture("loss.json").GetProperty("cases").EnumerateArray())
        {
            var t = c.GetProperty("tie_rows");
            ties[0] += I(t, "u"); ties[1] += I(t, "i"); ties[2] += I(t, "uv");
            Assert.True(c.GetProperty("rule_grad_max_diff").GetDouble() > 1e-6);
            Assert.True(c.GetProperty("fd_max_abs_error").GetDouble() < 1e-6);
        }
        Assert.All(ties, t => Assert.True(t > 0));
    }

    [Fact]
    public void TieRowHandCase()
    {
        // One row, positive column 0 at 0.9; negatives 0.75 (d = .15, band), 0.65 (d = .25, band), 0.5 (d = .4); k = 2.
        // No slot violates, so the loss is exactly 0 and the weights are uniform (1/2). half: each band slot passes ½·½
        // to s_n and −½·½ to s_p; zero: nothing.
        foreach (var rule in new[] { TieRule.Half, TieRule.Zero })
        {
            using var scope = NewDisposeScope();
            var s = tensor(new double[] { 0.9, 0.75, 0.65, 0.5 }, [1, 4], requires_grad: true);
            var loss = new PrimeLoss(new LossConfig { TopK = 2, TieRule = rule }).Triplet(s, tensor(new[] { true, false, false, false }, [1, 4]), tensor(new long[] { 0 }));
            Assert.Equal(0.0, loss.ToDouble());
            loss.backward();
            var g = s.grad!.ToArray<double>();
            double[] expected = rule == TieRule.Half ? [-0.5, 0.25, 0.25, 0] : [0, 0, 0, 0];
            Assert.Equal(expected, g);
        }
    }

    [Fact]
    public void RegulariserHandCase()
    {
        // Raw sims row 0: [.8, .3, .2]; enriched [.75, .35, .05]; positive col 0; k = 2 negatives by the enriched score
        // (cols 1, 2). P = max(0, .8 − .75 + .1) = .15; N = [max(0, .35 − .3 + .1) = .15, max(0, .05 − .2 + .1) = 0].
        // L_r = ½(.15/1 + .15/1) = .15.
        using var scope = NewDisposeScope();
        var si = tensor(new double[] { 0.8, 0.3, 0.2 }, [1, 3], requires_grad: true);
        var sf = tensor(new double[] { 0.75, 0.35, 0.05 }, [1, 3], requires_grad: true);
        var loss = new PrimeLoss(new LossConfig { TopK = 2 }).Regulariser(si, sf, tensor(new[] { true, false, false }, [1, 3]), tensor(new long[] { 0 }));
        Assert.Equal(0.15, loss.ToDouble(), 12);
        loss.backward();
        Assert.Equal([0.5, -0.5, 0], si.grad!.ToArray<double>().Select(x => Math.Round(x, 12)));
        Assert.Equal([-0.5, 0.5, 0], sf.grad!.ToArray<double>().Select(x => Math.Round(x, 12)));
        // Nothing to regularise: both parts 0, no gradient, no NaN.
        var si2 = tensor(new double[] { 0.5, 0.1, 0.0 }, [1, 3], requires_grad: true);
        var sf2 = tensor(new double[] { 1.0, -0.5, -0.5 }, [1, 3], requires_grad: true);
        var l2 = new PrimeLoss(new LossConfig { TopK = 2 }).Regulariser(si2, sf2, tensor(new[] { true, false, false }, [1, 3]), tensor(new long[] { 0 }));
        Assert.Equal(0.0, l2.ToDouble());
        l2.backward();
        Assert.All(si2.grad!.ToArray<double>().Concat(sf2.grad!.ToArray<double>()), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void PositiveDrawsPerTermAndFixed()
    {
        // 3 queries × 2 columns; query 0 has both columns, 1 only column 1, 2 only column 0.
        float[] y = [1, 1, 0, 1, 1, 0];
        var seen = new HashSet<(int, long)>();
        var rng = new Rng(5);
        for (int t = 0; t < 200; t++)
        {
            using var p = PrimeLoss.Draw(y, 3, 2, [0, 1, 0], LossPositives.PerTerm, rng, CPU);
            foreach (var (row, col) in p.U.ToArray<long>().Select((c, r) => (r, c))) { Assert.Equal(1f, y[row * 2 + col]); seen.Add((row, col)); }
            foreach (var (col, row) in p.I.ToArray<long>().Select((r, c) => (c, r))) Assert.Equal(1f, y[row * 2 + col]);
        }
        Assert.Contains((0, 0L), seen);
        Assert.Contains((0, 1L), seen);
        // The four terms draw independently: over many steps L_u and L_uv disagree for query 0 sometimes.
        var r2 = new Rng(9);
        int differ = 0;
        for (int t = 0; t < 100; t++)
        {
            using var p = PrimeLoss.Draw(y, 3, 2, [0, 1, 0], LossPositives.PerTerm, r2, CPU);
            if (p.U[0].ToInt64() != p.Uv[0].ToInt64()) differ++;
        }
        Assert.InRange(differ, 20, 80);
        using var f = PrimeLoss.Draw(y, 3, 2, [1, 1, 0], LossPositives.Fixed, rng, CPU);
        Assert.Equal([1L, 1, 0], f.U.ToArray<long>());
        Assert.Equal([2L, 0], f.I.ToArray<long>());   // column 0 first drawn by query 2, column 1 by query 0
        Assert.Equal(f.U.ToArray<long>(), f.R.ToArray<long>());
        Assert.Throws<ArgumentException>(() => PrimeLoss.DrawRows([0, 0, 1, 1], 2, 2, false, rng));
    }

    [Fact]
    public void LabelSideWrittenByPyTorchLoadsAndGivesTheSameEnrichedVectors()
    {
        var j = Fixture("label_side.json");
        using var side = PrimeLabelSide.Load(Repo.Fixture("prime", "label_side.safetensors"), I(j, "heads"));
        Assert.Equal(I(j, "labels"), side.NumLabels);
        Assert.Equal(I(j, "n_free"), side.NumFree);
        using var scope = NewDisposeScope();
        var u = tensor(D(j, "lbl_u").Select(x => (float)x).ToArray(), [I(j, "labels"), I(j, "E")]);
        var e = side.Enrich(u, arange(I(j, "labels"), dtype: int64));
        AssertClose(D(j, "enriched"), e.to(float64).ToArray<double>(), 1e-5, "enriched from the PyTorch file");
        // Our own file of the same label side round-trips bit for bit.
        var dir = Repo.TempDir("prime-ls");
        try
        {
            var path = Path.Combine(dir, PrimeLabelSide.FileName);
            side.Save(path);
            using var back = PrimeLabelSide.Load(path, I(j, "heads"));
            foreach (var (k, v) in side.FileStateDict())
                Assert.True(back.FileStateDict().Single(kv => kv.Key == k).Value.equal_all(v), k);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void LabelSideFileErrorsNameTheFileAndTheKey()
    {
        var dir = Repo.TempDir("prime-ls-bad");
        try
        {
            using var side = new PrimeLabelSide(16, 8, 32, 0.1, 4, 10, seed: 1);
            var all = side.FileStateDict().ToList();
            string Write(string name, IEnumerable<KeyValuePair<string, Tensor>> t) { var p = Path.Combine(dir, name); TensorFile.Save(p, t); return p; }
            var missing = Write("missing.safetensors", all.Where(kv => kv.Key != "norm2.bias"));
            Assert.Contains("missing norm2.bias", Assert.Throws<InvalidDataException>(() => PrimeLabelSide.Load(missing, 8)).Message);
            var extra = Write("extra.safetensors", all.Append(KeyValuePair.Create("weight", zeros(2))));
            Assert.Contains("unexpected weight", Assert.Throws<InvalidDataException>(() => PrimeLabelSide.Load(extra, 8)).Message);
            var shape = Write("shape.safetensors", all.Select(kv => kv.Key == "centroids" ? KeyValuePair.Create(kv.Key, zeros(10, 15)) : kv));
            Assert.Contains("centroids has shape [10, 15]", Assert.Throws<InvalidDataException>(() => PrimeLabelSide.Load(shape, 8)).Message);
            var range = Write("range.safetensors", all.Select(kv => kv.Key == "label_free_vector" ? KeyValuePair.Create(kv.Key, full(10, 7L, dtype: int64)) : kv));
            var e = Assert.Throws<InvalidDataException>(() => PrimeLabelSide.Load(range, 8));
            Assert.Contains("range.safetensors", e.Message);
            Assert.Contains("label_free_vector holds 7", e.Message);
            Assert.Contains("not a multiple", Assert.Throws<InvalidDataException>(() => PrimeLabelSide.Load(missing.Replace("missing", "extra"), 3)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DropoutActsOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        using var side = new PrimeLabelSide(16, 8, 32, 0.5, 4, 6, seed: 2);
        var u = randn(6, 16);
        var labels = arange(6, dtype: int64);
        side.eval();
        var a = side.Enrich(u, labels);
        Assert.True(a.equal_all(side.Enrich(u, labels)));
        side.train();
        var b = side.Enrich(u, labels);
        Assert.False(a.allclose(b, 1e-4, 1e-4));
        // Unit vectors, and the token order does not matter (no positions).
        Assert.True(a.norm(1).sub(1).abs().max().ToDouble() < 1e-5);
        side.eval();
        var free = side.free_vectors.index_select(0, side.LabelFreeVector);
        var permuted = side.combiner.forward(side.CentroidBank, u, free);
        Assert.True(a.allclose(permuted, 1e-5, 1e-6));
    }

    [Theory]
    [InlineData(0, 131_073, 65_536)]
    [InlineData(0, 1_305_265, 524_288)]
    [InlineData(0, 60, 32)]
    [InlineData(0, 100, 64)]
    [InlineData(0, 1, 1)]
    [InlineData(0, 6, 4)]
    [InlineData(3, 10, 4)]
    [InlineData(64, 64, 64)]
    [InlineData(65_536, 131_073, 65_536)]
    public void FreeVectorCount(int requested, int labels, int expected) => Assert.Equal(expected, FreeVectors.Count(requested, labels));

    [Fact]
    public void FreeVectorCountAboveTheLabelsIsAnErrorNamingTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => FreeVectors.Count(100, 120));
        Assert.StartsWith("label_side.free_vectors: 100 (rounded up to the power of two 128)", e.Message);
    }

    [Fact]
    public void AssignmentIsBalancedSeededAndGroupsNeighbours()
    {
        // Four tight groups of four labels around the four axis directions of R^4, plus noise: four free vectors must
        // take one group each.
        var rng = new Rng(3);
        int n = 16, dim = 4;
        var x = new float[n * dim];
        for (int l = 0; l < n; l++)
            for (int d = 0; d < dim; d++) x[l * dim + d] = (d == l % 4 ? 1f : 0f) + 0.05f * (float)rng.NextGaussian();
        var a = FreeVectors.Assign(x, n, dim, 4, seed: 11);
        for (int l = 0; l < n; l++) Assert.Equal(a[l % 4], a[l]);
        Assert.Equal(4, a.Distinct().Count());
        Assert.Equal(a, FreeVectors.Assign(x, n, dim, 4, seed: 11));
        // Balanced for odd counts: 131 labels into 64 vectors → sizes 2 or 3.
        var y = new float[131 * 8];
        for (int i = 0; i < y.Length; i++) y[i] = (float)rng.NextGaussian();
        var b = FreeVectors.Assign(y, 131, 8, 64, seed: 1);
        var sizes = b.GroupBy(k => k).Select(g => g.Count()).ToList();
        Assert.Equal(64, sizes.Count);
        Assert.All(sizes, s => Assert.InRange(s, 2, 3));
        Assert.Throws<ArgumentException>(() => FreeVectors.Assign(y, 131, 8, 48, seed: 1));
    }

    [Fact]
    public void MeanInitAveragesNormalisedMembers()
    {
        float[] x = [3, 0, 0, 2, 1, 1];   // three labels in R^2: (3,0), (0,2), (1,1)
        var m = FreeVectors.MeanInit(x, 3, 2, [0, 0, 1], 2);
        Assert.Equal([0.5f, 0.5f, (float)(1 / Math.Sqrt(2)), (float)(1 / Math.Sqrt(2))], m);
    }

    [Fact]
    public void ExactCentroidsMatchTheReference()
    {
        var j = Fixture("centroids.json");
        var labels = j.GetProperty("row_labels").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
        var indptr = new int[labels.Length + 1];
        for (int i = 0; i < labels.Length; i++) indptr[i + 1] = indptr[i] + labels[i].Length;
        var indices = labels.SelectMany(x => x).ToArray();
        var bank = D(j, "bank").Select(x => (float)x).ToArray();
        var c = Centroids.Exact(bank, I(j, "E"), Enumerable.Range(0, labels.Length).ToArray(), indptr, indices, I(j, "labels"));
        AssertClose(D(j, "exact"), c.Select(x => (double)x).ToArray(), 1e-6, "centroids");
        // A bank over a subset of the training rows (data.max_train): bank row j is training row rows[j].
        var sub = Centroids.Exact(bank.AsSpan(4 * 4, 4 * 4), 4, [4, 5, 6, 7], indptr, indices, I(j, "labels"));
        // Label 4 is on rows 4, 5 and 7 of that subset.
        Assert.Equal(Enumerable.Range(0, 4).Select(d => (bank[4 * 4 + d] + bank[5 * 4 + d] + bank[7 * 4 + d]) / 3f).ToArray(),
            sub.AsSpan(4 * 4, 4).ToArray(), new FloatTol(1e-6f));
    }

    private sealed class FloatTol(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float v) => 0;
    }

    [Fact]
    public void EmaUpdateAndRefreshSchedule()
    {
        using var scope = NewDisposeScope();
        var c = ones(4, 2);
        Centroids.EmaUpdate(c, tensor(new long[] { 2, 0 }), tensor(new float[] { 0, 2, 3, 3 }, [2, 2]));
        Assert.Equal([0.95f + 0.15f, 0.95f + 0.15f, 1, 1, 0.95f, 0.95f + 0.1f, 1, 1], c.ToArray<float>(), new FloatTol(1e-6f));
        Assert.Equal(CentroidRefresh.FromStaleBank, Centroids.AtEpochEnd(CentroidUpdate.Stale, 1, 3));
        Assert.Equal(CentroidRefresh.FreshPass, Centroids.AtEpochEnd(CentroidUpdate.Stale, 3, 3));
        Assert.Equal(CentroidRefresh.FreshPass, Centroids.AtEpochEnd(CentroidUpdate.Exact, 1, 3));
        Assert.Equal(CentroidRefresh.None, Centroids.AtEpochEnd(CentroidUpdate.Ema, 3, 3));
        Assert.Equal(CentroidRefresh.None, Centroids.AtEpochEnd(CentroidUpdate.Static, 3, 3));
    }

    [Fact]
    public void ConfigKeysValidateAndPlainStaysToday()
    {
        var plain = ConfigLoader.LoadText<TrainConfig>("name: t\n", "t.yaml").Value;
        Assert.Equal(LabelSideKind.Plain, plain.LabelSide.Kind);
        plain.Validate();
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("loss: {tie_rule: zero}\n", "t.yaml").Value.Validate());
        Assert.Contains("loss.tie_rule", e.Message);
        Assert.Contains("t.yaml:1", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("label_side: {kind: prime}\nloss: {kind: infonce}\n", "t.yaml").Value.Validate());
        Assert.Contains("loss.kind", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("label_side: {kind: prime, heads: 5}\n", "t.yaml").Value.Validate());
        Assert.Contains("label_side.heads", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("label_side: {kind: prime, dropout: 1}\n", "t.yaml").Value.Validate());
        Assert.Contains("label_side.dropout", e.Message);
        Assert.Throws<ConfigException>(() => ConfigLoader.LoadText<TrainConfig>("label_side: {centroids: fresh}\n", "t.yaml"));
        var prime = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "ci-prime.yaml")).Value;
        Assert.Equal(LabelSideKind.Prime, prime.LabelSide.Kind);
        Assert.Equal(TieRule.Half, prime.Loss.TieRule);
        Assert.Equal(LossPositives.PerTerm, prime.Loss.Positives);
        Assert.Equal(CentroidUpdate.Stale, prime.LabelSide.Centroids);
        prime.Validate();
    }
}
