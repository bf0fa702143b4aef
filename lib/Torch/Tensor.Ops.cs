namespace ViXml.Torch;

// Tensor operations, PyTorch names. Most are one line over a table-driven native family (native/ops.def);
// in-place ops end in '_' and return this.
public sealed partial class Tensor
{
    // ---- plumbing ----
    private Tensor U(UnaryOp op) => Wrap(Native.vx_unary((int)op, Handle));
    private Tensor B(BinaryOp op, Tensor o) => Wrap(Native.vx_binary((int)op, Handle, o.Handle));
    private Tensor S(ScalarOp op, Scalar s) => Wrap(Native.vx_bscalar((int)op, Handle, s.D, s.L, s.Kind));
    private Tensor UI(UnaryInplaceOp op) { Native.Check(Native.vx_unary_((int)op, Handle)); return this; }
    private Tensor BI(BinaryInplaceOp op, Tensor o) { Native.Check(Native.vx_binary_((int)op, Handle, o.Handle)); return this; }
    private Tensor SI(ScalarInplaceOp op, Scalar s) { Native.Check(Native.vx_bscalar_((int)op, Handle, s.D, s.L, s.Kind)); return this; }
    private Tensor D(DimOp op, long dim) => Wrap(Native.vx_dim_op((int)op, Handle, dim));
    private unsafe Tensor DS(DimsOp op, long[] dims, bool keepdim = false)
    {
        fixed (long* p = dims) return Wrap(Native.vx_dims_op((int)op, Handle, p, dims.Length, keepdim ? 1 : 0));
    }
    private static (Tensor, Tensor) Pair(int rc, IntPtr a, IntPtr b)
    {
        Native.Check(rc);
        return (WrapRaw(a), WrapRaw(b));
    }
    private unsafe delegate int ListFn(IntPtr* output, int cap);
    private static unsafe Tensor[] List(int cap, ListFn f)
    {
        var buf = new IntPtr[Math.Max(cap, 1)];
        int n;
        fixed (IntPtr* p = buf) n = Native.Check(f(p, buf.Length));
        var result = new Tensor[n];
        for (var i = 0; i < n; i++) result[i] = WrapRaw(buf[i]);
        return result;
    }
    private long DimSize(long dim) => size(dim);

    // ---- elementwise unary ----
    public Tensor neg() => U(UnaryOp.neg);
    public Tensor abs() => U(UnaryOp.abs);
    public Tensor exp() => U(UnaryOp.exp);
    public Tensor log() => U(UnaryOp.log);
    public Tensor log1p() => U(UnaryOp.log1p);
    public Tensor sqrt() => U(UnaryOp.sqrt);
    public Tensor rsqrt() => U(UnaryOp.rsqrt);
    public Tensor square() => U(UnaryOp.square);
    public Tensor reciprocal() => U(UnaryOp.reciprocal);
    public Tensor tanh() => U(UnaryOp.tanh);
    public Tensor sigmoid() => U(UnaryOp.sigmoid);
    public Tensor relu() => U(UnaryOp.relu);
    /// <summary>GELU; approximate "none" (erf form, BERT) or "tanh" (GPT-2 style).</summary>
    public Tensor gelu(string approximate = "none") => approximate switch
    {
        "none" => U(UnaryOp.gelu),
        "tanh" => U(UnaryOp.gelu_tanh),
        _ => throw new TorchException($"gelu: approximate must be 'none' or 'tanh', got '{approximate}'"),
    };
    public Tensor silu() => U(UnaryOp.silu);
    public Tensor cos() => U(UnaryOp.cos);
    public Tensor sin() => U(UnaryOp.sin);
    public Tensor erf() => U(UnaryOp.erf);
    public Tensor erfinv() => U(UnaryOp.erfinv);
    public Tensor floor() => U(UnaryOp.floor);
    public Tensor ceil() => U(UnaryOp.ceil);
    public Tensor round() => U(UnaryOp.round);
    public Tensor sign() => U(UnaryOp.sign);
    public Tensor logical_not() => U(UnaryOp.logical_not);
    public Tensor isnan() => U(UnaryOp.isnan);
    public Tensor contiguous() => U(UnaryOp.contiguous);
    public Tensor clone() => U(UnaryOp.clone);
    /// <summary>A new tensor sharing storage, cut from the autograd graph.</summary>
    public Tensor detach() => U(UnaryOp.detach);
    public Tensor t() => U(UnaryOp.@t);
    /// <summary>A new handle on the same tensor (same storage and autograd identity), owned separately.</summary>
    public Tensor alias() => U(UnaryOp.alias);
    public Tensor T => t();
    public Tensor nonzero() => U(UnaryOp.nonzero);
    public Tensor leaky_relu(double negative_slope = 0.01) => S(ScalarOp.leaky_relu, negative_slope);

