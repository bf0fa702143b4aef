using ViXml.Torch;
using static ViXml.Torch.torch;
using static ViXml.Torch.torch.nn;

namespace ViXml.Models;

/// <summary>HF's <c>_init_weights</c> for BERT-family models, deterministic from a seed.</summary>
public static class HfInit
{
    /// <summary>Linear: weight ~ N(0, std), bias 0. Embedding: N(0, std), padding row 0. LayerNorm: weight 1, bias 0.
    /// Modules are visited in registration order, so the same seed gives the same weights.</summary>
    public static void Apply(Module root, double std, long seed)
    {
        using var gen = new Generator(seed);
        using var _ = no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            switch (m)
            {
                case Linear l:
                    init.normal_(l.weight, 0, std, gen);
                    if (l.bias is not null) init.zeros_(l.bias);
                    break;
                case Embedding e:
                    init.normal_(e.weight, 0, std, gen);
                    if (e.padding_idx >= 0)
                        using (var row = e.weight.select(0, e.padding_idx)) row.zero_();
                    break;
                case LayerNorm n:
                    if (n.weight is not null) init.ones_(n.weight);
                    if (n.bias is not null) init.zeros_(n.bias);
                    break;
            }
        }
    }
}
