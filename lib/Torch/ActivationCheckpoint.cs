using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace ViXml.Torch;

/// <summary>
/// Per-layer activation checkpointing (torch.utils.checkpoint's reentrant variant; TorchSharp 0.107 has no
/// torch.utils.checkpoint and no saved-tensor hooks). The layer runs without a graph in forward, keeping only its
/// inputs; backward recomputes it with a graph and takes the gradients of its input and of its trainable parameters
/// with autograd.grad, which the engine then accumulates as for any other node.
/// <list type="bullet">
/// <item>The layer's trainable parameters are inputs of the node: a layer whose hidden-state input needs no gradient
/// (layer 0 after a frozen embedding, as with LoRA) still gets its node and its parameters their gradients.</item>
/// <item>Per-call state (the layer closure, the RNG state, the parameters) travels through the autograd context: the
/// Function object is one static instance.</item>
/// <item>Dropout masks are the same in both passes: the CPU generator's state is saved before the forward and restored
/// for the recompute (then put back). CUDA generators cannot be read through TorchSharp 0.107: on CUDA each checkpointed
/// call re-seeds the CUDA generator from one CPU draw before the forward and before the recompute (same masks in both
/// passes; a different stream than a run without checkpointing). Not run on a GPU here.</item>
/// <item>Extra inputs (RoPE tables, masks) must not need gradients.</item>
/// </list>
/// On CUDA, libtorch runs backward on its worker threads, where TorchSharp's thread-static dispose scopes do not reach:
/// the recompute's temporaries are then freed by the garbage collector, not by the step's scope.
/// </summary>
public static class ActivationCheckpoint
{
    /// <summary>
    /// y = <paramref name="layer"/>(x, extras), checkpointed when a graph is being built and anything needs a gradient;
    /// otherwise a plain call. <paramref name="parameters"/>: the layer's parameters (the trainable ones are used).
    /// </summary>
    public static Tensor Run(Func<Tensor, Tensor[], Tensor> layer, Tensor x, Tensor[] extras, IEnumerable<Parameter> parameters)
    {
        var trainable = parameters.Where(p => p.requires_grad).ToArray();
        if (!is_grad_enabled() || (!x.requires_grad && trainable.Length == 0)) return layer(x, extras);
        foreach (var e in extras)
            if (e.requires_grad) throw new ArgumentException("activation checkpointing: the extra inputs of a layer (positions, masks) must not require grad");
        var vars = new List<object> { layer, x, extras.Length };
        vars.AddRange(extras);
        vars.Add(trainable.Length);
        vars.AddRange(trainable);
        return CheckpointFunction.apply(vars.ToArray());
    }
}

/// <summary>The autograd Function behind <see cref="ActivationCheckpoint.Run"/>. vars: layer, x, n, extras[n], m, params[m].</summary>
public sealed class CheckpointFunction : SingleTensorFunction<CheckpointFunction>
{
    public override string Name => "ViXmlActivationCheckpoint";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var layer = (Func<Tensor, Tensor[], Tensor>)vars[0];
        var x = (Tensor)vars[1];
        int n = (int)vars[2];
        var extras = vars.Skip(3).Take(n).Cast<Tensor>().ToArray();
        int m = (int)vars[3 + n];
        var ps = vars.Skip(4 + n).Take(m).Cast<Parameter>().ToArray();
        ctx.save_data("layer", layer);
        ctx.save_data("n", n);
        ctx.save_data("count", vars.Length);
        ctx.save_data("x_requires_grad", x.requires_grad);
        ctx.save_data("params", ps);   // an array, not a Tensor: save_data is for non-tensor state
        ctx.save_data("rng", RngState.Capture(x.device));
        ctx.save_for_backward([x, .. extras]);
        return layer(x, extras);      // autograd is off here: no graph, no saved activations
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var layer = (Func<Tensor, Tensor[], Tensor>)ctx.get_data("layer");
        int n = (int)ctx.get_data("n"), count = (int)ctx.get_data("count");
        bool xGrad = (bool)ctx.get_data("x_requires_grad");
        var ps = (Parameter[])ctx.get_data("params");
        var rng = (RngState)ctx.get_data("rng");
        var saved = ctx.get_saved_variables();
        var x = saved[0].detach().requires_grad_(xGrad);
        var extras = saved.Skip(1).Take(n).Select(t => t.detach()).ToArray();
        Tensor y;
        using (rng.Replay())
        using (enable_grad())
            y = layer(x, extras);
        var wrt = new List<Tensor>();
        if (xGrad) wrt.Add(x);
        wrt.AddRange(ps);
        var grads = wrt.Count == 0 ? [] : autograd.grad([y], wrt, [grad_output], allow_unused: true);
        Tensor? Defined(Tensor t) => t.IsInvalid ? null : t;
        // One entry per forward argument (null for non-tensors and for inputs without a gradient), in order.
        var result = new List<Tensor>(count) { null!, xGrad ? Defined(grads[0])! : null!, null! };
        for (int i = 0; i < n; i++) result.Add(null!);
        result.Add(null!);
        for (int i = 0; i < ps.Length; i++) result.Add(Defined(grads[(xGrad ? 1 : 0) + i])!);
        return result;
    }
}

/// <summary>The random state a checkpointed forward drew its dropout masks from, replayed for the recompute.</summary>
internal sealed class RngState
{
    private readonly Tensor? _cpu;
    private readonly long? _cudaSeed;

    private RngState(Tensor? cpu, long? cudaSeed) => (_cpu, _cudaSeed) = (cpu, cudaSeed);

    public static RngState Capture(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            // No CUDA get_rng_state in TorchSharp 0.107: re-seed from one CPU draw now and again for the recompute.
            long seed;
            using (var s = randint(0, long.MaxValue, [1], dtype: ScalarType.Int64)) seed = s.item<long>();
            cuda.manual_seed(seed);
            return new RngState(null, seed);
        }
        var state = get_rng_state();
        state.DetachFromDisposeScope();   // lives as long as the autograd node
        return new RngState(state, null);
    }

    /// <summary>Sets the captured state; disposing puts the current CPU state back.</summary>
    public IDisposable Replay()
    {
        if (_cudaSeed is long seed)
        {
            cuda.manual_seed(seed);
            return new Restore(null);
        }
        var now = get_rng_state();
        now.DetachFromDisposeScope();
        set_rng_state(_cpu!);
        return new Restore(now);
    }

    private sealed class Restore(Tensor? state) : IDisposable
    {
        public void Dispose()
        {
            if (state is null) return;
            set_rng_state(state);
            state.Dispose();
        }
    }
}
