using ViXml.Models;
using ViXml.Models.Qwen2;
using ViXml.SafeTensors;
using ViXml.Tests.TestSupport;
using ViXml.Training;
using ViXml.Training.Config;
using static TorchSharp.torch;

namespace ViXml.Tests.Models;

/// <summary>model.attention: the causal BERT / DistilBERT and the bidirectional Qwen2 forward passes against
/// tests/reference/gen_attention.py (Debian PyTorch, the same checkpoints with the mask swapped), to 1e-5.</summary>
[Collection("Qwen2 torch")]
public class AttentionDirectionTests
{
    private const double Tol = 1e-5;

    private static SafeTensorsFile Expected() => SafeTensorsFile.Open(Repo.Fixture("attention", "expected.safetensors"));

    private static Tensor Read(SafeTensorsFile f, string key) => Qwen2Checkpoint.ReadTensor(f, key);

    private static double MaxDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }

    [Theory]
    [InlineData("bert.causal", "bert", "bert_plain")]
    [InlineData("distilbert.causal", "bert", "distilbert_plain")]
    [InlineData("qwen2.bidirectional", "qwen2", "tiny-f32-sharded")]
    public void The_switched_direction_matches_the_reference(string tag, string family, string fixture)
    {
        using var scope = NewDisposeScope();
        using var exp = Expected();
        using var enc = Encoders.Load(Repo.Fixture(family, fixture));
        enc.Module.eval();
        var native = enc.Attention;
        enc.Attention = tag.EndsWith(".causal") ? AttentionDirection.Causal : AttentionDirection.Bidirectional;
        Assert.NotEqual(native, enc.Attention);
        using var _ = no_grad();
        var (ids, mask) = (Read(exp, tag + ".input_ids"), Read(exp, tag + ".attention_mask"));
        var h = enc.Forward(ids, mask);
        Assert.True(h.isfinite().all().item<bool>(), $"{tag}: a row whose first key is masked must stay finite");
        var d = MaxDiff(h, Read(exp, tag + ".last_hidden_state"));
        Assert.True(d <= Tol, $"{tag}: hidden states max |diff| {d:g3}");
        d = MaxDiff(ViXml.Models.Pooling.Pool(h, mask, PoolingMode.Mean), Read(exp, tag + ".mean"));
        Assert.True(d <= Tol, $"{tag}: mean pooling max |diff| {d:g3}");
        // The family's own direction gives clearly different states on the same batch: the switch is what changed them.
        enc.Attention = native;
        var h0 = enc.Forward(ids, mask);
        Assert.True(MaxDiff(h0, h) > 1e-3, $"{tag}: native and switched attention agree");
    }

    [Fact]
    public void Qwen2_native_causal_matches_the_same_reference_script()
    {
        using var scope = NewDisposeScope();
        using var exp = Expected();
        using var model = Qwen2Checkpoint.Load(Repo.Fixture("qwen2", "tiny-f32-sharded"));
        model.eval();
        using var _ = no_grad();
        Assert.Equal(AttentionDirection.Causal, model.Attention);
        var h = model.Forward(Read(exp, "qwen2.bidirectional.input_ids"), Read(exp, "qwen2.bidirectional.attention_mask"));
        Assert.True(MaxDiff(h, Read(exp, "qwen2.causal.last_hidden_state")) <= Tol);
    }

    [Theory]
    [InlineData("bert", "bert_plain")]
    [InlineData("bert", "distilbert_plain")]
    [InlineData("qwen2", "tiny-f32-sharded")]
    public void Causal_states_do_not_depend_on_later_tokens(string family, string fixture)
    {
        using var scope = NewDisposeScope();
        using var enc = Encoders.Load(Repo.Fixture(family, fixture));
        enc.Module.eval();
        enc.Attention = AttentionDirection.Causal;
        using var _ = no_grad();
        var a = tensor(new long[] { 9, 10, 11, 12, 13, 14 }, [1, 6]);
        var b = tensor(new long[] { 9, 10, 11, 15, 16, 17 }, [1, 6]);
        var m = ones(1, 6, dtype: ScalarType.Int64);
        var (ha, hb) = (enc.Forward(a, m), enc.Forward(b, m));
        Assert.True(MaxDiff(ha.narrow(1, 0, 3), hb.narrow(1, 0, 3)) < 1e-6, "positions 0-2 saw a later token");
        Assert.True(MaxDiff(ha.narrow(1, 3, 3), hb.narrow(1, 3, 3)) > 1e-3);
        enc.Attention = AttentionDirection.Bidirectional;   // and bidirectionally they do
        Assert.True(MaxDiff(enc.Forward(a, m).narrow(1, 0, 3), enc.Forward(b, m).narrow(1, 0, 3)) > 1e-4);
    }

    [Theory]
    [InlineData("native", AttentionDirection.Bidirectional)]
    [InlineData("bidirectional", AttentionDirection.Bidirectional)]
    [InlineData("causal", AttentionDirection.Causal)]
    public void The_config_key_sets_the_encoder(string value, AttentionDirection want)
    {
        var c = ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "ci.yaml"), [$"model.attention={value}"]).Value;
        c.Validate();
        using var model = SiameseModel.Create(c.Model, 30522, seed: 1);
        Assert.Equal(want, model.Encoder.Attention);
    }

    [Fact]
    public void An_unknown_direction_names_the_key()
    {
        var e = Assert.ThrowsAny<Exception>(() =>
            ConfigLoader.LoadFile<TrainConfig>(Repo.Path_("configs", "ci.yaml"), ["model.attention=sideways"]));
        Assert.Contains("attention", e.Message);
        Assert.Contains("sideways", e.Message);
    }
}
