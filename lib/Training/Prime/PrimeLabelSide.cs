using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training.Prime;

/// <summary>
/// PRIME's label-side state (PRIME-SPEC §1-4): the combiner layer, the free-vector bank <c>free_vectors</c> (n, E,
/// trained), the fixed label → free-vector map <c>label_free_vector</c> (L, int64) and the centroids <c>centroids</c>
/// (L, E; refreshed, never trained). Memory: (n + L)·E floats plus the layer, e.g. 131K labels × 384 ≈ 0.2 GB for the
/// centroids and 65,536 × 384 ≈ 0.1 GB (×4 with gradient and AdamW moments) for the free vectors.
/// <c>label_side.safetensors</c> holds the layer under nn.TransformerEncoderLayer's own state-dict names
/// (<c>self_attn.in_proj_weight</c>, …, <c>norm2.bias</c>) beside those three tensors.
/// </summary>
public sealed class PrimeLabelSide : HfModule
{
    public readonly PrimeCombiner combiner;
    public readonly Parameter free_vectors;

    public const string FileName = "label_side.safetensors";

    public int Dim { get; }
    public int Heads { get; }
    public int NumLabels { get; }
    public int NumFree { get; }

    public PrimeLabelSide(int dim, int heads, int ffn, double dropout, int numFree, int numLabels, long seed) : base(nameof(PrimeLabelSide))
    {
        if (numFree <= 0 || numLabels <= 0) throw new ArgumentException($"{numFree} free vectors, {numLabels} labels");
        Dim = dim; Heads = heads; NumLabels = numLabels; NumFree = numFree;
        combiner = register_module("combiner", new PrimeCombiner(dim, heads, ffn, dropout, seed));
        free_vectors = register_parameter("free_vectors", empty(numFree, dim));
        using (var gen = new Generator(unchecked((ulong)seed ^ 0x5F3759DFUL)))
            PrimeInit.xavier_uniform_(free_vectors, gen);    // the reference's default init
        register_buffer("label_free_vector", zeros(numLabels, dtype: int64));
        register_buffer("centroids", zeros(numLabels, dim));
    }

    /// <summary>(L) int64: the free vector of each label.</summary>
    public Tensor LabelFreeVector => get_buffer("label_free_vector")!;
    /// <summary>(L, E): the centroids.</summary>
    public Tensor CentroidBank => get_buffer("centroids")!;

    /// <summary>The enriched unit vectors of labels <paramref name="labels"/> (N, int64) from their encoder outputs
    /// <paramref name="u"/> (N, E) before normalisation; gradients reach u, the free vectors and the layer.</summary>
    public Tensor Enrich(Tensor u, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var idx = labels.to(int64, free_vectors.device);
        var free = free_vectors.index_select(0, LabelFreeVector.index_select(0, idx));   // (N, E)
        var cent = CentroidBank.index_select(0, idx);                                     // (N, E), no gradient
        return combiner.forward(u, free.to(u.device), cent.to(u.device)).MoveToOuterDisposeScope();
    }

    /// <summary>Sets the label → free-vector map (once, before training).</summary>
    public void SetAssignment(int[] assignment)
    {
        if (assignment.Length != NumLabels) throw new ArgumentException($"assignment has {assignment.Length} labels, expected {NumLabels}");
        foreach (var k in assignment)
            if ((uint)k >= (uint)NumFree) throw new ArgumentException($"free-vector index {k} out of range [0, {NumFree})");
        using var _ = no_grad();
        using var t = tensor(assignment.Select(x => (long)x).ToArray());
        LabelFreeVector.copy_(t);
    }

    /// <summary>Replaces the centroids by (L × E) row-major values.</summary>
    public void SetCentroids(float[] values)
    {
        if (values.Length != (long)NumLabels * Dim) throw new ArgumentException($"centroids have {values.Length} values, expected {NumLabels} × {Dim}");
        using var _ = no_grad();
        using var t = tensor(values, [NumLabels, Dim]);
        CentroidBank.copy_(t);
    }

    /// <summary>Overwrites the free vectors (init mean).</summary>
    public void SetFreeVectors(float[] values)
    {
        if (values.Length != (long)NumFree * Dim) throw new ArgumentException($"free vectors have {values.Length} values, expected {NumFree} × {Dim}");
        using var _ = no_grad();
        using var t = tensor(values, [NumFree, Dim]);
        free_vectors.copy_(t);
    }

    /// <summary>The tensors of <c>label_side.safetensors</c>: the layer under PyTorch's names, free_vectors,
    /// label_free_vector, centroids.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> FileStateDict()
    {
        foreach (var (k, v) in combiner.state_dict()) yield return KeyValuePair.Create(k, v);
        yield return KeyValuePair.Create("free_vectors", (Tensor)free_vectors);
        yield return KeyValuePair.Create("label_free_vector", LabelFreeVector);
        yield return KeyValuePair.Create("centroids", CentroidBank);
    }

    /// <summary>Writes <c>label_side.safetensors</c> atomically.</summary>
    public void Save(string path) => TensorFile.Save(path, FileStateDict());

    /// <summary>
    /// Loads a <c>label_side.safetensors</c> (ours or written by PyTorch in that layout); the width, FFN size, label and
    /// free-vector counts come from the shapes, the head count from the run's configuration. Every key must be present
    /// with its shape, and no other key; errors name the file and the key.
    /// </summary>
    public static PrimeLabelSide Load(string path, int heads, double dropout = 0.1)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found");
        var t = TensorFile.Load(path);
        try
        {
            Tensor Need(string key) => t.GetValueOrDefault(key) ?? throw new InvalidDataException($"{path}: missing {key}");
            var fv = Need("free_vectors");
            var map = Need("label_free_vector");
            var l1 = Need("linear1.weight");
            if (fv.dim() != 2 || map.dim() != 1 || l1.dim() != 2)
                throw new InvalidDataException($"{path}: free_vectors must be [n, E], label_free_vector [L], linear1.weight [ffn, E]");
            if (map.dtype != int64) throw new InvalidDataException($"{path}: label_free_vector must be int64, is {map.dtype}");
            int dim = (int)fv.size(1), numFree = (int)fv.size(0), numLabels = (int)map.size(0), ffn = (int)l1.size(0);
            if (dim % heads != 0) throw new InvalidDataException($"{path}: width {dim} is not a multiple of label_side.heads {heads}");
            var side = new PrimeLabelSide(dim, heads, ffn, dropout, numFree, numLabels, 0);
            try
            {
                var expected = side.FileStateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
                var extra = t.Keys.Where(k => !expected.ContainsKey(k)).Order().ToList();
                if (extra.Count > 0) throw new InvalidDataException($"{path}: unexpected {string.Join(", ", extra)}");
                using (no_grad())
                    foreach (var (key, dst) in expected)
                    {
                        var src = Need(key);
                        if (!src.shape.SequenceEqual(dst.shape))
                            throw new InvalidDataException($"{path}: {key} has shape [{string.Join(", ", src.shape)}], expected [{string.Join(", ", dst.shape)}]");
                        if (key == "label_free_vector")
                        {
                            var ids = src.ToArray<long>();
                            if (ids.FirstOrDefault(i => i < 0 || i >= numFree, -1) is var bad and not -1)
                                throw new InvalidDataException($"{path}: label_free_vector holds {bad}, outside [0, {numFree})");
                        }
                        dst.copy_(src.to(dst.dtype));
                    }
                side.eval();
                return side;
            }
            catch { side.Dispose(); throw; }
        }
        finally
        {
            foreach (var v in t.Values) v.Dispose();
        }
    }
}
