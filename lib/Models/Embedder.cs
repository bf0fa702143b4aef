using ViXml.Text;
using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Models;

/// <summary>Batched inference: sequences in, one L2-normalised pooled vector per sequence out (input order kept).</summary>
public static class Embedder
{
    /// <summary>
    /// Embeds <paramref name="rows"/> (token ids used exactly as given) in batches of <paramref name="batch"/>.
    /// Rows are grouped by length so batches carry little padding; results come back in input order as a flat
    /// (N * H) array. <paramref name="progress"/> receives the number of rows done.
    /// </summary>
    public static float[] EmbedIds(IEncoder encoder, IReadOnlyList<long[]> rows, PoolingMode mode, int batch, long padId,
        bool normalize = true, Action<int>? progress = null)
    {
        if (batch < 1) throw new ArgumentException($"batch must be >= 1, got {batch}");
        var h = encoder.HiddenSize;
        var output = new float[(long)rows.Count * h];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Length).ToArray(); // stable: ties keep input order
        var sorted = order.Select(i => rows[i]).ToList();
        var wasTraining = encoder.Module.training;
        encoder.Module.eval();
        try
        {
            using var ng = no_grad();
            for (var start = 0; start < sorted.Count; start += batch)
            {
                var n = Math.Min(batch, sorted.Count - start);
                var (ids, mask, b, t) = EmbedInputs.Pad(sorted, start, n, padId);
                using var scope = NewDisposeScope();
                var emb = encoder.Encode(tensor(ids, [b, t]), tensor(mask, [b, t]), mode, normalize);
                var values = emb.ToArray<float>(); // (n * H)
                for (var r = 0; r < n; r++)
                    Array.Copy(values, (long)r * h, output, (long)order[start + r] * h, h);
                progress?.Invoke(start + n);
            }
        }
        finally
        {
            encoder.Module.train(wasTraining);
        }
        return output;
    }

    /// <summary>Tokenises each text with the model folder's tokenizer ([CLS] … [SEP], truncated to
    /// <paramref name="maxLen"/>) and embeds the ids.</summary>
    public static float[] EmbedTexts(IEncoder encoder, ITokenizer tokenizer, IReadOnlyList<string> texts, PoolingMode mode,
        int maxLen, int batch, string source = "input", Action<int>? progress = null)
    {
        if (maxLen < 1) throw new ArgumentException($"max-len must be >= 1, got {maxLen}");
        if (maxLen > encoder.MaxPositions)
            throw new ArgumentException($"max-len {maxLen} exceeds the model's max_position_embeddings {encoder.MaxPositions}");
        var rows = new List<long[]>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            var ids = tokenizer.Encode(texts[i], maxLen);
            foreach (var id in ids)
                if (id < 0 || id >= encoder.VocabSize)
                    throw new EmbedInputException(
                        $"{source}:{i + 1}: the tokenizer produced id {id}, outside the model's vocabulary [0, {encoder.VocabSize})");
            rows.Add(ids.Select(x => (long)x).ToArray());
        }
        return EmbedIds(encoder, rows, mode, batch, tokenizer.PadId, true, progress);
    }
}
