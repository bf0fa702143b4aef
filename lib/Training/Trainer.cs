using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Common;
using ViXml.Text;
using ViXml.Torch;
using ViXml.Training.Config;
using ViXml.Training.Data;
using ViXml.Training.Fusion;
using ViXml.Training.Runs;
using ViXml.Training.Sampling;
using ViXml.Training.Session;
using ViXml.Training.LabelSide;
using ViXml.Xmc;
using ViXml.Xmc.Search;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training;

/// <summary>What a finished (or stopped) training call returns.</summary>
public sealed record TrainResult(string RunDir, int EpochsDone, XmcMetricsResult? Final, XmcMetricsResult? Untrained, double Seconds)
{
    /// <summary>With fusion and images.eval_images: final metrics with at most n images per test item, keyed by n.</summary>
    public IReadOnlyDictionary<int, XmcMetricsResult> FinalByImages { get; init; } = new Dictionary<int, XmcMetricsResult>();
}

/// <summary>The image slots of the three splits (null when the run is text only).</summary>
public sealed record SplitImages(ItemImages Train, ItemImages Test, ItemImages Labels, ImageBankSet Set, string Name)
{
    public int K => Train.K;

    /// <summary>Loads bank <paramref name="bank"/> of a dataset folder; the train and test maps are required, a missing
    /// label map means labels have no images (all slots masked).</summary>
    public static SplitImages Load(string dataDir, string bank)
    {
        var set = ImageBanks.Load(dataDir, bank);
        foreach (var split in new[] { "trn", "tst" })
            if (!set.Maps.ContainsKey(split))
                throw new XmcFormatException(Path.Combine(dataDir, ImageBanks.MapFile(split)), 0, "missing: image fusion needs the train and test image maps");
        int k = set.K;
        return new SplitImages(new ItemImages(set.Bank, set.Maps["trn"], k), new ItemImages(set.Bank, set.Maps["tst"], k),
            new ItemImages(set.Bank, set.Maps.GetValueOrDefault("lbl"), k), set, bank);
    }
}

/// <summary>
/// Contrastive XMC training of a <see cref="SiameseModel"/>: NGAME (or random) batches of queries, one positive label per
/// query, triplet loss with in-batch hard negatives, AdamW with parameter groups and warm-up + linear decay, periodic
/// evaluation by exact top-k search, atomic checkpoints at epoch ends, and the run folder (run.json, metrics.csv,
/// predictions, HF-layout model).
/// </summary>
public sealed class Trainer
{
    private readonly ResolvedConfig<TrainConfig> _resolved;
    private TrainConfig C => _resolved.Value;
    private readonly TextWriter _log;

    public Trainer(ResolvedConfig<TrainConfig> config, TextWriter? log = null)
    {
        try { config.Value.Validate(); }
        catch (ConfigException e) { throw config.Locate(e); }
        _resolved = config;
        _log = log ?? Console.Out;
    }

    /// <summary>Default run folder: &lt;run.out_dir&gt;/&lt;name&gt;.</summary>
    public string DefaultRunDir => Path.Combine(C.Run.OutDir, C.Name);

