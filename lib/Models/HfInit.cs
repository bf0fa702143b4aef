using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ViXml.Models;

/// <summary>HF's <c>_init_weights</c> for BERT-family models, deterministic from a seed.</summary>
public static class HfInit
{
    /// <summary>Linear: weight ~ N(0, std), bias 0. Embedding: N(0, std), padding row 0. LayerNorm: weight 1, bias 0.
    /// Modules are visited in registration order, so the same seed gives the same weights.</summary>
    public static void Apply(nn.Module root, double std, long seed)
    {
        using var gen = new Generator(unchecked((ulong)seed));
        using var _ = no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            switch (m)
            {
                case Linear l:
                    SeededInit.normal_(l.weight, 0, std, gen);
                    if (l.bias is not null) SeededInit.zeros_(l.bias);
                    break;
                case Embedding e:
                {
                    using var w = e.weight!;
                    SeededInit.normal_(w, 0, std, gen);
                    var pad = HfEmbedding.PaddingIdx(e);
                    if (pad >= 0)
                        using (var row = w.select(0, pad)) row.zero_();
                }
                    break;
                case LayerNorm n:
                    SeededInit.ones_(n.weight);
                    if (n.bias is not null) SeededInit.zeros_(n.bias);
                    break;
            }
        }
    }
}
