using System.CommandLine;
using System.Text.Json;
using ViXml.Torch;

namespace ViXml.Cli.Commands;

/// <summary>`vixml doctor [--json]`: libtorch, BLAS, threads, the CPU and its vector extensions, devices, measured
/// matmul GFLOP/s (float32 and bf16, with a warning when bf16 is the slower), assets present.</summary>
public sealed class DoctorCommand : ICliCommand
{
    public Command Build()
    {
        var cmd = new Command("doctor", "Check the environment: libtorch, BLAS, threads, devices, matmul speed, assets.");
        var json = new Option<bool>("--json") { Description = "Print one JSON object (keys libtorch, blas, threads, cuda_available, matmul_gflops, ...)." };
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            Doctor.Report r;
            try { r = Doctor.Collect(); }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
            {
                throw new CliException($"TorchSharp's native libraries could not be loaded ({TorchException.Clean(e.InnerException?.Message ?? e.Message)}); " +
                                       "rebuild with ./vixml or dotnet build (on Debian 12 the build applies the libstdc++ compat step: see environment.md)", 3);
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"libtorch        {r.libtorch} (TorchSharp {r.torchsharp})");
            Console.WriteLine($"blas            {r.blas}");
            Console.WriteLine($"compat patch    {r.compat_patch}");
            Console.WriteLine($"threads         {r.threads} (logical cpus {r.logical_cpus})");
            Console.WriteLine($"omp wait policy {r.omp_wait_policy ?? "(default: active spinning)"}" +
                (r.threads > 1 && r.load_average > r.logical_cpus && r.omp_wait_policy is null
                    ? "  [busy machine: start with OMP_WAIT_POLICY=PASSIVE, spinning OpenMP threads stall each other]" : ""));
            Console.WriteLine($"cpu             {r.cpu_model}");
            Console.WriteLine($"vector ext.     {(r.cpu_vector_extensions.Length == 0 ? "(unknown: no /proc/cpuinfo flags)" : string.Join(" ", r.cpu_vector_extensions))}" +
                $"  [bf16 instructions: {(r.cpu_bf16 ? "yes" : "no")}]");
            Console.WriteLine($"cuda available  {(r.cuda_available ? "yes" : "no")}");
            Console.WriteLine($"devices         {string.Join(", ", r.devices)}");
            var busy = r.load_average is double l && l > r.logical_cpus ? $"; machine busy: load {l:F1} on {r.logical_cpus} cpus" : "";
            Console.WriteLine($"matmul          {r.matmul_gflops:F1} GFLOP/s float32, {r.matmul_gflops_bf16:F1} bfloat16 (1024x1024, {r.logical_cpus} threads)" +
                (r.matmul_gflops < 150 ? $"  [below the expected 150{busy}]" : ""));
            Console.WriteLine($"assets          {string.Join(", ", r.assets.Select(kv => $"{kv.Key}={(kv.Value ? "yes" : "no")}"))}");
            Console.WriteLine($"datasets        {(r.datasets.Length == 0 ? "(none under data/)" : string.Join(", ", r.datasets))}");
            foreach (var w in r.warnings) Console.WriteLine($"warning: {w}");
            return 0;
        });
        return cmd;
    }
}
