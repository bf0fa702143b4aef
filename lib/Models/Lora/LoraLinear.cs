using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Models.Lora;

/// <summary>
/// A linear layer that can carry a LoRA adapter: y = x Wᵀ + b + scale · B(A(dropout(x))).
/// Parameter names are HF's ("weight", "bias") so base checkpoints load by name, and the adapter's are PEFT's
/// ("lora_A.weight" (r, in), "lora_B.weight" (out, r)) so adapters save and load in PEFT's key format.
/// A is Kaiming-uniform (a = √5, as PEFT), B zeros: a fresh adapter leaves the output unchanged. The adapter's weights
/// are kept in their own dtype (float32 masters by default, so AdamW's moments are float32 too) and cast to the input's
/// compute dtype in forward: a bfloat16 base computes the branch in bfloat16 and saves bfloat16 activations, instead
/// of each of q/k/v saving its own float32 copy of the same input. With a float32 base the casts are no-ops.
/// </summary>
public sealed class LoraLinear : HfModule<Tensor, Tensor>
{
    public readonly long in_features, out_features;
    // Fields named exactly as registered: TorchSharp's Module.to() replaces Parameter objects and re-binds such fields.
    public Parameter weight;
    public Parameter? bias;
    /// <summary>Down-projection (r, in); null until <see cref="AddAdapter"/>.</summary>
    public Linear? lora_A;
    /// <summary>Up-projection (out, r).</summary>
    public Linear? lora_B;
    /// <summary>Factor on B·A·x: alpha / r, or alpha / √r with rsLoRA.</summary>
    public double Scale { get; private set; }
    /// <summary>Dropout probability on the adapter input (training only).</summary>
    public double DropoutP { get; private set; }
    /// <summary>True while scale·B·A is folded into <see cref="weight"/> (the adapter branch is then skipped).</summary>
    public bool Merged { get; private set; }

    public bool HasAdapter => lora_A is not null;

    public LoraLinear(long inFeatures, long outFeatures, bool hasBias, ScalarType? dtype = null) : base(nameof(LoraLinear))
    {
        in_features = inFeatures;
        out_features = outFeatures;
        weight = register_parameter("weight", zeros([outFeatures, inFeatures], dtype: dtype));
        if (hasBias) bias = register_parameter("bias", zeros([outFeatures], dtype: dtype));
    }

    /// <summary>Attaches a fresh adapter (A Kaiming-uniform, B zeros) and freezes the base weight and bias.</summary>
    public void AddAdapter(int rank, double scale, double dropout, ScalarType adapterDtype, Generator? generator = null)
    {
        if (HasAdapter) throw new InvalidOperationException("this layer already has a LoRA adapter");
        if (rank <= 0) throw new ArgumentException($"LoRA rank must be positive, got {rank}");
        var a = register_module("lora_A", nn.Linear(in_features, rank, hasBias: false, dtype: adapterDtype));
        var b = register_module("lora_B", nn.Linear(rank, out_features, hasBias: false, dtype: adapterDtype));
        // PEFT's init: A as nn.Linear's default (Kaiming-uniform, a=√5), B zeros; A from the given generator.
        if (generator is not null) SeededInit.default_linear_(a.weight, null, generator);
        SeededInit.zeros_(b.weight);
        lora_A = a;
        lora_B = b;
        Scale = scale;
        DropoutP = dropout;
        weight.requires_grad = false;
        if (bias is not null) bias.requires_grad = false;
    }

    public override Tensor forward(Tensor x)
    {
        if (!HasAdapter || Merged) return F.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        var y = F.linear(x, weight, bias);
        var h = DropoutP > 0 && training ? F.dropout(x, DropoutP, true) : x;
        var a = lora_A!.weight.to(x.dtype);                                          // (r, in), differentiable cast
        var b = lora_B!.weight.to(x.dtype);                                          // (out, r)
        var delta = F.linear(F.linear(h, a), b) * Scale;
        return (y + delta).MoveToOuterDisposeScope();
    }

    /// <summary>The update scale·B·A (out, in) in float32.</summary>
    public Tensor DeltaWeight()
    {
        if (!HasAdapter) throw new InvalidOperationException("no LoRA adapter to merge");
        using var scope = NewDisposeScope();
        return (lora_B!.weight.to(ScalarType.Float32).mm(lora_A!.weight.to(ScalarType.Float32)) * Scale).MoveToOuterDisposeScope();
    }

    /// <summary>Folds the adapter into the base weight (inference speed; the adapter branch is skipped while merged).</summary>
    public void Merge()
    {
        if (Merged) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = weight.to(ScalarType.Float32) + DeltaWeight();
        weight.copy_(w);
        Merged = true;
    }

    /// <summary>Undoes <see cref="Merge"/> (exact up to the base dtype's rounding).</summary>
    public void Unmerge()
    {
        if (!Merged) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = weight.to(ScalarType.Float32) - DeltaWeight();
        weight.copy_(w);
        Merged = false;
    }
}
