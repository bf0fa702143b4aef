using ViXml.Models.Qwen2;

namespace ViXml.Bench;

/// <summary>
/// Not a timing: the training-memory table of Qwen2.5 backbones with LoRA in bf16, computed from the shapes by
/// <see cref="Qwen2Memory"/> (an accounting estimate, ±30 %). Sequence lengths: 36 (text-only prompt: 3 prefix +
/// 32 text + 1 EOS) and 42 (T1+E+eEOS with 3 images). Budgets: this machine's 24 GiB, a 40 GB and an 80 GB GPU.
/// Args: [--rank 256]
/// </summary>
public sealed class Qwen2MemoryBench : IBenchmark
{
    public string Name => "qwen2-memory";
    public string Description => "Qwen2.5 + LoRA bf16 training memory from shapes: sequences per forward/backward";

    public int Run(string[] args)
    {
        int i = Array.IndexOf(args, "--rank");
        int rank = i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : 256;
        Console.WriteLine($"LoRA r={rank} on q,k,v,o,gate,up,down; bf16 frozen base; fp32 adapters + grads + AdamW (16 B/param);");
        Console.WriteLine("activations of a bf16 HF-style forward (fp32 RMSNorm/softmax); 'ckpt' = per-layer activation checkpointing.");
        Console.WriteLine("seqs = query + label sequences in one step (the paper's batch 2048 queries + their labels = ~4096 sequences).");
        Console.WriteLine(Qwen2Memory.Table(rank, [36, 42], [("24 GiB", 24L << 30), ("40 GB", 40_000_000_000), ("80 GB", 80_000_000_000)]));
        return 0;
    }
}