    /// <summary>
    /// A run, as named steps: open the session (data, model, label side, optimiser, samplers, run folder), resume it or
    /// evaluate the untrained model, train epoch by epoch (<see cref="TrainEpoch"/>, each batch one
    /// <see cref="TrainStep"/>), end each epoch (<see cref="EndEpoch"/>: label-side refresh, evaluation, checkpoint),
    /// then the final image evaluations and the record.
    /// </summary>
    /// <param name="runDir">The run folder (created).</param>
    /// <param name="resume">Continue from the folder's checkpoint (the configuration must be identical).</param>
    /// <param name="stopAfterEpochs">Stop after this many epochs in total (simulates an interruption; tests).</param>
    public TrainResult Run(string runDir, bool resume = false, int? stopAfterEpochs = null)
    {
        var wall = Stopwatch.StartNew();
        using var runLock = Runs.RunFolder.Lock(runDir);   // one run per folder for the whole run (a second is refused)
        if (C.Run.Threads > 0) set_num_threads(C.Run.Threads);
        if (!resume) Runs.RunFolder.CheckNew(runDir);
        else if (Checkpoint.Find(runDir, _log) is null)
            throw new InvalidOperationException($"{runDir}: no checkpoint to resume from");
        else Runs.RunFolder.ReadRunJson(runDir);

        using var s = TrainingSession.Open(_resolved, runDir, resume, _log, LoadImages);
        XmcMetricsResult? untrained = null;
        if (resume) s.Resume(_log);
        else
        {
            s.Metrics.TruncateAfterEpoch(-1);
            s.LabelSide.Prepare(s);
            untrained = EvaluateUntrained(s);
        }

        var progress = new Progress(s.TotalSteps, (long)s.StartEpoch * s.BatchesPerEpoch,
            periodSeconds: C.Run.LogEverySeconds, output: _log == Console.Out ? null : _log, live: _log == Console.Out ? null : false);
        s.Step = (long)s.StartEpoch * s.BatchesPerEpoch;
        int lastEpoch = stopAfterEpochs is int stop ? Math.Min(stop, C.Optim.Epochs) : C.Optim.Epochs;
        EvalResult? final = null;
        for (int epoch = s.StartEpoch; epoch < lastEpoch; epoch++)
        {
            double meanLoss = TrainEpoch(s, epoch, progress);
            final = EndEpoch(s, epoch + 1, lastEpoch, meanLoss, progress) ?? final;
        }

        var byImages = final is null ? new Dictionary<int, XmcMetricsResult>() : FinalImageEvaluations(s, progress);
        if (final is not null)
        {
            s.Record.Set("final_metrics", Metrics(final.Metrics));
            if (final.RawLabelMetrics is not null) s.Record.Set("final_metrics_raw_labels", Metrics(final.RawLabelMetrics));
            s.Record.Set("throughput_queries_per_second", Math.Round(progress.QueriesPerSecond, 1));
            if (C.Run.SaveModel) SaveModel(s.Model, Path.Combine(runDir, "model"), C);
            s.Record.Finish();
        }
        else s.Record.Finish("stopped");
        int epochsDone = Math.Max(s.StartEpoch, lastEpoch);
        return new TrainResult(runDir, epochsDone, final?.Metrics, untrained, wall.Elapsed.TotalSeconds) { FinalByImages = byImages };
    }

    /// <summary>The epoch-0 row: the untrained model of the same shape, the floor any training must beat.</summary>
    private XmcMetricsResult EvaluateUntrained(TrainingSession s)
    {
        var t0 = Stopwatch.StartNew();
        var untrained = s.Evaluator.Evaluate(s.LabelSide, C.Eval.MaxTest);
        s.Record.AddTiming("eval", t0.Elapsed.TotalSeconds);
        s.Metrics.Append(Row(0, 0, double.NaN, 0, untrained));
        s.Record.Set("untrained_metrics", Metrics(untrained.Metrics));
        if (untrained.RawLabelMetrics is not null) s.Record.Set("untrained_metrics_raw_labels", Metrics(untrained.RawLabelMetrics));
        s.Record.Set("untrained_label_mean_cos", Math.Round(untrained.LabelMeanCos, 6));
        _log.WriteLine($"epoch 0 (untrained): {Summary(untrained.Metrics)}");
        return untrained.Metrics;
    }

    /// <summary>Seconds spent per phase of the steps of one epoch: batching, forward + loss, backward, clip + optimiser.</summary>
    private readonly double[] _phases = new double[4];
    private readonly Stopwatch _phase = new();

