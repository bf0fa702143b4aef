using TorchSharp;
using ViXml.Torch;
using TorchSharp.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Torch;

// AdamW stays ours (TorchSharp's keys its state by native handles): its state saves to and loads from named tensors,
// so stop + resume is bit-identical to an uninterrupted run, and it matches torch.optim.AdamW step for step.
public static partial class Optim
{
        /// <summary>A set of parameters sharing hyper-parameters (e.g. "no decay" for biases and LayerNorm weights).</summary>
        public sealed class ParamGroup
        {
            public List<Parameter> @params;
            /// <summary>Current learning rate (schedulers overwrite it each step).</summary>
            public double lr;
            /// <summary>The learning rate the group started with; schedulers scale this.</summary>
            public double initial_lr;
            /// <summary>Decoupled weight decay coefficient (AdamW: p -= lr * wd * p).</summary>
            public double weight_decay;
            public double beta1, beta2, eps;

            public ParamGroup(IEnumerable<Parameter> parameters, double? lr = null, double? weight_decay = null)
            {
                @params = parameters.ToList();
                this.lr = lr ?? double.NaN;
                this.weight_decay = weight_decay ?? double.NaN;
                beta1 = beta2 = eps = double.NaN;
            }
        }

        /// <summary>
        /// nanoGPT's split by shape: trainable parameters with 2 or more dimensions (matrices, embeddings) get
        /// weight_decay, the rest (biases, LayerNorm and RMSNorm weights) 0; frozen parameters are left out.
        /// </summary>
        public static List<ParamGroup> decay_groups(nn.Module model, double weight_decay)
        {
            var decay = new List<Parameter>();
            var plain = new List<Parameter>();
            foreach (var (_, p) in model.named_parameters())
            {
                if (!p.requires_grad) continue;
                (p.dim() >= 2 ? decay : plain).Add(p);
            }
            return [new ParamGroup(decay, weight_decay: weight_decay), new ParamGroup(plain, weight_decay: 0.0)];
        }

        /// <summary>
        /// Adam with decoupled weight decay (Loshchilov &amp; Hutter), step for step as torch.optim.AdamW (1.13,
        /// single-tensor path, amsgrad off): p *= 1 - lr·wd; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
        /// p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps). State is kept as tensors and updated in place under no_grad.
        /// </summary>
        public sealed class AdamW : IDisposable
        {
            public readonly List<ParamGroup> param_groups;
            private readonly Dictionary<Parameter, State> _state = new(ReferenceEqualityComparer.Instance);

            private sealed class State
            {
                public long step;
                public required Tensor exp_avg, exp_avg_sq;
            }

