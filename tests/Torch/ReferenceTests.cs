using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Tests.Torch;

/// <summary>Our ops against Debian's PyTorch on the same inputs (fixture from tests/reference/gen_torch.py).</summary>
public class ReferenceTests
{
    private static Tensor R(string name) => RefFile.Ops[name];

    [Fact]
    public void Ops_match_debian_pytorch()
    {
        using var scope = NewDisposeScope();
        var x = R("in.x");
        var y = R("in.y");
        var ids = R("in.ids");
        void Check(string name, Tensor ours, double rtol = 1e-5, double atol = 1e-6) => RefFile.AssertClose(R(name), ours, rtol, atol, name);
        Check("out.matmul", x.matmul(y));
        Check("out.softmax", x.softmax(-1));
        Check("out.log_softmax", x.log_softmax(0));
        Check("out.gelu", F.gelu(x));
        Check("out.gelu_tanh", F.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh));
        Check("out.silu", F.silu(x));
        Check("out.sigmoid", x.sigmoid());
        Check("out.layer_norm", F.layer_norm(x, [6], R("in.w"), R("in.b"), 1e-12));
        Check("out.normalize", F.normalize(x, dim: -1));
        Check("out.cross_entropy", F.cross_entropy(x, ids));
        Check("out.cross_entropy_ls", F.cross_entropy(x, ids, label_smoothing: 0.1));
        var (tv, ti) = x.topk(3, 1);
        Check("out.topk_values", tv);
        Assert.Equal(R("out.topk_indices").ToArray<long>(), ti.ToArray<long>());
        Check("out.sort_values", x.sort(0, descending: true).Values);
        Check("out.cumsum", x.cumsum(1));
        Check("out.logsumexp", x.logsumexp(1));
        Check("out.norm", x.norm(1, false, 2));
        Check("out.mean_keepdim", x.mean([1L], keepdim: true));
        Check("out.var", x.var(0));
        Check("out.triu", x.triu(1));
        Check("out.erfinv", x.clamp(-0.99, 0.99).erfinv(), 1e-4, 1e-5);
        Check("out.gather", x.gather(1, ids.view(4, 1)));
        Check("out.masked_fill", x.masked_fill(x > 0.5, -1.0));
        Assert.Equal(ScalarType.BFloat16, R("out.bf16_matmul").dtype);
        Check("out.bf16_matmul", x.to(ScalarType.BFloat16).matmul(y.to(ScalarType.BFloat16)), 1e-2, 1e-2);
        Check("out.pow_rsqrt", (x.abs() + 1).pow(1.5) * (x * x + 1).rsqrt());
        Check("out.embedding", y.index_select(0, ids));
    }

    [Fact]
    public void Attention_composite_gradients_match_debian_pytorch()
    {
        using var scope = NewDisposeScope();
        var q = R("in.q").clone().requires_grad_();
        var k = R("in.k").clone().requires_grad_();
        var v = R("in.v").clone().requires_grad_();
        var causal = ones(4, 4).triu(1).to(ScalarType.Bool);
        var att = (q.matmul(k.transpose(1, 2)) / Math.Sqrt(8)).masked_fill(causal, double.NegativeInfinity).softmax(-1);
        var o = F.layer_norm(att.matmul(v), [8]);
        var loss = (F.gelu(o) * linspace(-1, 1, 8)).sum();
        loss.backward();
        RefFile.AssertClose(R("out.att_loss"), loss, what: "loss");
        RefFile.AssertClose(R("grad.q"), q.grad!, 1e-4, 1e-5, "grad.q");
        RefFile.AssertClose(R("grad.k"), k.grad!, 1e-4, 1e-5, "grad.k");
        RefFile.AssertClose(R("grad.v"), v.grad!, 1e-4, 1e-5, "grad.v");
    }

    [Fact]
    public void AdamW_with_groups_clipping_and_schedule_matches_debian_pytorch()
    {
        using var scope = NewDisposeScope();
        var W1 = nn.Parameter(R("adamw.W1.init").clone());
        var b1 = nn.Parameter(R("adamw.b1.init").clone());
        var W2 = nn.Parameter(R("adamw.W2.init").clone());
        var X = R("adamw.X.init");
        var T = R("adamw.T.init");
        using var opt = new Optim.AdamW(
            [new Optim.ParamGroup([W1, W2], weight_decay: 0.1), new Optim.ParamGroup([b1], lr: 0.05, weight_decay: 0.0)],
            lr: 0.02, beta1: 0.9, beta2: 0.98, eps: 1e-6);
        var sched = new Optim.LinearWarmupDecay(opt, warmup_steps: 2, total_steps: 6);
        var losses = new List<double>();
        var norms = new List<double>();
        for (var step = 0; step < 6; step++)
        {
            using var s = NewDisposeScope();
            opt.zero_grad();
            var h = F.gelu(X.matmul(W1.t()) + b1);
            var loss = F.cross_entropy(h.matmul(W2.t()), T);
            loss.backward();
            norms.Add(nn.utils.clip_grad_norm_([W1, b1, W2], 1.0));
            opt.step();
            sched.step();
            losses.Add(loss.ToDouble());
        }
        var refLoss = R("adamw.losses").ToArray<double>();
        var refNorm = R("adamw.grad_norms").ToArray<double>();
        for (var i = 0; i < 6; i++)
        {
            Assert.True(Math.Abs(refLoss[i] - losses[i]) < 1e-10, $"loss {i}: PyTorch {refLoss[i]}, ours {losses[i]}");
            Assert.True(Math.Abs(refNorm[i] - norms[i]) < 1e-10, $"grad norm {i}: PyTorch {refNorm[i]}, ours {norms[i]}");
        }
        RefFile.AssertClose(R("adamw.W1.final"), W1, 1e-9, 1e-11, "W1");
        RefFile.AssertClose(R("adamw.b1.final"), b1, 1e-9, 1e-11, "b1");
        RefFile.AssertClose(R("adamw.W2.final"), W2, 1e-9, 1e-11, "W2");
        var sd = opt.state_dict();
        RefFile.AssertClose(R("adamw.W1.exp_avg"), sd["state.0.exp_avg"], 1e-9, 1e-12, "exp_avg");
        RefFile.AssertClose(R("adamw.W1.exp_avg_sq"), sd["state.0.exp_avg_sq"], 1e-9, 1e-14, "exp_avg_sq");
    }
}
