namespace ViXml.Torch;

/// <summary>
/// The CPU's model name and vector extensions, from /proc/cpuinfo (Linux): which of avx2, avx512f, avx512_bf16,
/// amx_bf16 / amx_tile / amx_int8 it has. Without avx512_bf16 or amx_bf16 a CPU has no bf16 instructions and libtorch
/// emulates bf16 matmul (80x slower than float32 on an AVX2-only machine: 0.8 vs 64 GFLOP/s), so bf16 training on such
/// a CPU is a mistake <c>vixml doctor</c> and <c>vixml train</c> warn about.
/// </summary>
public sealed record CpuFeatures(string Model, IReadOnlyList<string> VectorExtensions)
{
    /// <summary>The extensions reported, in this order, when the flags line carries them.</summary>
    public static readonly string[] Known =
        ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
         "amx_tile", "amx_bf16", "amx_int8"];

    /// <summary>Whether the CPU has bf16 instructions (avx512_bf16 or AMX bf16).</summary>
    public bool HasBf16 => VectorExtensions.Contains("avx512_bf16") || VectorExtensions.Contains("amx_bf16");

    public bool Has(string flag) => VectorExtensions.Contains(flag);

    /// <summary>The known extensions named on the first "flags" line of a /proc/cpuinfo text, and the first "model name".
    /// Text without those lines (not Linux, or a container hiding them) gives an empty list and "unknown".</summary>
    public static CpuFeatures Parse(string cpuinfo)
    {
        string? model = null, flags = null;
        foreach (var raw in cpuinfo.Split('\n'))
        {
            var colon = raw.IndexOf(':');
            if (colon < 0) continue;
            var key = raw[..colon].Trim();
            var value = raw[(colon + 1)..].Trim();
            if (model is null && key == "model name") model = value;
            else if (flags is null && key is "flags" or "Features") flags = value;
            if (model is not null && flags is not null) break;
        }
        var set = new HashSet<string>((flags ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        return new CpuFeatures(model ?? "unknown", Known.Where(set.Contains).ToList());
    }

    /// <summary>This machine's (/proc/cpuinfo); "unknown" and no extensions where it cannot be read.</summary>
    public static CpuFeatures Current()
    {
        try { return Parse(File.ReadAllText("/proc/cpuinfo")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return new CpuFeatures("unknown", []); }
    }

    /// <summary>
    /// A warning when bf16 would be slow here, else null: <paramref name="bf16Gflops"/> below <paramref name="fp32Gflops"/>
    /// (measured), or (unmeasured) the CPU lacks bf16 instructions.
    /// </summary>
    public string? Bf16Warning(double? fp32Gflops = null, double? bf16Gflops = null)
    {
        if (fp32Gflops is double f && bf16Gflops is double b)
            return b < f
                ? $"bf16 matmul is slower than float32 here ({b:F1} vs {f:F1} GFLOP/s{(HasBf16 ? "" : "; the CPU has no avx512_bf16 / amx_bf16")}): " +
                  "train on this CPU in fp32 (model.decoder.dtype: fp32)"
                : null;
        return HasBf16 ? null
            : "this CPU has no bf16 instructions (no avx512_bf16 / amx_bf16): bf16 matmul is emulated, up to 80x slower than " +
              "float32; train on it in fp32 (model.decoder.dtype: fp32)";
    }
}
