using ViXml.Models.Hf;

namespace ViXml.Tests.Models;

public class CheckpointKeysTests
{
    private static readonly CheckpointLayout Layout = new("BertModel", ["", "bert."],
    [
        new("embeddings.position_ids", true, "position buffer"),
        new("cls.*", false, "MLM head"),
    ]);

    private static readonly ExpectedTensor[] Expected =
    [
        new("embeddings.word_embeddings.weight", [10, 4]),
        new("embeddings.LayerNorm.weight", [4]),
        new("encoder.layer.0.attention.self.query.weight", [4, 4]),
    ];

    private static CheckpointTensor T(string name, long[] shape, string dtype = "F32", string file = "model.safetensors") =>
        new(name, dtype, shape, file);

    [Fact]
    public void Detects_the_prefix_and_skips_allow_listed_tensors()
    {
        var m = CheckpointKeys.Match("dir", [
            T("bert.embeddings.word_embeddings.weight", [10, 4], "BF16"),
            T("bert.embeddings.LayerNorm.gamma", [4]),  // legacy spelling
            T("bert.encoder.layer.0.attention.self.query.weight", [4, 4], "F16"),
            T("bert.embeddings.position_ids", [1, 12], "I64"),
            T("cls.predictions.bias", [10]),
        ], Expected, Layout);
        Assert.Equal("bert.", m.Prefix);
        Assert.Equal("bert.embeddings.LayerNorm.gamma", m.Sources["embeddings.LayerNorm.weight"].Name);
        Assert.Equal(2, m.Ignored.Count);
    }

    [Fact]
    public void Every_problem_is_listed_with_its_file()
    {
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointKeys.Match("ckpt-dir", [
            T("embeddings.word_embeddings.weight", [11, 4], file: "a.safetensors"),      // mis-shaped
            T("embeddings.LayerNorm.weight", [4], "I64", file: "b.safetensors"),          // wrong dtype
            T("encoder.layer.9.output.dense.weight", [4, 4], file: "b.safetensors"),      // unexpected
            T("cls.predictions.bias", [10]),                                               // allowed
            T("pooler.dense.weight", [4, 4], file: "a.safetensors"),                       // unexpected: not on this list
        ], Expected, Layout));
        Assert.Contains("ckpt-dir", e.Message);
        Assert.Contains("mis-shaped: 'embeddings.word_embeddings.weight' in a.safetensors has shape [11, 4], model expects [10, 4]", e.Message);
        Assert.Contains("wrong dtype: 'embeddings.LayerNorm.weight' in b.safetensors is I64", e.Message);
        Assert.Contains("missing: 'encoder.layer.0.attention.self.query.weight'", e.Message);
        Assert.Contains("unexpected: 'encoder.layer.9.output.dense.weight' in b.safetensors", e.Message);
        Assert.Contains("unexpected: 'pooler.dense.weight' in a.safetensors", e.Message);
        Assert.DoesNotContain("cls.predictions", e.Message);
    }

    [Fact]
    public void Head_tensors_are_only_ignorable_at_the_root_and_encoder_buffers_only_under_the_prefix()
    {
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointKeys.Match("d", [
            T("bert.embeddings.word_embeddings.weight", [10, 4]),
            T("bert.embeddings.LayerNorm.weight", [4]),
            T("bert.encoder.layer.0.attention.self.query.weight", [4, 4]),
            T("embeddings.position_ids", [1, 12], "I64"),  // outside the detected prefix: not the encoder's buffer
        ], Expected, Layout));
        Assert.Contains("unexpected: 'embeddings.position_ids'", e.Message);
    }

    [Fact]
    public void Duplicates_across_shards_and_foreign_checkpoints_are_errors()
    {
        var e = Assert.Throws<CheckpointMismatchException>(() => CheckpointKeys.Match("d", [
            T("embeddings.word_embeddings.weight", [10, 4], file: "s1"),
            T("embeddings.word_embeddings.weight", [10, 4], file: "s2"),
            T("embeddings.LayerNorm.weight", [4]),
            T("encoder.layer.0.attention.self.query.weight", [4, 4]),
        ], Expected, Layout));
        Assert.Contains("duplicate: 'embeddings.word_embeddings.weight' in s2 and 'embeddings.word_embeddings.weight' in s1", e.Message);

        e = Assert.Throws<CheckpointMismatchException>(() => CheckpointKeys.Match("d", [
            T("model.layers.0.self_attn.q_proj.weight", [4, 4]),
        ], Expected, Layout));
        Assert.Contains("no BertModel tensor found", e.Message);
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", e.Message);
    }
}
