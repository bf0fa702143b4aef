using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ViXml.Xmc;

namespace ViXml.Bench;

/// <summary>
/// P/nDCG/PSP/PSnDCG/R@1..5 from in-memory top-k arrays (XmcMetrics.Compute) vs a vectorised numpy implementation in
/// Debian's python3 (bench/python/bench_metrics.py) on the same seeded data, written once as .npy files.
/// args: [rows 1000000] [labels 131073] [top-k 100] [k 5]. The issue's reference point: pyxclib (numba) took 5.9 s on
/// this VM for the same shape.
/// </summary>
public sealed class MetricsBench : IBenchmark
{
    public string Name => "metrics";
    public string Description => "XMC metrics @1..5 over N x top-100 predictions: ours (in memory) vs vectorised numpy";

    public int Run(string[] args)
    {
        int Arg(int i, int def) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : def;
        int n = Arg(0, 1_000_000), labels = Arg(1, 131_073), kp = Arg(2, 100), k = Arg(3, 5);
        var sw = Stopwatch.StartNew();
        var (truth, top, w) = Generate(n, labels, kp, seed: 42);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"N={n} labels={labels} top-k={kp} K={k} nnz(truth)={truth.Nnz} threads={Environment.ProcessorCount} (generated in {sw.Elapsed.TotalSeconds:F1} s)"));

        XmcMetricsResult r = null!;
        double best = double.MaxValue, best1 = double.MaxValue;
        long alloc = 0;
        for (int rep = 0; rep < 4; rep++)
        {
            long a0 = GC.GetTotalAllocatedBytes(true);
            var t = Stopwatch.StartNew();
            r = XmcMetrics.Compute(truth, top, w, k);
            best = Math.Min(best, t.Elapsed.TotalSeconds);
            alloc = GC.GetTotalAllocatedBytes(true) - a0;
            t.Restart();
            XmcMetrics.Compute(truth, top, w, k, maxThreads: 1);
            best1 = Math.Min(best1, t.Elapsed.TotalSeconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ours    {best,7:F3} s ({Environment.ProcessorCount} threads), {best1:F3} s (1 thread), allocated {alloc / 1024.0:F0} KiB per call, process peak RSS {PeakRssMiB():F0} MiB (inputs included)"));

        var dir = Path.Combine(Path.GetTempPath(), $"vixml-bench-metrics-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            Npy.Write(Path.Combine(dir, "indptr.npy"), new NpyArray(NpyDType.Int32, [truth.Rows + 1L], System.Runtime.InteropServices.MemoryMarshal.AsBytes(truth.Indptr.AsSpan()).ToArray()));
            Npy.Write(Path.Combine(dir, "indices.npy"), new NpyArray(NpyDType.Int32, [truth.Nnz], System.Runtime.InteropServices.MemoryMarshal.AsBytes(truth.Indices.AsSpan()).ToArray()));
            Npy.Write(Path.Combine(dir, "pred.npy"), new NpyArray(NpyDType.Int32, [n, kp], System.Runtime.InteropServices.MemoryMarshal.AsBytes(top.Indices.AsSpan()).ToArray()));
            Npy.Write(Path.Combine(dir, "invp.npy"), new NpyArray(NpyDType.Float64, [labels], System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).ToArray()));
            var py = BenchPython.Run("bench_metrics.py", dir, k.ToString(CultureInfo.InvariantCulture), labels.ToString(CultureInfo.InvariantCulture));
            if (py is null) return 0;
            double tPy = 0, rssPy = 0, maxDiff = 0;
            var ours = r.ToDictionary();
            foreach (var line in py)
            {
                if (line[0] == "seconds") tPy = BenchPython.D(line[1]);
                else if (line[0] == "peak_rss_mib") rssPy = BenchPython.D(line[1]);
                else if (ours.TryGetValue(line[0], out var v)) maxDiff = Math.Max(maxDiff, Math.Abs(v - BenchPython.D(line[1])));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"numpy   {tPy,7:F3} s (vectorised, 1 thread), process peak RSS {rssPy:F0} MiB (inputs included)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratio numpy/ours = {tPy / best:F1}x; largest metric difference {maxDiff:E1}; P@1 {ours["P@1"]:F6} PSP@5 {ours["PSP@5"]:F6}"));
        }
        finally { Directory.Delete(dir, true); }
        return 0;
    }

    private static double PeakRssMiB()
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return 0;
    }

    /// <summary>
    /// Seeded data of an XMC shape: 1..9 true labels per row from a power law over the labels, predictions distinct per
    /// row, about a third of the true labels placed somewhere in the top-k; propensity weights from a power law as well.
    /// </summary>
    internal static (CsrMatrix Truth, TopK Top, double[] InvP) Generate(int n, int labels, int kp, ulong seed)
    {
        ulong s = seed * 0x9E3779B97F4A7C15UL + 1;
        ulong Next() { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
        int Label() { double u = (Next() >> 11) * (1.0 / (1UL << 53)); return Math.Min(labels - 1, (int)(labels * u * u * u)); }
        var indptr = new int[n + 1];
        var indices = new List<int>(n * 5);
        var pred = new int[(long)n * kp];
        var scores = new float[(long)n * kp];
        var stamp = new int[labels];
        var row = new List<int>(16);
        for (int i = 0; i < n; i++)
        {
            row.Clear();
            int ny = 1 + (int)(Next() % 9);
            for (int t = 0; t < ny; t++)
            {
                int l = Label();
                if (stamp[l] == i + 1) continue;
                stamp[l] = i + 1;
                row.Add(l);
            }
            row.Sort();
            indices.AddRange(row);
            indptr[i + 1] = indices.Count;
            int filled = 0;
            var p = pred.AsSpan(i * kp, kp);
            p.Fill(-1);
            foreach (var l in row)
                if (Next() % 3 == 0)
                {
                    int slot = (int)(Next() % (ulong)Math.Min(kp, 10));
                    while (p[slot] >= 0) slot = (slot + 1) % kp;
                    p[slot] = l; filled++;
                }
            for (int j = 0; j < kp; j++)
            {
                if (p[j] >= 0) continue;
                int l;
                do l = Label(); while (stamp[l] == i + 1 || stamp[l] == -(i + 1));
                stamp[l] = -(i + 1);
                p[j] = l;
            }
            foreach (var l in p) if (stamp[l] == i + 1) stamp[l] = -(i + 1);
            for (int j = 0; j < kp; j++) scores[i * kp + j] = 1f - j / (float)kp;
        }
        var w = new double[labels];
        for (int l = 0; l < labels; l++) w[l] = 1 + 5.0 * Math.Pow(1 + (l % 977), -0.55);
        var ind = indices.ToArray();
        var truth = new CsrMatrix(n, labels, indptr, ind, Enumerable.Repeat(1f, ind.Length).ToArray());
        return (truth, new TopK(n, kp, pred, scores), w);
    }
}
