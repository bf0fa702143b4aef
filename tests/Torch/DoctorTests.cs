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
        foreach (var key in new[] { "libtorch", "blas", "threads", "cuda_available", "matmul_gflops", "torchsharp", "matmul_gflops_bf16", "compat_patch",
                     "cpu_model", "cpu_vector_extensions", "cpu_bf16", "warnings" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
    }
}

/// <summary>/proc/cpuinfo flag parsing on sample texts of the three CPU kinds seen (flags lines abridged from real ones).</summary>
public class CpuFeaturesTests
{
    private const string Avx2Epyc = """
        processor	: 0
        vendor_id	: AuthenticAMD
        model name	: AMD EPYC 7B13
        flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw topoext ssbd ibrs ibpb stibp vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 clzero xsaveerptr arat npt nrip_save umip vaes vpclmulqdq rdpid fsrm
        bugs		: sysret_ss_attrs spectre_v1 spectre_v2

        processor	: 1
        model name	: AMD EPYC 7B13
        flags		: fpu avx512f avx512_bf16
        """;

    private const string Avx512Xeon = """
        processor	: 0
        model name	: Intel(R) Xeon(R) Processor @ 2.60GHz
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512vbmi avx512_vbmi2 gfni vaes avx512_vnni avx512_bitalg avx512_vpopcntdq
        """;

    private const string SapphireRapids = """
        model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
        flags		: sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
        """;

    [Fact]
    public void ParsesTheModelAndTheVectorExtensionsOfTheFirstProcessor()
    {
        var epyc = CpuFeatures.Parse(Avx2Epyc);
        Assert.Equal("AMD EPYC 7B13", epyc.Model);
        // Only the first processor's flags count; "avx512f" of the second block is not this CPU's first line.
        Assert.Equal(["sse4_2", "avx", "avx2", "fma"], epyc.VectorExtensions);
        Assert.False(epyc.HasBf16);
        var xeon = CpuFeatures.Parse(Avx512Xeon);
        Assert.Equal("Intel(R) Xeon(R) Processor @ 2.60GHz", xeon.Model);
        Assert.Equal(["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"], xeon.VectorExtensions);
        Assert.True(xeon.Has("avx512f") && !xeon.HasBf16);   // AVX-512 without bf16: bf16 still emulated
        var spr = CpuFeatures.Parse(SapphireRapids);
        Assert.True(spr.HasBf16);
        Assert.Equal(["avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"], spr.VectorExtensions.Skip(8));
        // Words that merely contain a flag are not that flag; a text without the lines gives nothing.
        Assert.Empty(CpuFeatures.Parse("flags\t: xavx2 avx2x notavx512f\n").VectorExtensions);
        Assert.Equal(("unknown", 0), (CpuFeatures.Parse("").Model, CpuFeatures.Parse("garbage without colons").VectorExtensions.Count));
    }

    [Fact]
    public void WarnsWhenBf16IsSlowerOrTheCpuHasNoBf16Instructions()
    {
        var epyc = CpuFeatures.Parse(Avx2Epyc);
        // The AVX2 machine's measured rates (TOOLCHAIN-FACTS): bf16 0.8 vs fp32 64 GFLOP/s.
        var w = epyc.Bf16Warning(64, 0.8);
        Assert.NotNull(w);
        Assert.Contains("0.8 vs 64.0 GFLOP/s", w);
        Assert.Contains("no avx512_bf16", w);
        Assert.Equal([w!], Doctor.Warnings(epyc, 64, 0.8));
        Assert.Empty(Doctor.Warnings(CpuFeatures.Parse(SapphireRapids), 170, 400));
        Assert.Null(epyc.Bf16Warning(64, 70));                                // measured faster: no warning
        Assert.Contains("no bf16 instructions", epyc.Bf16Warning());          // not measured: the flags decide
        Assert.Null(CpuFeatures.Parse(SapphireRapids).Bf16Warning());
        Assert.NotNull(CpuFeatures.Parse(Avx512Xeon).Bf16Warning());
        // This machine: the report carries the CPU keys, consistent with /proc/cpuinfo.
        var r = Doctor.Collect(matmulSeconds: 0.05);
        var here = CpuFeatures.Current();
        Assert.Equal((here.Model, here.HasBf16), (r.cpu_model, r.cpu_bf16));
        Assert.Equal(here.VectorExtensions, r.cpu_vector_extensions);
        Assert.Equal(Doctor.Warnings(here, r.matmul_gflops, r.matmul_gflops_bf16), r.warnings);
    }
}
