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
/// (right padding: the last quarter of each row's positions are pads). Peak RSS per variant: /proc/self/clear_refs "5"
/// resets VmHWM, the figure is VmHWM after the step minus VmRSS before it (the model's own weights excluded).
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
        var rows = new List<(string Name, double Seconds, double PeakMiB)>();
        foreach (var (kind, ckpt) in new[] { (Qwen2AttentionKind.Eager, false), (Qwen2AttentionKind.Sdpa, false), (Qwen2AttentionKind.Eager, true), (Qwen2AttentionKind.Sdpa, true) })
        {
            model.UseAttention(kind);
            model.GradientCheckpointing = ckpt;
            Step(model, ids, mask);                                    // warm-up (allocator, kernels)
            double best = double.MaxValue, peak = 0;
            for (int it = 0; it < iters; it++)
            {
                GC.Collect(); GC.WaitForPendingFinalizers();
                var before = Rss("VmRSS:");
                File.WriteAllText("/proc/self/clear_refs", "5");
                var sw = Stopwatch.StartNew();
                Step(model, ids, mask);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                peak = Math.Max(peak, Rss("VmHWM:") - before);
            }
            var name = $"{kind.ToString().ToLowerInvariant()}{(ckpt ? " + checkpointing" : "")}";
            rows.Add((name, best, peak));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-26} {best,7:F2} s/step  peak +{peak,7:F0} MiB"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio eager/sdpa: time {rows[0].Seconds / rows[1].Seconds:F2}x, peak memory {rows[0].PeakMiB / Math.Max(1, rows[1].PeakMiB):F2}x; " +
            $"checkpointing (sdpa): time {rows[3].Seconds / rows[1].Seconds:F2}x, peak memory {rows[3].PeakMiB / Math.Max(1, rows[1].PeakMiB):F2}x"));
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
