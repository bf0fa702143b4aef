using System.Runtime.InteropServices;

namespace ViXml.Torch;

/// <summary>
/// The PyTorch-shaped entry point: <c>using static ViXml.Torch.torch;</c> then <c>zeros(2, 3)</c>, <c>nn.Linear</c>,
/// <c>optim.AdamW</c>, <c>cuda.is_available()</c>. nn, optim and cuda are nested classes in other files.
/// </summary>
public static partial class torch
{
    static torch() => Native.EnsureLoaded();

    // Defaults for factory functions (PyTorch's: float32 on the CPU).
    private static (int dt, int devType, int devIndex) Opt(DType? dtype, Device? device, DType dflt = DType.float32)
    {
        var d = device ?? Device.CPU;
        return ((int)(dtype ?? dflt), (int)d.type, d.index);
    }

    // ---- creation ----
    public static unsafe Tensor empty(long[] shape, DType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_empty(p, shape.Length, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor empty(params long[] shape) => empty(shape, null);

    public static unsafe Tensor zeros(long[] shape, DType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_zeros(p, shape.Length, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor zeros(params long[] shape) => zeros(shape, null);

    public static unsafe Tensor ones(long[] shape, DType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_ones(p, shape.Length, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor ones(params long[] shape) => ones(shape, null);

    /// <summary>Filled with value; the default dtype follows the value (int → int64, bool → bool, else float32).</summary>
    public static unsafe Tensor full(long[] shape, Scalar value, DType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var dflt = value.Kind switch { 1 => DType.int64, 2 => DType.bool_, _ => DType.float32 };
        var (dt, ty, ix) = Opt(dtype, device, dflt);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_full(p, shape.Length, value.D, value.L, value.Kind, dt, ty, ix, requires_grad ? 1 : 0));
    }

    /// <summary>[start, end) with step. Default dtype int64 (like PyTorch for integer bounds); pass float32 for floats.</summary>
    public static Tensor arange(double start, double end, double step = 1, DType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var isInt = start == Math.Floor(start) && end == Math.Floor(end) && step == Math.Floor(step);
        var (dt, ty, ix) = Opt(dtype, device, isInt ? DType.int64 : DType.float32);
        return Tensor.Wrap(Native.vx_arange(start, end, step, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor arange(long end, DType? dtype = null, Device? device = null) => arange(0, end, 1, dtype, device);

    public static Tensor linspace(double start, double end, long steps, DType? dtype = null, Device? device = null)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        return Tensor.Wrap(Native.vx_linspace(start, end, steps, dt, ty, ix, 0));
    }

    public static Tensor eye(long n, DType? dtype = null, Device? device = null)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        return Tensor.Wrap(Native.vx_eye(n, dt, ty, ix, 0));
    }

    /// <summary>Standard normal samples (global generator unless one is given).</summary>
    public static unsafe Tensor randn(long[] shape, DType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_randn(p, shape.Length, generator?.Ptr ?? IntPtr.Zero, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor randn(params long[] shape) => randn(shape, null);

    /// <summary>Uniform samples in [0, 1).</summary>
    public static unsafe Tensor rand(long[] shape, DType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null)
    {
        var (dt, ty, ix) = Opt(dtype, device);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_rand(p, shape.Length, generator?.Ptr ?? IntPtr.Zero, dt, ty, ix, requires_grad ? 1 : 0));
    }
    public static Tensor rand(params long[] shape) => rand(shape, null);

    /// <summary>Integers uniform in [low, high); int64 by default.</summary>
    public static unsafe Tensor randint(long low, long high, long[] shape, DType? dtype = null, Device? device = null, Generator? generator = null)
    {
        var (dt, ty, ix) = Opt(dtype, device, DType.int64);
        fixed (long* p = shape) return Tensor.Wrap(Native.vx_randint(low, high, p, shape.Length, generator?.Ptr ?? IntPtr.Zero, dt, ty, ix, 0));
    }
    public static Tensor randint(long high, long[] shape, DType? dtype = null, Device? device = null, Generator? generator = null) =>
        randint(0, high, shape, dtype, device, generator);

    public static Tensor randperm(long n, DType? dtype = null, Device? device = null, Generator? generator = null)
    {
        var (dt, ty, ix) = Opt(dtype, device, DType.int64);
        return Tensor.Wrap(Native.vx_randperm(n, generator?.Ptr ?? IntPtr.Zero, dt, ty, ix, 0));
    }

    public static Tensor multinomial(Tensor probs, long num_samples, bool replacement = false, Generator? generator = null) =>
        Tensor.Wrap(Native.vx_multinomial(probs.Handle, num_samples, replacement ? 1 : 0, generator?.Ptr ?? IntPtr.Zero));

    public static Tensor zeros_like(Tensor t) => Tensor.Wrap(Native.vx_unary((int)UnaryOp.zeros_like, t.Handle));
    public static Tensor ones_like(Tensor t) => Tensor.Wrap(Native.vx_unary((int)UnaryOp.ones_like, t.Handle));
    public static Tensor empty_like(Tensor t) => Tensor.Wrap(Native.vx_unary((int)UnaryOp.empty_like, t.Handle));
    public static Tensor full_like(Tensor t, Scalar value) => Tensor.Wrap(Native.vx_bscalar((int)ScalarOp.full_like, t.Handle, value.D, value.L, value.Kind));

    // ---- from .NET data ----
    private static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, long[]? shape, DType? dtype, Device? device, bool requires_grad) where T : unmanaged
    {
        var natural = DTypeExtensions.ForClr(typeof(T));
        shape ??= [data.Length];
        long n = 1;
        foreach (var s in shape) n *= s;
        if (n != data.Length) throw new TorchException($"tensor(): shape [{string.Join(", ", shape)}] holds {n} elements but {data.Length} were given");
        var dev = device ?? Device.CPU;
        var convert = dtype is not null && dtype != natural;
        Tensor t;
        fixed (T* p = data)
        fixed (long* sp = shape)
            t = Tensor.Wrap(Native.vx_from_data(p, (long)data.Length * sizeof(T), sp, shape.Length, (int)natural,
                (int)dev.type, dev.index, requires_grad && !convert ? 1 : 0));
        if (!convert) return t;
        using (t)
        {
            var c = t.to(dtype!.Value);
            if (requires_grad) c.requires_grad_(true);
            return c;
        }
    }

    /// <summary>A tensor copied from .NET data (shape defaults to 1-D); dtype converts after the copy.</summary>
    public static Tensor tensor(float[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<float>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(double[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<double>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(long[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<long>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(int[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<int>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(byte[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<byte>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(bool[] data, long[]? shape = null, DType? dtype = null, Device? device = null, bool requires_grad = false) => FromSpan<bool>(data, shape, dtype, device, requires_grad);
    public static Tensor tensor(ReadOnlySpan<float> data, long[]? shape = null, DType? dtype = null, Device? device = null) => FromSpan(data, shape, dtype, device, false);
    public static Tensor tensor(ReadOnlySpan<long> data, long[]? shape = null, DType? dtype = null, Device? device = null) => FromSpan(data, shape, dtype, device, false);
    public static Tensor tensor(float[,] data, DType? dtype = null, Device? device = null, bool requires_grad = false) =>
        FromSpan<float>(MemoryMarshal.CreateReadOnlySpan(ref data[0, 0], data.Length), [data.GetLength(0), data.GetLength(1)], dtype, device, requires_grad);
    public static Tensor tensor(double[,] data, DType? dtype = null, Device? device = null, bool requires_grad = false) =>
        FromSpan<double>(MemoryMarshal.CreateReadOnlySpan(ref data[0, 0], data.Length), [data.GetLength(0), data.GetLength(1)], dtype, device, requires_grad);
    public static Tensor tensor(long[,] data, DType? dtype = null, Device? device = null) =>
        FromSpan<long>(MemoryMarshal.CreateReadOnlySpan(ref data[0, 0], data.Length), [data.GetLength(0), data.GetLength(1)], dtype, device, false);
    /// <summary>A 0-dim tensor.</summary>
    public static Tensor scalar_tensor(double value, DType? dtype = null, Device? device = null)
    {
        var t = FromSpan<double>([value], [], null, device, false);
        if ((dtype ?? DType.float32) == DType.float64) return t;
        using (t) return t.to(dtype ?? DType.float32);
    }

    /// <summary>A tensor from raw little-endian bytes (safetensors payloads); the byte count must match shape × dtype.</summary>
    public static unsafe Tensor from_bytes(ReadOnlySpan<byte> data, DType dtype, long[] shape, Device? device = null)
    {
        var dev = device ?? Device.CPU;
        fixed (byte* p = data)
        fixed (long* sp = shape)
            return Tensor.Wrap(Native.vx_from_data(p, data.Length, sp, shape.Length, (int)dtype, (int)dev.type, dev.index, 0));
    }

    // ---- functions mirroring methods ----
    public static unsafe Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        using var r = new ListRef(tensors);
        fixed (IntPtr* p = r.Ptrs) return Tensor.Wrap(Native.vx_cat(p, tensors.Count, dim));
    }
    public static unsafe Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        using var r = new ListRef(tensors);
        fixed (IntPtr* p = r.Ptrs) return Tensor.Wrap(Native.vx_stack(p, tensors.Count, dim));
    }
    public static Tensor where(Tensor condition, Tensor x, Tensor y) => x.where(condition, y);
    public static Tensor where(Tensor condition, Tensor x, Scalar y) => x.where(condition, y);
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor mm(Tensor a, Tensor b) => a.mm(b);
    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);
    /// <summary>beta * bias + alpha * (a @ b)</summary>
    public static Tensor addmm(Tensor bias, Tensor a, Tensor b, double beta = 1, double alpha = 1) => Tensor.Wrap(Native.vx_addmm(bias.Handle, a.Handle, b.Handle, beta, alpha));
    public static Tensor exp(Tensor x) => x.exp();
    public static Tensor log(Tensor x) => x.log();
    public static Tensor sqrt(Tensor x) => x.sqrt();
    public static Tensor rsqrt(Tensor x) => x.rsqrt();
    public static Tensor tanh(Tensor x) => x.tanh();
    public static Tensor sigmoid(Tensor x) => x.sigmoid();
    public static Tensor relu(Tensor x) => x.relu();
    public static Tensor cos(Tensor x) => x.cos();
    public static Tensor sin(Tensor x) => x.sin();
    public static Tensor abs(Tensor x) => x.abs();
    public static Tensor pow(Tensor x, Scalar e) => x.pow(e);
    public static Tensor pow(Tensor x, Tensor e) => x.pow(e);
    public static Tensor pow(Scalar x, Tensor e) => e.rpow(x);
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);
    public static Tensor clamp(Tensor x, double? min = null, double? max = null) => x.clamp(min, max);
    public static Tensor softmax(Tensor x, long dim, DType? dtype = null) => x.softmax(dim, dtype);
    public static Tensor log_softmax(Tensor x, long dim, DType? dtype = null) => x.log_softmax(dim, dtype);
    public static Tensor sum(Tensor x) => x.sum();
    public static Tensor mean(Tensor x) => x.mean();
    public static Tensor cumsum(Tensor x, long dim) => x.cumsum(dim);
    public static Tensor triu(Tensor x, long diagonal = 0) => x.triu(diagonal);
    public static Tensor tril(Tensor x, long diagonal = 0) => x.tril(diagonal);
    public static (Tensor values, Tensor indices) topk(Tensor x, long k, long dim = -1, bool largest = true, bool sorted = true) => x.topk(k, dim, largest, sorted);
    public static (Tensor values, Tensor indices) sort(Tensor x, long dim = -1, bool descending = false) => x.sort(dim, descending);
    public static Tensor argsort(Tensor x, long dim = -1, bool descending = false) => x.argsort(dim, descending);
    public static Tensor gather(Tensor x, long dim, Tensor index) => x.gather(dim, index);
    public static Tensor index_select(Tensor x, long dim, Tensor index) => x.index_select(dim, index);
    public static Tensor[] chunk(Tensor x, long chunks, long dim = 0) => x.chunk(chunks, dim);
    public static Tensor[] split(Tensor x, long split_size, long dim = 0) => x.split(split_size, dim);
    public static Tensor transpose(Tensor x, long d0, long d1) => x.transpose(d0, d1);
    public static Tensor permute(Tensor x, params long[] dims) => x.permute(dims);
    public static Tensor reshape(Tensor x, params long[] shape) => x.reshape(shape);
    public static Tensor flatten(Tensor x, long start_dim = 0, long end_dim = -1) => x.flatten(start_dim, end_dim);
    public static Tensor unsqueeze(Tensor x, long dim) => x.unsqueeze(dim);
    public static Tensor squeeze(Tensor x, long dim) => x.squeeze(dim);
    public static Tensor outer(Tensor a, Tensor b) => a.outer(b);
    public static bool allclose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) => a.allclose(b, rtol, atol);
    public static bool equal(Tensor a, Tensor b) => a.equal(b);
    public static Tensor isnan(Tensor x) => x.isnan();

    // ---- autograd mode ----
    /// <summary>Disables gradient recording on this thread until disposed (restores the previous mode).</summary>
    public static GradModeScope no_grad() => new(false);
    /// <summary>Enables gradient recording on this thread until disposed.</summary>
    public static GradModeScope enable_grad() => new(true);
    public static bool is_grad_enabled() => Native.vx_grad_enabled() != 0;

    // ---- scopes, seeds, threads ----
    /// <summary>Opens a dispose scope on this thread (see <see cref="DisposeScope"/>).</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Seeds the global generators (CPU and, when present, CUDA).</summary>
    public static void manual_seed(long seed) => Native.Check(Native.vx_manual_seed((ulong)seed));

    public static void set_num_threads(int n)
    {
        if (n < 1) throw new TorchException($"set_num_threads: expected a positive count, got {n}");
        Native.Check(Native.vx_set_num_threads(n));
    }
    public static int get_num_threads() => Native.Check(Native.vx_get_num_threads());

    /// <summary>libtorch's version the shim was compiled against, e.g. "1.13.0".</summary>
    public static string version
    {
        get
        {
            Native.vx_version(out var a, out var b, out var c);
            return $"{a}.{b}.{c}";
        }
    }

    /// <summary>libtorch's build configuration (at::show_config) and parallel info: BLAS, OpenMP, CPU capability.</summary>
    public static unsafe string config()
    {
        var n = Native.Check(Native.vx_config(null, 0));
        var buf = new byte[n + 1];
        fixed (byte* p = buf) Native.Check(Native.vx_config(p, buf.Length));
        return System.Text.Encoding.UTF8.GetString(buf, 0, n);
    }

    public static Device device(string s) => Device.Parse(s);

    public static class cuda
    {
        public static bool is_available() => device_count() > 0;
        public static int device_count() => Native.vx_cuda_device_count();
    }
}

/// <summary>Sets the thread's grad mode until disposed, then restores the previous one.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly bool _previous;
    private readonly bool _active; // false for default(GradModeScope): disposing it changes nothing

    internal GradModeScope(bool enabled)
    {
        Native.EnsureLoaded();
        _previous = Native.vx_grad_enabled() != 0;
        _active = true;
        Native.vx_set_grad_enabled(enabled ? 1 : 0);
    }

    public void Dispose()
    {
        if (_active) Native.vx_set_grad_enabled(_previous ? 1 : 0);
    }
}
