using ViXml.Text;
using TorchSharp;
using ViXml.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training.Data;

/// <summary>
/// Texts tokenised once (WordPiece, [CLS] … [SEP], truncated to max_len); batches are padded only to their longest
/// row (titles are short, so this saves most of the padding a fixed 32 would cost).
/// </summary>
public sealed class TokenizedTexts
{
    private readonly int[][] _rows;
    public long PadId { get; }
    public int Count => _rows.Length;

    public TokenizedTexts(IReadOnlyList<string> texts, ITokenizer tok, int maxLen)
    {
        _rows = new int[texts.Count][];
        Parallel.For(0, texts.Count, i => _rows[i] = tok.Encode(texts[i], maxLen));
        PadId = tok.PadId;
    }

    public int Length(int i) => _rows[i].Length;

    /// <summary>ids and mask (B, T) int64 for the given rows, T = longest row.</summary>
    public (TorchSharp.torch.Tensor Ids, TorchSharp.torch.Tensor Mask) Batch(ReadOnlySpan<int> rows)
    {
        int t = 1;
        foreach (var r in rows) t = Math.Max(t, _rows[r].Length);
        var ids = new long[rows.Length * t];
        var mask = new long[rows.Length * t];
        Array.Fill(ids, PadId);
        for (int i = 0; i < rows.Length; i++)
        {
            var row = _rows[rows[i]];
            for (int j = 0; j < row.Length; j++) { ids[i * t + j] = row[j]; mask[i * t + j] = 1; }
        }
        return (tensor(ids, [rows.Length, t]), tensor(mask, [rows.Length, t]));
    }
}
