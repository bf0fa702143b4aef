using System.Diagnostics;
using System.Globalization;
using ViXml.Text;
using ViXml.Training.Config;
using ViXml.Training.Data;
using ViXml.Xmc;

namespace ViXml.Training.Session;

/// <summary>
/// What a run reads before it builds a model: the dataset, the tokenizer, the three splits tokenized once, the training
/// rows that have labels (cut to data.max_train), and the image slots when the run fuses images.
/// </summary>
public sealed class TrainingData
{
    public required XmcDataset Data { get; init; }
    public required ITokenizer Tokenizer { get; init; }
    /// <summary>Training queries with at least one label (the first data.max_train of them when set).</summary>
    public required int[] TrainRows { get; init; }
    public required TokenizedTexts Train { get; init; }
    public required TokenizedTexts Labels { get; init; }
    public required TokenizedTexts Test { get; init; }
    /// <summary>The image slots of the three splits; null for a text-only run.</summary>
    public SplitImages? Images { get; init; }
    public double LoadSeconds { get; init; }

    /// <summary>data.text_prefix / data.text_suffix around every text ("prefix text suffix"); the texts themselves when both are empty.</summary>
    public static IReadOnlyList<string> Wrap(IReadOnlyList<string> texts, DataConfig d)
    {
        if (d.TextPrefix.Length == 0 && d.TextSuffix.Length == 0) return texts;
        var pre = d.TextPrefix.Length == 0 ? "" : d.TextPrefix + " ";
        var post = d.TextSuffix.Length == 0 ? "" : " " + d.TextSuffix;
        return texts.Select(t => pre + t + post).ToArray();
    }

    /// <summary>Loads and tokenizes everything a training run needs.</summary>
    public static TrainingData Load(TrainConfig c, Func<TrainConfig, SplitImages?> loadImages, TextWriter log)
    {
        var sw = Stopwatch.StartNew();
        var data = XmcDataset.Load(c.Data.Dir);
        var tok = TokenizerFor(c, modelDir: null);
        var trainRows = data.TrainRowsWithLabels();
        if (c.Data.MaxTrain > 0 && c.Data.MaxTrain < trainRows.Length) trainRows = trainRows[..c.Data.MaxTrain];
        var result = new TrainingData
        {
            Data = data, Tokenizer = tok, TrainRows = trainRows,
            Train = new TokenizedTexts(Wrap(data.TrainTexts, c.Data), tok, c.Data.MaxLen),
            Labels = new TokenizedTexts(Wrap(data.RequireLabelTexts(), c.Data), tok, c.Data.MaxLen),
            Test = new TokenizedTexts(Wrap(data.TestTexts, c.Data), tok, c.Data.MaxLen),
            Images = loadImages(c),
            LoadSeconds = sw.Elapsed.TotalSeconds,
        };
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data {c.Data.Dir}: {trainRows.Length} training queries with labels, {data.TestTexts.Length} test, {data.NumLabels} labels ({result.LoadSeconds:F1} s)"));
        return result;
    }

    /// <summary>
    /// The one place the tokenizer is chosen: byte-level BPE for Qwen2 (from model.pretrained; data.vocab unused),
    /// otherwise WordPiece from <paramref name="modelDir"/>'s vocab.txt when a saved model has one, else
    /// <see cref="Trainer.VocabFor"/> (a pretrained folder's own vocab, else data.vocab).
    /// </summary>
    public static ITokenizer TokenizerFor(TrainConfig c, string? modelDir)
    {
        if (c.Model.Encoder == EncoderKind.Qwen2) return Models.Qwen2.Qwen2Encoders.Tokenizer(c.Model.Pretrained);
        if (modelDir is not null)
        {
            var saved = Path.Combine(modelDir, "vocab.txt");
            return WordPieceTokenizer.FromVocabFile(File.Exists(saved) ? saved : c.Data.Vocab);
        }
        return WordPieceTokenizer.FromVocabFile(Trainer.VocabFor(c));
    }
}
