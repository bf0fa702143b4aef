using ViXml.Training.Fusion;
using ViXml.Training.LabelSide;
using ViXml.Training.Sampling;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>One side's batch inputs: token ids and mask (N, T), the image slots when the model fuses images.</summary>
public sealed record BatchInputs(Tensor Ids, Tensor Mask, ImageBatch? Images)
{
    public long Rows => Ids.size(0);

    /// <summary>Rows [start, start + n) of every input.</summary>
    public BatchInputs Slice(long start, long n) => new(Ids.narrow(0, start, n), Mask.narrow(0, start, n),
        Images is null ? null : new ImageBatch(Images.Vectors.narrow(0, start, n), Images.Mask.narrow(0, start, n)));
}

/// <summary>
/// GradCache (Gao et al. 2021) for in-batch contrastive losses (<c>optim.micro_batch</c>): the gradients of the whole
/// batch in memory bounded by a chunk. Pass 1 embeds every query and label chunk without a graph; the loss — every term
/// of the label side's loss, PRIME's included, since the label side computes it from the cached embeddings — is
/// computed at full batch on leaf copies of them, and its backward gives the gradient with respect to each embedding
/// (and, directly, to the label side's own parameters); pass 2 re-embeds each chunk with a graph and back-propagates
/// the cached embedding gradients into the encoder, accumulating. Peak activation memory is one chunk's graph plus the
/// (B + L) × H embeddings; the price is a second forward of the encoder.
/// </summary>
public static class GradCache
{
    /// <summary>
    /// The step's forward and backward. <paramref name="zeroGrad"/> runs before the first backward;
    /// <paramref name="seedChunk"/>(side, chunk) seeds the dropout stream of a chunk (side 0 = queries, 1 = labels) and is
    /// called before both passes of that chunk, so both draw the same masks. Returns the pass-1 query embeddings (the
    /// stale bank's rows) and the loss (its backward has run).
    /// </summary>
    public static (Tensor Q, Tensor Loss) ForwardBackward(SiameseModel model, ILabelSide labelSide, BatchInputs queries,
        BatchInputs labels, LabelBatch lb, IBatchLoss loss, int chunk, Action zeroGrad, Action<int, long> seedChunk)
    {
        if (chunk <= 0) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "the chunk must be positive");
        var inputs = new[] { queries, labels };
        Tensor Encode(int side, BatchInputs x) => side == 0
            ? model.Embed(x.Ids, x.Mask, x.Images)
            : labelSide.EncodeLabels(model, x.Ids, x.Mask, x.Images);
        var cached = new Tensor[2];
        using (no_grad())
            for (int side = 0; side < 2; side++)
            {
                var parts = new List<Tensor>();
                long rows = inputs[side].Rows;
                for (long start = 0, c = 0; start < rows; start += chunk, c++)
                {
                    seedChunk(side, c);
                    parts.Add(Encode(side, inputs[side].Slice(start, Math.Min(chunk, rows - start))));
                }
                cached[side] = cat(parts, 0).detach().requires_grad_(true);   // (B, H) / (L, H) leaves
            }
        var lossT = labelSide.Loss(cached[0], cached[1], lb, loss);
        zeroGrad();
        lossT.backward();                                  // d loss / d embeddings, and the label side's own parameters
        for (int side = 0; side < 2; side++)
        {
            var grad = cached[side].grad ?? throw new InvalidOperationException("GradCache: the loss did not reach the embeddings");
            long rows = inputs[side].Rows;
            for (long start = 0, c = 0; start < rows; start += chunk, c++)
            {
                long n = Math.Min(chunk, rows - start);
                seedChunk(side, c);
                using var scope = NewDisposeScope();
                var e = Encode(side, inputs[side].Slice(start, n));
                autograd.backward([e], [grad.narrow(0, start, n)]);   // accumulates into the encoder's gradients
            }
        }
        return (cached[0].detach(), lossT);
    }

    /// <summary>The trainer's dropout stream for a chunk: derived from (seed, step, side, chunk), so pass 1 and pass 2
    /// and a resumed run all draw the same masks.</summary>
    public static void SeedChunk(ulong seed, long step, int side, long chunk) =>
        manual_seed(unchecked((long)(Rng.Derive(seed ^ 0x6C0A_C4E5u, (ulong)(step * 2 + side) * 1_000_003UL + (ulong)chunk).NextULong() & 0x7FFF_FFFF_FFFF_FFFFUL)));
}
