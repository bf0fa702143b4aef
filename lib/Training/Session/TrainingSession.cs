using System.Text.Json.Nodes;
using ViXml.Torch;
using ViXml.Training.Config;
using ViXml.Training.LabelSide;
using ViXml.Training.Runs;
using ViXml.Training.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Training.Session;

/// <summary>
/// Everything a training run builds once, in this order (the order fixes the random draws, so it is part of the
/// bit-identical resume contract): the data, the model (seeded), the label side, AdamW with its parameter groups and
/// the warm-up + linear-decay schedule, the NGAME batcher and the positive sampler (each on its own derived stream),
/// the losses, the run folder's record and metrics file. A resumed session then restores the checkpoint.
/// </summary>
public sealed class TrainingSession : IDisposable
{
    public required TrainConfig Config { get; init; }
    public required string RunDir { get; init; }
    public required TrainingData Data { get; init; }
    public required SiameseModel Model { get; init; }
    public required ILabelSide LabelSide { get; init; }
    public required Optim.AdamW Optimizer { get; init; }
    /// <summary>Every trainable tensor (model and label side), the set gradient clipping sees.</summary>
    public required List<Parameter> Parameters { get; init; }
    public required NgameSampler Batcher { get; init; }
    public required PositiveSampler Positives { get; init; }
    public required RunRecord Record { get; init; }
    public required MetricsCsv Metrics { get; init; }
    public required Evaluator Evaluator { get; init; }
    public required int BatchesPerEpoch { get; init; }
    public required long TotalSteps { get; init; }
    /// <summary>The run's root seed.</summary>
    public ulong Seed => unchecked((ulong)Config.Seed);

    public Optim.LinearWarmupDecay Schedule { get; private set; } = null!;
    /// <summary>The positive-sampling stream (restored on resume).</summary>
    public Rng PositiveRng { get; private set; } = null!;
    /// <summary>(n, H) query embeddings gathered during the last epoch, for NGAME clustering (null until first needed).</summary>
    public float[]? Stale { get; set; }
    /// <summary>Optimiser steps taken so far (the schedule position).</summary>
    public long Step { get; set; }
    /// <summary>The first epoch this session trains (0, or the checkpoint's epoch on resume).</summary>
    public int StartEpoch { get; private set; }

    private readonly IBatchLoss _triplet, _infoNce;

    private TrainingSession(IBatchLoss triplet, IBatchLoss infoNce) => (_triplet, _infoNce) = (triplet, infoNce);

    /// <summary>The model's embedding width.</summary>
    public int Dim => Model.Dim;

    /// <summary>kind infonce: every epoch; kind triplet: InfoNCE for the first loss.warmup_infonce_epochs epochs (warm start).</summary>
    public IBatchLoss LossAt(int epoch) =>
        Config.Loss.Kind == LossKind.Infonce || epoch < Config.Loss.WarmupInfonceEpochs ? _infoNce : _triplet;

