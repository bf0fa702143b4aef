using System.Diagnostics;
using System.Globalization;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.LabelSide;
using ViXml.Training.Sampling;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// GradCache (optim.micro_batch) against the one-pass step: the trainer's own step code
/// (<see cref="GradCache.ForwardBackward"/> vs the plain forward + backward) on a MiniLM-L3-shaped Siamese model
/// (H 384, 3 layers, 12 heads, FFN 1536, random init), B queries and B labels of T tokens, the paper's triplet loss with
/// in-batch hard negatives, AdamW. Each (batch, micro-batch) runs in its own child process so its peak RSS (VmHWM) is
/// its own. Args: [--batches 256,2048] [--micro 0,64,256] [--tokens 32] [--steps 2] [--threads 2] [--skip-full-above 1024]
/// (one-pass steps of batches above that are skipped: they need tens of GB here).
/// </summary>
public sealed class GradCacheBench : IBenchmark
{
    public string Name => "gradcache";
    public string Description => "GradCache micro-batches vs the one-pass step: time per step and peak RSS (MiniLM-L3 shape)";

    public int Run(string[] args)
    {
        int At(string name, int dflt) { int i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : dflt; }
        int[] List(string name, int[] dflt) { int i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(int.Parse).ToArray() : dflt; }
        if (Array.IndexOf(args, "--one") is int one and >= 0)
            return One(int.Parse(args[one + 1]), int.Parse(args[one + 2]), At("tokens", 32), At("steps", 2), At("threads", 2));
        var batches = List("batches", [256, 2048]);
        var micro = List("micro", [0, 64, 256]);
        int skipAbove = At("skip-full-above", 1024);
        Console.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| batch | micro_batch | s/step | peak RSS MiB | vs one pass (time, RSS) |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var b in batches)
        {
            (double S, double Mib)? full = null;
            foreach (var m in micro)
            {
                if (m >= b) continue;
                if (m == 0 && b > skipAbove) { Console.WriteLine($"| {b} | 0 | skipped (one pass above {skipAbove}) | | |"); continue; }
                var r = Child(b, m, args);
                if (r is null) { Console.WriteLine($"| {b} | {m} | failed | | |"); continue; }
                if (m == 0) full = r;
                string rel = full is { } f && m > 0 ? $"{r.Value.S / f.S:F2}×, {r.Value.Mib / f.Mib:F2}×" : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {b} | {m} | {r.Value.S:F2} | {r.Value.Mib:F0} | {rel} |"));
            }
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static (double S, double Mib)? Child(int batch, int micro, string[] args)
    {
        var self = Environment.GetCommandLineArgs()[0];
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (self.EndsWith(".dll", StringComparison.Ordinal)) psi.ArgumentList.Add(self);
        foreach (var a in new[] { "gradcache", "--one", batch.ToString(), micro.ToString() }.Concat(args.Where(a => a != "--one"))) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null) return null;
        var parts = line.Split(' ');
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    private static int One(int batch, int micro, int tokens, int steps, int threads)
    {
        set_num_threads(threads);
        manual_seed(0);
        var mc = new ModelConfig { Hidden = 384, Layers = 3, Heads = 12, Intermediate = 1536, MaxPositions = 512 };
        using var model = SiameseModel.Create(mc, 30522, seed: 0);
        model.train();
        using var labelSide = new PlainLabelSide();
        using var opt = new Optim.AdamW([new Optim.ParamGroup(model.parameters().ToList(), lr: 1e-4, weight_decay: 0.01)], lr: 1e-4, weight_decay: 0.01);
        var loss = new TripletLoss(new LossConfig());
        using var gen = new Generator(1);
        var qIds = randint(1, 30522, [batch, tokens], generator: gen);
        var lIds = randint(1, 30522, [batch, tokens], generator: gen);
        var mask = ones([batch, tokens], ScalarType.Int64);
        var target = new float[batch * batch];
        for (int i = 0; i < batch; i++) target[i * batch + i] = 1;
        var lb = new LabelBatch(Enumerable.Range(0, batch).ToArray(), Enumerable.Range(0, batch).ToArray(), Enumerable.Range(0, batch).ToArray(), target);
        void Step(long step)
        {
            using var scope = NewDisposeScope();
            if (micro > 0)
                GradCache.ForwardBackward(model, labelSide, new(qIds, mask, null), new(lIds, mask, null), lb, loss, micro,
                    () => opt.zero_grad(), (side, c) => GradCache.SeedChunk(0, step, side, c));
            else
            {
                var q = model.Embed(qIds, mask);
                var l = labelSide.EncodeLabels(model, lIds, mask, null);
                var lossT = labelSide.Loss(q, l, lb, loss);
                opt.zero_grad();
                lossT.backward();
            }
            opt.step();
        }
        Step(0);                                   // warm-up (allocator, kernels)
        var sw = Stopwatch.StartNew();
        for (int s = 1; s <= steps; s++) Step(s);
        double perStep = sw.Elapsed.TotalSeconds / steps;
        var hwm = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        double mib = double.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {perStep:F3} {mib:F0}"));
        return 0;
    }
}