    /// <summary>One epoch: NGAME clusters (or a shuffle), then every batch through <see cref="TrainStep"/>; the stale
    /// bank keeps each query's embedding from its step. Returns the mean batch loss.</summary>
    private double TrainEpoch(TrainingSession s, int epoch, Progress progress)
    {
        // Dropout draws from the global generator; re-seeding per epoch makes a resumed run draw the same masks.
        manual_seed(C.Seed * 1_000_003 + epoch);
        var tc = Stopwatch.StartNew();
        var d = s.Data;
        if (s.Batcher.NeedsEmbeddings(epoch) && s.Stale is null)
            s.Stale = Evaluator.EmbedAll(s.Model, d.Train, d.TrainRows, d.Images?.Train, C.Eval.EmbedBatch);  // clustering from the first epoch: fresh embeddings
        var batches = s.Batcher.EpochBatches(epoch, s.Batcher.NeedsEmbeddings(epoch) ? s.Stale : default, s.Dim);
        if (s.Batcher.NeedsEmbeddings(epoch)) s.Record.AddTiming("cluster", tc.Elapsed.TotalSeconds);
        s.Stale ??= new float[d.TrainRows.Length * s.Dim];
        var te = Stopwatch.StartNew();
        double lossSum = 0;
        var loss = s.LossAt(epoch);
        s.Model.train();
        foreach (var b in batches)
        {
            double lv = TrainStep(s, b, loss);
            lossSum += lv;
            progress.Step(epoch, C.Optim.Epochs, lv, b.Length);
        }
        s.Record.AddTiming("train", te.Elapsed.TotalSeconds);
        s.Record.AddTiming("train_batching", _phases[0]); s.Record.AddTiming("train_forward", _phases[1]);
        s.Record.AddTiming("train_backward", _phases[2]); s.Record.AddTiming("train_optimizer", _phases[3]);
        Array.Clear(_phases);
        return lossSum / batches.Length;
    }

    /// <summary>One optimiser step on batch <paramref name="b"/> (indices into the training rows): positives, token and
    /// image batches, the queries and the label side through the encoder, the loss, backward, clip, AdamW, schedule.
    /// Returns the batch loss and stores the queries' embeddings in the stale bank.</summary>
    private double TrainStep(TrainingSession s, int[] b, IBatchLoss loss)
    {
        using var scope = NewDisposeScope();
        var d = s.Data;
        _phase.Restart();
        var rows = b.Select(i => d.TrainRows[i]).ToArray();
        var lb = s.Positives.Sample(rows, s.PositiveRng);
        var (qi, qm) = d.Train.Batch(rows);
        var (li, lm) = d.Labels.Batch(lb.Labels);
        ImageBatch? qImg = null, lImg = null;
        if (d.Images is not null)
        {
            // Modality dropout draws from a stream derived from (seed, step): a resumed run draws the same masks.
            var dropRng = Rng.Derive(s.Seed ^ 0x1A6E5D209u, (ulong)s.Step);
            qImg = Evaluator.Gather(d.Images.Train, rows, int.MaxValue, C.Images.ModalityDropout, dropRng);
            lImg = Evaluator.Gather(d.Images.Labels, lb.Labels, int.MaxValue, C.Images.ModalityDropout, dropRng);
        }
        _phases[0] += _phase.Elapsed.TotalSeconds; _phase.Restart();
        Tensor q, lossT;
        if (C.Optim.MicroBatch > 0)
        {
            long step = s.Step;
            (q, lossT) = GradCache.ForwardBackward(s.Model, s.LabelSide, new(qi, qm, qImg), new(li, lm, lImg), lb, loss,
                C.Optim.MicroBatch, () => s.Optimizer.zero_grad(), (side, chunk) => GradCache.SeedChunk(s.Seed, step, side, chunk));
            _phases[2] += _phase.Elapsed.TotalSeconds; _phase.Restart();   // forward and backward interleave: all counted as backward
        }
        else
        {
            q = s.Model.Embed(qi, qm, qImg);                                    // (B, H)
            var l = s.LabelSide.EncodeLabels(s.Model, li, lm, lImg);            // (L, H)
            lossT = s.LabelSide.Loss(q, l, lb, loss);                           // scalar
            _phases[1] += _phase.Elapsed.TotalSeconds; _phase.Restart();
            s.Optimizer.zero_grad();
            lossT.backward();
            _phases[2] += _phase.Elapsed.TotalSeconds; _phase.Restart();
        }
        if (C.Optim.GradClip > 0) Optim.clip_grad_norm_(s.Parameters, C.Optim.GradClip);   // stays on the device: no host sync
        s.Optimizer.step();
        s.Schedule.step();
        _phases[3] += _phase.Elapsed.TotalSeconds;
        s.Step++;
        double lv = lossT.ToSingle();
        var qv = q.detach().ToArray<float>();
        for (int i = 0; i < b.Length; i++) Array.Copy(qv, i * s.Dim, s.Stale!, (long)b[i] * s.Dim, s.Dim);
        return lv;
    }

