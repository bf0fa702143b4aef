namespace ViXml.Torch;

/// <summary>c10::DeviceType values (only the two this project uses).</summary>
public enum DeviceType { cpu = 0, cuda = 1 }

/// <summary>A device: "cpu" or "cuda:N". Nothing in the binding assumes CPU; CUDA just cannot be tested here.</summary>
public readonly record struct Device(DeviceType type, int index = -1)
{
    public static readonly Device CPU = new(DeviceType.cpu);
    public static Device CUDA(int index = 0) => new(DeviceType.cuda, index);

    /// <summary>Parses "cpu", "cuda", "cuda:1".</summary>
    public static Device Parse(string s)
    {
        var t = s.Trim().ToLowerInvariant();
        if (t == "cpu") return CPU;
        if (t == "cuda") return CUDA(0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0)
            return CUDA(i);
        throw new TorchException($"unknown device '{s}' (expected cpu, cuda or cuda:N)");
    }

    public static implicit operator Device(string s) => Parse(s);

    public override string ToString() => type == DeviceType.cpu ? "cpu" : index < 0 ? "cuda" : $"cuda:{index}";
}
