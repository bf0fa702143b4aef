using System.Text.RegularExpressions;

namespace ViXml.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Base of every layer and model. Children, parameters and buffers are registered under names so that the
        /// dotted paths (e.g. "encoder.layer.0.attention.self.query.weight") equal the HF checkpoint keys.
        /// Register in the constructor: <c>query = register_module("query", new Linear(h, h));</c>.
        /// Registered tensors are detached from dispose scopes: the module owns them (Dispose() frees them).
        /// </summary>
        public abstract class Module : IDisposable
        {
            private readonly OrderedDictionary<string, Tensor?> _parameters = new();
            private readonly OrderedDictionary<string, Tensor> _buffers = new();
            private readonly HashSet<string> _nonPersistent = new();
            private readonly OrderedDictionary<string, Module> _modules = new();

            /// <summary>True in training mode (dropout active), false after eval().</summary>
            public bool training { get; private set; } = true;

            private static void CheckName(string name, string what)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                    throw new TorchException($"{what} name '{name}' must be non-empty and contain no '.'");
            }

            private void CheckFree(string name, string what)
            {
                if ((_parameters.ContainsKey(name) && what != "parameter") || (_buffers.ContainsKey(name) && what != "buffer") ||
                    (_modules.ContainsKey(name) && what != "module"))
                    throw new TorchException($"cannot register {what} '{name}' on {GetType().Name}: the name is already used");
            }

            /// <summary>Registers (or replaces) a child module and returns it.</summary>
            protected T register_module<T>(string name, T module) where T : Module
            {
                CheckName(name, "module");
                CheckFree(name, "module");
                _modules[name] = module;
                return module;
            }

            /// <summary>Registers (or replaces) a parameter (null = declared but absent, like bias=None) and returns it.
            /// The tensor is detached from any dispose scope and gets requires_grad.</summary>
            protected Tensor register_parameter(string name, Tensor param, bool requires_grad = true)
            {
                CheckName(name, "parameter");
                CheckFree(name, "parameter");
                param.DetachFromDisposeScope();
                if (param.requires_grad != requires_grad) param.requires_grad = requires_grad;
                _parameters[name] = param;
                return param;
            }

            protected void register_parameter_none(string name)
            {
                CheckName(name, "parameter");
                CheckFree(name, "parameter");
                _parameters[name] = null;
            }

            /// <summary>Registers a buffer (state that is not trained, e.g. position ids). Non-persistent buffers are
            /// left out of state_dict().</summary>
            protected Tensor register_buffer(string name, Tensor buffer, bool persistent = true)
            {
                CheckName(name, "buffer");
                CheckFree(name, "buffer");
                buffer.DetachFromDisposeScope();
                _buffers[name] = buffer;
                if (persistent) _nonPersistent.Remove(name); else _nonPersistent.Add(name);
                return buffer;
            }

            private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

            public IEnumerable<(string name, Module module)> named_children() => _modules.Select(kv => (kv.Key, kv.Value));
            public IEnumerable<Module> children() => _modules.Values;

            /// <summary>This module ("") and every descendant, depth first, with dotted names.</summary>
            public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
            {
                yield return (prefix, this);
                foreach (var (n, m) in _modules)
                    foreach (var x in m.named_modules(Join(prefix, n)))
                        yield return x;
            }

            public IEnumerable<(string name, Tensor param)> named_parameters(string prefix = "", bool recurse = true)
            {
                foreach (var (n, p) in _parameters)
                    if (p is not null) yield return (Join(prefix, n), p);
                if (!recurse) yield break;
                foreach (var (n, m) in _modules)
                    foreach (var x in m.named_parameters(Join(prefix, n)))
                        yield return x;
            }

            public IEnumerable<Tensor> parameters(bool recurse = true) => named_parameters("", recurse).Select(x => x.param);

            public IEnumerable<(string name, Tensor buffer)> named_buffers(string prefix = "", bool recurse = true)
            {
                foreach (var (n, b) in _buffers) yield return (Join(prefix, n), b);
                if (!recurse) yield break;
                foreach (var (n, m) in _modules)
                    foreach (var x in m.named_buffers(Join(prefix, n)))
                        yield return x;
            }

            public IEnumerable<Tensor> buffers(bool recurse = true) => named_buffers("", recurse).Select(x => x.buffer);

            /// <summary>Total number of parameter elements (trainable only if requested).</summary>
            public long num_parameters(bool only_trainable = false) =>
                parameters().Where(p => !only_trainable || p.requires_grad).Sum(p => p.numel());

            /// <summary>The child at a dotted path ("encoder.layer.0").</summary>
            public Module get_submodule(string path)
            {
                Module m = this;
                if (path.Length == 0) return m;
                foreach (var part in path.Split('.'))
                    m = m._modules.TryGetValue(part, out var c) ? c
                        : throw new TorchException($"{GetType().Name} has no submodule '{path}' (missing '{part}')");
                return m;
            }

            /// <summary>The parameter at a dotted path ("encoder.layer.0.output.dense.weight").</summary>
            public Tensor get_parameter(string path)
            {
                var cut = path.LastIndexOf('.');
                var owner = get_submodule(cut < 0 ? "" : path[..cut]);
                var name = path[(cut + 1)..];
                return owner._parameters.TryGetValue(name, out var p) && p is not null ? p
                    : throw new TorchException($"{GetType().Name} has no parameter '{path}'");
            }

            /// <summary>Parameters and persistent buffers by dotted name. The values are the module's own tensors
            /// (not copies): read or save them, do not dispose them.</summary>
            public OrderedDictionary<string, Tensor> state_dict()
            {
                var sd = new OrderedDictionary<string, Tensor>();
                Collect(this, "", sd);
                return sd;

                static void Collect(Module m, string prefix, OrderedDictionary<string, Tensor> sd)
                {
                    foreach (var (n, p) in m._parameters)
                        if (p is not null) sd[Join(prefix, n)] = p;
                    foreach (var (n, b) in m._buffers)
                        if (!m._nonPersistent.Contains(n)) sd[Join(prefix, n)] = b;
                    foreach (var (n, c) in m._modules) Collect(c, Join(prefix, n), sd);
                }
            }

            /// <summary>
            /// Copies tensors into the parameters/buffers with the same names (converting dtype/device as needed).
            /// Mis-shaped keys are always an error. With strict (the default), keys the module has but the dictionary
            /// lacks (missing) and keys the dictionary has but the module lacks (unexpected) are errors too, except
            /// those matching allow_unexpected / allow_missing patterns ('*' matches any run of characters, e.g.
            /// "pooler.*"). The error names every offending key. Returns the lists for non-strict callers.
            /// </summary>
            public (List<string> missing, List<string> unexpected) load_state_dict(IReadOnlyDictionary<string, Tensor> state,
                bool strict = true, IEnumerable<string>? allow_unexpected = null, IEnumerable<string>? allow_missing = null,
                string? source = null)
            {
                var own = state_dict();
                var allowU = Patterns(allow_unexpected);
                var allowM = Patterns(allow_missing);
                var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
                var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
                var misShaped = new List<string>();
                foreach (var (k, dst) in own)
                {
                    if (!state.TryGetValue(k, out var src)) continue;
                    var (a, b) = (dst.shape, src.shape);
                    if (!a.SequenceEqual(b))
                        misShaped.Add($"{k}: checkpoint [{string.Join(", ", b)}], model [{string.Join(", ", a)}]");
                }
                var badMissing = missing.Where(k => !allowM.Any(r => r.IsMatch(k))).ToList();
                var badUnexpected = unexpected.Where(k => !allowU.Any(r => r.IsMatch(k))).ToList();
                if (misShaped.Count > 0 || (strict && (badMissing.Count > 0 || badUnexpected.Count > 0)))
                {
                    var msg = $"Error(s) in loading state_dict for {GetType().Name}" + (source is null ? "" : $" from {source}") + ":";
                    if (strict && badMissing.Count > 0) msg += $"\n  Missing key(s) ({badMissing.Count}): " + string.Join(", ", badMissing);
                    if (strict && badUnexpected.Count > 0) msg += $"\n  Unexpected key(s) ({badUnexpected.Count}): " + string.Join(", ", badUnexpected);
                    if (misShaped.Count > 0) msg += $"\n  Size mismatch ({misShaped.Count}): " + string.Join("; ", misShaped);
                    throw new TorchException(msg);
                }
                using (no_grad())
                    foreach (var (k, dst) in own)
                        if (state.TryGetValue(k, out var src)) dst.copy_(src);
                return (missing, unexpected);
            }

            private static List<Regex> Patterns(IEnumerable<string>? patterns) =>
                (patterns ?? []).Select(p => new Regex("^" + Regex.Escape(p).Replace("\\*", ".*") + "$", RegexOptions.CultureInvariant)).ToList();

            /// <summary>Sets training mode here and in every descendant.</summary>
            public Module train(bool mode = true)
            {
                foreach (var (_, m) in named_modules()) m.training = mode;
                return this;
            }

            public Module eval() => train(false);

            /// <summary>Moves parameters and buffers to a device in place (their identities stay, so optimizers built
            /// before keep working).</summary>
            public Module to(Device device) => Convert(t => t.to(device), floatingOnly: false);

            /// <summary>Casts floating-point parameters and buffers (integer buffers such as ids are kept), in place.</summary>
            public Module to(DType dtype)
            {
                if (!dtype.IsFloatingPoint()) throw new TorchException($"Module.to() only accepts floating point dtypes, got {dtype.Name()}");
                return Convert(t => t.to(dtype), floatingOnly: true);
            }

            public Module to(DType dtype, Device device) => to(device).to(dtype);

            private Module Convert(Func<Tensor, Tensor> f, bool floatingOnly)
            {
                using var _ = no_grad();
                foreach (var t in parameters().Concat(buffers()))
                {
                    if (floatingOnly && !t.is_floating_point()) continue;
                    using var moved = f(t);
                    t.set_data(moved);
                }
                return this;
            }

            /// <summary>Sets requires_grad on every parameter (false freezes the module).</summary>
            public Module requires_grad_(bool requires_grad = true)
            {
                foreach (var p in parameters()) p.requires_grad = requires_grad;
                return this;
            }

            public void zero_grad(bool set_to_none = true)
            {
                foreach (var p in parameters()) p.zero_grad(set_to_none);
            }

            /// <summary>Frees every parameter and buffer of this module and its descendants.</summary>
            public virtual void Dispose()
            {
                foreach (var (_, m) in named_modules())
                {
                    foreach (var p in m._parameters.Values) p?.Dispose();
                    foreach (var b in m._buffers.Values) b.Dispose();
                }
                GC.SuppressFinalize(this);
            }

            public override string ToString() => GetType().Name;
        }

        /// <summary>A module with one input; call it with <c>m.call(x)</c> or <c>m.forward(x)</c>.</summary>
        public abstract class Module<TIn, TOut> : Module
        {
            public abstract TOut forward(TIn input);
            public TOut call(TIn input) => forward(input);
        }

        /// <summary>A module with two inputs.</summary>
        public abstract class Module<TIn1, TIn2, TOut> : Module
        {
            public abstract TOut forward(TIn1 input1, TIn2 input2);
            public TOut call(TIn1 input1, TIn2 input2) => forward(input1, input2);
        }
    }
}
