using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Training.Fusion;

/// <summary>A batch's image slots: vectors (B, K, D) float32 and mask (B, K) int64 (1 = image present).</summary>
public sealed record ImageBatch(Tensor Vectors, Tensor Mask)
{
    public static ImageBatch From(float[] vectors, long[] mask, int rows, int k, int dim) =>
        new(tensor(vectors, [rows, k, dim]), tensor(mask, [rows, k]));

    /// <summary>The same slots on <paramref name="device"/> (vectors and mask; a prompted decoder reads the mask back
    /// on the host to plan its layout).</summary>
    public ImageBatch To(Device device) => new(Vectors.to(device), Mask.to(device));
}

/// <summary>
/// Image vector (D) → hidden size (H): the paper's one <c>Linear(D → H)</c> (<c>proj</c>), or the MLP option
/// <c>fc2(GELU(fc1(x)))</c> (the paper's open question 2). Saved under <c>image_adapter.*</c>.
/// </summary>
public sealed class ImageAdapter : HfModule<Tensor, Tensor>
{
    public readonly Linear? proj, fc1, fc2;
    public int InputDim { get; }

    public ImageAdapter(int imageDim, int hidden, bool mlp, int mlpHidden, long seed) : base(nameof(ImageAdapter))
    {
        InputDim = imageDim;
        using var g = new Generator((ulong)seed);
        if (mlp)
        {
            int m = mlpHidden > 0 ? mlpHidden : hidden;
            fc1 = register_module("fc1", nn.Linear(imageDim, m));
            fc2 = register_module("fc2", nn.Linear(m, hidden));
            SeededInit.default_linear_(fc1.weight, fc1.bias, g);
            SeededInit.default_linear_(fc2.weight, fc2.bias, g);
        }
        else
        {
            proj = register_module("proj", nn.Linear(imageDim, hidden));
            SeededInit.default_linear_(proj.weight, proj.bias, g);
        }
    }

    /// <summary>(…, D) → (…, H).</summary>
    public override Tensor forward(Tensor x)
    {
        if (x.size(-1) != InputDim)
            throw new ArgumentException($"image vectors have width {x.size(-1)} but the adapter expects {InputDim} (a different bank?)");
        if (proj is not null) return proj.forward(x);
        using var scope = NewDisposeScope();
        return fc2!.forward(F.gelu(fc1!.forward(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Late fusion (MUFIN-style baseline): the pooled text vector t and the adapter-projected image vectors v_1..v_K are each
/// L2-normalised, then combined by a learned attention over [t, v_1..v_K]: score_i = q·x_i / √H with one learned query
/// q (H), missing images masked out of the softmax (the text is always present), output Σ softmax(score)_i x_i.
/// q starts at zero, i.e. the plain mean of the available unit vectors. Saved under <c>late_fusion.query</c>.
/// </summary>
public sealed class LateFusion : HfModule
{
    public readonly Parameter query;

    public LateFusion(int hidden) : base(nameof(LateFusion))
    {
        query = register_parameter("query", zeros(hidden));
    }

    /// <summary>text (B, H), images (B, K, H), mask (B, K) → (B, H) (not normalised).</summary>
    public Tensor forward(Tensor text, Tensor images, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var (b, h) = (text.size(0), text.size(1));
        var x = cat([MetaSafe.Normalize(text, 1).unsqueeze(1), MetaSafe.Normalize(images, 2)], 1);      // (B, 1+K, H)
        var present = cat([ones(b, 1, dtype: ScalarType.Bool, device: text.device), mask.to(ScalarType.Bool, text.device)], 1);                // (B, 1+K)
        var scores = (x * query).sum(-1) / Math.Sqrt(h);                                                      // (B, 1+K)
        var a = scores.masked_fill(MetaSafe.Not(present), float.NegativeInfinity).softmax(-1);                 // (B, 1+K)
        return (a.unsqueeze(-1) * x).sum(1).MoveToOuterDisposeScope();                                        // (B, H)
    }
}
