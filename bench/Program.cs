namespace ViXml.Bench;

/// <summary>
/// One side-by-side benchmark: ours vs a reference (usually Debian's PyTorch on the same libtorch), in one run.
/// Implementations live in bench/*.cs and are discovered by reflection. Results print as plain lines and end with
/// a ratio; nothing here is a pass/fail assertion.
/// </summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    int Run(string[] args);
}

public static class Program
{
    public static int Main(string[] args)
    {
        var all = typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
            .OrderBy(b => b.Name, StringComparer.Ordinal).ToList();
        if (args.Length == 0 || args[0] is "-h" or "--help" or "list")
        {
            Console.WriteLine("usage: bench/run NAME [args]   (or 'all')");
            foreach (var b in all) Console.WriteLine($"  {b.Name,-22} {b.Description}");
            return args.Length == 0 ? 1 : 0;
        }
        var cpu = ViXml.Torch.CpuFeatures.Current();
        Console.WriteLine($"bench: ours: libtorch {TorchSharp.torch.__version__}, blas {ViXml.Torch.Doctor.DetectBlas()}; " +
                          $"cpu bf16 instructions: {(cpu.HasBf16 ? "yes" : "no")}");
        var chosen = args[0] == "all" ? all : all.Where(b => b.Name == args[0]).ToList();
        if (chosen.Count == 0) { Console.Error.WriteLine($"unknown benchmark '{args[0]}'"); return 2; }
        var rc = 0;
        foreach (var b in chosen)
        {
            Console.WriteLine($"== {b.Name}: {b.Description}");
            rc |= b.Run(args.Skip(1).ToArray());
        }
        return rc;
    }
}
