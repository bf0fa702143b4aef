using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ViXml.Torch;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// Training throughput (queries/s) of the `cpu` profile's model (MiniLM-L3 shape, batch 256, InfoNCE as in
/// configs/cpu.yaml): our trainer's step (SiameseModel, InfoNceLoss or TripletLoss, clip, AdamW) vs the same loop in
/// Debian's PyTorch (bench/python/bench_train.py), side by side.
/// args: [batch=256] [tokens=16] [steps=3] [threads=2] [hidden=384] [layers=3] [heads=12] [intermediate=1536]
///       [loss=infonce|triplet]
/// </summary>
public sealed class TrainBench : IBenchmark
{
    public string Name => "train";
    public string Description => "training queries/s, cpu-profile model: ours vs Debian PyTorch";

    public int Run(string[] args)
    {
        int Arg(int i, int def) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : def;
        int b = Arg(0, 256), t = Arg(1, 16), steps = Arg(2, 3), threads = Arg(3, 2);
        int hidden = Arg(4, 384), layers = Arg(5, 3), heads = Arg(6, 12), inter = Arg(7, 1536);
        var lossKind = args.Length > 8 ? args[8] : "infonce";
        if (lossKind is not ("infonce" or "triplet")) throw new ArgumentException($"loss must be infonce or triplet, not '{lossKind}'");
        set_num_threads(threads);
        var mc = new ModelConfig { Hidden = hidden, Layers = layers, Heads = heads, Intermediate = inter, MaxPositions = 512 };
        using var model = SiameseModel.Create(mc, 30522, 0);
        model.train();
        using var opt = new Optim.AdamW(Optim.decay_groups(model, 0.01), lr: 5e-4, eps: 1e-6);
        IBatchLoss loss = lossKind == "infonce"
            ? new InfoNceLoss(new LossConfig { Kind = LossKind.Infonce, Temperature = 0.05 })
            : new TripletLoss(new LossConfig());
        var rng = new Rng(1);
        long[] Ids() => Enumerable.Range(0, b * t).Select(_ => 1L + rng.NextInt(30521)).ToArray();
        var qIds = Ids(); var lIds = Ids();
        var ones = Enumerable.Repeat(1L, b * t).ToArray();
        var target = new float[b * b];
        for (int i = 0; i < b; i++) target[i * b + i] = 1;
        var lb = new LabelBatch(Enumerable.Range(0, b).ToArray(), Enumerable.Range(0, b).ToArray(), Enumerable.Range(0, b).ToArray(), target);
        var parameters = model.parameters().ToList();
        void Step()
        {
            using var scope = NewDisposeScope();
            var q = model.Embed(tensor(qIds, [b, t]), tensor(ones, [b, t]));
            var l = model.Embed(tensor(lIds, [b, t]), tensor(ones, [b, t]));
            var lv = loss.Forward(q.matmul(l.t()), lb);
            opt.zero_grad();
            lv.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            opt.step();
            lv.item<float>();
        }
        Step();
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) Step();
        double ours = steps * b / sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ours:    {ours,8:F1} queries/s  (B={b} T={t} H={hidden} L={layers} loss={lossKind} threads={get_num_threads()})"));

        var script = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "python", "bench_train.py");
        if (!File.Exists(script)) script = Path.Combine("bench", "python", "bench_train.py");
        var psi = new ProcessStartInfo("/usr/bin/python3",
            $"{script} --threads {threads} --batch {b} --tokens {t} --steps {steps} --hidden {hidden} --layers {layers} --heads {heads} --intermediate {inter} --loss {lossKind}")
        { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadToEnd().Trim().Split('\n').LastOrDefault() ?? "";
        p.WaitForExit();
        if (p.ExitCode != 0 || line.Length == 0) { Console.WriteLine("python reference failed (Debian python3-torch missing?)"); return 1; }
        double py = JsonDocument.Parse(line).RootElement.GetProperty("queries_per_s").GetDouble();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pytorch: {py,8:F1} queries/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio ours/pytorch = {ours / py:F2}"));
        return 0;
    }
}
