namespace ViXml.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>y = x Wᵀ + b. weight (out_features, in_features), bias (out_features); PyTorch's default init.</summary>
        public sealed class Linear : Module<Tensor, Tensor>
        {
            public readonly long in_features, out_features;
            public Tensor weight { get; private set; }
            public Tensor? bias { get; private set; }

            public Linear(long in_features, long out_features, bool bias = true, DType? dtype = null, Device? device = null)
            {
                this.in_features = in_features;
                this.out_features = out_features;
                weight = register_parameter("weight", empty([out_features, in_features], dtype, device));
                init.kaiming_uniform_(weight, Math.Sqrt(5));
                if (bias)
                {
                    var bound = in_features > 0 ? 1 / Math.Sqrt(in_features) : 0;
                    this.bias = register_parameter("bias", empty([out_features], dtype, device));
                    init.uniform_(this.bias, -bound, bound);
                }
                else register_parameter_none("bias");
            }

            public override Tensor forward(Tensor x) => functional.linear(x, weight, bias);
        }

        /// <summary>A lookup table: ids (*) → (*, embedding_dim). Rows init N(0, 1); the padding row is zero.</summary>
        public sealed class Embedding : Module<Tensor, Tensor>
        {
            public readonly long num_embeddings, embedding_dim, padding_idx;
            public Tensor weight { get; private set; }

            public Embedding(long num_embeddings, long embedding_dim, long? padding_idx = null, DType? dtype = null, Device? device = null)
            {
                this.num_embeddings = num_embeddings;
                this.embedding_dim = embedding_dim;
                this.padding_idx = padding_idx is long p ? (p < 0 ? p + num_embeddings : p) : -1;
                weight = register_parameter("weight", empty([num_embeddings, embedding_dim], dtype, device));
                init.normal_(weight);
                if (this.padding_idx >= 0)
                    using (no_grad()) using (var row = weight.select(0, this.padding_idx)) row.zero_();
            }

            public override Tensor forward(Tensor ids) => functional.embedding(ids, weight, padding_idx);
        }

        /// <summary>Layer normalization over the trailing normalized_shape dims; weight 1, bias 0 (HF name: LayerNorm).</summary>
        public sealed class LayerNorm : Module<Tensor, Tensor>
        {
            public readonly long[] normalized_shape;
            public readonly double eps;
            public Tensor? weight { get; private set; }
            public Tensor? bias { get; private set; }

            public LayerNorm(long normalized_shape, double eps = 1e-5, bool elementwise_affine = true, DType? dtype = null, Device? device = null)
                : this([normalized_shape], eps, elementwise_affine, dtype, device) { }

            public LayerNorm(long[] normalized_shape, double eps = 1e-5, bool elementwise_affine = true, DType? dtype = null, Device? device = null)
            {
                this.normalized_shape = normalized_shape;
                this.eps = eps;
                if (elementwise_affine)
                {
                    weight = register_parameter("weight", ones(normalized_shape, dtype, device));
                    bias = register_parameter("bias", zeros(normalized_shape, dtype, device));
                }
            }

            public override Tensor forward(Tensor x) => functional.layer_norm(x, normalized_shape, weight, bias, eps);
        }

        /// <summary>2-D convolution with square kernel/stride/padding (a ViT patch embedding is Conv2d(3, D, P, stride: P)).
        /// weight (out, in/groups, k, k), bias (out); PyTorch's default init.</summary>
        public sealed class Conv2d : Module<Tensor, Tensor>
        {
            public readonly long in_channels, out_channels, kernel_size, stride, padding, groups;
            public Tensor weight { get; private set; }
            public Tensor? bias { get; private set; }

            public Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long groups = 1,
                bool bias = true, DType? dtype = null, Device? device = null)
            {
                (this.in_channels, this.out_channels, this.kernel_size, this.stride, this.padding, this.groups) =
                    (in_channels, out_channels, kernel_size, stride, padding, groups);
                weight = register_parameter("weight", empty([out_channels, in_channels / groups, kernel_size, kernel_size], dtype, device));
                init.kaiming_uniform_(weight, Math.Sqrt(5));
                if (bias)
                {
                    var fanIn = in_channels / groups * kernel_size * kernel_size;
                    var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
                    this.bias = register_parameter("bias", empty([out_channels], dtype, device));
                    init.uniform_(this.bias, -bound, bound);
                }
                else register_parameter_none("bias");
            }

            public override Tensor forward(Tensor x) => functional.conv2d(x, weight, bias, stride, padding, 1, groups);
        }

        /// <summary>Dropout active only in training mode.</summary>
        public sealed class Dropout : Module<Tensor, Tensor>
        {
            public readonly double p;

            public Dropout(double p = 0.5)
            {
                if (p < 0 || p > 1) throw new TorchException($"dropout probability has to be between 0 and 1, but got {p}");
                this.p = p;
            }

            public override Tensor forward(Tensor x) => functional.dropout(x, p, training);
        }

        /// <summary>An indexed list of modules registered as "0", "1", ... (HF: encoder.layer.0...).</summary>
        public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
        {
            private readonly List<T> _items = new();

            public ModuleList(IEnumerable<T>? modules = null)
            {
                if (modules is not null) foreach (var m in modules) append(m);
            }

            public ModuleList<T> append(T module)
            {
                register_module(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
                _items.Add(module);
                return this;
            }

            public T this[int index] => _items[index];
            public int Count => _items.Count;
            public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        /// <summary>Modules applied in order, registered as "0", "1", ... (HF projection heads: Sequential(Linear, GELU, Linear)).</summary>
        public sealed class Sequential : Module<Tensor, Tensor>
        {
            private readonly List<Module<Tensor, Tensor>> _layers = new();

            public Sequential(params Module<Tensor, Tensor>[] layers)
            {
                foreach (var l in layers)
                {
                    register_module(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), l);
                    _layers.Add(l);
                }
            }

            public int Count => _layers.Count;
            public Module<Tensor, Tensor> this[int i] => _layers[i];

            public override Tensor forward(Tensor x)
            {
                // intermediate results are disposed as soon as the next layer has consumed them
                var h = _layers.Count == 0 ? x.alias() : _layers[0].call(x);
                for (var i = 1; i < _layers.Count; i++)
                {
                    var next = _layers[i].call(h);
                    if (!ReferenceEquals(h, x) && !ReferenceEquals(h, next)) h.Dispose(); // never the caller's input
                    h = next;
                }
                return h;
            }
        }

        /// <summary>Stateless activation modules (for Sequential).</summary>
        public sealed class GELU(string approximate = "none") : Module<Tensor, Tensor>
        {
            public override Tensor forward(Tensor x) => x.gelu(approximate);
        }

        public sealed class ReLU : Module<Tensor, Tensor>
        {
            public override Tensor forward(Tensor x) => x.relu();
        }

        public sealed class Tanh : Module<Tensor, Tensor>
        {
            public override Tensor forward(Tensor x) => x.tanh();
        }

        public sealed class SiLU : Module<Tensor, Tensor>
        {
            public override Tensor forward(Tensor x) => x.silu();
        }

        public sealed class Identity : Module<Tensor, Tensor>
        {
            public override Tensor forward(Tensor x) => x.alias();
        }

        /// <summary>Builds a free-standing parameter: a detached leaf with requires_grad.</summary>
        public static Tensor Parameter(Tensor data, bool requires_grad = true)
        {
            var p = data.detach().DetachFromDisposeScope();
            p.requires_grad = requires_grad;
            return p;
        }

        /// <summary>Parameter initialisers (torch.nn.init), in place under no_grad.</summary>
        public static class init
        {
            public static Tensor normal_(Tensor t, double mean = 0, double std = 1, Generator? generator = null)
            {
                using var _ = no_grad();
                return t.normal_(mean, std, generator);
            }

            public static Tensor uniform_(Tensor t, double a = 0, double b = 1, Generator? generator = null)
            {
                using var _ = no_grad();
                return t.uniform_(a, b, generator);
            }

            public static Tensor zeros_(Tensor t) { using var _ = no_grad(); return t.zero_(); }
            public static Tensor ones_(Tensor t) { using var _ = no_grad(); return t.fill_(1.0); }
            public static Tensor constant_(Tensor t, double value) { using var _ = no_grad(); return t.fill_(value); }

            /// <summary>(fan_in, fan_out) as PyTorch computes them: dims 1 and 0 times the receptive field.</summary>
            public static (long fan_in, long fan_out) calculate_fan_in_and_fan_out(Tensor t)
            {
                var s = t.shape;
                if (s.Length < 2) throw new TorchException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
                long receptive = 1;
                for (var i = 2; i < s.Length; i++) receptive *= s[i];
                return (s[1] * receptive, s[0] * receptive);
            }

            /// <summary>U(-bound, bound) with bound = gain·√(3/fan), gain = √(2/(1+a²)) (leaky_relu), as nn.Linear uses with a=√5.</summary>
            public static Tensor kaiming_uniform_(Tensor t, double a = 0, string mode = "fan_in", Generator? generator = null)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(t);
                var fan = mode == "fan_in" ? fanIn : mode == "fan_out" ? fanOut : throw new TorchException($"mode {mode} not supported");
                var gain = Math.Sqrt(2.0 / (1 + a * a));
                var bound = fan == 0 ? 0 : gain * Math.Sqrt(3.0 / fan);
                return uniform_(t, -bound, bound, generator);
            }

            public static Tensor xavier_uniform_(Tensor t, double gain = 1, Generator? generator = null)
            {
                var (fanIn, fanOut) = calculate_fan_in_and_fan_out(t);
                var a = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
                return uniform_(t, -a, a, generator);
            }

            /// <summary>N(mean, std) truncated to [a, b] by inverse-CDF sampling (as torch.nn.init.trunc_normal_).</summary>
            public static Tensor trunc_normal_(Tensor t, double mean = 0, double std = 1, double a = -2, double b = 2, Generator? generator = null)
            {
                using var _ = no_grad();
                static double Cdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
                var l = Cdf((a - mean) / std);
                var u = Cdf((b - mean) / std);
                t.uniform_(2 * l - 1, 2 * u - 1, generator);
                using (var inv = t.erfinv()) t.copy_(inv);
                t.mul_(std * Math.Sqrt(2)).add_(mean);
                return t.clamp_(a, b);
            }

            // erf by its Maclaurin series / asymptotic tail: only used for two scalar bounds above.
            private static double Erf(double x)
            {
                if (Math.Abs(x) > 5) return Math.Sign(x);
                double sum = x, term = x, x2 = x * x;
                for (var n = 1; n < 200; n++) { term *= -x2 / n; sum += term / (2 * n + 1); if (Math.Abs(term) < 1e-17) break; }
                return 2 / Math.Sqrt(Math.PI) * sum;
            }
        }
    }
}
