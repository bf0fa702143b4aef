using ViXml.Torch;
using static ViXml.Torch.torch;
using F = ViXml.Torch.torch.nn.functional;

namespace ViXml.Tests.Torch;

/// <summary>Analytic gradients (backward) against central finite differences, all in float64.</summary>
public class AutogradTests
{
    private static void GradCheck(Func<Tensor, Tensor> f, Tensor x0, double h = 1e-6, double tol = 1e-6) =>
        TestSupport.GradCheck.Check(f, x0, h, absTol: tol, relTol: tol);

    private static Tensor X(params long[] shape)
    {
        using var g = new Generator(1234 + shape.Sum());
        return randn(shape, DType.float64, generator: g).DetachFromDisposeScope();
    }

    // a fixed "upstream" weighting so every output element matters to the scalar under test
    private static Tensor W(long[] shape) => X(shape) ;

    [Fact] public void Grad_exp_log_sqrt() => GradCheck(x => (x.exp() + (x * x + 1).log() + (x * x + 0.5).sqrt()).mul(W([3, 4])).sum(), X(3, 4));
    [Fact] public void Grad_tanh_sigmoid() => GradCheck(x => (x.tanh() * 2 + x.sigmoid()).mul(W([3, 4])).sum(), X(3, 4));
    [Fact] public void Grad_gelu_erf() => GradCheck(x => x.gelu().mul(W([3, 4])).sum(), X(3, 4));
    [Fact] public void Grad_gelu_tanh() => GradCheck(x => x.gelu("tanh").mul(W([3, 4])).sum(), X(3, 4));
    [Fact] public void Grad_silu_relu() => GradCheck(x => (x.silu() + x.relu() * 0.5).mul(W([3, 4])).sum(), X(3, 4));
    [Fact] public void Grad_softmax() => GradCheck(x => x.softmax(-1).mul(W([3, 5])).sum(), X(3, 5));
    [Fact] public void Grad_log_softmax() => GradCheck(x => x.log_softmax(1).mul(W([3, 5])).sum(), X(3, 5));
    [Fact] public void Grad_pow_rsqrt_div() => GradCheck(x => ((x * x + 1).rsqrt() + x.pow(3) / (x.abs() + 2)).mul(W([2, 3])).sum(), X(2, 3));
    [Fact] public void Grad_cos_sin() => GradCheck(x => (x.cos() * x.sin()).mul(W([4])).sum(), X(4));

    [Fact]
    public void Grad_matmul_and_bmm()
    {
        var b = X(4, 2);
        GradCheck(x => x.matmul(b).mul(W([3, 2])).sum(), X(3, 4));
        var c = X(2, 4, 3);
        GradCheck(x => x.bmm(c).square().sum(), X(2, 3, 4));
    }

    [Fact]
    public void Grad_layer_norm()
    {
        var w = X(5);
        var bias = X(5);
        GradCheck(x => F.layer_norm(x, [5], w, bias, 1e-5).mul(W([3, 5])).sum(), X(3, 5), tol: 1e-5);
        // and with respect to the weight
        var input = X(3, 5);
        GradCheck(wt => F.layer_norm(input, [5], wt, bias, 1e-5).mul(W([3, 5])).sum(), X(5));
    }

    [Fact]
    public void Grad_normalize_and_cosine()
    {
        GradCheck(x => F.normalize(x, dim: 1).mul(W([3, 4])).sum(), X(3, 4));
        var other = X(3, 4);
        GradCheck(x => F.cosine_similarity(x, other).mul(W([3])).sum(), X(3, 4));
    }

    [Fact]
    public void Grad_cross_entropy_and_linear()
    {
        var tgt = tensor(new long[] { 0, 3, 1 });
        GradCheck(x => F.cross_entropy(x, tgt), X(3, 4));
        GradCheck(x => F.cross_entropy(x, tgt, label_smoothing: 0.1), X(3, 4));
        var inp = X(3, 5);
        var bias = X(4);
        GradCheck(w => F.cross_entropy(F.linear(inp, w, bias), tgt), X(4, 5));
    }

    [Fact]
    public void Grad_reductions_and_indexing()
    {
        GradCheck(x => x.mean(1).mul(W([3])).sum() + x.norm(), X(3, 4));
        GradCheck(x => x.max(1).values.mul(W([3])).sum(), X(3, 4));
        GradCheck(x => x.logsumexp(1).mul(W([3])).sum(), X(3, 4));
        GradCheck(x => x.cumsum(1).mul(W([3, 4])).sum(), X(3, 4));
        var idx = tensor(new long[] { 2, 0, 2 });
        GradCheck(x => x.index_select(0, idx).mul(W([3, 4])).sum(), X(3, 4));
        GradCheck(x => x.gather(1, tensor(new long[] { 1, 0, 3 }, [3, 1])).mul(W([3, 1])).sum(), X(3, 4));
        var mask = X(3, 4) > 0;
        GradCheck(x => x.masked_fill(mask, 0.0).mul(W([3, 4])).sum(), X(3, 4));
        GradCheck(x => where(mask, x * 2, x.exp()).mul(W([3, 4])).sum(), X(3, 4));
    }

    [Fact]
    public void Grad_embedding_weight()
    {
        var ids = tensor(new long[] { 1, 3, 1, 0 });
        GradCheck(w => F.embedding(ids, w).mul(W([4, 3])).sum(), X(5, 3));
    }

    [Fact]
    public void Grad_attention_composite()
    {
        // softmax(Q Kᵀ / √d + causal mask) V with the gradient taken wrt Q
        var k = X(1, 4, 3);
        var v = X(1, 4, 3);
        var causal = ones(4, 4).triu(1).to(DType.bool_);
        GradCheck(q =>
        {
            var scores = q.matmul(k.transpose(1, 2)) / Math.Sqrt(3);
            return scores.masked_fill(causal, double.NegativeInfinity).softmax(-1).matmul(v).mul(W([1, 4, 3])).sum();
        }, X(1, 4, 3));
    }

    [Fact]
    public void Backward_with_gradient_argument_accumulates_and_no_grad_records_nothing()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 1, 2, 3 }, requires_grad: true);
        var y = x * x;
        y.backward(tensor(new double[] { 1, 10, 100 }));
        Assert.Equal(new double[] { 2, 40, 600 }, x.grad!.ToArray<double>());
        (x * 3).sum().backward();
        Assert.Equal(new double[] { 5, 43, 603 }, x.grad!.ToArray<double>());
        x.zero_grad();
        Assert.Null(x.grad);
        using (no_grad())
        {
            Assert.False(is_grad_enabled());
            Assert.False((x * 2).requires_grad);
        }
        Assert.True(is_grad_enabled());
        Assert.True((x * 2).requires_grad);
        Assert.False((x * 2).detach().requires_grad);
        Assert.True(x.is_leaf);
    }
}
