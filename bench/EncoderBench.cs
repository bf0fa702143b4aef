using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.Models.Hf;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Bench;

/// <summary>
/// Inference throughput of a MiniLM-L3-shaped BERT (random HF init) at T tokens: embeddings/s of forward + mean pooling
/// + L2, ours vs the same model in Debian's PyTorch (bench/python/bench_bert.py), same thread count, side by side.
/// Args: [--batch 256] [--tokens 32] [--iters 6] [--warmup 1] [--threads 2] [--rounds 3] (rounds alternate the sides,
/// which matters on a shared, busy machine; see <see cref="EncoderSideBySide"/>).
/// </summary>
public sealed class EncoderBench : IBenchmark
{
    public string Name => "encoder";
    public string Description => "MiniLM-L3 embeddings/s at 32 tokens: ours vs Debian PyTorch (2 threads)";

    public int Run(string[] args)
    {
        var o = EncoderBenchArgs.Parse(args, new() { ["batch"] = 256, ["tokens"] = 32, ["iters"] = 6, ["warmup"] = 1, ["threads"] = 2, ["rounds"] = 3 });
        var (b, t, iters, warmup, threads, rounds) = (o["batch"], o["tokens"], o["iters"], o["warmup"], o["threads"], o["rounds"]);
        set_num_threads(threads);
        manual_seed(0);
        using var model = new BertModel(BertConfig.MiniLmL3, seed: 0);
        model.eval();
        using var gen = new Generator(1);
        using var ids = randint(1, BertConfig.MiniLmL3.VocabSize, [b, t], generator: gen);
        using var mask = ones([b, t], ScalarType.Int64);

        EncoderMeasurement Ours()
        {
            using var ng = no_grad();
            for (var i = 0; i < warmup; i++) { using var s = NewDisposeScope(); model.Encode(ids, mask, PoolingMode.Mean); }
            return EncoderMeasurement.Time(b * iters, () =>
            {
                for (var i = 0; i < iters; i++) { using var s = NewDisposeScope(); model.Encode(ids, mask, PoolingMode.Mean); }
            });
        }

        EncoderMeasurement Python()
        {
            var j = EncoderBenchPython.Run("bench_bert.py", $"--threads {threads} --batch {b} --tokens {t} --iters {iters} --warmup {warmup}");
            return new EncoderMeasurement(b * iters, j.GetProperty("seconds").GetDouble(), j.GetProperty("cpu_seconds").GetDouble());
        }

        Console.WriteLine($"MiniLM-L3 (H 384, 3 layers, 12 heads, FFN 1536), batch {b} x {t} tokens, {threads} threads, mean pool + L2");
        EncoderSideBySide.Report("embeddings", rounds, Python, Ours);
        return 0;
    }
}

/// <summary>Work done in a timed region: items, wall seconds, process CPU seconds.</summary>
internal sealed record EncoderMeasurement(double Items, double Wall, double Cpu)
{
    public double PerWallSecond => Items / Wall;
    public double PerCpuSecond => Items / Cpu;

    public static EncoderMeasurement Time(double items, Action work)
    {
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        work();
        var wall = sw.Elapsed.TotalSeconds;
        proc.Refresh();
        return new EncoderMeasurement(items, wall, (proc.TotalProcessorTime - cpu0).TotalSeconds);
    }
}

/// <summary>
/// Alternates the two sides for a number of rounds and reports per-round ratios, their median (wall clock) and the
/// ratio of throughput per CPU-second (steadier when other jobs share the cores: both sides run the same libtorch
/// kernels with the same thread count, so CPU time measures the work each side makes the machine do).
/// </summary>
internal static class EncoderSideBySide
{
    public static void Report(string unit, int rounds, Func<EncoderMeasurement> pytorch, Func<EncoderMeasurement> ours)
    {
        var ratios = new List<double>();
        var (py, us) = (new List<EncoderMeasurement>(), new List<EncoderMeasurement>());
        for (var r = 0; r < rounds; r++)
        {
            var p = pytorch();
            var o = ours();
            py.Add(p); us.Add(o);
            ratios.Add(o.PerWallSecond / p.PerWallSecond);
            Console.WriteLine($"round {r + 1}: pytorch {p.PerWallSecond:F3} {unit}/s (cpu {p.Cpu:F1} s), " +
                              $"ours {o.PerWallSecond:F3} {unit}/s (cpu {o.Cpu:F1} s), ratio {ratios[^1]:F2}");
        }
        ratios.Sort();
        var median = ratios.Count % 2 == 1 ? ratios[ratios.Count / 2] : (ratios[ratios.Count / 2 - 1] + ratios[ratios.Count / 2]) / 2;
        double Sum(List<EncoderMeasurement> m, Func<EncoderMeasurement, double> f) => m.Sum(f);
        var pyCpu = Sum(py, m => m.Items) / Sum(py, m => m.Cpu);
        var usCpu = Sum(us, m => m.Items) / Sum(us, m => m.Cpu);
        Console.WriteLine($"  Debian PyTorch : {py.Max(m => m.PerWallSecond),10:F3} {unit}/s best wall, {pyCpu,10:F3} {unit} per CPU-second");
        Console.WriteLine($"  ViXml (C#)     : {us.Max(m => m.PerWallSecond),10:F3} {unit}/s best wall, {usCpu,10:F3} {unit} per CPU-second");
        Console.WriteLine($"  ratio ours/pytorch: median wall {median:F2}, per CPU-second {usCpu / pyCpu:F2}");
    }
}

/// <summary>Runs a bench/python script with Debian's /usr/bin/python3 and parses its one JSON line.</summary>
internal static class EncoderBenchPython
{
    public static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ViXml.Lib.csproj"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    public static JsonElement Run(string script, string args)
    {
        var path = Path.Combine(Root(), "bench", "python", script);
        var psi = new ProcessStartInfo("/usr/bin/python3", $"{path} {args}")
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{script} failed ({p.ExitCode}): {stderr}");
        var line = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        return JsonDocument.Parse(line).RootElement.Clone();
    }
}

/// <summary>--name value integer options with defaults.</summary>
internal static class EncoderBenchArgs
{
    public static Dictionary<string, int> Parse(string[] args, Dictionary<string, int> defaults)
    {
        var o = new Dictionary<string, int>(defaults);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--") || i + 1 >= args.Length || !o.ContainsKey(args[i][2..]))
                throw new ArgumentException($"unknown or incomplete option '{args[i]}' (known: {string.Join(", ", o.Keys.Select(k => "--" + k))})");
            o[args[i][2..]] = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        return o;
    }
}