    /// <summary>Builds the session for <paramref name="runDir"/> (created; on resume the caller has checked that it
    /// holds a checkpoint).</summary>
    public static TrainingSession Open(ResolvedConfig<TrainConfig> resolved, string runDir, bool resume, TextWriter log,
        Func<TrainConfig, SplitImages?> loadImages)
    {
        var c = resolved.Value;
        var data = TrainingData.Load(c, loadImages, log);

        ulong seed = unchecked((ulong)c.Seed);
        manual_seed(c.Seed);
        var device = TrainConfigValidation.ParseDevice(c.Run.Device);
        if (device.type == DeviceType.CUDA && !(cuda.is_available() && device.index < cuda.device_count()))
            throw resolved.Locate(new ConfigException($"run.device: '{c.Run.Device}' but this libtorch sees {(cuda.is_available() ? cuda.device_count() : 0)} CUDA device(s) " +
                                                      "(the CPU build ships libtorch-cpu; environment.md names the CUDA package swap)"));
        var model = SiameseModel.Create(c.Model, data.Tokenizer.VocabSize, c.Seed, Trainer.FusionSpecFor(c, data.Images));
        try
        {
            // Built (and loaded) on the CPU, moved, and only then the label side and the optimiser (STYLE.md rule 4:
            // Module.to() replaces Parameter objects). Batches are copied to the device in SiameseModel.Embed.
            if (device.type != DeviceType.CPU) model.to(device);
            if (data.Images is not null && model.Fusion == FusionKind.Early && model.Encoder is not Models.IPromptedEncoder
                && data.Images.K + c.Data.MaxLen > model.Encoder.MaxPositions)
                throw resolved.Locate(new ConfigException(
                    $"data.max_len: {c.Data.MaxLen} + {data.Images.K} image slots exceed the encoder's {model.Encoder.MaxPositions} positions"));
            model.train();
            var labelSide = LabelSides.Create(c, model, data.Data.NumLabels);
            var groups = ModelParamGroups(model, c);
            var labelGroups = labelSide.ParamGroups(c);
            groups.AddRange(labelGroups);
            var opt = new Optim.AdamW(groups, lr: c.Optim.LrEncoder, beta1: c.Optim.Beta1, beta2: c.Optim.Beta2,
                eps: c.Optim.Eps, weight_decay: c.Optim.WeightDecay);
            int batchesPerEpoch = (data.TrainRows.Length + c.Sampler.BatchSize - 1) / c.Sampler.BatchSize;
            long totalSteps = (long)batchesPerEpoch * c.Optim.Epochs;
            var ng = c.Sampler.Ngame;
            var schedule = new NgameSchedule
            {
                ClStart = ng.Enabled ? ng.ClStart : int.MaxValue, ClUpdate = ng.ClUpdate, ClSize = ng.ClSize,
                ClSizeDoubleAt = ng.ClSizeDoubleAt, ClSizeMax = ng.ClSizeMax, Iterations = ng.Iterations,
            };
            var batcher = new NgameSampler(data.TrainRows.Length, c.Sampler.BatchSize, schedule, Rng.Derive(seed, 1).NextULong());
            var positives = new PositiveSampler(data.Data.TrainY.Indptr, data.Data.TrainY.Indices, data.Data.NumLabels, c.Sampler.Positives,
                c.Sampler.PropensityA, c.Sampler.PropensityB);

            Directory.CreateDirectory(runDir);
            var record = RunRecord.Open(runDir, c.Name, resolved.Json, resolved.Hash, resolved.Source,
                new Dictionary<string, long> { ["seed"] = c.Seed }, resume);
            var session = new TrainingSession(new TripletLoss(c.Loss), new InfoNceLoss(c.Loss))
            {
                Config = c, RunDir = runDir, Data = data, Model = model, LabelSide = labelSide, Optimizer = opt,
                // The model's parameters in module order (the order fixes clip_grad_norm_'s sum), then the label side's.
                Parameters = model.parameters().Concat(labelGroups.SelectMany(g => g.@params)).ToList(),
                Batcher = batcher, Positives = positives, Record = record,
                Metrics = new MetricsCsv(Path.Combine(runDir, "metrics.csv")),
                Evaluator = new Evaluator(model, data.Data, data.Test, data.Labels, data.Images, c.Eval),
                BatchesPerEpoch = batchesPerEpoch, TotalSteps = totalSteps,
            };
            session.Schedule = new Optim.LinearWarmupDecay(opt, c.Optim.WarmupSteps, totalSteps);
            session.PositiveRng = Rng.Derive(seed, 2);
            session.WriteRunFacts();
            return session;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void WriteRunFacts()
    {
        Record.Set("parameter_count", Model.num_parameters());
        Record.Set("torch", new JsonObject { ["version"] = torch.__version__, ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(), ["threads"] = get_num_threads() });
        Record.Set("data_summary", new JsonObject
        {
            ["train_queries"] = Data.TrainRows.Length, ["test_queries"] = Data.Data.TestTexts.Length, ["labels"] = Data.Data.NumLabels,
            ["batches_per_epoch"] = BatchesPerEpoch, ["total_steps"] = TotalSteps,
        });
        if (Data.Images is not null) Record.Set("image_bank", Trainer.ImageBankRecord(Data.Images, Config.Data.Dir));
    }

    /// <summary>Continues from the run folder's newest complete checkpoint: parameters, AdamW state, the schedule
    /// position, the samplers' streams, the stale bank and the label side's tensors.</summary>
    public void Resume(TextWriter log)
    {
        var ck = Checkpoint.Load(Checkpoint.Find(RunDir)!, Model, Optimizer);
        StartEpoch = ck.EpochsDone;
        Step = ck.Step;
        Schedule = new Optim.LinearWarmupDecay(Optimizer, Config.Optim.WarmupSteps, TotalSteps, last_step: ck.Step);
        Batcher.Restore(ck.Sampler);
        PositiveRng = Rng.FromState(ck.PositiveRng);
        Stale = ck.Stale;
        try { LabelSide.RestoreCheckpoint(ck.LabelSide); }
        finally { foreach (var t in ck.LabelSide.Values) t.Dispose(); }
        Metrics.TruncateAfterEpoch(StartEpoch);
        log.WriteLine($"resumed from epoch {StartEpoch} (step {ck.Step})");
    }

    /// <summary>The atomic epoch-end checkpoint.</summary>
    public void SaveCheckpoint(int epochsDone) =>
        Checkpoint.Save(RunDir, Model, Optimizer, new Checkpoint.State(epochsDone, Step, Batcher.State, PositiveRng.GetState(), Stale),
            LabelSide.CheckpointTensors());

    /// <summary>AdamW groups of the model: encoder vs other heads (own learning rates), each split into decay /
    /// no-decay by shape (tensors below 2 dimensions get no decay).</summary>
    public static List<Optim.ParamGroup> ModelParamGroups(SiameseModel model, TrainConfig c)
    {
        var named = model.named_parameters().ToList();
        var groups = new List<Optim.ParamGroup>();
        foreach (bool enc in new[] { true, false })
            foreach (bool noDecay in new[] { false, true })
            {
                var ps = named.Where(p => SiameseModel.IsEncoderParameter(p.name) == enc && (p.parameter.dim() < 2) == noDecay)
                    .Select(p => p.parameter).ToList();
                if (ps.Count == 0) continue;
                groups.Add(new Optim.ParamGroup(ps, lr: enc ? c.Optim.LrEncoder : c.Optim.LrOther,
                    weight_decay: noDecay ? 0.0 : c.Optim.WeightDecay));
            }
        return groups;
    }

    public void Dispose()
    {
        LabelSide.Dispose();
        Optimizer.Dispose();
        Model.Dispose();
    }
}

/// <summary>Builds the label side a configuration names.</summary>
public static class LabelSides
{
    /// <summary>A label side for training (prime: freshly initialised; <see cref="ILabelSide.Prepare"/> or a checkpoint
    /// fills its state).</summary>
    public static ILabelSide Create(TrainConfig c, SiameseModel model, int numLabels) => c.LabelSide.Kind switch
    {
        LabelSideKind.Prime => new Prime.PrimeSide(c, model, numLabels),
        _ => new PlainLabelSide(),
    };

    /// <summary>The label side of a finished run folder (prime: its label_side.safetensors).</summary>
    public static ILabelSide ForRun(TrainConfig c, SiameseModel model, string runDir) => c.LabelSide.Kind switch
    {
        LabelSideKind.Prime => new Prime.PrimeSide(c, model,
            Prime.PrimeLabelSide.Load(Path.Combine(runDir, Prime.PrimeLabelSide.FileName), c.LabelSide.Heads, c.LabelSide.Dropout)),
        _ => new PlainLabelSide(),
    };
}
