using System.Diagnostics;
using System.Globalization;
using ViXml.Xmc.Search;
using TorchSharp;
using ViXml.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// Exact top-k search throughput vs a bare matmul of the same shape (the unavoidable part of the work).
/// args: [Q] [L] [d] [k] [query_batch] [label_shard]; defaults are a debian-deps-titles-sized label set.
/// </summary>
public sealed class TopKSearchBench : IBenchmark
{
    public string Name => "topk-search";
    public string Description => "exact sharded top-k search GFLOP/s vs a bare (Q×d)·(d×L) matmul";

    public int Run(string[] args)
    {
        int Arg(int i, int def) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : def;
        int q = Arg(0, 4096), l = Arg(1, 18062), d = Arg(2, 384), k = Arg(3, 100);
        int batch = Arg(4, TopKSearch.DefaultQueryBatch), shard = Arg(5, TopKSearch.DefaultLabelShard);
        manual_seed(0);
        using var scope = NewDisposeScope();
        var qs = nn.functional.normalize(randn(q, d), dim: 1);
        var ls = nn.functional.normalize(randn(l, d), dim: 1);
        double flops = 2.0 * q * l * d;
        Console.WriteLine($"Q={q} L={l} d={d} k={k} batch={batch} shard={shard} threads={get_num_threads()}");

        double Time(Action a, int reps = 3)
        {
            a(); // warm-up
            var best = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                var sw = Stopwatch.StartNew();
                a();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return best;
        }

        double tMatmul = Time(() =>
        {
            using var s = NewDisposeScope();
            using var _ = no_grad();
            var m = qs.matmul(ls.t());
            m.sum().item<float>(); // force completion
        });
        double tSearch = Time(() => TopKSearch.Search(qs, ls, k, batch, shard));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bare matmul   {tMatmul * 1000,8:F1} ms  {flops / tMatmul / 1e9,7:F1} GFLOP/s  (builds the dense {q}x{l} matrix)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"top-k search  {tSearch * 1000,8:F1} ms  {flops / tSearch / 1e9,7:F1} GFLOP/s  (never builds it)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio search/matmul GFLOP/s = {tMatmul / tSearch:F2} (target >= 0.70)"));
        return 0;
    }
}
