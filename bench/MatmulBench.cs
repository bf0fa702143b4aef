using System.Diagnostics;
using System.Globalization;
using ViXml.Torch;
using static ViXml.Torch.torch;

namespace ViXml.Bench;

/// <summary>float32 matmul GFLOP/s through our binding vs Debian's PyTorch, same libtorch, same thread count.
/// args: [threads=2] [seconds=1.0]</summary>
public sealed class MatmulBench : IBenchmark
{
    public string Name => "matmul";
    public string Description => "float32 n×n matmul GFLOP/s: ViXml.Torch vs Debian PyTorch (2 threads)";

    public int Run(string[] args)
    {
        var threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0;
        int[] sizes = [256, 512, 1024, 2048];
        set_num_threads(threads);
        Console.WriteLine($"  libtorch {version}, threads {get_num_threads()}, BLAS {Doctor.DetectBlas().description}");
        var ours = sizes.ToDictionary(n => n, n => Doctor.MeasureMatmulGflops(n, seconds));
        var py = BenchPython.Run("bench_torch_matmul.py", [threads.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture), .. sizes.Select(n => n.ToString(CultureInfo.InvariantCulture))]);
        var theirs = py?.Where(l => l[0] == "gflops").ToDictionary(l => int.Parse(l[1], CultureInfo.InvariantCulture), l => BenchPython.D(l[2]));
        Console.WriteLine($"  {"n",6} {"ours GFLOP/s",14} {"PyTorch GFLOP/s",16} {"ratio",7}");
        foreach (var n in sizes)
        {
            var t = theirs is not null && theirs.TryGetValue(n, out var v) ? v : double.NaN;
            Console.WriteLine($"  {n,6} {ours[n],14:F1} {t,16:F1} {ours[n] / t,7:F2}");
        }
        return 0;
    }
}
