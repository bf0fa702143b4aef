using System.Text.Json;
using ViXml.Tests.TestSupport;
using ViXml.SafeTensors;

namespace ViXml.Tests.SafeTensors;

public class ShardedSafeTensorsTests
{
    private static readonly string ShardDir = Repo.Fixture("safetensors", "sharded");
    private const string Shard1 = "model-00001-of-00002.safetensors", Shard2 = "model-00002-of-00002.safetensors";

    /// <summary>A scratch copy of the PyTorch-written sharded checkpoint to break in various ways.</summary>
    private static string CopyCheckpoint()
    {
        var dir = Repo.TempDir();
        foreach (var f in Directory.GetFiles(ShardDir))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    private static SafeTensorsException OpenFails(string dir)
    {
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorsCheckpoint.OpenFolder(dir).Dispose());
        return ex;
    }

    [Fact]
    public void PyTorchShardedCheckpointResolvesAcrossShards()
    {
        var exp = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ShardDir, "expected.json"))).RootElement;
        using var src = SafeTensorsCheckpoint.OpenFolder(ShardDir);
        var sharded = Assert.IsType<ShardedSafeTensors>(src);
        Assert.Equal([Shard1, Shard2], sharded.ShardFiles);
        Assert.Equal(exp.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), src.Names);
        foreach (var p in exp.EnumerateObject())
        {
            Assert.Equal(p.Value.GetProperty("shard").GetString(), sharded.ShardOf(p.Name));
            Assert.EndsWith(p.Value.GetProperty("shard").GetString()!, src.Info(p.Name).File);
            SafeTensorsPyTorchTests.AssertMatches(src, p.Name, p.Value);
        }
        long total = src.Names.Sum(n => src.Info(n).ByteLength);
        Assert.Equal(total.ToString(), src.Metadata["total_size"]);
        Assert.Throws<SafeTensorsException>(() => src.Info("not.there"));
    }

    [Fact]
    public void SingleFileIsPreferredOverTheIndex()
    {
        var dir = CopyCheckpoint();
        File.Copy(Repo.Fixture("safetensors", "pytorch_all_dtypes.safetensors"), Path.Combine(dir, "model.safetensors"));
        using (var src = SafeTensorsCheckpoint.OpenFolder(dir))
        {
            Assert.IsType<SafeTensorsFile>(src);
            Assert.True(src.Contains("u8.vec"));
        }
        Directory.Delete(dir, true);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        var dir = CopyCheckpoint();
        File.Delete(Path.Combine(dir, Shard2));
        var ex = OpenFails(dir);
        Assert.Contains("model.safetensors.index.json", ex.Message);
        Assert.Contains($"shard '{Shard2}' is missing", ex.Message);
        Directory.Delete(dir, true);
    }

    private static void RewriteIndex(string dir, Func<string, string> edit)
    {
        var p = Path.Combine(dir, "model.safetensors.index.json");
        File.WriteAllText(p, edit(File.ReadAllText(p)));
    }

    [Fact]
    public void TensorMissingFromItsShardIsNamed()
    {
        var dir = CopyCheckpoint();
        // the index says position_ids lives in shard 1, but it is in shard 2
        RewriteIndex(dir, s => s.Replace($"\"embeddings.position_ids\": \"{Shard2}\"", $"\"embeddings.position_ids\": \"{Shard1}\""));
        var ex = OpenFails(dir);
        Assert.Equal("embeddings.position_ids", ex.Key);
        Assert.Contains($"missing from that shard", ex.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TensorListedButAbsentEverywhereIsNamed()
    {
        var dir = CopyCheckpoint();
        RewriteIndex(dir, s => s.Replace("\"weight_map\": {", $"\"weight_map\": {{\n    \"pooler.dense.weight\": \"{Shard1}\","));
        var ex = OpenFails(dir);
        Assert.Equal("pooler.dense.weight", ex.Key);
        Assert.Contains($"under shard '{Shard1}' but missing from that shard", ex.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ShardTensorNotInIndexIsNamed()
    {
        var dir = CopyCheckpoint();
        RewriteIndex(dir, s => s.Replace($"    \"encoder.layer.0.attention.self.query.bias\": \"{Shard2}\",\n", ""));
        var ex = OpenFails(dir);
        Assert.Equal("encoder.layer.0.attention.self.query.bias", ex.Key);
        Assert.Contains("not listed in weight_map", ex.Message);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("not json", "index is not valid JSON")]
    [InlineData("[]", "index must be a JSON object")]
    [InlineData("{\"metadata\":{}}", "no 'weight_map'")]
    [InlineData("{\"weight_map\":[]}", "must be a JSON object")]
    [InlineData("{\"weight_map\":{}}", "is empty")]
    [InlineData("{\"weight_map\":{\"a\":3}}", "must be a shard file name")]
    [InlineData("{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "must be a plain file name")]
    [InlineData("{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "must be a plain file name")]
    [InlineData("{\"weight_map\":{\"a\":\"s.safetensors\",\"a\":\"s.safetensors\"}}", "duplicate key in weight_map")]
    [InlineData("{\"metadata\":3,\"weight_map\":{\"a\":\"s.safetensors\"}}", "must be a JSON object")]
    public void BadIndexGivesClearError(string json, string fragment)
    {
        var dir = Repo.TempDir();
        var p = Path.Combine(dir, "model.safetensors.index.json");
        File.WriteAllText(p, json);
        var ex = OpenFails(dir);
        Assert.Equal(p, ex.File);
        Assert.StartsWith(p, ex.Message);
        Assert.Contains(fragment, ex.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void CorruptShardIsNamed()
    {
        var dir = CopyCheckpoint();
        var shard = Path.Combine(dir, Shard1);
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..^3]);
        var ex = OpenFails(dir);
        Assert.Equal(shard, ex.File);
        Assert.Contains("outside the data section", ex.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void FolderWithoutWeightsSaysWhatItFound()
    {
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "pytorch_model.bin"), "x");
        var ex = OpenFails(dir);
        Assert.Contains("no model.safetensors or model.safetensors.index.json", ex.Message);
        Assert.Contains("pytorch_model.bin", ex.Message);
        Assert.Contains("not found", Assert.Throws<SafeTensorsException>(() => SafeTensorsCheckpoint.OpenFolder(Path.Combine(dir, "nope"))).Message);
        Directory.Delete(dir, true);
    }
}
