using System.Diagnostics;
using System.Globalization;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// Qwen2 training memory and time, side by side in one process: eager attention vs SDPA, each without and with
/// per-layer activation checkpointing. One LoRA training step (forward, mean pooling, backward) over --layers layers of
/// Qwen2.5-0.5B shapes (hidden 896, 14/2 heads, intermediate 4864) at batch x tokens, float32, prompt-style mask
/// (right padding: the last quarter of each row's positions are pads). Each variant runs in its own child process; its
/// peak is VmHWM at the end minus VmRSS once the model is built (the weights excluded), its time the best of --iters
/// steps after one warm-up.
/// Args: [--layers 2] [--batch 4] [--tokens 512] [--rank 16] [--iters 2] [--threads 2]
/// </summary>
public sealed class Qwen2AttentionBench : IBenchmark
{
    public string Name => "qwen2-attention";
    public string Description => "Qwen2 LoRA step: eager vs SDPA attention, with/without activation checkpointing (time, peak RSS)";

    public int Run(string[] args)
    {
        string Arg(string name, string dflt) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        int layers = int.Parse(Arg("--layers", "2")), batch = int.Parse(Arg("--batch", "4")), tokens = int.Parse(Arg("--tokens", "512"));
        int rank = int.Parse(Arg("--rank", "16")), iters = int.Parse(Arg("--iters", "2")), threads = int.Parse(Arg("--threads", "2"));
        set_num_threads(threads);
        var cfg = new Qwen2Config
        {
            HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = layers, NumAttentionHeads = 14, NumKeyValueHeads = 2,
            VocabSize = 1024, MaxPositionEmbeddings = Math.Max(tokens, 64), RopeTheta = 1e6, TieWordEmbeddings = true,
        };
        using var model = new Qwen2Model(cfg);
        model.InitWeights(new Generator(1));
        LoraAdapter.Apply(model, new LoraConfig { R = rank, Alpha = rank, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
            generator: new Generator(2));
        model.train();
        var g = new Generator(3);
        var ids = randint(0, cfg.VocabSize, [batch, tokens], generator: g);
        var mask = ones([batch, tokens], dtype: ScalarType.Int64);
        mask[TensorIndex.Colon, TensorIndex.Slice(tokens - tokens / 4)] = 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Qwen2.5-0.5B layer shapes x {layers}, LoRA r={rank} on 7 projections, batch {batch} x {tokens} tokens, float32, {threads} threads"));
        var variants = new[] { (Qwen2AttentionKind.Eager, false), (Qwen2AttentionKind.Sdpa, false), (Qwen2AttentionKind.Eager, true), (Qwen2AttentionKind.Sdpa, true) };
        int only = int.Parse(Arg("--variant", "-1"), CultureInfo.InvariantCulture);
        if (only < 0)
        {
            // Each variant in its own process: a freed tensor's pages stay in the allocator, so one process's peak RSS
            // would hide the later variants' peaks.
            var rows = new List<(string Name, double Seconds, double PeakMiB)>();
            for (int v = 0; v < variants.Length; v++)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add(typeof(Program).Assembly.Location);
                psi.ArgumentList.Add(Name);
                foreach (var a in args) psi.ArgumentList.Add(a);
                psi.ArgumentList.Add("--variant");
                psi.ArgumentList.Add(v.ToString(CultureInfo.InvariantCulture));
                using var p = Process.Start(psi)!;
                var lines = p.StandardOutput.ReadToEnd().Split('\n');
                p.WaitForExit();
                var r = lines.Single(l => l.StartsWith("variant ", StringComparison.Ordinal)).Split(' ');
                var name = $"{variants[v].Item1.ToString().ToLowerInvariant()}{(variants[v].Item2 ? " + checkpointing" : "")}";
                rows.Add((name, double.Parse(r[2], CultureInfo.InvariantCulture), double.Parse(r[3], CultureInfo.InvariantCulture)));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-26} {rows[^1].Seconds,7:F2} s/step  peak +{rows[^1].PeakMiB,7:F0} MiB above the built model"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratio eager/sdpa: time {rows[0].Seconds / rows[1].Seconds:F2}x, peak memory {rows[0].PeakMiB / Math.Max(1, rows[1].PeakMiB):F2}x; " +
                $"checkpointing (sdpa): time {rows[3].Seconds / rows[1].Seconds:F2}x, peak memory {rows[3].PeakMiB / Math.Max(1, rows[1].PeakMiB):F2}x"));
            return 0;
        }
        var (kind, ckpt) = variants[only];
        model.UseAttention(kind);
        model.GradientCheckpointing = ckpt;
        GC.Collect(); GC.WaitForPendingFinalizers();
        var baseline = Rss("VmRSS:");
        double best = double.MaxValue;
        for (int it = 0; it <= iters; it++)                             // iteration 0 warms up
        {
            var sw = Stopwatch.StartNew();
            Step(model, ids, mask);
            if (it > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"variant {only} {best:R} {Rss("VmHWM:") - baseline:R}"));
        return 0;
    }

    private static void Step(Qwen2Model model, Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        foreach (var p in model.parameters()) p.grad = null;
        var pooled = ViXml.Models.Pooling.Pool(model.forward(ids, mask), mask, ViXml.Models.PoolingMode.Mean);
        pooled.pow(2).sum().backward();
    }

    private static double Rss(string field)
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        return 0;
    }
}