    // ---- elementwise binary ----
    public Tensor add(Tensor other) => B(BinaryOp.add, other);
    public Tensor add(Tensor other, Scalar alpha) => Wrap(Native.vx_add_alpha(Handle, other.Handle, alpha.D, alpha.L, alpha.Kind));
    public Tensor add(Scalar other) => S(ScalarOp.add, other);
    public Tensor sub(Tensor other) => B(BinaryOp.sub, other);
    public Tensor sub(Scalar other) => S(ScalarOp.sub, other);
    public Tensor mul(Tensor other) => B(BinaryOp.mul, other);
    public Tensor mul(Scalar other) => S(ScalarOp.mul, other);
    public Tensor div(Tensor other) => B(BinaryOp.div, other);
    public Tensor div(Scalar other) => S(ScalarOp.div, other);
    public Tensor pow(Tensor exponent) => B(BinaryOp.pow, exponent);
    public Tensor pow(Scalar exponent) => S(ScalarOp.pow, exponent);
    public Tensor remainder(Tensor other) => B(BinaryOp.remainder, other);
    public Tensor remainder(Scalar other) => S(ScalarOp.remainder, other);
    public Tensor maximum(Tensor other) => B(BinaryOp.maximum, other);
    public Tensor minimum(Tensor other) => B(BinaryOp.minimum, other);
    public Tensor eq(Tensor other) => B(BinaryOp.eq, other);
    public Tensor eq(Scalar other) => S(ScalarOp.eq, other);
    public Tensor ne(Tensor other) => B(BinaryOp.ne, other);
    public Tensor ne(Scalar other) => S(ScalarOp.ne, other);
    public Tensor lt(Tensor other) => B(BinaryOp.lt, other);
    public Tensor lt(Scalar other) => S(ScalarOp.lt, other);
    public Tensor le(Tensor other) => B(BinaryOp.le, other);
    public Tensor le(Scalar other) => S(ScalarOp.le, other);
    public Tensor gt(Tensor other) => B(BinaryOp.gt, other);
    public Tensor gt(Scalar other) => S(ScalarOp.gt, other);
    public Tensor ge(Tensor other) => B(BinaryOp.ge, other);
    public Tensor ge(Scalar other) => S(ScalarOp.ge, other);
    public Tensor logical_and(Tensor other) => B(BinaryOp.logical_and, other);
    public Tensor logical_or(Tensor other) => B(BinaryOp.logical_or, other);
    public Tensor clamp_min(Scalar min) => S(ScalarOp.clamp_min, min);
    public Tensor clamp_max(Scalar max) => S(ScalarOp.clamp_max, max);
    public Tensor clamp(double? min = null, double? max = null) =>
        Wrap(Native.vx_clamp(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));
    public Tensor expand_as(Tensor other) => B(BinaryOp.expand_as, other);
    public Tensor type_as(Tensor other) => B(BinaryOp.type_as, other);
    public Tensor view_as(Tensor other) => B(BinaryOp.view_as, other);
    public Tensor reshape_as(Tensor other) => B(BinaryOp.reshape_as, other);
    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8) => Native.Check(Native.vx_allclose(Handle, other.Handle, rtol, atol)) != 0;
    public bool equal(Tensor other) => Native.Check(Native.vx_equal(Handle, other.Handle)) != 0;

    // ---- matrix products ----
    public Tensor matmul(Tensor other) => B(BinaryOp.matmul, other);
    public Tensor mm(Tensor other) => B(BinaryOp.mm, other);
    public Tensor bmm(Tensor other) => B(BinaryOp.bmm, other);
    public Tensor dot(Tensor other) => B(BinaryOp.dot, other);
    public Tensor outer(Tensor other) => B(BinaryOp.outer, other);

    // ---- in place (optimizers, initialisation) ----
    public Tensor zero_() => UI(UnaryInplaceOp.zero_);
    public Tensor neg_() => UI(UnaryInplaceOp.neg_);
    public Tensor exp_() => UI(UnaryInplaceOp.exp_);
    public Tensor sqrt_() => UI(UnaryInplaceOp.sqrt_);
    public Tensor relu_() => UI(UnaryInplaceOp.relu_);
    public Tensor sigmoid_() => UI(UnaryInplaceOp.sigmoid_);
    public Tensor tanh_() => UI(UnaryInplaceOp.tanh_);
    public Tensor add_(Tensor other) => BI(BinaryInplaceOp.add_, other);
    public Tensor add_(Tensor other, Scalar alpha) { Native.Check(Native.vx_add_alpha_(Handle, other.Handle, alpha.D, alpha.L, alpha.Kind)); return this; }
    public Tensor add_(Scalar other) => SI(ScalarInplaceOp.add_, other);
    public Tensor sub_(Tensor other) => BI(BinaryInplaceOp.sub_, other);
    public Tensor sub_(Scalar other) => SI(ScalarInplaceOp.sub_, other);
    public Tensor mul_(Tensor other) => BI(BinaryInplaceOp.mul_, other);
    public Tensor mul_(Scalar other) => SI(ScalarInplaceOp.mul_, other);
    public Tensor div_(Tensor other) => BI(BinaryInplaceOp.div_, other);
    public Tensor div_(Scalar other) => SI(ScalarInplaceOp.div_, other);
    public Tensor pow_(Tensor other) => BI(BinaryInplaceOp.pow_, other);
    public Tensor pow_(Scalar other) => SI(ScalarInplaceOp.pow_, other);
    public Tensor copy_(Tensor src) => BI(BinaryInplaceOp.copy_, src);
    public Tensor fill_(Scalar value) => SI(ScalarInplaceOp.fill_, value);
    public Tensor clamp_min_(Scalar min) => SI(ScalarInplaceOp.clamp_min_, min);
    public Tensor clamp_max_(Scalar max) => SI(ScalarInplaceOp.clamp_max_, max);
    public Tensor clamp_(double? min = null, double? max = null)
    {
        Native.Check(Native.vx_clamp_(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));
        return this;
    }
    /// <summary>this += value * t1 * t2</summary>
    public Tensor addcmul_(Tensor t1, Tensor t2, Scalar value) { Native.Check(Native.vx_addcmul_(Handle, t1.Handle, t2.Handle, value.D, value.L, value.Kind)); return this; }
    public Tensor addcmul_(Tensor t1, Tensor t2) => addcmul_(t1, t2, 1.0);
    /// <summary>this += value * t1 / t2</summary>
    public Tensor addcdiv_(Tensor t1, Tensor t2, Scalar value) { Native.Check(Native.vx_addcdiv_(Handle, t1.Handle, t2.Handle, value.D, value.L, value.Kind)); return this; }
    public Tensor addcdiv_(Tensor t1, Tensor t2) => addcdiv_(t1, t2, 1.0);
    /// <summary>this += weight * (end - this)</summary>
    public Tensor lerp_(Tensor end, Scalar weight) { Native.Check(Native.vx_lerp_(Handle, end.Handle, weight.D, weight.L, weight.Kind)); return this; }
    public Tensor normal_(double mean = 0, double std = 1, torch.Generator? generator = null) { Native.Check(Native.vx_normal_(Handle, mean, std, generator?.Ptr ?? IntPtr.Zero)); return this; }
    public Tensor uniform_(double from = 0, double to = 1, torch.Generator? generator = null) { Native.Check(Native.vx_uniform_(Handle, from, to, generator?.Ptr ?? IntPtr.Zero)); return this; }
    public Tensor masked_fill_(Tensor mask, Scalar value) { Native.Check(Native.vx_masked_fill_(Handle, mask.Handle, value.D, value.L, value.Kind)); return this; }
    public Tensor scatter_(long dim, Tensor index, Tensor src) { Native.Check(Native.vx_scatter_(Handle, dim, index.Handle, src.Handle)); return this; }
    public Tensor index_add_(long dim, Tensor index, Tensor src) { Native.Check(Native.vx_index_add_(Handle, dim, index.Handle, src.Handle)); return this; }

    // ---- reductions ----
    public Tensor sum() => U(UnaryOp.sum_all);
    public Tensor sum(long dim, bool keepdim = false, DType? dtype = null) => sum([dim], keepdim, dtype);
    public Tensor sum(long[] dims, bool keepdim = false, DType? dtype = null)
    {
        if (dtype is null) return DS(DimsOp.sum, dims, keepdim);
        if (dtype == DType.float32) return DS(DimsOp.sum_f32, dims, keepdim);
        using var c = to(dtype.Value);
        return c.DS(DimsOp.sum, dims, keepdim);
    }
    public Tensor mean() => U(UnaryOp.mean_all);
    public Tensor mean(long dim, bool keepdim = false, DType? dtype = null) => mean([dim], keepdim, dtype);
    public Tensor mean(long[] dims, bool keepdim = false, DType? dtype = null)
    {
        if (dtype is null) return DS(DimsOp.mean, dims, keepdim);
        if (dtype == DType.float32) return DS(DimsOp.mean_f32, dims, keepdim);
        using var c = to(dtype.Value);
        return c.DS(DimsOp.mean, dims, keepdim);
    }
    public Tensor max() => U(UnaryOp.max_all);
    public Tensor min() => U(UnaryOp.min_all);
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) =>
        Pair(Native.vx_max_dim(Handle, dim, keepdim ? 1 : 0, out var v, out var i), v, i);
    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) =>
        Pair(Native.vx_min_dim(Handle, dim, keepdim ? 1 : 0, out var v, out var i), v, i);
    public Tensor amax(long[] dims, bool keepdim = false) => DS(DimsOp.amax, dims, keepdim);
    public Tensor amax(long dim, bool keepdim = false) => DS(DimsOp.amax, [dim], keepdim);
    public Tensor amin(long[] dims, bool keepdim = false) => DS(DimsOp.amin, dims, keepdim);
    public Tensor amin(long dim, bool keepdim = false) => DS(DimsOp.amin, [dim], keepdim);
    public Tensor argmax() => U(UnaryOp.argmax_all);
    public Tensor argmax(long dim, bool keepdim = false) => Wrap(Native.vx_argmax(Handle, dim, keepdim ? 1 : 0));
    public Tensor argmin(long dim, bool keepdim = false) => Wrap(Native.vx_argmin(Handle, dim, keepdim ? 1 : 0));
    public Tensor logsumexp(long dim, bool keepdim = false) => DS(DimsOp.logsumexp, [dim], keepdim);
    public Tensor logsumexp(long[] dims, bool keepdim = false) => DS(DimsOp.logsumexp, dims, keepdim);
    public Tensor var(long dim, bool unbiased = true, bool keepdim = false) => DS(unbiased ? DimsOp.@var : DimsOp.var_biased, [dim], keepdim);
    public Tensor var(long[] dims, bool unbiased = true, bool keepdim = false) => DS(unbiased ? DimsOp.@var : DimsOp.var_biased, dims, keepdim);
    public Tensor std(long dim, bool keepdim = false) => DS(DimsOp.std, [dim], keepdim);
    /// <summary>p-norm over all elements.</summary>
    public Tensor norm(double p = 2) => norm(p, [], false);
    public Tensor norm(double p, long dim, bool keepdim = false) => norm(p, [dim], keepdim);
    public unsafe Tensor norm(double p, long[] dims, bool keepdim = false)
    {
        if (p == 2) return DS(DimsOp.norm2, dims, keepdim);
        fixed (long* d = dims) return Wrap(Native.vx_norm(Handle, p, d, dims.Length, keepdim ? 1 : 0));
    }
    public Tensor all() => U(UnaryOp.all);
    public Tensor any() => U(UnaryOp.any);
    public Tensor cumsum(long dim) => D(DimOp.cumsum, dim);

    // ---- softmax family ----
    /// <summary>softmax along dim; dtype float32 computes in fp32 (for bf16 inputs), as F.softmax(x, dim, dtype=...).</summary>
    public Tensor softmax(long dim, DType? dtype = null) => dtype switch
    {
        null => D(DimOp.softmax, dim),
        DType.float32 => D(DimOp.softmax_f32, dim),
        _ => Cast(dtype.Value, t => t.D(DimOp.softmax, dim)),
    };
    public Tensor log_softmax(long dim, DType? dtype = null) => dtype switch
    {
        null => D(DimOp.log_softmax, dim),
        DType.float32 => D(DimOp.log_softmax_f32, dim),
        _ => Cast(dtype.Value, t => t.D(DimOp.log_softmax, dim)),
    };
    private Tensor Cast(DType dt, Func<Tensor, Tensor> f)
    {
        using var c = to(dt);
        return f(c);
    }

    // ---- ordering ----
    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true) =>
        Pair(Native.vx_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i), v, i);
    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false, bool stable = false) =>
        Pair(Native.vx_sort(Handle, dim, descending ? 1 : 0, stable ? 1 : 0, out var v, out var i), v, i);
    public Tensor argsort(long dim = -1, bool descending = false) => Wrap(Native.vx_argsort(Handle, dim, descending ? 1 : 0));

    // ---- shape ----
    public Tensor view(params long[] shape) => DS(DimsOp.view, shape);
    public Tensor reshape(params long[] shape) => DS(DimsOp.reshape, shape);
    public Tensor permute(params long[] dims) => DS(DimsOp.permute, dims);
    public Tensor expand(params long[] shape) => DS(DimsOp.expand, shape);
    public Tensor repeat(params long[] repeats) => DS(DimsOp.repeat, repeats);
    public Tensor flip(params long[] dims) => DS(DimsOp.flip, dims);
    public Tensor transpose(long dim0, long dim1) => Wrap(Native.vx_transpose(Handle, dim0, dim1));
    public Tensor unsqueeze(long dim) => D(DimOp.unsqueeze, dim);
    public Tensor squeeze() => Wrap(Native.vx_squeeze_all(Handle));
    public Tensor squeeze(long dim) => D(DimOp.squeeze_dim, dim);
    public Tensor flatten(long start_dim = 0, long end_dim = -1) => Wrap(Native.vx_flatten(Handle, start_dim, end_dim));
    public Tensor narrow(long dim, long start, long length) => Wrap(Native.vx_narrow(Handle, dim, start, length));
    public Tensor select(long dim, long index) => Wrap(Native.vx_select(Handle, dim, index));
    /// <summary>x[..., start:end:step, ...] along dim (end clamps like Python slicing; long.MaxValue = to the end).</summary>
    public Tensor slice(long dim, long start, long end = long.MaxValue, long step = 1) => Wrap(Native.vx_slice(Handle, dim, start, end, step));
    public Tensor triu(long diagonal = 0) => D(DimOp.triu, diagonal);
    public Tensor tril(long diagonal = 0) => D(DimOp.tril, diagonal);
    public unsafe Tensor[] chunk(long chunks, long dim = 0) =>
        List((int)Math.Max(chunks, 1), (p, cap) => Native.vx_chunk(Handle, chunks, dim, p, cap));
    /// <summary>Pieces of split_size along dim (the last may be smaller).</summary>
    public unsafe Tensor[] split(long split_size, long dim = 0)
    {
        var n = split_size <= 0 ? 1 : (int)Math.Max(1, (DimSize(dim) + split_size - 1) / split_size);
        return List(n, (p, cap) => Native.vx_split(Handle, split_size, dim, p, cap));
    }
    public unsafe Tensor[] split(long[] split_sizes, long dim = 0) =>
        List(split_sizes.Length, (p, cap) => { fixed (long* s = split_sizes) return Native.vx_split_sizes(Handle, s, split_sizes.Length, dim, p, cap); });
    public unsafe Tensor[] unbind(long dim = 0) => List((int)DimSize(dim), (p, cap) => Native.vx_unbind(Handle, dim, p, cap));

    // ---- indexing ----
    public Tensor index_select(long dim, Tensor index) => Wrap(Native.vx_index_select(Handle, dim, index.Handle));
    public Tensor gather(long dim, Tensor index) => Wrap(Native.vx_gather(Handle, dim, index.Handle));
    public Tensor scatter(long dim, Tensor index, Tensor src) => Wrap(Native.vx_scatter(Handle, dim, index.Handle, src.Handle));
    public Tensor scatter_add(long dim, Tensor index, Tensor src) => Wrap(Native.vx_scatter_add(Handle, dim, index.Handle, src.Handle));
    public Tensor masked_fill(Tensor mask, Scalar value) => Wrap(Native.vx_masked_fill(Handle, mask.Handle, value.D, value.L, value.Kind));
    public Tensor masked_select(Tensor mask) => Wrap(Native.vx_masked_select(Handle, mask.Handle));
    /// <summary>where(condition, this, other)</summary>
    public Tensor where(Tensor condition, Tensor other) => Wrap(Native.vx_where(condition.Handle, Handle, other.Handle));
    public Tensor where(Tensor condition, Scalar other) => Wrap(Native.vx_where_scalar(condition.Handle, Handle, other.D, other.L, other.Kind));
    public Tensor one_hot(long num_classes = -1) => Wrap(Native.vx_one_hot(Handle, num_classes));

    /// <summary>Advanced indexing x[i0, i1, ...] by index (int64) or mask (bool) tensors; a null entry means ":".</summary>
    public unsafe Tensor index(params Tensor?[] indices)
    {
        using var r = new ListRef(indices);
        fixed (IntPtr* p = r.Ptrs) return Wrap(Native.vx_index(Handle, p, indices.Length));
    }

    /// <summary>x[i0, i1, ...] = values (accumulate: +=).</summary>
    public unsafe Tensor index_put_(Tensor?[] indices, Tensor values, bool accumulate = false)
    {
        using var r = new ListRef(indices);
        fixed (IntPtr* p = r.Ptrs) Native.Check(Native.vx_index_put_(Handle, p, indices.Length, values.Handle, accumulate ? 1 : 0));
        return this;
    }

    /// <summary>x[index] along dim 0 by an index or mask tensor.</summary>
    public Tensor this[Tensor index] => this.index(index);
    /// <summary>x[i0, i1, ...] by tensors (null = ":").</summary>
    public Tensor this[params Tensor?[] indices] => index(indices);
    /// <summary>x[i] (select along dim 0; negative counts from the end).</summary>
    public Tensor this[long i] => select(0, i);

    // ---- operators ----
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
    public static Tensor operator +(Scalar a, Tensor b) => b.add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
    public static Tensor operator -(Scalar a, Tensor b) => b.S(ScalarOp.rsub, a);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
    public static Tensor operator *(Scalar a, Tensor b) => b.mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
    public static Tensor operator /(Scalar a, Tensor b) => b.S(ScalarOp.rdiv, a);
    public static Tensor operator %(Tensor a, Tensor b) => a.remainder(b);
    public static Tensor operator %(Tensor a, Scalar b) => a.remainder(b);
    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator <(Tensor a, Tensor b) => a.lt(b);
    public static Tensor operator >(Tensor a, Tensor b) => a.gt(b);
    public static Tensor operator <=(Tensor a, Tensor b) => a.le(b);
    public static Tensor operator >=(Tensor a, Tensor b) => a.ge(b);
    public static Tensor operator <(Tensor a, Scalar b) => a.lt(b);
    public static Tensor operator >(Tensor a, Scalar b) => a.gt(b);
    public static Tensor operator <=(Tensor a, Scalar b) => a.le(b);
    public static Tensor operator >=(Tensor a, Scalar b) => a.ge(b);
    public static Tensor operator &(Tensor a, Tensor b) => a.logical_and(b);
    public static Tensor operator |(Tensor a, Tensor b) => a.logical_or(b);
    public static Tensor operator !(Tensor a) => a.logical_not();
    internal Tensor rpow(Scalar a) => S(ScalarOp.rpow, a);
}
