using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.Models.DistilBert;
using ViXml.Torch;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>C# forward passes against tests/reference/gen_bert.py (plain Debian PyTorch, HF numerics), to 1e-5.</summary>
public class BertParityTests
{
    public const double Tol = 1e-5;

    public static TheoryData<string> Cases =>
        ["bert_plain", "bert_mlm", "distilbert_mlm", "distilbert_plain", "bert_bf16", "bert_f16", "bert_sharded", "st_minilm"];

    internal static (Tensor ids, Tensor mask, SafeTensorsFile exp) Expected(string name)
    {
        var exp = SafeTensorsFile.Open(Repo.Fixture("bert", "expected", name + ".safetensors"));
        var shape = exp.Info("input_ids").Shape;
        return (tensor(exp.ReadInt64("input_ids"), shape), tensor(exp.ReadInt64("attention_mask"), shape), exp);
    }

    internal static void AssertClose(SafeTensorsFile exp, string key, Tensor actual, string ctx)
    {
        var want = exp.ReadFloat32(key);
        Assert.Equal(exp.Info(key).Shape, actual.shape);
        var got = actual.contiguous().ToArray<float>();
        var worst = 0.0;
        for (var i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - got[i]));
        Assert.True(worst <= Tol, $"{ctx}/{key}: max |diff| {worst:g3} > {Tol}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hidden_states_and_every_pooling_match_the_reference(string name)
    {
        using var scope = NewDisposeScope();
        var (ids, mask, exp) = Expected(name);
        using var _e = exp;
        using var enc = Encoders.Load(Repo.Fixture("bert", name));
        using var ng = no_grad();
        var h = enc.Forward(ids, mask);
        AssertClose(exp, "last_hidden_state", h, name);
        foreach (var (mode, key) in new[] { (PoolingMode.Mean, "mean"), (PoolingMode.Cls, "cls"), (PoolingMode.Last, "last") })
        {
            AssertClose(exp, "pooled_" + key, Pooling.Pool(h, mask, mode), name);
            AssertClose(exp, "normalized_" + key, enc.Encode(ids, mask, mode), name);
        }
        if (exp.Contains("pooler_output"))
            AssertClose(exp, "pooler_output", ((BertModel)enc).Pooler(h)!, name);
    }

    [Fact]
    public void Model_types_and_pooler_presence_follow_the_checkpoint()
    {
        using var a = Encoders.Load(Repo.Fixture("bert", "bert_plain"));
        Assert.NotNull(Assert.IsType<BertModel>(a).pooler);
        using var b = Encoders.Load(Repo.Fixture("bert", "bert_mlm"));
        Assert.Null(Assert.IsType<BertModel>(b).pooler);
        using var c = Encoders.Load(Repo.Fixture("bert", "distilbert_mlm"));
        Assert.IsType<DistilBertModel>(c);
        Assert.Equal(32, c.HiddenSize);
    }

    [Fact]
    public void Batch_rows_do_not_depend_on_their_padding()
    {
        // A row's embedding must not change when it is batched with a longer row (mask correctness).
        using var scope = NewDisposeScope();
        using var enc = Encoders.Load(Repo.Fixture("bert", "bert_plain"));
        using var ng = no_grad();
        var alone = enc.Encode(tensor(new long[] { 5, 9, 10, 6 }, [1, 4]), ones(1, 4), PoolingMode.Mean);
        var padded = enc.Encode(tensor(new long[] { 5, 9, 10, 6, 0, 0, 5, 11, 12, 13, 14, 6 }, [2, 6]),
            tensor(new long[] { 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1 }, [2, 6]), PoolingMode.Mean);
        var diff = (alone[0] - padded[0]).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"diff {diff}");
    }
}

/// <summary>Backward through the encoders against Debian PyTorch autograd on the same reference forward.</summary>
public class BertGradientParityTests
{
    [Theory]
    [InlineData("bert_plain")]
    [InlineData("distilbert_plain")]
    public void Parameter_gradients_match_the_reference(string name)
    {
        using var scope = NewDisposeScope();
        var (ids, mask, exp) = BertParityTests.Expected(name);
        exp.Dispose();
        using var grads = SafeTensorsFile.Open(Repo.Fixture("bert", "expected", name + ".grads.safetensors"));
        using var enc = Encoders.Load(Repo.Fixture("bert", name));
        enc.Module.eval(); // no dropout: the reference has none
        var r = tensor(grads.ReadFloat32("loss_weights"), grads.Info("loss_weights").Shape);
        (enc.Encode(ids, mask, PoolingMode.Mean) * r).sum().backward();
        var checkedKeys = 0;
        foreach (var key in grads.Names.Where(n => n.StartsWith("grad.")))
        {
            var p = enc.Module.get_parameter(key["grad.".Length..]);
            using var g = p.grad!;
            var want = grads.ReadFloat32(key);
            var got = g.contiguous().ToArray<float>();
            var scale = Math.Max(1.0, want.Max(v => Math.Abs(v)));
            var worst = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-5 * scale, $"{name}/{key}: max |diff| {worst:g3} (scale {scale:g3})");
            checkedKeys++;
        }
        Assert.Equal(6, checkedKeys);
    }
}

public class InputsEmbedsTests
{
    [Theory]
    [InlineData("bert_plain")]
    [InlineData("distilbert_plain")]
    public void Spliced_token_vectors_receive_gradients_and_ids_path_is_the_embeds_path(string name)
    {
        using var scope = NewDisposeScope();
        var (ids, mask, exp) = BertParityTests.Expected(name);
        using var _e = exp;
        using var enc = Encoders.Load(Repo.Fixture("bert", name));
        var words = enc.EmbedTokens(ids).detach().requires_grad_();
        var h = enc.ForwardEmbeds(words, mask);
        BertParityTests.AssertClose(exp, "last_hidden_state", h, name);
        h.sum().backward();
        using var g = words.grad!;
        Assert.True(g.abs().sum().item<float>() > 0);
    }
}
