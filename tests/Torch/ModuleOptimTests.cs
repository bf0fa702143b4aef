using ViXml.Torch;
using static ViXml.Torch.torch;
using F = ViXml.Torch.torch.nn.functional;

namespace ViXml.Tests.Torch;

public class ModuleOptimTests
{
    // A tiny HF-shaped module tree: names must come out as "encoder.layer.0.dense.weight" etc.
    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        public readonly nn.Linear dense;
        public readonly nn.LayerNorm LayerNorm;
        public readonly nn.Dropout dropout;
        public Block(long h)
        {
            dense = register_module("dense", new nn.Linear(h, h));
            LayerNorm = register_module("LayerNorm", new nn.LayerNorm(h, 1e-12));
            dropout = register_module("dropout", new nn.Dropout(0.1));
        }
        public override Tensor forward(Tensor x) => LayerNorm.call(dropout.call(dense.call(x)) + x);
    }

    private sealed class Encoder : nn.Module<Tensor, Tensor>
    {
        public readonly nn.Embedding word_embeddings;
        public readonly nn.ModuleList<Block> layer;
        public readonly Tensor position_ids;
        public Encoder(long vocab = 10, long h = 4, int n = 2)
        {
            word_embeddings = register_module("word_embeddings", new nn.Embedding(vocab, h, padding_idx: 0));
            layer = register_module("layer", new nn.ModuleList<Block>(Enumerable.Range(0, n).Select(_ => new Block(h))));
            position_ids = register_buffer("position_ids", arange(8).unsqueeze(0));
        }
        public override Tensor forward(Tensor ids)
        {
            var x = word_embeddings.call(ids);
            foreach (var l in layer) x = l.call(x);
            return x;
        }
    }

    [Fact]
    public void Names_state_dict_and_modes()
    {
        using var m = new Encoder();
        var names = m.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(new[] { "word_embeddings.weight", "layer.0.dense.weight", "layer.0.dense.bias", "layer.0.LayerNorm.weight",
            "layer.0.LayerNorm.bias", "layer.1.dense.weight", "layer.1.dense.bias", "layer.1.LayerNorm.weight", "layer.1.LayerNorm.bias" }, names);
        Assert.Contains("position_ids", m.state_dict().Keys);
        Assert.Equal(10 * 4 + 2 * (16 + 4 + 4 + 4), m.num_parameters());
        Assert.Equal(new float[] { 0, 0, 0, 0 }, m.word_embeddings.weight[0].ToArray<float>());
        Assert.Same(m.layer[1].dense, m.named_modules().Single(x => x.name == "layer.1.dense").module);
        Assert.Same(m.layer[1].dense, m.get_submodule("layer.1.dense"));
        Assert.True(m.layer[0].dropout.training);
        m.eval();
        Assert.False(m.layer[0].dropout.training);
        m.train();
        Assert.True(m.layer[1].training);
        m.requires_grad_(false);
        Assert.All(m.parameters(), p => Assert.False(p.requires_grad));
        Assert.Same(m.layer[1].dense.weight, m.get_parameter("layer.1.dense.weight"));
    }

    [Fact]
    public void Decay_groups_split_biases_and_layer_norm_weights()
    {
        using var m = new Encoder();
        m.word_embeddings.requires_grad_(false);
        var groups = optim.decay_groups(m, 0.01);
        var names = m.named_parameters().ToDictionary(x => x.param, x => x.name); // Tensor equality is reference equality
        Assert.Equal(["layer.0.dense.weight", "layer.1.dense.weight"], groups[0].@params.Select(p => names[p]));
        Assert.Equal(6, groups[1].@params.Count);
        Assert.All(groups[1].@params, p => Assert.Matches("bias|LayerNorm.weight", names[p]));
        using var opt = new optim.AdamW(groups, lr: 1e-3, weight_decay: 0.5);
        Assert.Equal(0.01, opt.param_groups[0].weight_decay);
        Assert.Equal(0.0, opt.param_groups[1].weight_decay);
    }

    [Fact]
    public void Load_state_dict_is_strict_and_names_every_bad_key()
    {
        using var a = new Encoder();
        using var b = new Encoder();
        using var scope = NewDisposeScope();
        // a good copy makes the outputs equal
        b.load_state_dict(a.state_dict());
        a.eval(); b.eval();
        var ids = tensor(new long[] { 1, 2, 3 });
        Assert.True(a.call(ids).allclose(b.call(ids)));

        var sd = new Dictionary<string, Tensor>(a.state_dict());
        sd.Remove("layer.0.dense.bias");
        sd.Remove("layer.1.LayerNorm.weight");
        sd["pooler.dense.weight"] = ones(2);
        sd["layer.1.dense.weight"] = ones(4, 5);
        var ex = Assert.Throws<TorchException>(() => b.load_state_dict(sd, source: "model.safetensors"));
        foreach (var key in new[] { "layer.0.dense.bias", "layer.1.LayerNorm.weight", "pooler.dense.weight", "layer.1.dense.weight", "model.safetensors" })
            Assert.Contains(key, ex.Message);
        // allow-listed extras pass; missing ones still fail unless allowed too
        sd["layer.1.dense.weight"] = a.state_dict()["layer.1.dense.weight"];
        Assert.Throws<TorchException>(() => b.load_state_dict(sd, allow_unexpected: ["pooler.*"]));
        var (missing, unexpected) = b.load_state_dict(sd, allow_unexpected: ["pooler.*"], allow_missing: ["layer.*.dense.bias", "layer.1.LayerNorm.weight"]);
        Assert.Equal(2, missing.Count);
        Assert.Equal(["pooler.dense.weight"], unexpected);
        // mis-shaped is an error even when not strict
        sd["layer.1.dense.weight"] = ones(4, 5);
        Assert.Throws<TorchException>(() => b.load_state_dict(sd, strict: false));
    }

    [Fact]
    public void Module_to_dtype_keeps_parameter_identity()
    {
        using var m = new Encoder();
        var w = m.layer[0].dense.weight;
        m.to(DType.float64);
        Assert.Same(w, m.layer[0].dense.weight);
        Assert.Equal(DType.float64, w.dtype);
        Assert.Equal(DType.int64, m.position_ids.dtype); // integer buffers are not cast
        Assert.True(w.requires_grad);
        using var scope = NewDisposeScope();
        Assert.Equal(DType.float64, m.call(tensor(new long[] { 1, 2 })).dtype);
    }

    [Fact]
    public void Sequential_names_and_forward()
    {
        using var seq = new nn.Sequential(new nn.Linear(4, 8), new nn.GELU(), new nn.Linear(8, 2));
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], seq.named_parameters().Select(p => p.name));
        using var scope = NewDisposeScope();
        var x = randn(3, 4);
        var l0 = (nn.Linear)seq[0];
        var l2 = (nn.Linear)seq[2];
        Assert.True(seq.call(x).allclose(l2.call(l0.call(x).gelu()), 1e-5, 1e-6));
        using var id = new nn.Identity();
        var y = id.call(x);
        Assert.NotSame(x, y);
        Assert.True(y.equal(x));
    }

    [Fact]
    public void Linear_init_bounds_and_forward()
    {
        manual_seed(0);
        using var lin = new nn.Linear(100, 50);
        using var scope = NewDisposeScope();
        // kaiming_uniform(a=√5) on fan_in=100 gives bound 1/√100 = 0.1, same as the bias bound
        Assert.InRange(lin.weight.abs().max().item<float>(), 0.09f, 0.1f);
        Assert.InRange(lin.bias!.abs().max().item<float>(), 0.08f, 0.1f);
        var x = randn(3, 100);
        Assert.True(lin.call(x).allclose(x.matmul(lin.weight.t()) + lin.bias, 1e-5, 1e-6));
        var t = empty(10000);
        nn.init.trunc_normal_(t, 0, 1, -2, 2);
        Assert.InRange(t.min().item<float>(), -2f, -1.8f);
        Assert.InRange(t.max().item<float>(), 1.8f, 2f);
        Assert.InRange(t.std(0).item<float>(), 0.85f, 0.91f); // std of N(0,1) truncated at ±2 is 0.880
    }

    [Fact]
    public void AdamW_state_dict_round_trip_resumes_identically()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var X = randn(16, 4);
        var Y = randn(16, 1);
        Tensor[] Train(Tensor w, optim.AdamW opt, int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                using var s = NewDisposeScope();
                opt.zero_grad();
                F.mse_loss(X.matmul(w), Y).backward();
                opt.step();
            }
            return [w];
        }
        var w1 = nn.Parameter(zeros(4, 1));
        using var o1 = new optim.AdamW([w1], lr: 0.1);
        Train(w1, o1, 3);
        var saved = o1.state_dict();
        var w2 = nn.Parameter(w1.detach().clone());
        using var o2 = new optim.AdamW([w2], lr: 0.5);
        o2.load_state_dict(saved);
        Assert.Equal(0.1, o2.param_groups[0].lr);
        Train(w1, o1, 2);
        Train(w2, o2, 2);
        Assert.True(w1.equal(w2));
        saved.Remove("state.0.exp_avg");
        saved["state.7.junk"] = ones(1);
        var ex = Assert.Throws<TorchException>(() => o2.load_state_dict(saved));
        Assert.Contains("state.0 incomplete", ex.Message);
        Assert.Contains("unexpected state.7.junk", ex.Message);
    }

    [Fact]
    public void Schedule_and_clipping()
    {
        var p = nn.Parameter(ones(2));
        using var opt = new optim.AdamW([p], lr: 1.0);
        var s = new optim.LinearWarmupDecay(opt, 4, 12);
        var lrs = new List<double> { opt.param_groups[0].lr };
        for (var i = 0; i < 12; i++) { s.step(); lrs.Add(opt.param_groups[0].lr); }
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0 }, lrs);
        using var scope = NewDisposeScope();
        p.grad = tensor(new float[] { 3, 4 });
        Assert.Equal(5.0, nn.utils.clip_grad_norm_([p], 1.0), 5);
        Assert.True(p.grad!.allclose(tensor(new float[] { 0.6f, 0.8f }), 1e-5, 1e-6));
        Assert.Equal(1.0, nn.utils.clip_grad_norm_([p], 10.0), 5); // under the limit: unchanged
        Assert.True(p.grad!.allclose(tensor(new float[] { 0.6f, 0.8f }), 1e-5, 1e-6));
    }
}
