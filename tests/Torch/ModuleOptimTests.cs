using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Tests.Torch;

public class ModuleOptimTests
{
    // A tiny HF-shaped module tree: names must come out as "encoder.layer.0.dense.weight" etc.
    private sealed class Block : HfModule<Tensor, Tensor>
    {
        public readonly Linear dense;
        public readonly LayerNorm LayerNorm;
        public readonly Dropout dropout;
        public Block(long h) : base(nameof(Block))
        {
            dense = register_module("dense", nn.Linear(h, h));
            LayerNorm = register_module("LayerNorm", nn.LayerNorm(h, 1e-12));
            dropout = register_module("dropout", nn.Dropout(0.1));
        }
        public override Tensor forward(Tensor x) => LayerNorm.call(dropout.call(dense.call(x)) + x);
    }

    private sealed class Encoder : HfModule<Tensor, Tensor>
    {
        public readonly Embedding word_embeddings;
        public readonly HfModuleList<Block> layer;
        public readonly Tensor position_ids;
        public Encoder(long vocab = 10, long h = 4, int n = 2) : base(nameof(Encoder))
        {
            word_embeddings = register_module("word_embeddings", nn.Embedding(vocab, h, padding_idx: 0));
            layer = register_module("layer", new HfModuleList<Block>(Enumerable.Range(0, n).Select(_ => new Block(h))));
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
        Assert.True(m.layer[0].dropout.training);
        m.eval();
        Assert.False(m.layer[0].dropout.training);
        m.train();
        Assert.True(m.layer[1].training);
        foreach (var p in m.parameters()) p.requires_grad = false;
        Assert.All(m.parameters(), p => Assert.False(p.requires_grad));
        Assert.Equal(m.layer[1].dense.weight.Handle, m.get_parameter("layer.1.dense.weight")!.Handle);
    }

    [Fact]
    public void Decay_groups_split_biases_and_layer_norm_weights()
    {
        using var m = new Encoder();
        using (var w = m.word_embeddings.weight!) w.requires_grad = false;
        var groups = Optim.decay_groups(m, 0.01);
        // By shape (nanoGPT): matrices decay, vectors (biases, LayerNorm weights) do not; frozen ones are left out.
        var names = m.named_parameters().ToDictionary(x => x.parameter.Handle, x => x.name);
        Assert.Equal(["layer.0.dense.weight", "layer.1.dense.weight"], groups[0].@params.Select(p => names[p.Handle]));
        Assert.Equal(6, groups[1].@params.Count);
        Assert.All(groups[1].@params, p => Assert.Matches("bias|LayerNorm.weight", names[p.Handle]));
        using var opt = new Optim.AdamW(groups, lr: 1e-3, weight_decay: 0.5);
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
        b.load_hf_state_dict(a.state_dict());
        a.eval(); b.eval();
        var ids = tensor(new long[] { 1, 2, 3 });
        Assert.True(a.call(ids).allclose(b.call(ids)));

        var sd = new Dictionary<string, Tensor>(a.state_dict());
        sd.Remove("layer.0.dense.bias");
        sd.Remove("layer.1.LayerNorm.weight");
        sd["pooler.dense.weight"] = ones(2);
        sd["layer.1.dense.weight"] = ones(4, 5);
        var ex = Assert.Throws<TorchException>(() => b.load_hf_state_dict(sd, source: "model.safetensors"));
        foreach (var key in new[] { "layer.0.dense.bias", "layer.1.LayerNorm.weight", "pooler.dense.weight", "layer.1.dense.weight", "model.safetensors" })
            Assert.Contains(key, ex.Message);
        // allow-listed extras pass; missing ones still fail unless allowed too
        sd["layer.1.dense.weight"] = a.state_dict()["layer.1.dense.weight"];
        Assert.Throws<TorchException>(() => b.load_hf_state_dict(sd, allow_unexpected: ["pooler.*"]));
        var (missing, unexpected) = b.load_hf_state_dict(sd, allow_unexpected: ["pooler.*"], allow_missing: ["layer.*.dense.bias", "layer.1.LayerNorm.weight"]);
        Assert.Equal(2, missing.Count);
        Assert.Equal(["pooler.dense.weight"], unexpected);
        // mis-shaped is an error even when not strict
        sd["layer.1.dense.weight"] = ones(4, 5);
        Assert.Throws<TorchException>(() => b.load_hf_state_dict(sd, strict: false));
    }

