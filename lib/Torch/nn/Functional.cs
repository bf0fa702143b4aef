namespace ViXml.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>torch.nn.functional. Alias it as <c>using F = ViXml.Torch.torch.nn.functional;</c>.</summary>
        public static class functional
        {
            /// <summary>x @ weightᵀ + bias. x (*, in), weight (out, in), bias (out).</summary>
            public static Tensor linear(Tensor x, Tensor weight, Tensor? bias = null)
            {
                using var b = new OptRef(bias);
                return Tensor.Wrap(Native.vx_linear(x.Handle, weight.Handle, b.Ptr));
            }

            public static Tensor gelu(Tensor x, string approximate = "none") => x.gelu(approximate);
            public static Tensor silu(Tensor x) => x.silu();
            public static Tensor relu(Tensor x) => x.relu();
            public static Tensor tanh(Tensor x) => x.tanh();
            public static Tensor sigmoid(Tensor x) => x.sigmoid();
            public static Tensor leaky_relu(Tensor x, double negative_slope = 0.01) => x.leaky_relu(negative_slope);
            public static Tensor softmax(Tensor x, long dim, DType? dtype = null) => x.softmax(dim, dtype);
            public static Tensor log_softmax(Tensor x, long dim, DType? dtype = null) => x.log_softmax(dim, dtype);

            public static unsafe Tensor layer_norm(Tensor x, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                using var w = new OptRef(weight);
                using var b = new OptRef(bias);
                fixed (long* s = normalized_shape)
                    return Tensor.Wrap(Native.vx_layer_norm(x.Handle, s, normalized_shape.Length, w.Ptr, b.Ptr, eps));
            }

            /// <summary>Rows of weight picked by integer ids: ids (*) → (*, dim). padding_idx rows get no gradient.</summary>
            public static Tensor embedding(Tensor ids, Tensor weight, long padding_idx = -1) =>
                Tensor.Wrap(Native.vx_embedding(weight.Handle, ids.Handle, padding_idx));

            /// <summary>Zeroes elements with probability p and scales the rest by 1/(1-p) when training.</summary>
            public static Tensor dropout(Tensor x, double p = 0.5, bool training = true)
            {
                if (p < 0 || p > 1) throw new TorchException($"dropout probability has to be between 0 and 1, but got {p}");
                return Tensor.Wrap(Native.vx_dropout(x.Handle, p, training ? 1 : 0));
            }

            /// <summary>x / max(‖x‖_p, eps) along dim.</summary>
            public static Tensor normalize(Tensor x, double p = 2, long dim = 1, double eps = 1e-12) =>
                Tensor.Wrap(Native.vx_normalize(x.Handle, p, dim, eps));

            public static Tensor cosine_similarity(Tensor a, Tensor b, long dim = 1, double eps = 1e-8) =>
                Tensor.Wrap(Native.vx_cosine_similarity(a.Handle, b.Handle, dim, eps));

            private static long Reduction(string r) => r switch
            {
                "none" => 0,
                "mean" => 1,
                "sum" => 2,
                _ => throw new TorchException($"reduction must be 'none', 'mean' or 'sum', got '{r}'"),
            };

            /// <summary>Cross-entropy of logits (N, C) against class ids (N) (or class probabilities (N, C)).</summary>
            public static Tensor cross_entropy(Tensor logits, Tensor target, Tensor? weight = null, string reduction = "mean",
                long ignore_index = -100, double label_smoothing = 0.0)
            {
                using var w = new OptRef(weight);
                return Tensor.Wrap(Native.vx_cross_entropy(logits.Handle, target.Handle, w.Ptr, Reduction(reduction), ignore_index, label_smoothing));
            }

            public static Tensor nll_loss(Tensor log_probs, Tensor target, Tensor? weight = null, string reduction = "mean", long ignore_index = -100)
            {
                using var w = new OptRef(weight);
                return Tensor.Wrap(Native.vx_nll_loss(log_probs.Handle, target.Handle, w.Ptr, Reduction(reduction), ignore_index));
            }

            public static Tensor mse_loss(Tensor input, Tensor target, string reduction = "mean") =>
                Tensor.Wrap(Native.vx_mse_loss(input.Handle, target.Handle, Reduction(reduction)));

            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight = null,
                Tensor? pos_weight = null, string reduction = "mean")
            {
                using var w = new OptRef(weight);
                using var pw = new OptRef(pos_weight);
                return Tensor.Wrap(Native.vx_bce_with_logits(input.Handle, target.Handle, w.Ptr, pw.Ptr, Reduction(reduction)));
            }

            /// <summary>2-D convolution: x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW) → (N, C_out, H', W').</summary>
            public static unsafe Tensor conv2d(Tensor x, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
            {
                using var b = new OptRef(bias);
                long* s = stackalloc long[] { stride, stride };
                long* p = stackalloc long[] { padding, padding };
                long* d = stackalloc long[] { dilation, dilation };
                return Tensor.Wrap(Native.vx_conv2d(x.Handle, weight.Handle, b.Ptr, s, p, d, groups));
            }

            /// <summary>Constant padding; pad = (left, right) pairs from the last dimension backwards, as F.pad.</summary>
            public static unsafe Tensor pad(Tensor x, long[] pad, double value = 0)
            {
                fixed (long* p = pad) return Tensor.Wrap(Native.vx_pad(x.Handle, p, pad.Length, value));
            }

            /// <summary>
            /// softmax(q kᵀ · scale + mask) v, written out from ops (libtorch 1.13 has no fused kernel), with PyTorch 2.x's
            /// argument meaning: q (…, L, E), k (…, S, E), v (…, S, Ev); attn_mask bool (true = attend) or float (added),
            /// broadcastable to (…, L, S); is_causal masks j &gt; i; scale defaults to 1/√E. The softmax runs in float32
            /// for bf16/f16 inputs. Rows with every key masked come out NaN, as in PyTorch.
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor q, Tensor k, Tensor v, Tensor? attn_mask = null,
                double dropout_p = 0.0, bool is_causal = false, double? scale = null, bool training = true)
            {
                using var scope = NewDisposeScope();
                var e = q.size(-1);
                var scores = q.matmul(k.transpose(-2, -1)).mul(scale ?? 1.0 / Math.Sqrt(e));   // (…, L, S)
                if (is_causal)
                {
                    var (l, s) = (q.size(-2), k.size(-2));
                    var future = ones([l, s], DType.bool_, q.device).triu(1);
                    scores = scores.masked_fill(future, double.NegativeInfinity);
                }
                if (attn_mask is not null)
                    scores = attn_mask.dtype == DType.bool_
                        ? scores.masked_fill(attn_mask.logical_not(), double.NegativeInfinity)
                        : scores + attn_mask;
                var low = q.dtype is DType.bfloat16 or DType.float16;
                var probs = low ? scores.softmax(-1, DType.float32).to(q.dtype) : scores.softmax(-1);
                if (dropout_p > 0 && training) probs = dropout(probs, dropout_p, true);
                return probs.matmul(v).MoveToOuterScope();                                       // (…, L, Ev)
            }

            public static Tensor one_hot(Tensor ids, long num_classes = -1) => ids.one_hot(num_classes);
        }
    }
}