    /// <summary>After epoch <paramref name="done"/>: the label side's refresh, the evaluation when due (always after the
    /// last epoch, which also writes the predictions), the checkpoint when due. Returns the last epoch's evaluation.</summary>
    private EvalResult? EndEpoch(TrainingSession s, int done, int lastEpoch, double meanLoss, Progress progress)
    {
        s.LabelSide.EndEpoch(s, done, s.Stale!);
        bool last = done == C.Optim.Epochs;
        EvalResult? final = null;
        if (last || (C.Eval.Every > 0 && done % C.Eval.Every == 0))
        {
            var tv = Stopwatch.StartNew();
            var m = s.Evaluator.Evaluate(s.LabelSide, last ? 0 : C.Eval.MaxTest);
            s.Record.AddTiming("eval", tv.Elapsed.TotalSeconds);
            s.Metrics.Append(Row(done, s.Step, meanLoss, s.Record.TotalSeconds, m));
            progress.Message($"epoch {done}: loss {meanLoss:F4} {Summary(m.Metrics)}");
            if (last)
            {
                final = m;
                s.Record.Set("final_label_mean_cos", Math.Round(m.LabelMeanCos, 6));
                WritePredictions(Path.Combine(s.RunDir, "predictions_top" + C.Eval.TopK + ".txt"), m.Predictions, s.Data.Data.NumLabels);
            }
        }
        else if (!progress.IsLive) progress.Message($"epoch {done}: loss {meanLoss:F4}");
        bool checkpointNow = last || done == lastEpoch || (C.Run.CheckpointEvery > 0 && done % C.Run.CheckpointEvery == 0);
        if (checkpointNow)
        {
            var tk = Stopwatch.StartNew();
            s.SaveCheckpoint(done);
            s.Record.AddTiming("checkpoint", tk.Elapsed.TotalSeconds);
        }
        s.Record.Set("epochs_done", done);
        return final;
    }

    /// <summary>With fusion and images.eval_images: the final metrics with at most n images per test item.</summary>
    private Dictionary<int, XmcMetricsResult> FinalImageEvaluations(TrainingSession s, Progress progress)
    {
        var byImages = new Dictionary<int, XmcMetricsResult>();
        if (s.Data.Images is null || C.Images.EvalImages.Length == 0) return byImages;
        var tv = Stopwatch.StartNew();
        var o = new JsonObject();
        foreach (var n in C.Images.EvalImages.Distinct().Order())
        {
            byImages[n] = s.Evaluator.Evaluate(s.LabelSide, 0, n).Metrics;
            o[n.ToString(CultureInfo.InvariantCulture)] = Metrics(byImages[n]);
            progress.Message($"final, at most {n} image(s) per test item: {Summary(byImages[n])}");
        }
        s.Record.Set("final_metrics_by_images", o);
        s.Record.AddTiming("eval", tv.Elapsed.TotalSeconds);
        return byImages;
    }

