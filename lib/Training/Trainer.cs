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

        // ---- data
        var sw = Stopwatch.StartNew();
        var data = XmcDataset.Load(C.Data.Dir);
        ITokenizer tok = C.Model.Encoder == EncoderKind.Qwen2
            ? Models.Qwen2.Qwen2Encoders.Tokenizer(C.Model.Pretrained)   // byte-level BPE; data.vocab unused
            : WordPieceTokenizer.FromVocabFile(VocabFor(C));
        var trainRows = data.TrainRowsWithLabels();
        if (C.Data.MaxTrain > 0 && C.Data.MaxTrain < trainRows.Length) trainRows = trainRows[..C.Data.MaxTrain];
        var trainTok = new TokenizedTexts(data.TrainTexts, tok, C.Data.MaxLen);
        var labelTok = new TokenizedTexts(data.RequireLabelTexts(), tok, C.Data.MaxLen);
        var testTok = new TokenizedTexts(data.TestTexts, tok, C.Data.MaxLen);
        _images = LoadImages(C);
        double loadSeconds = sw.Elapsed.TotalSeconds;
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"data {C.Data.Dir}: {trainRows.Length} training queries with labels, {data.TestTexts.Length} test, {data.NumLabels} labels ({loadSeconds:F1} s)"));

        // ---- model, optimiser, schedule, samplers
        ulong seed = unchecked((ulong)C.Seed);
        manual_seed(C.Seed);
        using var model = SiameseModel.Create(C.Model, tok.VocabSize, C.Seed, FusionSpecFor(C, _images));
        if (_images is not null && model.Fusion == FusionKind.Early && model.Encoder is not Models.IPromptedEncoder
            && _images.K + C.Data.MaxLen > model.Encoder.MaxPositions)
            throw _resolved.Locate(new ConfigException(
                $"data.max_len: {C.Data.MaxLen} + {_images.K} image slots exceed the encoder's {model.Encoder.MaxPositions} positions"));
        model.train();
        var groups = ParamGroups(model);
        using var opt = new Optim.AdamW(groups, lr: C.Optim.LrEncoder, beta1: C.Optim.Beta1, beta2: C.Optim.Beta2,
            eps: C.Optim.Eps, weight_decay: C.Optim.WeightDecay);
        int batchesPerEpoch = (trainRows.Length + C.Sampler.BatchSize - 1) / C.Sampler.BatchSize;
        long totalSteps = (long)batchesPerEpoch * C.Optim.Epochs;
        var sched = new Optim.LinearWarmupDecay(opt, C.Optim.WarmupSteps, totalSteps);
        var ng = C.Sampler.Ngame;
        var schedule = new NgameSchedule
        {
            ClStart = ng.Enabled ? ng.ClStart : int.MaxValue, ClUpdate = ng.ClUpdate, ClSize = ng.ClSize,
            ClSizeDoubleAt = ng.ClSizeDoubleAt, ClSizeMax = ng.ClSizeMax, Iterations = ng.Iterations,
        };
        var batcher = new NgameSampler(trainRows.Length, C.Sampler.BatchSize, schedule, Rng.Derive(seed, 1).NextULong());
        var positives = new PositiveSampler(data.TrainY.Indptr, data.TrainY.Indices, data.NumLabels, C.Sampler.Positives,
            C.Sampler.PropensityA, C.Sampler.PropensityB);
        var posRng = Rng.Derive(seed, 2);
        IBatchLoss triplet = new TripletLoss(C.Loss), infoNce = new InfoNceLoss(C.Loss);
        // kind infonce: every epoch; kind triplet: InfoNCE for the first warmup_infonce_epochs epochs (warm start).
        IBatchLoss LossAt(int epoch) =>
            C.Loss.Kind == LossKind.Infonce || epoch < C.Loss.WarmupInfonceEpochs ? infoNce : triplet;
        int dim = model.Dim;
        float[]? stale = null; // (n, H) query embeddings gathered during the last epoch, for NGAME clustering

        // ---- run folder
        Directory.CreateDirectory(runDir);
        var record = RunRecord.Open(runDir, C.Name, _resolved.Json, _resolved.Hash, _resolved.Source,
            new Dictionary<string, long> { ["seed"] = C.Seed }, resume);
        long paramCount = model.num_parameters();
        record.Set("parameter_count", paramCount);
        record.Set("torch", new JsonObject { ["version"] = torch.__version__, ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(), ["threads"] = get_num_threads() });
        record.Set("data_summary", new JsonObject
        {
            ["train_queries"] = trainRows.Length, ["test_queries"] = data.TestTexts.Length, ["labels"] = data.NumLabels,
            ["batches_per_epoch"] = batchesPerEpoch, ["total_steps"] = totalSteps,
        });
        if (_images is not null) record.Set("image_bank", ImageBankRecord(_images, C.Data.Dir));
        var metrics = new MetricsCsv(Path.Combine(runDir, "metrics.csv"));

        int startEpoch = 0;
        XmcMetricsResult? untrained = null;
        if (resume)
        {
            var ck = Checkpoint.Load(Checkpoint.Find(runDir)!, model, opt);
            startEpoch = ck.EpochsDone;
            sched = new Optim.LinearWarmupDecay(opt, C.Optim.WarmupSteps, totalSteps, last_step: ck.Step);
            batcher.Restore(ck.Sampler);
            posRng = Rng.FromState(ck.PositiveRng);
            stale = ck.Stale;
            metrics.TruncateAfterEpoch(startEpoch);
            _log.WriteLine($"resumed from epoch {startEpoch} (step {ck.Step})");
        }
        else
        {
            metrics.TruncateAfterEpoch(-1);
            // Epoch-0 row: the untrained model of the same shape, the floor any training must beat.
            var t0 = Stopwatch.StartNew();
            untrained = Evaluate(model, data, testTok, labelTok, C.Eval.MaxTest, out _);
            record.AddTiming("eval", t0.Elapsed.TotalSeconds);
            metrics.Append(Row(0, 0, double.NaN, 0, untrained, LastLabelMeanCos));
            record.Set("untrained_metrics", Metrics(untrained));
            record.Set("untrained_label_mean_cos", Math.Round(LastLabelMeanCos, 6));
            _log.WriteLine($"epoch 0 (untrained): {Summary(untrained)}");
        }

        var progress = new Progress(totalSteps, (long)startEpoch * batchesPerEpoch,
            periodSeconds: C.Run.LogEverySeconds, output: _log == Console.Out ? null : _log, live: _log == Console.Out ? null : false);
        long step = (long)startEpoch * batchesPerEpoch;
        int lastEpoch = stopAfterEpochs is int s ? Math.Min(s, C.Optim.Epochs) : C.Optim.Epochs;
        XmcMetricsResult? final = null;
        var parameters = model.parameters().ToList();
        var phase = new Stopwatch();
        var phases = new double[4]; // batching, forward + loss, backward, clip + optimiser (seconds, per epoch)
        for (int epoch = startEpoch; epoch < lastEpoch; epoch++)
        {
            // Dropout draws from the global generator; re-seeding per epoch makes a resumed run draw the same masks.
            manual_seed(C.Seed * 1_000_003 + epoch);
            var tc = Stopwatch.StartNew();
            if (batcher.NeedsEmbeddings(epoch) && stale is null)
                stale = EmbedAll(model, trainTok, trainRows, _images?.Train);  // clustering from the first epoch: fresh embeddings
            var batches = batcher.EpochBatches(epoch, batcher.NeedsEmbeddings(epoch) ? stale : default, dim);
            if (batcher.NeedsEmbeddings(epoch)) record.AddTiming("cluster", tc.Elapsed.TotalSeconds);
            stale ??= new float[trainRows.Length * dim];
            var te = Stopwatch.StartNew();
            double lossSum = 0;
            var loss = LossAt(epoch);
            model.train();
            foreach (var b in batches)
            {
                using var scope = NewDisposeScope();
                phase.Restart();
                var rows = b.Select(i => trainRows[i]).ToArray();
                var lb = positives.Sample(rows, posRng);
                var (qi, qm) = trainTok.Batch(rows);
                var (li, lm) = labelTok.Batch(lb.Labels);
                ImageBatch? qImg = null, lImg = null;
                if (_images is not null)
                {
                    // Modality dropout draws from a stream derived from (seed, step): a resumed run draws the same masks.
                    var dropRng = Rng.Derive(seed ^ 0x1A6E5D209u, (ulong)step);
                    qImg = Gather(_images.Train, rows, int.MaxValue, C.Images.ModalityDropout, dropRng);
                    lImg = Gather(_images.Labels, lb.Labels, int.MaxValue, C.Images.ModalityDropout, dropRng);
                }
                phases[0] += phase.Elapsed.TotalSeconds; phase.Restart();
                var q = model.Embed(qi, qm, qImg);                            // (B, H)
                var l = model.Embed(li, lm, lImg);                            // (L, H)
                var lossT = loss.Forward(q.matmul_checked(l.t()), lb);               // scalar
                phases[1] += phase.Elapsed.TotalSeconds; phase.Restart();
                opt.zero_grad();
                lossT.backward();
                phases[2] += phase.Elapsed.TotalSeconds; phase.Restart();
                if (C.Optim.GradClip > 0) nn.utils.clip_grad_norm_(parameters, C.Optim.GradClip);
                opt.step();
                sched.step();
                phases[3] += phase.Elapsed.TotalSeconds;
                step++;
                double lv = lossT.ToSingle();
                lossSum += lv;
                var qv = q.detach().ToArray<float>();
                for (int i = 0; i < b.Length; i++) Array.Copy(qv, i * dim, stale, (long)b[i] * dim, dim);
                progress.Step(epoch, C.Optim.Epochs, lv, b.Length);
            }
            record.AddTiming("train", te.Elapsed.TotalSeconds);
            record.AddTiming("train_batching", phases[0]); record.AddTiming("train_forward", phases[1]);
            record.AddTiming("train_backward", phases[2]); record.AddTiming("train_optimizer", phases[3]);
            Array.Clear(phases);
            int done = epoch + 1;
            double meanLoss = lossSum / batches.Length;
            bool last = done == C.Optim.Epochs;
            if (last || (C.Eval.Every > 0 && done % C.Eval.Every == 0))
            {
                var tv = Stopwatch.StartNew();
                var m = Evaluate(model, data, testTok, labelTok, last ? 0 : C.Eval.MaxTest, out var preds);
                record.AddTiming("eval", tv.Elapsed.TotalSeconds);
                metrics.Append(Row(done, step, meanLoss, record.TotalSeconds, m, LastLabelMeanCos));
                progress.Message($"epoch {done}: loss {meanLoss:F4} {Summary(m)}");
                if (last)
                {
                    final = m;
                    record.Set("final_label_mean_cos", Math.Round(LastLabelMeanCos, 6));
                    WritePredictions(Path.Combine(runDir, "predictions_top" + C.Eval.TopK + ".txt"), preds, data.NumLabels);
                }
            }
            else if (!progress.IsLive) progress.Message($"epoch {done}: loss {meanLoss:F4}");
            bool checkpointNow = last || done == lastEpoch || (C.Run.CheckpointEvery > 0 && done % C.Run.CheckpointEvery == 0);
            if (checkpointNow)
            {
                var tk = Stopwatch.StartNew();
                Checkpoint.Save(runDir, model, opt, new Checkpoint.State(done, step, batcher.State, posRng.GetState(), stale));
                record.AddTiming("checkpoint", tk.Elapsed.TotalSeconds);
            }
            record.Set("epochs_done", done);
        }

        var byImages = new Dictionary<int, XmcMetricsResult>();
        if (final is not null && _images is not null && C.Images.EvalImages.Length > 0)
        {
            var tv = Stopwatch.StartNew();
            var o = new JsonObject();
            foreach (var n in C.Images.EvalImages.Distinct().Order())
            {
                byImages[n] = Evaluate(model, data, testTok, labelTok, 0, out _, n);
                o[n.ToString(CultureInfo.InvariantCulture)] = Metrics(byImages[n]);
                progress.Message($"final, at most {n} image(s) per test item: {Summary(byImages[n])}");
            }
            record.Set("final_metrics_by_images", o);
            record.AddTiming("eval", tv.Elapsed.TotalSeconds);
        }
        if (final is not null)
        {
            record.Set("final_metrics", Metrics(final));
            record.Set("throughput_queries_per_second", Math.Round(progress.QueriesPerSecond, 1));
            if (C.Run.SaveModel) SaveModel(model, Path.Combine(runDir, "model"), C);
            record.Finish();
        }
        else record.Finish("stopped");
        int epochsDone = Math.Max(startEpoch, lastEpoch);
        return new TrainResult(runDir, epochsDone, final, untrained, wall.Elapsed.TotalSeconds) { FinalByImages = byImages };
    }

    /// <summary>The run's image slots (null when images.fusion is none).</summary>
    private SplitImages? _images;

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
    private static JsonObject ImageBankRecord(SplitImages images, string dataDir)
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

    private static ImageBatch Gather(ItemImages images, int[] rows, int maxImages, double dropout = 0, Rng? rng = null)
    {
        var (v, m) = images.Gather(rows, maxImages, dropout, rng);
        return ImageBatch.From(v, m, rows.Length, images.K, images.Dim);
    }

    /// <summary>AdamW groups: encoder vs other heads (own learning rates), each split into decay / no-decay.</summary>
    private List<Optim.ParamGroup> ParamGroups(SiameseModel model)
    {
        var named = model.named_parameters().ToList();
        var groups = new List<Optim.ParamGroup>();
        foreach (bool enc in new[] { true, false })
            foreach (bool noDecay in new[] { false, true })
            {
                var ps = named.Where(p => SiameseModel.IsEncoderParameter(p.name) == enc && (p.parameter.dim() < 2) == noDecay)
                    .Select(p => p.parameter).ToList();
                if (ps.Count == 0) continue;
                groups.Add(new Optim.ParamGroup(ps, lr: enc ? C.Optim.LrEncoder : C.Optim.LrOther,
                    weight_decay: noDecay ? 0.0 : C.Optim.WeightDecay));
            }
        return groups;
    }

    /// <summary>Embeds the given rows in eval mode (no dropout, no grad) → (n, H) row-major.</summary>
    private float[] EmbedAll(SiameseModel model, TokenizedTexts texts, int[] rows, ItemImages? images, int maxImages = int.MaxValue)
    {
        bool wasTraining = model.training;
        model.eval();
        var result = new float[(long)rows.Length * model.Dim];
        using (no_grad())
        {
            // Sort by length so each batch pads little; write back in the original order.
            var order = Enumerable.Range(0, rows.Length).OrderBy(i => texts.Length(rows[i])).ToArray();
            for (int s = 0; s < order.Length; s += C.Eval.EmbedBatch)
            {
                using var scope = NewDisposeScope();
                var chunk = order.AsSpan(s, Math.Min(C.Eval.EmbedBatch, order.Length - s)).ToArray();
                var items = chunk.Select(i => rows[i]).ToArray();
                var (ids, mask) = texts.Batch(items);
                var e = model.Embed(ids, mask, images is null ? null : Gather(images, items, maxImages)).ToArray<float>();
                for (int j = 0; j < chunk.Length; j++) Array.Copy(e, j * model.Dim, result, (long)chunk[j] * model.Dim, model.Dim);
            }
        }
        model.train(wasTraining);
        return result;
    }

    /// <summary>Embeds test queries (the first <paramref name="maxTest"/>, 0 = all) and all labels, searches, scores.</summary>
    /// <param name="maxImages">At most this many images per test item (the first present slots); labels keep theirs.</param>
    private XmcMetricsResult Evaluate(SiameseModel model, XmcDataset data, TokenizedTexts testTok, TokenizedTexts labelTok,
        int maxTest, out TopK predictions, int maxImages = int.MaxValue)
    {
        int nTest = maxTest > 0 ? Math.Min(maxTest, testTok.Count) : testTok.Count;
        var q = EmbedAll(model, testTok, Enumerable.Range(0, nTest).ToArray(), _images?.Test, maxImages);
        var l = EmbedAll(model, labelTok, Enumerable.Range(0, labelTok.Count).ToArray(), _images?.Labels);
        LastLabelMeanCos = MeanPairwiseCosine(l, labelTok.Count, model.Dim);
        using var scope = NewDisposeScope();
        int extra = data.Filter is null ? 0 : 10; // filtered pairs must not leave holes in the top-k
        var raw = TopKSearch.Search(tensor(q, [nTest, model.Dim]), tensor(l, [labelTok.Count, model.Dim]), C.Eval.TopK + extra);
        predictions = Truncate(data.Filter is null ? raw : raw.WithoutPairs(data.Filter), C.Eval.TopK);
        return data.Evaluate(predictions, 5, C.Eval.PropensityA, C.Eval.PropensityB, nTest);
    }

    /// <summary>Mean pairwise cosine of the label embeddings at the last evaluation (a collapse diagnostic).</summary>
    private double LastLabelMeanCos = double.NaN;

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

    private static TopK Truncate(TopK t, int k)
    {
        if (t.K <= k) return t;
        var idx = new int[t.Rows * k]; var sc = new float[t.Rows * k];
        for (int r = 0; r < t.Rows; r++)
        {
            Array.Copy(t.Indices, r * t.K, idx, r * k, k);
            Array.Copy(t.Scores, r * t.K, sc, r * k, k);
        }
        return new TopK(t.Rows, k, idx, sc);
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
        var data = XmcDataset.Load(resolved.Value.Data.Dir);
        ITokenizer tok = resolved.Value.Model.Encoder == EncoderKind.Qwen2
            ? Models.Qwen2.Qwen2Encoders.Tokenizer(resolved.Value.Model.Pretrained)
            : WordPieceTokenizer.FromVocabFile(File.Exists(Path.Combine(modelDir, "vocab.txt")) ? Path.Combine(modelDir, "vocab.txt") : resolved.Value.Data.Vocab);
        using var model = LoadModel(modelDir, resolved.Value.Model, resolved.Value.Images);
        var testTok = new TokenizedTexts(data.TestTexts, tok, resolved.Value.Data.MaxLen);
        var labelTok = new TokenizedTexts(data.RequireLabelTexts(), tok, resolved.Value.Data.MaxLen);
        t._images = t.LoadImages(resolved.Value);
        Runs.RunImageBank.Verify(runDir, node, t._images, resolved.Value.Data.Dir, onChangedBank);   // the bank it was trained with
        var all = t.Evaluate(model, data, testTok, labelTok, 0, out _);
        var byImages = new Dictionary<int, XmcMetricsResult>();
        if (t._images is not null)
            for (int n = 0; n <= t._images.K; n++) byImages[n] = t.Evaluate(model, data, testTok, labelTok, 0, out _, n);
        return (all, byImages);
    }

    private static JsonObject Metrics(XmcMetricsResult m) =>
        new(m.ToDictionary().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(Math.Round(kv.Value, 6)))));

    private static string Summary(XmcMetricsResult m) => string.Create(CultureInfo.InvariantCulture,
        $"P@1 {100 * m.P[0]:F2} P@3 {100 * m.P[2]:F2} P@5 {100 * m.P[4]:F2} PSP@1 {100 * m.Psp![0]:F2} PSP@5 {100 * m.Psp[4]:F2}");

    private static List<KeyValuePair<string, double>> Row(int epoch, long step, double loss, double seconds, XmcMetricsResult m,
        double labelMeanCos)
    {
        var row = new List<KeyValuePair<string, double>>
        {
            new("epoch", epoch), new("step", step), new("train_loss", loss), new("seconds", Math.Round(seconds, 2)),
        };
        foreach (var (k, v) in m.ToDictionary()) row.Add(new(k, v));
        row.Add(new("label_mean_cos", Math.Round(labelMeanCos, 6)));   // collapse diagnostic (1 = all labels alike)
        return row;
    }
}
