using System.Diagnostics;
using ViXml.Common;

namespace ViXml.Tests.Fuzz;

/// <summary>Outcome counts of one format's fuzz run, with the first few failures in full.</summary>
internal sealed class FuzzStats
{
    public int Cases, Valid, Clear, Crash, OverAlloc, Slow;
    public long MaxAllocated;
    public readonly List<string> Failures = new();

    public override string ToString() =>
        $"{Cases} cases: {Valid} valid, {Clear} clear errors, {Crash} crashes, {OverAlloc} over the allocation bound, {Slow} slow; " +
        $"largest allocation {MaxAllocated / 1024.0 / 1024:F1} MiB";
}

/// <summary>
/// Runs seeded mutations of a format's seeds through its reader. A case passes when the reader returns, or throws one
/// of our clear error types (<see cref="UserError.Classify"/>: Input, or Environment for output paths); anything else
/// (NullReference, IndexOutOfRange, Overflow, a raw JsonException...) is a crash. Each case's allocation on the thread
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) must stay below <see cref="AllocationBound"/>.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Allocation allowed per case: a fixed 48 MiB plus 32 times the input size.</summary>
    public static long AllocationBound(long inputBytes) => (48L << 20) + 32 * inputBytes;

    /// <summary>The inputs of a run: the seeds themselves first, then mutations. Deterministic for (seeds, seed).</summary>
    public static IEnumerable<byte[]> Cases(IReadOnlyList<byte[]> seeds, ulong seed, int cases)
    {
        var m = new Mutator(seed);
        for (int i = 0; i < cases; i++)
        {
            var baseSeed = seeds[m.Below(seeds.Count)];
            yield return i < seeds.Count ? seeds[i] : m.Mutate(baseSeed, seeds[m.Below(seeds.Count)]);
        }
    }

    public static FuzzStats Run(FuzzFormat format, int cases, ulong seed)
    {
        var stats = new FuzzStats();
        var seeds = format.Seeds();
        var root = Path.Combine(Path.GetTempPath(), $"vixml-fuzz-{format.Name}-{Environment.ProcessId}-{seed}");
        try
        {
            var scratch = Path.Combine(root, "case");
            bool prepared = false;
            int i = -1;
            foreach (var bytes in Cases(seeds, seed, cases))
            {
                i++;
                if (!prepared || format.Prepare is not null)
                {
                    // folders with side files are rebuilt per case (a reader may not change them, but be safe)
                    if (Directory.Exists(scratch)) Directory.Delete(scratch, true);
                    Directory.CreateDirectory(scratch);
                    format.Prepare?.Invoke(scratch);
                    prepared = true;
                }
                var path = Path.Combine(scratch, format.FileName);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, bytes);
                stats.Cases++;
                long before = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                Exception? error = null;
                try { format.Read(path, scratch); }
                catch (Exception e) { error = e; }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                stats.MaxAllocated = Math.Max(stats.MaxAllocated, allocated);
                string Describe() => $"{format.Name} case {i} (seed {seed}, {bytes.Length} bytes, base64 {Convert.ToBase64String(bytes.AsSpan(0, Math.Min(bytes.Length, 300)))})";
                bool failed = false;
                if (error is null) stats.Valid++;
                else if (UserError.Classify(error) is ErrorKind.Input or ErrorKind.Environment && error is not UnauthorizedAccessException) stats.Clear++;
                else
                {
                    stats.Crash++;
                    failed = true;
                    if (stats.Failures.Count < 5) stats.Failures.Add($"{Describe()}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
                }
                if (allocated > AllocationBound(bytes.Length))
                {
                    stats.OverAlloc++;
                    failed = true;
                    if (stats.Failures.Count < 5) stats.Failures.Add($"{Describe()}: allocated {allocated:N0} bytes");
                }
                if (sw.Elapsed.TotalSeconds > 5)
                {
                    stats.Slow++;
                    failed = true;
                    if (stats.Failures.Count < 5) stats.Failures.Add($"{Describe()}: took {sw.Elapsed.TotalSeconds:F1} s");
                }
                // keep failing inputs for a regression test: VIXML_FUZZ_CRASH_DIR=/some/folder
                if (failed && Environment.GetEnvironmentVariable("VIXML_FUZZ_CRASH_DIR") is { Length: > 0 } keep)
                {
                    Directory.CreateDirectory(keep);
                    File.WriteAllBytes(Path.Combine(keep, $"{format.Name}-{seed}-{i}-{Path.GetFileName(format.FileName)}"), bytes);
                }
            }
        }
        finally
        {
            try { Directory.Delete(root, true); } catch { /* best effort */ }
        }
        return stats;
    }
}