    private SplitImages? LoadImages(TrainConfig c)
    {
        if (c.Images.Fusion == FusionKind.None) return null;
        var images = SplitImages.Load(c.Data.Dir, c.Images.Bank);
        if (images.K + c.Data.MaxLen > c.Model.MaxPositions && string.IsNullOrEmpty(c.Model.Pretrained))
            throw _resolved.Locate(new ConfigException(
                $"model.max_positions: {c.Model.MaxPositions} is less than the {images.K} image slots + data.max_len {c.Data.MaxLen}"));
        _log.WriteLine($"images: bank {c.Images.Bank} [{images.Set.Bank.NumImages}, {images.Set.Bank.Dim}], K = {images.K}, " +
                       $"fusion {c.Images.Fusion.ToString().ToLowerInvariant()}, adapter {c.Images.Adapter.ToString().ToLowerInvariant()}" +
                       (images.Labels.Map is null ? "; labels have no images" : ""));
        return images;
    }

    internal static SiameseModel.FusionSpec? FusionSpecFor(TrainConfig c, SplitImages? images) => images is null ? null
        : new SiameseModel.FusionSpec(c.Images.Fusion, images.Set.Bank.Dim, c.Images.Adapter, c.Images.MlpHidden,
            c.Seed * 7919 + 17);  // the adapter's own init stream (the encoder draws from the seed itself)

    /// <summary>What the run.json records about the bank: name, shape, K, the manifest's model and sha256 digests.</summary>
    internal static JsonObject ImageBankRecord(SplitImages images, string dataDir)
    {
        var manifest = Path.Combine(dataDir, ImageBanks.ManifestFile(images.Name));
        return new JsonObject
        {
            ["name"] = images.Name, ["num_images"] = images.Set.Bank.NumImages, ["dim"] = images.Set.Bank.Dim, ["k"] = images.K,
            ["model"] = images.Set.Manifest?.Model,
            ["manifest_sha256"] = File.Exists(manifest) ? ImageBanks.Digest(manifest) : null,
            ["bank_sha256"] = ImageBanks.Digest(Path.Combine(dataDir, ImageBanks.EmbsFile(images.Name))),
            ["label_images"] = images.Labels.Map is not null,
        };
    }


    /// <summary>
    /// Mean cosine over all pairs i ≠ j of n unit rows: (‖Σ_i e_i‖² − n) / (n (n − 1)). Near 1 = collapsed embedding
    /// (everything points the same way); near 0 = spread out.
    /// </summary>
    public static double MeanPairwiseCosine(float[] unitRows, int n, int dim)
    {
        if (n < 2) return double.NaN;
        var sum = new double[dim];
        double selfDots = 0;
        for (int i = 0; i < n; i++)
            for (int d = 0; d < dim; d++)
            {
                double v = unitRows[(long)i * dim + d];
                sum[d] += v; selfDots += v * v;
            }
        double total = sum.Sum(x => x * x);
        return (total - selfDots) / ((double)n * (n - 1));
    }

    private static void WritePredictions(string path, TopK preds, int numLabels) => XcSparse.Write(path, preds.ToCsr(numLabels));

    /// <summary>The WordPiece vocabulary: a pretrained folder's own vocab.txt wins (its ids are what the embeddings were
    /// trained on); otherwise data.vocab.</summary>
    internal static string VocabFor(TrainConfig c)
    {
        if (!string.IsNullOrEmpty(c.Model.Pretrained))
        {
            var own = Path.Combine(c.Model.Pretrained, "vocab.txt");
            if (File.Exists(own)) return own;
        }
        return c.Data.Vocab;
    }

