using System.Text.Json;
using ViXml.Torch;

namespace ViXml.Tests.Torch;

public class DoctorTests
{
    [Fact]
    public void Report_has_the_contract_keys_and_sane_values()
    {
        var r = Doctor.Collect(matmulSeconds: 0.05);
        Assert.StartsWith("2.10.", r.libtorch);
        Assert.StartsWith("0.107", r.torchsharp);
        Assert.True(r.threads >= 1);
        Assert.True(r.matmul_gflops > 0);
        Assert.True(r.matmul_gflops_bf16 > 0);
        Assert.Contains("cpu", r.devices);
        Assert.Equal(r.cuda_available, r.devices.Any(d => d.StartsWith("cuda")));
        Assert.StartsWith("mkl (", r.blas);                // libtorch 2.10's CPU build bundles MKL
        // The compat step must be applied exactly where the system libstdc++ lacks GLIBCXX_3.4.32 (Debian 12).
        var stdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (File.Exists(stdcxx))
        {
            var has = File.ReadAllBytes(stdcxx).AsSpan().IndexOf("GLIBCXX_3.4.32\0"u8) >= 0;
            Assert.StartsWith(has ? "not needed" : "applied", r.compat_patch);
        }
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(r));
        foreach (var key in new[] { "libtorch", "blas", "threads", "cuda_available", "matmul_gflops", "torchsharp", "matmul_gflops_bf16", "compat_patch" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
    }
}
