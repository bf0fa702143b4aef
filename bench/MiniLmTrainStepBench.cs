using System.Diagnostics;
using ViXml.Models;
using ViXml.Models.Bert;
using ViXml.Models.Hf;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ViXml.Bench;

/// <summary>
/// The issue-2 benchmark: one training step of a MiniLM-L3-shaped encoder (vocab 30522, H 384, 12 heads, FFN 1536,
/// 3 layers) shared by two towers of B x T tokens (queries, labels), mean pooling + L2, in-batch softmax loss
/// (temperature 0.05), AdamW (lr 1e-4, wd 0.01), dropout on. Ours vs bench/python/bench_bert_train.py (same model in
/// Debian's PyTorch) at the same thread count. Args: [--batch 256] [--tokens 32] [--steps 3] [--warmup 1] [--threads 2]
/// [--rounds 1].
/// </summary>
public sealed class MiniLmTrainStepBench : IBenchmark
{
    public string Name => "minilm-train-step";
    public string Description => "MiniLM-L3 two-tower AdamW training step (256x32 tokens): ours vs Debian PyTorch (2 threads)";

    public int Run(string[] args)
    {
        var o = EncoderBenchArgs.Parse(args, new() { ["batch"] = 256, ["tokens"] = 32, ["steps"] = 3, ["warmup"] = 1, ["threads"] = 2, ["rounds"] = 1 });
        var (b, t, steps, warmup, threads, rounds) = (o["batch"], o["tokens"], o["steps"], o["warmup"], o["threads"], o["rounds"]);
        set_num_threads(threads);
        manual_seed(0);
        using var model = new BertModel(BertConfig.MiniLmL3, seed: 0);
        model.train();
        using var opt = new Optim.AdamW(model.parameters(), lr: 1e-4, weight_decay: 0.01);
        using var gen = new Generator(1);
        using var qIds = randint(1, BertConfig.MiniLmL3.VocabSize, [b, t], generator: gen);
        using var lIds = randint(1, BertConfig.MiniLmL3.VocabSize, [b, t], generator: gen);
        using var mask = ones([b, t], ScalarType.Int64);
        using var target = arange(b);
        var loss = 0.0;

        void Step()
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var q = model.Encode(qIds, mask, PoolingMode.Mean);   // (B, H)
            var l = model.Encode(lIds, mask, PoolingMode.Mean);   // (B, H)
            var logits = q.matmul(l.t()) / 0.05;                    // (B, B) in-batch scores
            var lossT = F.cross_entropy(logits, target);
            lossT.backward();
            opt.step();
            loss = lossT.item<float>();
        }

        EncoderMeasurement Ours()
        {
            for (var i = 0; i < warmup; i++) Step();
            return EncoderMeasurement.Time(steps, () => { for (var i = 0; i < steps; i++) Step(); });
        }

        EncoderMeasurement Python()
        {
            var j = EncoderBenchPython.Run("bench_bert_train.py", $"--threads {threads} --batch {b} --tokens {t} --steps {steps} --warmup {warmup}");
            return new EncoderMeasurement(steps, j.GetProperty("seconds").GetDouble(), j.GetProperty("cpu_seconds").GetDouble());
        }

        Console.WriteLine($"MiniLM-L3 two towers of {b} x {t} tokens, in-batch softmax, AdamW, {threads} threads");
        EncoderSideBySide.Report("steps", rounds, Python, Ours);
        Console.WriteLine($"  (our last loss {loss:F4})");
        return 0;
    }
}
