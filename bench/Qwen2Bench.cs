using System.Diagnostics;
using System.Text.Json;
using ViXml.Models.Lora;
using ViXml.Models.Qwen2;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// Qwen2 encoder throughput, ours vs Debian's PyTorch running the plain-torch reference forward
/// (bench/python/bench_qwen2.py), side by side on the same shapes: Qwen2.5-0.5B layers (hidden 896, 14/2 heads,
/// intermediate 4864), --layers of them, a small embedding table. Modes: inference (no_grad, mean pooling) in float32
/// and bfloat16, and a LoRA training step (forward + backward, all 7 targets). Reports wall and CPU time: other jobs on a
/// shared machine inflate wall time, CPU time is the fairer ratio.
/// Args: [--layers 2] [--batch 8] [--tokens 36] [--rank 16] [--iters 3] [--threads 2] [--modes infer-float32,infer-bfloat16,lora-float32]
/// </summary>
public sealed class Qwen2Bench : IBenchmark
{
    public string Name => "qwen2";
    public string Description => "Qwen2 (0.5B layer shapes) inference and LoRA step: ours vs Debian PyTorch";

    public int Run(string[] args)
    {
        string Arg(string name, string dflt) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        int layers = int.Parse(Arg("--layers", "2")), batch = int.Parse(Arg("--batch", "8")), tokens = int.Parse(Arg("--tokens", "36"));
        int rank = int.Parse(Arg("--rank", "16")), iters = int.Parse(Arg("--iters", "3")), threads = int.Parse(Arg("--threads", "2"));
        var modes = Arg("--modes", "infer-float32,infer-bfloat16,lora-float32").Split(',');
        set_num_threads(threads);
        var root = FindRoot();
        Console.WriteLine($"Qwen2.5-0.5B layer shapes x {layers} layers, batch {batch} x {tokens} tokens, {threads} threads");
        foreach (var m in modes)
        {
            var parts = m.Split('-');
            var (mode, dtypeName) = (parts[0], parts[1]);
            var dtype = dtypeName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
            var (ours, oursCpu) = Ours(mode, dtype, layers, batch, tokens, rank, iters);
            var py = Python(root, mode, dtypeName, layers, batch, tokens, rank, iters, threads);
            string r(double a, double b) => b > 0 ? $"{a / b:F2}x" : "n/a";
            Console.WriteLine($"{m,-16} ours {ours,8:F2} seq/s [{oursCpu,8:F2} per CPU s]   PyTorch {py.Wall,8:F2} seq/s [{py.Cpu,8:F2} per CPU s]   " +
                              $"ratio wall {r(ours, py.Wall)}, CPU {r(oursCpu, py.Cpu)}");
        }
        return 0;
    }

    private static (double Wall, double Cpu) Ours(string mode, ScalarType dtype, int layers, int batch, int tokens, int rank, int iters)
    {
        var cfg = Qwen2Presets.Qwen25_0_5B with { NumHiddenLayers = layers, VocabSize = 4096 };
        using var model = new Qwen2Model(cfg, dtype);
        model.InitWeights(new Generator(0));
        if (mode == "lora") LoraAdapter.Apply(model, new LoraConfig { R = rank, Alpha = rank }, generator: new Generator(1));
        else model.eval();
        var gen = new Generator(2);
        using var ids = randint(0, 4096, [batch, tokens], generator: gen);
        using var mask = ones([batch, tokens], dtype: ScalarType.Int64);
        using (no_grad()) using (var tail = mask.slice(0, batch / 2, batch, 1).slice(1, tokens * 3 / 4, tokens, 1)) tail.zero_();
        void Step()
        {
            using var scope = NewDisposeScope();
            if (mode == "infer") { using var _ = no_grad(); model.Encode(ids, mask); return; }
            model.Encode(ids, mask).pow(2).sum().backward();
            model.zero_grad();
        }
        Step(); // warm-up
        var sw = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < iters; i++) Step();
        double wall = sw.Elapsed.TotalSeconds, cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        return (batch * iters / wall, batch * iters / cpu);
    }

    private static (double Wall, double Cpu) Python(string root, string mode, string dtype, int layers, int batch, int tokens, int rank, int iters, int threads)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3",
            $"{Path.Combine(root, "bench", "python", "bench_qwen2.py")} --mode {mode} --dtype {dtype} --layers {layers} --batch {batch} " +
            $"--tokens {tokens} --rank {rank} --iters {iters} --threads {threads}")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.WriteLine($"  python failed: {stderr.Trim()}"); return (0, 0); }
            using var doc = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
            return (doc.RootElement.GetProperty("sequences_per_s").GetDouble(), doc.RootElement.GetProperty("sequences_per_cpu_s").GetDouble());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException)
        {
            Console.WriteLine($"  python side unavailable: {e.Message}");
            return (0, 0);
        }
    }

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (ViXml.Lib.csproj)");
    }
}
