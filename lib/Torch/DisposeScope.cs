namespace ViXml.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope, and disposes them when it
/// is disposed — so a forward pass or a training step frees its temporaries deterministically instead of waiting
/// for the GC. Keep a result with <see cref="Tensor.MoveToOuterScope"/> (to the enclosing scope, or to no scope when
/// this is the outermost) or <see cref="Tensor.DetachFromDisposeScope"/> (owned by the caller from then on).
/// Scopes nest and are thread-local. Parameters registered on a Module are detached automatically.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? _current;

    private readonly List<Tensor?> _items = new();
    private bool _disposed;

    /// <summary>The enclosing scope (null for an outermost one).</summary>
    public DisposeScope? Outer { get; }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => _current;

    internal DisposeScope()
    {
        Outer = _current;
        _current = this;
    }

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _items.Count(t => t is not null);

    internal void Add(Tensor t)
    {
        t.Scope = this;
        t.ScopeIndex = _items.Count;
        _items.Add(t);
    }

    internal void Remove(Tensor t)
    {
        if (t.Scope != this) return;
        _items[t.ScopeIndex] = null;
        t.Scope = null;
    }

    /// <summary>Moves tensors to the enclosing scope (or out of all scopes) and returns the first, for chaining.</summary>
    public Tensor MoveToOuter(Tensor t) => t.MoveToOuterScope();

    public void MoveToOuter(params Tensor[] ts)
    {
        foreach (var t in ts) t.MoveToOuterScope();
    }

    /// <summary>Adds an existing tensor (e.g. one created before the scope opened) to this scope.</summary>
    public Tensor Include(Tensor t)
    {
        t.Scope?.Remove(t);
        Add(t);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _items)
        {
            if (t is null) continue;
            t.Scope = null;
            t.Dispose();
        }
        _items.Clear();
        // Normally this is the innermost scope; if inner ones were leaked (not disposed), unwind past them too.
        if (_current == this) _current = Outer;
        else
        {
            for (var s = _current; s is not null; s = s.Outer)
                if (s == this) { _current = Outer; break; }
        }
    }
}
