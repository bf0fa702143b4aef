using TorchSharp;
using ViXml.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Torch;

// Base classes for every model module of this library. TorchSharp's Module registers each Module/Parameter/Tensor
// *field* under its C# name when the module is registered as a child (RegisterComponents), so auto-property backing
// fields and caches would leak into state_dict(). Here registration is explicit and by HF name only: the automatic
// field scan is switched off, and register_module returns the child so a constructor reads
//     query = register_module("query", Linear(h, h));
// Parameter fields must be named exactly like their registered name: TorchSharp's Module.to() replaces Parameter
// objects and re-binds only the field whose name matches.

/// <summary>A module whose forward takes more than the generic signatures offer (or several entry points).</summary>
public abstract class HfModule : nn.Module
{
    protected HfModule(string name) : base(name) { }

    /// <summary>Off: children and parameters are registered explicitly under HF names.</summary>
    protected override void RegisterComponents() { }

    protected T register_module<T>(string name, T module) where T : nn.Module
    {
        base.register_module(name, module);
        return module;
    }

    /// <summary>Registers a buffer (state that is not trained, e.g. position ids; non-persistent ones stay out of
    /// state_dict) and returns it. The module owns it: it leaves any dispose scope.</summary>
    protected new Tensor register_buffer(string name, Tensor tensor, bool persistent = true)
    {
        tensor.DetachFromDisposeScope();
        base.register_buffer(name, tensor, persistent);
        return tensor;
    }

    protected Parameter register_parameter(string name, Tensor data, bool requires_grad = true)
    {
        var p = data as Parameter ?? new Parameter(data, requires_grad);
        base.register_parameter(name, p);
        return p;
    }
}

/// <summary>A module with one input.</summary>
public abstract class HfModule<TIn, TOut> : nn.Module<TIn, TOut>
{
    protected HfModule(string name) : base(name) { }

    protected override void RegisterComponents() { }

    protected T register_module<T>(string name, T module) where T : nn.Module
    {
        base.register_module(name, module);
        return module;
    }

    /// <summary>Registers a buffer (state that is not trained, e.g. position ids; non-persistent ones stay out of
    /// state_dict) and returns it. The module owns it: it leaves any dispose scope.</summary>
    protected new Tensor register_buffer(string name, Tensor tensor, bool persistent = true)
    {
        tensor.DetachFromDisposeScope();
        base.register_buffer(name, tensor, persistent);
        return tensor;
    }

    protected Parameter register_parameter(string name, Tensor data, bool requires_grad = true)
    {
        var p = data as Parameter ?? new Parameter(data, requires_grad);
        base.register_parameter(name, p);
        return p;
    }
}

/// <summary>A module with two inputs.</summary>
public abstract class HfModule<TIn1, TIn2, TOut> : nn.Module<TIn1, TIn2, TOut>
{
    protected HfModule(string name) : base(name) { }

    protected override void RegisterComponents() { }

    protected T register_module<T>(string name, T module) where T : nn.Module
    {
        base.register_module(name, module);
        return module;
    }

    /// <summary>Registers a buffer (state that is not trained, e.g. position ids; non-persistent ones stay out of
    /// state_dict) and returns it. The module owns it: it leaves any dispose scope.</summary>
    protected new Tensor register_buffer(string name, Tensor tensor, bool persistent = true)
    {
        tensor.DetachFromDisposeScope();
        base.register_buffer(name, tensor, persistent);
        return tensor;
    }
}

/// <summary>An indexed list of modules registered as "0", "1", ... (HF: encoder.layer.0...), typed.</summary>
public sealed class HfModuleList<T> : HfModule, IReadOnlyList<T> where T : nn.Module
{
    private readonly List<T> _items = new();

    public HfModuleList(IEnumerable<T>? modules = null) : base("ModuleList")
    {
        if (modules is not null) foreach (var m in modules) append(m);
    }

    public HfModuleList<T> append(T module)
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
