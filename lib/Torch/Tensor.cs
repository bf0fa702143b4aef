using System.Runtime.InteropServices;
using System.Text;

namespace ViXml.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle; Dispose frees it (idempotent; the SafeHandle finalizer is the
/// safety net for tensors nobody disposed). Every tensor created while a <see cref="DisposeScope"/> is open on
/// this thread belongs to that scope. Method names follow PyTorch (lower case) so model code reads like the
/// HF reference; ops live in Tensor.Ops.cs.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    internal readonly TensorHandle Handle;
    internal DisposeScope? Scope;
    internal int ScopeIndex;

    internal Tensor(TensorHandle handle)
    {
        Handle = handle;
        DisposeScope.Current?.Add(this);
    }

    /// <summary>Wraps a handle returned by the shim, throwing TorchException(libtorch's message) if it is null.</summary>
    internal static Tensor Wrap(TensorHandle h) => new(Native.Check(h));

    internal static Tensor WrapRaw(IntPtr p) => new(new TensorHandle(Native.CheckPtr(p)));

    public bool IsDisposed => Handle.IsClosed;

    public void Dispose()
    {
        Scope?.Remove(this);
        Handle.Dispose();
    }

    // ---- dispose scopes ----

    /// <summary>Moves this tensor from its scope to the enclosing one (or to none) and returns it.</summary>
    public Tensor MoveToOuterScope()
    {
        var s = Scope;
        if (s is null) return this;
        s.Remove(this);
        s.Outer?.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of any dispose scope: the caller owns it (Dispose it, or let the GC).</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope?.Remove(this);
        return this;
    }

    // ---- metadata ----

    public unsafe long[] shape
    {
        get
        {
            Span<long> buf = stackalloc long[16];
            int n;
            fixed (long* p = buf) n = Native.Check(Native.vx_sizes(Handle, p, buf.Length));
            if (n <= buf.Length) return buf[..n].ToArray();
            var big = new long[n];
            fixed (long* p = big) Native.Check(Native.vx_sizes(Handle, p, n));
            return big;
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long size(long d)
    {
        var s = shape;
        var i = d < 0 ? d + s.Length : d;
        if (i < 0 || i >= s.Length) throw new TorchException($"Dimension out of range (expected to be in range of [{-s.Length}, {s.Length - 1}], but got {d})");
        return s[i];
    }

    public long[] size() => shape;
    public int dim() => Native.Check(Native.vx_dim(Handle));
    public int ndim => dim();
    public long numel() => Native.Check(Native.vx_numel(Handle));
    public DType dtype => (DType)Native.Check(Native.vx_dtype(Handle));

    public Device device
    {
        get
        {
            var t = Native.Check(Native.vx_device(Handle, out var idx));
            return new Device((DeviceType)t, idx);
        }
    }

    public bool is_leaf => Native.Check(Native.vx_is_leaf(Handle)) != 0;
    public bool is_contiguous() => Native.Check(Native.vx_is_contiguous(Handle)) != 0;
    public bool is_floating_point() => dtype.IsFloatingPoint();
    public long element_size() => dtype.ElementSize();

    // ---- autograd ----

    public bool requires_grad
    {
        get => Native.Check(Native.vx_requires_grad(Handle)) != 0;
        set => Native.Check(Native.vx_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool on = true)
    {
        requires_grad = on;
        return this;
    }

    /// <summary>The accumulated gradient, or null. Each read returns a new handle onto the same gradient storage
    /// (dispose it or let the scope do so); setting null clears it (zero_grad(set_to_none)).</summary>
    public Tensor? grad
    {
        get
        {
            Native.Check(Native.vx_grad(Handle, out var g));
            return g == IntPtr.Zero ? null : WrapRaw(g);
        }
        set
        {
            using var r = new OptRef(value);
            Native.Check(Native.vx_set_grad(Handle, r.Ptr));
        }
    }

    /// <summary>Clears the gradient (set_to_none, like PyTorch's default) or zeroes it in place.</summary>
    public void zero_grad(bool set_to_none = true)
    {
        if (set_to_none) { grad = null; return; }
        using var g = grad;
        g?.zero_();
    }

    public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false)
    {
        using var r = new OptRef(gradient);
        Native.Check(Native.vx_backward(Handle, r.Ptr, retain_graph ? 1 : 0, create_graph ? 1 : 0));
    }

    /// <summary>Replaces this tensor's data with src's (shape, dtype and device may change) keeping its identity:
    /// optimizers and modules holding it see the new data. Used by Module.to().</summary>
    public void set_data(Tensor src) => Native.Check(Native.vx_set_data(Handle, src.Handle));

    // ---- conversion ----

    public Tensor to(DType dtype, bool copy = false) => Wrap(Native.vx_to(Handle, (int)dtype, -1, 0, copy ? 1 : 0));
    public Tensor to(Device device, bool copy = false) => Wrap(Native.vx_to(Handle, -1, (int)device.type, device.index, copy ? 1 : 0));
    public Tensor to(DType dtype, Device device, bool copy = false) => Wrap(Native.vx_to(Handle, (int)dtype, (int)device.type, device.index, copy ? 1 : 0));
    /// <summary>Same dtype and device as other.</summary>
    public Tensor to(Tensor other) => to(other.dtype, other.device);
    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = 0) => to(Device.CUDA(index));

    /// <summary>The elements in row-major order, copied to .NET. T must match the dtype exactly (float for float32,
    /// long for int64, bool for bool, ...): convert with to(dtype) first, as PyTorch's .numpy() would require.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        var want = DTypeExtensions.ForClr(typeof(T));
        var have = dtype;
        if (want != have) throw new TorchException($"ToArray<{typeof(T).Name}>() on a {have.Name()} tensor: convert with to(DType.{want.Name()}) first");
        var n = numel();
        var result = new T[n];
        fixed (T* p = result) Native.Check(Native.vx_copy_to(Handle, p, n * sizeof(T)));
        return result;
    }

    /// <summary>Raw little-endian bytes of the contiguous CPU copy (any dtype, including bfloat16/float16).</summary>
    public unsafe byte[] bytes()
    {
        var n = numel() * dtype.ElementSize();
        var result = new byte[n];
        fixed (byte* p = result) Native.Check(Native.vx_copy_to(Handle, p, n));
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        var kind = Native.Check(Native.vx_item(Handle, out var d, out var l));
        object v = typeof(T) == typeof(double) ? d
            : typeof(T) == typeof(float) ? (float)d
            : typeof(T) == typeof(long) ? (kind == 1 ? l : (long)d)
            : typeof(T) == typeof(int) ? (int)(kind == 1 ? l : (long)d)
            : typeof(T) == typeof(bool) ? (kind == 1 ? l != 0 : d != 0)
            : typeof(T) == typeof(byte) ? (byte)(kind == 1 ? l : (long)d)
            : throw new TorchException($"item<{typeof(T).Name}>() is not supported");
        return (T)v;
    }

    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        var s = $"Tensor(shape=[{string.Join(", ", shape)}], dtype={dtype.Name()}, device={device}";
        return (requires_grad ? s + ", requires_grad=True" : s) + ")";
    }

    /// <summary>Values as text (small tensors; at most maxElements shown), for notebooks and debugging.</summary>
    public string str(int maxElements = 64)
    {
        using var c = dtype.IsFloatingPoint() ? to(DType.float64) : dtype == DType.bool_ ? to(DType.int64) : to(DType.int64);
        var sb = new StringBuilder(ToString()).Append(' ');
        var n = numel();
        if (dtype.IsFloatingPoint())
        {
            var v = c.ToArray<double>();
            sb.Append('[').Append(string.Join(", ", v.Take(maxElements).Select(x => x.ToString("G6")))).Append(n > maxElements ? ", ...]" : "]");
        }
        else
        {
            var v = c.ToArray<long>();
            sb.Append('[').Append(string.Join(", ", v.Take(maxElements))).Append(n > maxElements ? ", ...]" : "]");
        }
        return sb.ToString();
    }
}
