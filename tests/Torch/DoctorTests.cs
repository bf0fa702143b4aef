using System.Text.Json;
using ViXml.Torch;

namespace ViXml.Tests.Torch;

public class DoctorTests
{
    [Fact]
    public void Report_has_the_contract_keys_and_sane_values()
    {
        var r = Doctor.Collect(matmulSeconds: 0.05);
        Assert.Matches(@"^\d+\.\d+\.\d+$", r.libtorch);
        Assert.True(r.threads >= 1);
        Assert.True(r.matmul_gflops > 0);
        Assert.Contains("cpu", r.devices);
        Assert.Equal(r.cuda_available, r.devices.Any(d => d.StartsWith("cuda")));
        Assert.Equal(r.openblas, r.blas_advice is null);
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(r));
        foreach (var key in new[] { "libtorch", "blas", "threads", "cuda_available", "matmul_gflops" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void Blas_detection_agrees_with_the_process_maps()
    {
        var (desc, open) = Doctor.DetectBlas();
        var maps = File.ReadAllText("/proc/self/maps");
        Assert.Equal(maps.Contains("openblas", StringComparison.OrdinalIgnoreCase) || maps.Contains("libmkl"), open);
        Assert.False(string.IsNullOrWhiteSpace(desc));
    }
}
