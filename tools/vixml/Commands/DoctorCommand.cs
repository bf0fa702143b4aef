using System.CommandLine;
using System.Text.Json;
using ViXml.Torch;

namespace ViXml.Cli.Commands;

/// <summary>`vixml doctor [--json]`: libtorch, BLAS, threads, devices, measured matmul GFLOP/s, assets present.</summary>
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
            catch (DllNotFoundException e)
            {
                throw new CliException($"the native shim libvixml_torch.so could not be loaded ({e.Message}); rebuild with ./vixml or dotnet build", 3);
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"libtorch        {r.libtorch}");
            Console.WriteLine($"blas            {r.blas}");
            if (r.blas_advice is not null) Console.WriteLine($"                {r.blas_advice}");
            if (r.openblas_core is not null) Console.WriteLine($"openblas core   {r.openblas_core}");
            if (r.openblas_core_advice is not null) Console.WriteLine($"                {r.openblas_core_advice}");
            Console.WriteLine($"threads         {r.threads} (logical cpus {r.logical_cpus})");
            Console.WriteLine($"cpu capability  {r.cpu_capability}");
            Console.WriteLine($"omp wait policy {r.omp_wait_policy ?? "(default: active spinning)"}" +
                (r.threads > 1 && r.load_average > r.logical_cpus && r.omp_wait_policy is null
                    ? "  [busy machine: start with OMP_WAIT_POLICY=PASSIVE, spinning OpenMP threads stall each other]" : ""));
            Console.WriteLine($"cuda available  {(r.cuda_available ? "yes" : "no")}");
            Console.WriteLine($"devices         {string.Join(", ", r.devices)}");
            var busy = r.load_average is double l && l > r.logical_cpus ? $"; machine busy: load {l:F1} on {r.logical_cpus} cpus" : "";
            Console.WriteLine($"matmul          {r.matmul_gflops:F1} GFLOP/s (float32 1024x1024, {r.logical_cpus} threads)" + (r.matmul_gflops < 100 ? $"  [below the expected 100{busy}]" : ""));
            Console.WriteLine($"assets          {string.Join(", ", r.assets.Select(kv => $"{kv.Key}={(kv.Value ? "yes" : "no")}"))}");
            Console.WriteLine($"datasets        {(r.datasets.Length == 0 ? "(none under data/)" : string.Join(", ", r.datasets))}");
            return 0;
        });
        return cmd;
    }
}