    [Fact]
    public void Module_to_dtype_rebinds_hf_named_fields()
    {
        // TorchSharp's Module.to() replaces Parameter objects; fields named like the registered name are re-bound.
        using var m = new Encoder();
        m.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, m.layer[0].dense.weight.dtype);
        Assert.Equal(m.layer[0].dense.weight.Handle, m.get_parameter("layer.0.dense.weight")!.Handle);
        Assert.Equal(ScalarType.Int64, m.get_buffer("position_ids")!.dtype); // integer buffers are not cast
        Assert.True(m.layer[0].dense.weight.requires_grad);
        using var scope = NewDisposeScope();
        Assert.Equal(ScalarType.Float64, m.call(tensor(new long[] { 1, 2 })).dtype);
    }

    [Fact]
    public void Nothing_leaks_into_state_dict_from_field_names()
    {
        // A field holding a cache tensor and an auto-property holding a module would be registered under their C#
        // names by TorchSharp's RegisterComponents; HfModule registers by explicit HF names only.
        using var m = new Leaky();
        using var outer = new Holder(m);
        Assert.Equal(["inner.dense.weight", "inner.dense.bias"], outer.state_dict().Keys);
    }

    private sealed class Leaky : HfModule<Tensor, Tensor>
    {
        public readonly Linear dense;
        private readonly Tensor _cache = zeros(3);
        public Linear Alias { get; }
        public Leaky() : base(nameof(Leaky))
        {
            dense = register_module("dense", nn.Linear(2, 2));
            Alias = dense;
        }
        public override Tensor forward(Tensor x) => dense.call(x) + _cache.sum();
    }

    private sealed class Holder : HfModule
    {
        public Holder(Leaky inner) : base(nameof(Holder)) => register_module("inner", inner);
    }

    [Fact]
    public void Seeded_init_is_reproducible_and_has_the_right_bounds()
    {
        using var a = nn.Linear(100, 50);
        using var b = nn.Linear(100, 50);
        SeededInit.default_linear_(a.weight, a.bias, new Generator(7));
        SeededInit.default_linear_(b.weight, b.bias, new Generator(7));
        Assert.True(a.weight.equal_all(b.weight));
        Assert.True(a.bias!.equal_all(b.bias!));
        using var scope = NewDisposeScope();
        // kaiming_uniform(a=√5) on fan_in=100 gives bound 1/√100 = 0.1, same as the bias bound
        Assert.InRange(a.weight.abs().max().item<float>(), 0.09f, 0.1f);
        Assert.InRange(a.bias!.abs().max().item<float>(), 0.08f, 0.1f);
    }

    [Fact]
    public void AdamW_state_dict_round_trip_resumes_identically()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var X = randn(16, 4);
        var Y = randn(16, 1);
        Tensor[] Train(Parameter w, Optim.AdamW opt, int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                using var s = NewDisposeScope();
                opt.zero_grad();
                F.mse_loss(X.mm(w), Y).backward();
                opt.step();
            }
            return [w];
        }
        var w1 = nn.Parameter(zeros(4, 1));
        using var o1 = new Optim.AdamW([w1], lr: 0.1);
        Train(w1, o1, 3);
        var saved = o1.state_dict();
        var w2 = nn.Parameter(w1.detach().clone());
        using var o2 = new Optim.AdamW([w2], lr: 0.5);
        o2.load_state_dict(saved);
        Assert.Equal(0.1, o2.param_groups[0].lr);
        Train(w1, o1, 2);
        Train(w2, o2, 2);
        Assert.True(w1.equal_all(w2));
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
        using var opt = new Optim.AdamW([p], lr: 1.0);
        var s = new Optim.LinearWarmupDecay(opt, 4, 12);
        var lrs = new List<double> { opt.param_groups[0].lr };
        for (var i = 0; i < 12; i++) { s.step(); lrs.Add(opt.param_groups[0].lr); }
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0 }, lrs);
        using var scope = NewDisposeScope();
        p.grad = tensor(new float[] { 3, 4 });
        Assert.Equal(5.0, nn.utils.clip_grad_norm_(new[] { p }, 1.0), 5);
        Assert.True(p.grad!.allclose(tensor(new float[] { 0.6f, 0.8f }), 1e-5, 1e-6));
        Assert.Equal(1.0, nn.utils.clip_grad_norm_(new[] { p }, 10.0), 5); // under the limit: unchanged
        Assert.True(p.grad!.allclose(tensor(new float[] { 0.6f, 0.8f }), 1e-5, 1e-6));
    }
}
