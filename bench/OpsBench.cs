using System.Diagnostics;
using System.Globalization;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Bench;

/// <summary>Op-heavy microbenchmark where per-call overhead shows: a 2-layer MLP (256→512→10, batch 64) forward,
/// backward, clip_grad_norm_ and AdamW step per iteration; steps/s ours vs Debian PyTorch. args: [threads=2] [steps=300]</summary>
public sealed class OpsBench : IBenchmark
{
    public string Name => "ops";
    public string Description => "2-layer MLP fwd+bwd+clip+AdamW steps/s: ViXml.Torch vs Debian PyTorch (2 threads)";

    public int Run(string[] args)
    {
        var threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
        var steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 300;
        set_num_threads(threads);
        manual_seed(0);
        var x = randn(64, 256).DetachFromDisposeScope();
        var y = randint(0, 10, [64]).DetachFromDisposeScope();
        using var l1 = nn.Linear(256, 512);
        using var l2 = nn.Linear(512, 10);
        var ps = l1.parameters().Concat(l2.parameters()).ToList();
        using var opt = new Optim.AdamW(ps, lr: 1e-3, weight_decay: 0.01);
        double Step()
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = F.cross_entropy(l2.call(F.gelu(l1.call(x))), y);
            loss.backward();
            nn.utils.clip_grad_norm_(ps, 1.0);
            opt.step();
            return loss.item<float>();
        }
        for (var i = 0; i < 20; i++) Step();
        var sw = Stopwatch.StartNew();
        var last = 0.0;
        for (var i = 0; i < steps; i++) last = Step();
        var ours = steps / sw.Elapsed.TotalSeconds;
        // per-op overhead: 200,000 additions of two 1-element tensors, freed by a scope every 1,000
        var a = ones(1).DetachFromDisposeScope();
        var b = ones(1).DetachFromDisposeScope();
        void Adds(int n)
        {
            for (var i = 0; i < n / 1000; i++)
            {
                using var s = NewDisposeScope();
                for (var j = 0; j < 1000; j++) _ = a + b;
            }
        }
        Adds(10_000);
        sw.Restart();
        Adds(200_000);
        var oursUs = sw.Elapsed.TotalSeconds / 200_000 * 1e6;
        var py = BenchPython.Run("bench_torch_ops.py", threads.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture));
        var theirs = py?.FirstOrDefault(l => l[0] == "steps_per_s") is { } l ? BenchPython.D(l[1]) : double.NaN;
        Console.WriteLine($"  ours    {ours,9:F1} steps/s  (final loss {last:F4})");
        Console.WriteLine($"  PyTorch {theirs,9:F1} steps/s");
        Console.WriteLine($"  ratio   {ours / theirs,9:F2}  (ours / PyTorch; > 1 means faster)");
        var theirsUs = py?.FirstOrDefault(l => l[0] == "us_per_tiny_op") is { } u ? BenchPython.D(u[1]) : double.NaN;
        Console.WriteLine($"  tiny op (1-element add): ours {oursUs:F2} µs, PyTorch {theirsUs:F2} µs, ratio {theirsUs / oursUs:F2} (> 1: ours faster)");
        return 0;
    }
}
