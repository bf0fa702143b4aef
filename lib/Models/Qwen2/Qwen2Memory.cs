using System.Globalization;
using System.Text;

namespace ViXml.Models.Qwen2;

/// <summary>
/// Training-memory estimate of a Qwen2 backbone with LoRA, computed from the shapes alone (no allocation). It is an
/// accounting model, not a measurement: it counts the tensors autograd keeps for backward in a bf16 forward of
/// HF-style code (RMSNorm and softmax in float32, eager attention) and the parameter/optimizer state, and ignores
/// allocator fragmentation, framework workspace and the small PRIME/label-side parts. Expect the truth within ±30 %.
/// </summary>
public static class Qwen2Memory
{
    /// <summary>The PEFT target names of the paper (all linear layers of a decoder block).</summary>
    public static readonly string[] AllTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>(in, out) features of a target linear layer.</summary>
    public static (int In, int Out) LinearShape(Qwen2Config c, string target)
    {
        int H = c.HiddenSize, kv = c.NumKeyValueHeads * c.HeadDim, I = c.IntermediateSize;
        return target switch
        {
            "q_proj" => (H, H),
            "k_proj" or "v_proj" => (H, kv),
            "o_proj" => (H, H),
            "gate_proj" or "up_proj" => (H, I),
            "down_proj" => (I, H),
            _ => throw new ArgumentException($"unknown Qwen2 linear '{target}' ({string.Join(", ", AllTargets)})"),
        };
    }

    /// <summary>LoRA parameters: r·(in + out) per adapted linear, in every layer.</summary>
    public static long LoraParameterCount(Qwen2Config c, int rank, IEnumerable<string>? targets = null)
    {
        long perLayer = 0;
        foreach (var t in targets ?? AllTargets)
        {
            var (i, o) = LinearShape(c, t);
            perLayer += (long)rank * (i + o);
        }
        return perLayer * c.NumHiddenLayers;
    }

    /// <summary>
    /// Bytes autograd keeps per token per decoder layer in a bf16 training forward without checkpointing:
    /// 2 RMSNorms × (bf16 input + fp32 upcast + fp32 normalised + bf16 output = 12H); q/k before RoPE (2H + 2kv),
    /// roped q, repeated k and v (6H); softmax output in fp32 and its bf16 copy (6·heads·T); attention output (2H);
    /// MLP gate, silu(gate), up, product (8I); LoRA A outputs for 7 targets (14r; dropout 0 shares the inputs).
    /// </summary>
    public static long ActivationBytesPerTokenPerLayer(Qwen2Config c, int rank, int seqLen)
    {
        long H = c.HiddenSize, kv = c.NumKeyValueHeads * c.HeadDim, I = c.IntermediateSize, nh = c.NumAttentionHeads;
        return 24 * H + (2 * H + 2 * kv) + 6 * H + 6 * nh * seqLen + 2 * H + 8 * I + 14L * rank;
    }

    public sealed record Estimate(
        string Model, long BaseParameters, long LoraParameters, long WeightBytes, long LoraStateBytes,
        long ActivationBytesPerSequence, long CheckpointedBytesPerSequence)
    {
        /// <summary>Weights + LoRA parameter/gradient/AdamW state.</summary>
        public long StaticBytes => WeightBytes + LoraStateBytes;

        /// <summary>Largest number of sequences in one forward/backward that fits in <paramref name="budgetBytes"/>.</summary>
        public long MaxSequences(long budgetBytes, bool checkpointing)
        {
            long free = budgetBytes - StaticBytes;
            long per = checkpointing ? CheckpointedBytesPerSequence : ActivationBytesPerSequence;
            return free <= 0 ? 0 : free / per;
        }
    }

    /// <summary>
    /// Estimate for sequences of <paramref name="seqLen"/> tokens. Base weights bf16 (2 bytes, frozen, no gradient);
    /// LoRA parameters in float32 (PEFT's default autocast of adapters) with a float32 gradient and AdamW's two float32
    /// moments: 16 bytes each. With per-layer activation checkpointing only each layer's bf16 input (2H per token per
    /// layer) is kept, plus one layer's full activations during its recomputation.
    /// </summary>
    public static Estimate Compute(string name, Qwen2Config c, int rank, int seqLen, IEnumerable<string>? targets = null)
    {
        long baseParams = c.ParameterCount();
        long lora = LoraParameterCount(c, rank, targets);
        long perLayer = ActivationBytesPerTokenPerLayer(c, rank, seqLen) * seqLen;
        long full = perLayer * c.NumHiddenLayers + 2L * c.HiddenSize * seqLen * 2; // + embeddings out and final norm
        long ckpt = 2L * c.HiddenSize * seqLen * c.NumHiddenLayers + perLayer;
        return new Estimate(name, baseParams, lora, baseParams * 2, lora * 16, full, ckpt);
    }

    /// <summary>A Markdown table: max sequences (batch of query + label sequences together) per memory budget.</summary>
    public static string Table(int rank, int[] seqLens, (string Name, long Bytes)[] budgets)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("| model | base params | LoRA r=").Append(rank).Append(" params | weights bf16 | LoRA+AdamW | T | act./seq | act./seq (ckpt) |");
        foreach (var (n, _) in budgets) sb.Append(' ').Append(n).Append(" seqs (no ckpt / ckpt) |");
        sb.Append('\n').Append("|---|---|---|---|---|---|---|---|");
        foreach (var _ in budgets) sb.Append("---|");
        sb.Append('\n');
        foreach (var (name, cfg) in new[] { ("Qwen2.5-0.5B", Qwen2Presets.Qwen25_0_5B), ("Qwen2.5-1.5B", Qwen2Presets.Qwen25_1_5B),
                                           ("Qwen2.5-3B", Qwen2Presets.Qwen25_3B), ("Qwen2.5-7B", Qwen2Presets.Qwen25_7B) })
            foreach (var T in seqLens)
            {
                var e = Compute(name, cfg, rank, T);
                sb.Append(inv, $"| {name} | {e.BaseParameters / 1e9:F2}B | {e.LoraParameters / 1e6:F0}M | {e.WeightBytes / 1e9:F1} GB | " +
                               $"{e.LoraStateBytes / 1e9:F1} GB | {T} | {e.ActivationBytesPerSequence / 1e6:F1} MB | {e.CheckpointedBytesPerSequence / 1e6:F1} MB |");
                foreach (var (_, bytes) in budgets)
                    sb.Append(inv, $" {e.MaxSequences(bytes, false)} / {e.MaxSequences(bytes, true)} |");
                sb.Append('\n');
            }
        return sb.ToString();
    }
}