    /// <summary>The encoder in HF layout (config.json + model.safetensors + vocab.txt), plus the optional head.</summary>
    public static void SaveModel(SiameseModel model, string dir, TrainConfig c)
    {
        model.Encoder.save_pretrained(dir);
        var vocab = VocabFor(c);
        if (File.Exists(vocab)) Atomic.WriteAllBytes(Path.Combine(dir, "vocab.txt"), File.ReadAllBytes(vocab));
        if (model.Transform is not null)
            TensorFile.Save(Path.Combine(dir, "siamese_head.safetensors"),
                model.Transform.state_dict().Select(kv => KeyValuePair.Create("transform." + kv.Key, kv.Value)));
        if (model.Fusion != FusionKind.None) TensorFile.Save(Path.Combine(dir, ImageAdapterFile), model.FusionStateDict());
        Atomic.WriteAllText(Path.Combine(dir, "siamese.json"), JsonSerializer.Serialize(new
        {
            pooling = c.Model.Pooling.ToString().ToLowerInvariant(), linear = c.Model.Linear, normalize = true, max_len = c.Data.MaxLen,
            fusion = model.Fusion.ToString().ToLowerInvariant(),
            image_bank = model.Fusion == FusionKind.None ? null : c.Images.Bank,
            adapter = model.Fusion == FusionKind.None ? null : c.Images.Adapter.ToString().ToLowerInvariant(),
        }) + "\n");
    }

    /// <summary>Fusion parameters (image_adapter.*, late_fusion.*) beside the HF encoder folder.</summary>
    public const string ImageAdapterFile = "image_adapter.safetensors";

