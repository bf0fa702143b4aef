using System.Runtime.InteropServices;

namespace ViXml.Torch;

/// <summary>Borrows a raw pointer from an optional tensor for one native call, holding a SafeHandle reference so a
/// concurrent Dispose cannot free it mid-call. Use: <c>using var b = new OptRef(bias); Native.f(..., b.Ptr)</c>.</summary>
internal struct OptRef : IDisposable
{
    private readonly SafeHandle? _h;
    private bool _added;

    public OptRef(Tensor? t)
    {
        _h = t?.Handle;
        _added = false;
        _h?.DangerousAddRef(ref _added);
    }

    public readonly IntPtr Ptr => _h is null ? IntPtr.Zero : _h.DangerousGetHandle();

    public void Dispose()
    {
        if (_added) { _h!.DangerousRelease(); _added = false; }
    }
}

/// <summary>Borrows raw pointers from a list of (possibly null) tensors for one native call.</summary>
internal sealed class ListRef : IDisposable
{
    private readonly Tensor?[] _ts;
    private readonly bool[] _added;
    public readonly IntPtr[] Ptrs;

    public ListRef(IReadOnlyList<Tensor?> ts)
    {
        _ts = ts.ToArray();
        _added = new bool[_ts.Length];
        Ptrs = new IntPtr[_ts.Length];
        try
        {
            for (var i = 0; i < _ts.Length; i++)
            {
                if (_ts[i] is null) continue;
                _ts[i]!.Handle.DangerousAddRef(ref _added[i]);
                Ptrs[i] = _ts[i]!.Handle.DangerousGetHandle();
            }
        }
        catch { Dispose(); throw; }
    }

    public void Dispose()
    {
        for (var i = 0; i < _ts.Length; i++)
            if (_added[i]) { _ts[i]!.Handle.DangerousRelease(); _added[i] = false; }
    }
}
