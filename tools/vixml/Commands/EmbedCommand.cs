using System.CommandLine;
using System.Diagnostics;
using ViXml.Models;
using ViXml.Models.Hf;
using ViXml.Text;
using ViXml.SafeTensors;
using ViXml.Xmc;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml embed --model DIR (--ids FILE | --input FILE) [--pooling mean|cls|last] [--max-len 32] [--batch 256]
/// --out FILE.npy</c>. A contract other tools rely on: --ids rows are used exactly as given (no special tokens, no
/// truncation); --input lines are tokenised with the model folder's tokenizer; output is float32 [N, hidden], L2-normalised.
/// </summary>
public sealed class EmbedCommand : ICliCommand
{
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "HF model folder (config.json + model.safetensors or sharded index)", Required = true };
        var ids = new Option<string?>("--ids") { Description = "one sequence per line as space-separated token ids, used exactly as given" };
        var input = new Option<string?>("--input") { Description = "one text per line, tokenised with the model folder's tokenizer" };
        var pooling = new Option<string?>("--pooling") { Description = "mean | cls | last (default: the folder's 1_Pooling/config.json if it has one, else mean)" };
        pooling.AcceptOnlyFromAmong("mean", "cls", "last");
        var maxLen = new Option<int>("--max-len") { Description = "truncation length for --input (special tokens included)", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch") { Description = "sequences per forward pass", DefaultValueFactory = _ => 256 };
        var output = new Option<string>("--out") { Description = "output .npy: float32 [N, hidden], L2-normalised", Required = true };

        var cmd = new Command("embed", "Embed token ids or texts with a BERT-family encoder (pooled, L2-normalised) into a .npy file.");
        foreach (var o in new Option[] { model, ids, input, pooling, maxLen, batch, output }) cmd.Options.Add(o);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            var (idsPath, inputPath) = (pr.GetValue(ids), pr.GetValue(input));
            if ((idsPath is null) == (inputPath is null)) throw new CliException("give exactly one of --ids FILE or --input FILE");
            var (b, len) = (pr.GetValue(batch), pr.GetValue(maxLen));
            if (b < 1) throw new CliException($"--batch must be at least 1, got {b}");
            if (len < 1) throw new CliException($"--max-len must be at least 1, got {len}");
            var dir = pr.GetValue(model)!;
            var outPath = pr.GetValue(output)!;
            var sw = Stopwatch.StartNew();
            try
            {
                var mode = pr.GetValue(pooling) is string p ? Pooling.Parse(p) : Pooling.FromSentenceTransformers(dir) ?? PoolingMode.Mean;
                using var encoder = Encoders.Load(dir);
                float[] data;
                int n;
                var report = Progress();
                if (idsPath is not null)
                {
                    var rows = EmbedInputs.ReadIds(idsPath, encoder.VocabSize, encoder.MaxPositions);
                    n = rows.Count;
                    var pad = encoder.Config switch { BertConfig c => c.PadTokenId, DistilBertConfig c => c.PadTokenId, _ => 0 };
                    data = Embedder.EmbedIds(encoder, rows, mode, b, pad, progress: d => report(d, n));
                }
                else
                {
                    var tokenizer = TokenizerLoader.FromModelDir(dir);
                    var texts = EmbedInputs.ReadTexts(inputPath!);
                    n = texts.Count;
                    data = Embedder.EmbedTexts(encoder, tokenizer, texts, mode, len, b, inputPath!, d => report(d, n));
                }
                Npy.WriteFloat32(outPath, data, n, encoder.HiddenSize);
                Console.Error.WriteLine($"embed: {n} sequences -> {outPath} [{n}, {encoder.HiddenSize}] " +
                                        $"({mode.ToString().ToLowerInvariant()} pooling, L2) in {sw.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (Exception e) when (e is HfConfigException or CheckpointMismatchException or SafeTensorsException
                                          or EmbedInputException or FileNotFoundException or DirectoryNotFoundException
                                          or InvalidDataException or ArgumentException or System.Text.Json.JsonException)
            {
                throw new CliException(e.Message);
            }
        }));
        return cmd;
    }


    /// <summary>Plain progress lines on stderr, at most every few seconds (quiet for small inputs).</summary>
    private static Action<int, int> Progress()
    {
        var sw = Stopwatch.StartNew();
        var last = 0.0;
        return (done, total) =>
        {
            if (sw.Elapsed.TotalSeconds - last < 5 || done == total) return;
            last = sw.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"embed: {done}/{total} ({done / last:F0}/s)");
        };
    }
}