    /// <summary>Loads what <see cref="SaveModel"/> wrote.</summary>
    public static SiameseModel LoadModel(string dir, ModelConfig m, ImagesConfig? images = null)
    {
        var enc = Models.Encoders.Load(dir);
        SiameseModel.ApplyAttention(enc, m.Attention);   // not in config.json: the run's model.attention says it
        SiameseModel.FusionSpec? fusion = null;
        Dictionary<string, Tensor>? fusionState = null;
        if (images is { Fusion: not FusionKind.None })
        {
            var file = Path.Combine(dir, ImageAdapterFile);
            if (!File.Exists(file)) throw new FileNotFoundException($"{file} not found (the run fuses images)");
            fusionState = TensorFile.Load(file);
            // The bank width and the MLP's inner width are read off the saved adapter.
            var first = fusionState.GetValueOrDefault("image_adapter.proj.weight") ?? fusionState.GetValueOrDefault("image_adapter.fc1.weight")
                        ?? throw new InvalidDataException($"{file}: no image_adapter.proj.weight or image_adapter.fc1.weight");
            fusion = new SiameseModel.FusionSpec(images.Fusion, (int)first.size(1), images.Adapter,
                images.Adapter == AdapterKind.Mlp ? (int)first.size(0) : 0, 0);
        }
        var model = new SiameseModel(enc, m.Pooling switch
        {
            Config.Pooling.Mean => Models.PoolingMode.Mean, Config.Pooling.Cls => Models.PoolingMode.Cls, _ => Models.PoolingMode.Last,
        }, m.Linear, fusion);
        if (fusionState is not null)
        {
            var expected = model.FusionStateDict().Select(kv => kv.Key).ToHashSet();
            var sd = model.state_dict();
            using (no_grad())
                foreach (var key in expected)
                {
                    if (!fusionState.TryGetValue(key, out var t))
                        throw new InvalidDataException($"{Path.Combine(dir, ImageAdapterFile)}: missing {key}");
                    if (!t.shape.SequenceEqual(sd[key].shape))
                        throw new InvalidDataException($"{Path.Combine(dir, ImageAdapterFile)}: {key} has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", sd[key].shape)}]");
                    sd[key].copy_(t);
                }
            var extra = fusionState.Keys.Where(k => !expected.Contains(k)).ToList();
            foreach (var t in fusionState.Values) t.Dispose();
            if (extra.Count > 0) throw new InvalidDataException($"{Path.Combine(dir, ImageAdapterFile)}: unexpected {string.Join(", ", extra)}");
        }
        if (model.Transform is not null)
        {
            var sd = TensorFile.Load(Path.Combine(dir, "siamese_head.safetensors"));
            model.Transform.load_hf_state_dict(sd.ToDictionary(kv => kv.Key["transform.".Length..], kv => kv.Value));
            foreach (var t in sd.Values) t.Dispose();
        }
        model.eval();
        return model;
    }

    /// <summary>Evaluates a saved run's model on the full test set (what `vixml eval --run` prints).</summary>
    public static XmcMetricsResult EvaluateRun(string runDir, TextWriter? log = null) => EvaluateRunByImages(runDir, log).All;

    /// <summary>Evaluates a saved run's model: with every image, and (fusion runs) with at most n images per test item
    /// for n = 0..K (what `vixml eval --run` prints).</summary>
    public static (XmcMetricsResult All, IReadOnlyDictionary<int, XmcMetricsResult> ByImages) EvaluateRunByImages(string runDir, TextWriter? log = null, Action<string>? onChangedBank = null)
    {
        var runJson = Path.Combine(runDir, "run.json");
        if (!File.Exists(runJson)) throw new FileNotFoundException($"{runJson} not found");
        var node = JsonNode.Parse(File.ReadAllText(runJson))!;
        var cfgJson = node["config"]?.ToJsonString() ?? throw new InvalidDataException($"{runJson}: no config");
        var resolved = ConfigLoader.Resolve(ConfigLoader.FromJson<TrainConfig>(cfgJson), runJson);
        var modelDir = Path.Combine(runDir, "model");
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"{modelDir} not found (did the run finish with save_model: true?)");
        var t = new Trainer(resolved, log ?? TextWriter.Null);
        var c = resolved.Value;
        var data = XmcDataset.Load(c.Data.Dir);
        var tok = TrainingData.TokenizerFor(c, modelDir);
        using var model = LoadModel(modelDir, c.Model, c.Images);
        var testTok = new TokenizedTexts(Session.TrainingData.Wrap(data.TestTexts, c.Data), tok, c.Data.MaxLen);
        var labelTok = new TokenizedTexts(Session.TrainingData.Wrap(data.RequireLabelTexts(), c.Data), tok, c.Data.MaxLen);
        var images = t.LoadImages(c);
        Runs.RunImageBank.Verify(runDir, node, images, c.Data.Dir, onChangedBank);   // the bank it was trained with
        var evaluator = new Evaluator(model, data, testTok, labelTok, images, c.Eval);
        using var labelSide = LabelSides.ForRun(c, model, runDir);
        var all = evaluator.Evaluate(labelSide, 0).Metrics;
        var byImages = new Dictionary<int, XmcMetricsResult>();
        if (images is not null)
            for (int n = 0; n <= images.K; n++) byImages[n] = evaluator.Evaluate(labelSide, 0, n).Metrics;
        return (all, byImages);
    }

    private static JsonObject Metrics(XmcMetricsResult m) =>
        new(m.ToDictionary().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(Math.Round(kv.Value, 6)))));

    private static string Summary(XmcMetricsResult m) => string.Create(CultureInfo.InvariantCulture,
        $"P@1 {100 * m.P[0]:F2} P@3 {100 * m.P[2]:F2} P@5 {100 * m.P[4]:F2} PSP@1 {100 * m.Psp![0]:F2} PSP@5 {100 * m.Psp[4]:F2}");

    private static List<KeyValuePair<string, double>> Row(int epoch, long step, double loss, double seconds, EvalResult m)
    {
        var row = new List<KeyValuePair<string, double>>
        {
            new("epoch", epoch), new("step", step), new("train_loss", loss), new("seconds", Math.Round(seconds, 2)),
        };
        foreach (var (k, v) in m.Metrics.ToDictionary()) row.Add(new(k, v));
        row.Add(new("label_mean_cos", Math.Round(m.LabelMeanCos, 6)));   // collapse diagnostic (1 = all labels alike)
        // A label side whose search vectors are not the encoder's own (PRIME): the metrics with the raw label embeddings.
        if (m.RawLabelMetrics is not null)
            foreach (var (k, v) in m.RawLabelMetrics.ToDictionary()) row.Add(new("raw_labels_" + k, v));
        return row;
    }
}
