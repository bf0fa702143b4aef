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

    [Fact]
    public void OpenBlas_core_is_read_from_the_library_and_advice_only_targets_pre_avx2_kernels()
    {
        var (desc, open) = Doctor.DetectBlas();
        var core = Doctor.OpenBlasCore(desc);
        if (open) Assert.False(string.IsNullOrWhiteSpace(core));
        else Assert.Null(core);
        // Kernels that already use AVX2/AVX-512 never get advice; no core, no advice.
        Assert.Null(Doctor.CoreAdvice(null));
        Assert.Null(Doctor.CoreAdvice("Haswell"));
        Assert.Null(Doctor.CoreAdvice("SkylakeX"));
        // A pre-AVX2 kernel gets advice exactly when /proc/cpuinfo lists AVX2+FMA (or AVX-512), naming the better family.
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
        var advice = Doctor.CoreAdvice("Prescott");
        var hasAvx2 = flags.Contains(" avx2") && flags.Contains(" fma");
        Assert.Equal(hasAvx2, advice is not null);
        if (advice is not null) Assert.Matches("OPENBLAS_CORETYPE(=| )", advice);
    }
}
