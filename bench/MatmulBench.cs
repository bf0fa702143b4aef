using System.Diagnostics;
using System.Globalization;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>float32 and bfloat16 matmul GFLOP/s through TorchSharp (libtorch 2.10) vs Debian's PyTorch 1.13, same thread count.
/// args: [threads=2] [seconds=1.0]</summary>
public sealed class MatmulBench : IBenchmark
{
    public string Name => "matmul";
    public string Description => "float32 and bfloat16 n×n matmul GFLOP/s: ours (TorchSharp, libtorch 2.10) vs Debian PyTorch 1.13 (2 threads)";

    public int Run(string[] args)
    {
        var threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0;
        int[] sizes = [256, 512, 1024, 2048];
        set_num_threads(threads);
        Console.WriteLine($"  libtorch {__version__}, threads {get_num_threads()}, BLAS {Doctor.DetectBlas()}");
        // Interleaved per size (PyTorch first on odd rows) so drifting machine load does not favour either side.
        Console.WriteLine($"  {"dtype",9} {"n",6} {"ours GFLOP/s",14} {"PyTorch GFLOP/s",16} {"ratio",7}");
        var k = 0;
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        foreach (var n in sizes)
        {
            k++;
            double Theirs()
            {
                var py = BenchPython.Run("bench_torch_matmul.py", threads.ToString(CultureInfo.InvariantCulture),
                    seconds.ToString(CultureInfo.InvariantCulture), dtype.Name(), n.ToString(CultureInfo.InvariantCulture));
                return py?.FirstOrDefault(l => l[0] == "gflops") is { } l ? BenchPython.D(l[2]) : double.NaN;
            }
            double t, o;
            if (k % 2 == 1) { t = Theirs(); o = Doctor.MeasureMatmulGflops(n, seconds, dtype); }
            else { o = Doctor.MeasureMatmulGflops(n, seconds, dtype); t = Theirs(); }
            Console.WriteLine($"  {dtype.Name(),9} {n,6} {o,14:F1} {t,16:F1} {o / t,7:F2}");
        }
        return 0;
    }
}