            public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weight_decay = 1e-2)
                : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weight_decay) { }

            /// <summary>Groups fill unset (NaN) hyper-parameters from the defaults given here.</summary>
            public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weight_decay = 1e-2)
            {
                param_groups = groups.ToList();
                var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
                foreach (var g in param_groups)
                {
                    if (double.IsNaN(g.lr)) g.lr = lr;
                    if (double.IsNaN(g.weight_decay)) g.weight_decay = weight_decay;
                    if (double.IsNaN(g.beta1)) g.beta1 = beta1;
                    if (double.IsNaN(g.beta2)) g.beta2 = beta2;
                    if (double.IsNaN(g.eps)) g.eps = eps;
                    g.initial_lr = g.lr;
                    if (g.lr < 0) throw new TorchException($"Invalid learning rate: {g.lr}");
                    if (g.beta1 is < 0 or >= 1 || g.beta2 is < 0 or >= 1) throw new TorchException($"Invalid betas: ({g.beta1}, {g.beta2})");
                    foreach (var p in g.@params)
                        if (!seen.Add(p)) throw new TorchException("some parameters appear in more than one parameter group");
                }
            }

            public void zero_grad(bool set_to_none = true)
            {
                foreach (var g in param_groups)
                    foreach (var p in g.@params)
                    {
                        using var grad = p.grad;
                        if (grad is null) continue;
                        if (set_to_none) p.grad = null; else grad.zero_();
                    }
            }

            /// <summary>One update of every parameter that has a gradient.</summary>
            public void step()
            {
                using var _ = no_grad();
                foreach (var g in param_groups)
                {
                    foreach (var p in g.@params)
                    {
                        using var grad = p.grad;
                        if (grad is null) continue;
                        if (!_state.TryGetValue(p, out var st))
                        {
                            st = new State
                            {
                                exp_avg = zeros_like(p).DetachFromDisposeScope(),
                                exp_avg_sq = zeros_like(p).DetachFromDisposeScope(),
                            };
                            _state[p] = st;
                        }
                        st.step++;
                        p.mul_(1 - g.lr * g.weight_decay);
                        st.exp_avg.mul_(g.beta1).add_(grad, 1 - g.beta1);
                        st.exp_avg_sq.mul_(g.beta2).addcmul_(grad, grad, 1 - g.beta2);
                        var bc1 = 1 - Math.Pow(g.beta1, st.step);
                        var bc2 = 1 - Math.Pow(g.beta2, st.step);
                        var stepSize = g.lr / bc1;
                        using var denom = st.exp_avg_sq.sqrt();
                        denom.div_(Math.Sqrt(bc2)).add_(g.eps);
                        p.addcdiv_(st.exp_avg, denom, -stepSize);
                    }
                }
            }

            /// <summary>
            /// Everything needed to resume, as named tensors (saveable with safetensors): per parameter (numbered in
            /// group order) "state.{i}.step" / ".exp_avg" / ".exp_avg_sq", per group "param_groups.{g}.lr" /
            /// ".initial_lr" / ".weight_decay" / ".beta1" / ".beta2" / ".eps" (0-dim float64). The tensors are new:
            /// the caller owns them (scope or dispose).
            /// </summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var sd = new Dictionary<string, Tensor>();
                var i = 0;
                for (var gi = 0; gi < param_groups.Count; gi++)
                {
                    var g = param_groups[gi];
                    foreach (var (k, v) in new (string, double)[] { ("lr", g.lr), ("initial_lr", g.initial_lr), ("weight_decay", g.weight_decay),
                                 ("beta1", g.beta1), ("beta2", g.beta2), ("eps", g.eps), ("num_params", g.@params.Count) })
                        sd[$"param_groups.{gi}.{k}"] = tensor(v, ScalarType.Float64);
                    foreach (var p in g.@params)
                    {
                        if (_state.TryGetValue(p, out var st))
                        {
                            sd[$"state.{i}.step"] = tensor((double)st.step, ScalarType.Float64);
                            sd[$"state.{i}.exp_avg"] = st.exp_avg.clone();
                            sd[$"state.{i}.exp_avg_sq"] = st.exp_avg_sq.clone();
                        }
                        i++;
                    }
                }
                return sd;
            }

            /// <summary>Restores a state_dict() taken from an optimizer over the same parameter layout; every mismatch
            /// (group count, parameter count, state shape, unknown key) is named in the error.</summary>
            public void load_state_dict(IReadOnlyDictionary<string, Tensor> sd)
            {
                var errors = new List<string>();
                var known = new HashSet<string>();
                double Get(string key)
                {
                    known.Add(key);
                    if (sd.TryGetValue(key, out var t)) return t.to(ScalarType.Float64).item<double>();
                    errors.Add($"missing {key}");
                    return double.NaN;
                }
                var i = 0;
                var loaded = new List<(Parameter p, long step, Tensor m, Tensor v)>();
                for (var gi = 0; gi < param_groups.Count; gi++)
                {
                    var g = param_groups[gi];
                    var n = Get($"param_groups.{gi}.num_params");
                    if (!double.IsNaN(n) && (long)n != g.@params.Count) errors.Add($"param_groups.{gi} has {n} parameters in the state, {g.@params.Count} here");
                    foreach (var p in g.@params)
                    {
                        var keys = new[] { $"state.{i}.step", $"state.{i}.exp_avg", $"state.{i}.exp_avg_sq" };
                        foreach (var k in keys) known.Add(k);
                        if (sd.ContainsKey(keys[0]))
                        {
                            if (!sd.TryGetValue(keys[1], out var m) || !sd.TryGetValue(keys[2], out var v)) { errors.Add($"state.{i} incomplete"); i++; continue; }
                            if (!m.shape.SequenceEqual(p.shape) || !v.shape.SequenceEqual(p.shape))
                                errors.Add($"state.{i}: shape [{string.Join(", ", m.shape)}] vs parameter [{string.Join(", ", p.shape)}]");
                            else loaded.Add((p, (long)sd[keys[0]].to(ScalarType.Float64).item<double>(), m, v));
                        }
                        i++;
                    }
                }
                var hyper = param_groups.Select((g, gi) => (g, lr: Get($"param_groups.{gi}.lr"), ilr: Get($"param_groups.{gi}.initial_lr"),
                    wd: Get($"param_groups.{gi}.weight_decay"), b1: Get($"param_groups.{gi}.beta1"), b2: Get($"param_groups.{gi}.beta2"),
                    eps: Get($"param_groups.{gi}.eps"))).ToList();
                errors.AddRange(sd.Keys.Where(k => !known.Contains(k)).Select(k => $"unexpected {k}"));
                if (errors.Count > 0) throw new TorchException("AdamW.load_state_dict: " + string.Join("; ", errors));
                foreach (var h in hyper)
                    (h.g.lr, h.g.initial_lr, h.g.weight_decay, h.g.beta1, h.g.beta2, h.g.eps) = (h.lr, h.ilr, h.wd, h.b1, h.b2, h.eps);
                ClearState();
                using var _ = no_grad();
                foreach (var (p, step, m, v) in loaded)
                    _state[p] = new State
                    {
                        step = step,
                        exp_avg = m.to(p.dtype, p.device, copy: true).DetachFromDisposeScope(),
                        exp_avg_sq = v.to(p.dtype, p.device, copy: true).DetachFromDisposeScope(),
                    };
            }

            private void ClearState()
            {
                foreach (var st in _state.Values) { st.exp_avg.Dispose(); st.exp_avg_sq.Dispose(); }
                _state.Clear();
            }

            public void Dispose() => ClearState();
        }

        /// <summary>
        /// Linear warm-up from 0 to each group's initial lr over warmup_steps, then linear decay to 0 at total_steps
        /// (HF get_linear_schedule_with_warmup). Construction sets lr for step 0; call step() after each optimizer step.
        /// </summary>
        public sealed class LinearWarmupDecay
        {
            private readonly AdamW _opt;
            public readonly long warmup_steps, total_steps;
            /// <summary>Number of step() calls so far (PyTorch's last_epoch).</summary>
            public long last_step { get; private set; }

            public LinearWarmupDecay(AdamW optimizer, long warmup_steps, long total_steps, long last_step = 0)
            {
                if (warmup_steps < 0 || total_steps < 1) throw new TorchException($"LinearWarmupDecay: bad steps (warmup {warmup_steps}, total {total_steps})");
                _opt = optimizer;
                this.warmup_steps = warmup_steps;
                this.total_steps = total_steps;
                this.last_step = last_step;
                Apply();
            }

            /// <summary>The multiplier at a step.</summary>
            public double factor(long step) => step < warmup_steps
                ? (double)step / Math.Max(1, warmup_steps)
                : Math.Max(0.0, (double)(total_steps - step) / Math.Max(1, total_steps - warmup_steps));

            public void step()
            {
                last_step++;
                Apply();
            }

            public double[] get_last_lr() => _opt.param_groups.Select(g => g.lr).ToArray();

            private void Apply()
            {
                var f = factor(last_step);
                foreach (var g in _opt.param_groups) g.lr = g.initial_lr * f;
            }
        }
    }
