using System.Reflection;
using System.Runtime.InteropServices;

namespace ViXml.Torch;

/// <summary>An owned at::Tensor* from the shim. SafeHandle makes release exactly-once (double Dispose, a Dispose racing
/// the finalizer, or a Dispose during a native call that still holds a reference are all safe).</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal TensorHandle(IntPtr p) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(p);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() { Native.vx_free(handle); return true; }
}

/// <summary>P/Invoke declarations for lib/Torch/native (libvixml_torch.so). Conventions: tensor-returning entry points
/// return null on error, int-returning ones a negative value; the message is in vx_last_error (thread-local).</summary>
internal static unsafe class Native
{
    private const string Lib = "vixml_torch";
    private const string FileName = "libvixml_torch.so";

    static Native()
    {
        NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
        VerifyOpTables();
    }

    /// <summary>Forces the static constructor (resolver + table check) to run.</summary>
    internal static void EnsureLoaded() { }

    // Looks beside ViXml.Lib.dll first (the build copies the .so there), then the app folder, then build/native of
    // the repository (VIXML_ROOT or any parent of the assembly folder), so notebooks referencing the DLL also work.
    private static IntPtr Resolve(string name, Assembly asm, DllImportSearchPath? path)
    {
        if (name != Lib) return IntPtr.Zero;
        var candidates = new List<string>();
        var here = Path.GetDirectoryName(asm.Location);
        if (!string.IsNullOrEmpty(here)) candidates.Add(Path.Combine(here, FileName));
        candidates.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        var root = Environment.GetEnvironmentVariable("VIXML_ROOT");
        if (!string.IsNullOrEmpty(root)) candidates.Add(Path.Combine(root, "build", "native", FileName));
        for (var d = string.IsNullOrEmpty(here) ? null : new DirectoryInfo(here); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "build", "native", FileName));
        foreach (var c in candidates)
            if (File.Exists(c) && NativeLibrary.TryLoad(c, out var h)) return h;
        return IntPtr.Zero; // default probing; failing that, DllNotFoundException names the library
    }

    private static void VerifyOpTables()
    {
        Check<UnaryOp>(0); Check<BinaryOp>(1); Check<ScalarOp>(2); Check<UnaryInplaceOp>(3);
        Check<BinaryInplaceOp>(4); Check<ScalarInplaceOp>(5); Check<DimOp>(6); Check<DimsOp>(7);

        static void Check<E>(int kind) where E : struct, Enum
        {
            var names = Enum.GetNames<E>();
            for (var i = 0; i <= names.Length; i++)
            {
                var p = vx_op_name(kind, i);
                var native = p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
                var managed = i < names.Length ? names[i] : null;
                if (native != managed)
                    throw new TorchException($"native op table (lib/Torch/native/ops.def) and {typeof(E).Name} (lib/Torch/Ops.cs) " +
                        $"disagree at index {i}: native '{native ?? "<end>"}', managed '{managed ?? "<end>"}'. Rebuild the shim or fix the enum.");
            }
        }
    }

    // ---- error protocol ----
    internal static string LastError() => Marshal.PtrToStringUTF8(vx_last_error()) ?? "unknown libtorch error";

    internal static TensorHandle Check(TensorHandle h)
    {
        if (h.IsInvalid) throw new TorchException(LastError());
        return h;
    }

    internal static int Check(int rc)
    {
        if (rc < 0) throw new TorchException(LastError());
        return rc;
    }

    internal static long Check(long rc)
    {
        if (rc < 0) throw new TorchException(LastError());
        return rc;
    }

    internal static IntPtr CheckPtr(IntPtr p)
    {
        if (p == IntPtr.Zero) throw new TorchException(LastError());
        return p;
    }

    // ---- core.cpp ----
    [DllImport(Lib)] internal static extern IntPtr vx_last_error();
    [DllImport(Lib)] internal static extern void vx_free(IntPtr t);
    [DllImport(Lib)] internal static extern int vx_dim(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_sizes(TensorHandle t, long* output, int cap);
    [DllImport(Lib)] internal static extern long vx_numel(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_dtype(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_device(TensorHandle t, out int index);
    [DllImport(Lib)] internal static extern int vx_requires_grad(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_is_leaf(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_is_contiguous(TensorHandle t);
    [DllImport(Lib)] internal static extern int vx_same_storage(TensorHandle a, TensorHandle b);

    [DllImport(Lib)] internal static extern TensorHandle vx_empty(long* shape, int nd, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_zeros(long* shape, int nd, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_ones(long* shape, int nd, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_full(long* shape, int nd, double sd, long si, int sk, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_arange(double start, double end, double step, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_linspace(double start, double end, long steps, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_eye(long n, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_randn(long* shape, int nd, IntPtr gen, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_rand(long* shape, int nd, IntPtr gen, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_randint(long low, long high, long* shape, int nd, IntPtr gen, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_randperm(long n, IntPtr gen, int dtype, int devType, int devIndex, int requiresGrad);
    [DllImport(Lib)] internal static extern TensorHandle vx_from_data(void* data, long nbytes, long* shape, int nd, int dtype, int devType, int devIndex, int requiresGrad);

    [DllImport(Lib)] internal static extern int vx_copy_to(TensorHandle t, void* dst, long nbytes);
    [DllImport(Lib)] internal static extern int vx_item(TensorHandle t, out double d, out long i);
    [DllImport(Lib)] internal static extern TensorHandle vx_to(TensorHandle t, int dtype, int devType, int devIndex, int copy);

    [DllImport(Lib)] internal static extern int vx_set_requires_grad(TensorHandle t, int on);
    [DllImport(Lib)] internal static extern int vx_grad(TensorHandle t, out IntPtr grad);
    [DllImport(Lib)] internal static extern int vx_set_grad(TensorHandle t, IntPtr g);
    [DllImport(Lib)] internal static extern int vx_backward(TensorHandle t, IntPtr gradient, int retainGraph, int createGraph);
    [DllImport(Lib)] internal static extern int vx_grad_enabled();
    [DllImport(Lib)] internal static extern void vx_set_grad_enabled(int on);
    [DllImport(Lib)] internal static extern int vx_set_data(TensorHandle t, TensorHandle src);

    [DllImport(Lib)] internal static extern IntPtr vx_generator_new(ulong seed);
    [DllImport(Lib)] internal static extern void vx_generator_free(IntPtr g);
    [DllImport(Lib)] internal static extern int vx_generator_set_seed(IntPtr g, ulong seed);
    [DllImport(Lib)] internal static extern TensorHandle vx_generator_get_state(IntPtr g);
    [DllImport(Lib)] internal static extern int vx_generator_set_state(IntPtr g, TensorHandle state);
    [DllImport(Lib)] internal static extern int vx_manual_seed(ulong seed);
    [DllImport(Lib)] internal static extern int vx_set_num_threads(int n);
    [DllImport(Lib)] internal static extern int vx_get_num_threads();
    [DllImport(Lib)] internal static extern int vx_cuda_device_count();
    [DllImport(Lib)] internal static extern int vx_version(out int major, out int minor, out int patch);
    [DllImport(Lib)] internal static extern int vx_config(byte* buf, int cap);

    // ---- ops.cpp: table-driven families ----
    [DllImport(Lib)] internal static extern TensorHandle vx_unary(int op, TensorHandle a);
    [DllImport(Lib)] internal static extern TensorHandle vx_binary(int op, TensorHandle a, TensorHandle b);
    [DllImport(Lib)] internal static extern TensorHandle vx_bscalar(int op, TensorHandle a, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_unary_(int op, TensorHandle a);
    [DllImport(Lib)] internal static extern int vx_binary_(int op, TensorHandle a, TensorHandle b);
    [DllImport(Lib)] internal static extern int vx_bscalar_(int op, TensorHandle a, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern TensorHandle vx_dim_op(int op, TensorHandle a, long dim);
    [DllImport(Lib)] internal static extern TensorHandle vx_dims_op(int op, TensorHandle a, long* dims, int nd, int keepdim);
    [DllImport(Lib)] internal static extern IntPtr vx_op_name(int kind, int index);

    // ---- ops.cpp: hand-written ----
    [DllImport(Lib)] internal static extern TensorHandle vx_add_alpha(TensorHandle a, TensorHandle b, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_add_alpha_(TensorHandle a, TensorHandle b, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_addcmul_(TensorHandle a, TensorHandle t1, TensorHandle t2, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_addcdiv_(TensorHandle a, TensorHandle t1, TensorHandle t2, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_lerp_(TensorHandle a, TensorHandle end, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern TensorHandle vx_addmm(TensorHandle bias, TensorHandle a, TensorHandle b, double beta, double alpha);
    [DllImport(Lib)] internal static extern TensorHandle vx_clamp(TensorHandle a, int hasMin, double min, int hasMax, double max);
    [DllImport(Lib)] internal static extern int vx_clamp_(TensorHandle a, int hasMin, double min, int hasMax, double max);
    [DllImport(Lib)] internal static extern TensorHandle vx_norm(TensorHandle a, double p, long* dims, int nd, int keepdim);
    [DllImport(Lib)] internal static extern int vx_allclose(TensorHandle a, TensorHandle b, double rtol, double atol);
    [DllImport(Lib)] internal static extern int vx_equal(TensorHandle a, TensorHandle b);
    [DllImport(Lib)] internal static extern int vx_normal_(TensorHandle a, double mean, double std, IntPtr gen);
    [DllImport(Lib)] internal static extern int vx_uniform_(TensorHandle a, double from, double to, IntPtr gen);
    [DllImport(Lib)] internal static extern TensorHandle vx_multinomial(TensorHandle probs, long n, int replacement, IntPtr gen);
    [DllImport(Lib)] internal static extern TensorHandle vx_transpose(TensorHandle a, long d0, long d1);
    [DllImport(Lib)] internal static extern TensorHandle vx_narrow(TensorHandle a, long dim, long start, long len);
    [DllImport(Lib)] internal static extern TensorHandle vx_select(TensorHandle a, long dim, long index);
    [DllImport(Lib)] internal static extern TensorHandle vx_slice(TensorHandle a, long dim, long start, long end, long step);
    [DllImport(Lib)] internal static extern TensorHandle vx_squeeze_all(TensorHandle a);
    [DllImport(Lib)] internal static extern TensorHandle vx_flatten(TensorHandle a, long start, long end);
    [DllImport(Lib)] internal static extern int vx_chunk(TensorHandle a, long chunks, long dim, IntPtr* output, int cap);
    [DllImport(Lib)] internal static extern int vx_split(TensorHandle a, long size, long dim, IntPtr* output, int cap);
    [DllImport(Lib)] internal static extern int vx_split_sizes(TensorHandle a, long* sizes, int n, long dim, IntPtr* output, int cap);
    [DllImport(Lib)] internal static extern int vx_unbind(TensorHandle a, long dim, IntPtr* output, int cap);
    [DllImport(Lib)] internal static extern TensorHandle vx_cat(IntPtr* ts, int n, long dim);
    [DllImport(Lib)] internal static extern TensorHandle vx_stack(IntPtr* ts, int n, long dim);
    [DllImport(Lib)] internal static extern TensorHandle vx_index_select(TensorHandle a, long dim, TensorHandle idx);
    [DllImport(Lib)] internal static extern TensorHandle vx_gather(TensorHandle a, long dim, TensorHandle idx);
    [DllImport(Lib)] internal static extern TensorHandle vx_scatter(TensorHandle a, long dim, TensorHandle idx, TensorHandle src);
    [DllImport(Lib)] internal static extern TensorHandle vx_scatter_add(TensorHandle a, long dim, TensorHandle idx, TensorHandle src);
    [DllImport(Lib)] internal static extern int vx_scatter_(TensorHandle a, long dim, TensorHandle idx, TensorHandle src);
    [DllImport(Lib)] internal static extern int vx_index_add_(TensorHandle a, long dim, TensorHandle idx, TensorHandle src);
    [DllImport(Lib)] internal static extern TensorHandle vx_masked_fill(TensorHandle a, TensorHandle mask, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern int vx_masked_fill_(TensorHandle a, TensorHandle mask, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern TensorHandle vx_masked_select(TensorHandle a, TensorHandle mask);
    [DllImport(Lib)] internal static extern TensorHandle vx_where(TensorHandle cond, TensorHandle a, TensorHandle b);
    [DllImport(Lib)] internal static extern TensorHandle vx_where_scalar(TensorHandle cond, TensorHandle a, double sd, long si, int sk);
    [DllImport(Lib)] internal static extern TensorHandle vx_index(TensorHandle a, IntPtr* idx, int n);
    [DllImport(Lib)] internal static extern int vx_index_put_(TensorHandle a, IntPtr* idx, int n, TensorHandle values, int accumulate);
    [DllImport(Lib)] internal static extern TensorHandle vx_one_hot(TensorHandle a, long numClasses);
    [DllImport(Lib)] internal static extern int vx_max_dim(TensorHandle a, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [DllImport(Lib)] internal static extern int vx_min_dim(TensorHandle a, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [DllImport(Lib)] internal static extern TensorHandle vx_argmax(TensorHandle a, long dim, int keepdim);
    [DllImport(Lib)] internal static extern TensorHandle vx_argmin(TensorHandle a, long dim, int keepdim);
    [DllImport(Lib)] internal static extern int vx_topk(TensorHandle a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [DllImport(Lib)] internal static extern int vx_sort(TensorHandle a, long dim, int descending, int stable, out IntPtr values, out IntPtr indices);
    [DllImport(Lib)] internal static extern TensorHandle vx_argsort(TensorHandle a, long dim, int descending);

    // ---- nn.cpp ----
    [DllImport(Lib)] internal static extern TensorHandle vx_linear(TensorHandle x, TensorHandle w, IntPtr b);
    [DllImport(Lib)] internal static extern TensorHandle vx_layer_norm(TensorHandle x, long* shape, int nd, IntPtr w, IntPtr b, double eps);
    [DllImport(Lib)] internal static extern TensorHandle vx_embedding(TensorHandle w, TensorHandle idx, long paddingIdx);
    [DllImport(Lib)] internal static extern TensorHandle vx_dropout(TensorHandle x, double p, int train);
    [DllImport(Lib)] internal static extern TensorHandle vx_cross_entropy(TensorHandle logits, TensorHandle target, IntPtr weight, long reduction, long ignoreIndex, double labelSmoothing);
    [DllImport(Lib)] internal static extern TensorHandle vx_nll_loss(TensorHandle logp, TensorHandle target, IntPtr weight, long reduction, long ignoreIndex);
    [DllImport(Lib)] internal static extern TensorHandle vx_mse_loss(TensorHandle a, TensorHandle b, long reduction);
    [DllImport(Lib)] internal static extern TensorHandle vx_bce_with_logits(TensorHandle x, TensorHandle y, IntPtr weight, IntPtr posWeight, long reduction);
    [DllImport(Lib)] internal static extern TensorHandle vx_normalize(TensorHandle x, double p, long dim, double eps);
    [DllImport(Lib)] internal static extern TensorHandle vx_conv2d(TensorHandle x, TensorHandle w, IntPtr b, long* stride, long* padding, long* dilation, long groups);
    [DllImport(Lib)] internal static extern TensorHandle vx_pad(TensorHandle x, long* pad, int n, double value);
    [DllImport(Lib)] internal static extern TensorHandle vx_cosine_similarity(TensorHandle a, TensorHandle b, long dim, double eps);
}
