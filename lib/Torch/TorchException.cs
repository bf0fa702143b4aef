namespace ViXml.Torch;

/// <summary>An error reported by libtorch (through the native shim) or by the binding's own argument checks.
/// The message is libtorch's, without its C++ backtrace. The process always survives it.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}
