using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Torch;

public static partial class Optim
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ (norm 2, error_if_nonfinite false, foreach off) that stays on the gradients'
    /// device: total = ‖(‖g_1‖, …, ‖g_n‖)‖₂, every gradient scaled by min(1, max_norm / (total + 1e-6)); returns the
    /// total norm as a 0-d tensor. TorchSharp's own clip_grad_norm_ returns a double, i.e. a host sync every step, and
    /// cannot run on the meta device. Parameters without a gradient are skipped; none at all gives a 0 on the CPU.
    /// </summary>
    public static Tensor clip_grad_norm_(IEnumerable<Parameter> parameters, double max_norm)
    {
        if (!(max_norm > 0)) throw new ArgumentException($"max_norm must be positive, got {max_norm}");
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return zeros(Array.Empty<long>());
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        // libtorch's order of operations, so the result is bit-identical to the native clip on the CPU.
        var norms = grads.Select(g => g.norm()).ToArray();                   // norm() = 2-norm of all elements; norm(int) is a dim
        var total = norms.Length == 1 ? norms[0] : stack(norms).norm();      // ()
        var coef = (full_like(total, max_norm) / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coef);
        return total.MoveToOuterDisposeScope();
    }
}
