using System.Diagnostics;
using System.Globalization;
using ViXml.Models;
using ViXml.Models.Qwen2;
using ViXml.Reporting;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Training.Data;
using ViXml.Training.Session;
using ViXml.Xmc;
using static TorchSharp.torch;

namespace ViXml.Experiments;

/// <summary>Configuration of notebooks/06-scaling.ipynb. Runs go to &lt;repo&gt;/results/runs/scaling-&lt;profile&gt;.</summary>
public sealed record ScalingConfig : ExperimentConfig
{
    public ScalingConfig()
    {
        Dataset = "emoji-mm";
        Seeds = [1];
    }

    /// <summary>Trained row names (<see cref="ScalingExperiment.Encoders"/> × text-only / vixml); empty = the profile's.</summary>
    public IReadOnlyList<string> RowNames { get; init; } = [];

    /// <summary>Qwen2.5 sizes whose one real-shaped decoder layer is timed on this CPU (empty = the profile's: ci/smoke
    /// 0.5B, cpu all four).</summary>
    public IReadOnlyList<string> LayerTimings { get; init; } = [];

    public string Bank { get; init; } = "resnet18";

    public string? ModelsRoot { get; init; }
}

/// <summary>An encoder of the scaling table: pretrained (an imported model folder) or from scratch with a shape.</summary>
public sealed record ScalingEncoder(string Name, string Label, string? Pretrained, int Hidden = 0, int Layers = 0, int Heads = 0,
    int Intermediate = 0, string Pooling = "mean");

/// <summary>A Qwen2.5 row: what the paper trains on a GPU box; here the plan and one measured layer.</summary>
public sealed record DecoderPlanRow(string Model, long Parameters, long LoraParameters, double WeightsGB, double LoraStateGB,
    double ActivationMBPerSequence, double? LayerForwardBackwardMs, string Plan, string Note);

public sealed record ScalingResult(DatasetSource? Dataset, IReadOnlyList<RowRunner.Run> Runs, ResultTable Table, ResultTable Decoders,
    ResultTable PerRun, Figure P1VsParameters, Figure CostVsParameters);

/// <summary>
/// The paper's scaling table at our scale, on emoji-mm: pretrained MiniLM-L6 and arctic-embed-xs and from-scratch BERT
/// encoders of growing width and depth (up to the MiniLM-L3 shape), each text-only and with ViXML early fusion, with
/// their cost (parameters, wall time per epoch, peak resident memory, text embeddings per second). Qwen2.5-0.5B … 7B
/// cannot be trained here (no weights, no GPU): their rows give the parameter count from the preset shapes, the memory
/// plan and the measured forward + backward time of one real-shaped decoder layer on this CPU.
/// </summary>
public static class ScalingExperiment
{
    public const string TableName = "scaling";
    public const string DecodersName = "scaling-decoders";
    public const string RunsName = "scaling-runs";
    public static readonly string[] Fusions = ["text-only", "vixml"];

    /// <summary>The encoders in table order (growing size).</summary>
    public static readonly ScalingEncoder[] Encoders =
    [
        new("scratch-32x1", "from scratch, 32 wide, 1 layer", null, 32, 1, 2, 128),
        new("scratch-64x2", "from scratch, 64 wide, 2 layers", null, 64, 2, 4, 256),
        new("scratch-128x3", "from scratch, 128 wide, 3 layers", null, 128, 3, 4, 512),
        new("scratch-384x3", "from scratch, MiniLM-L3 shape (384 wide, 3 layers)", null, 384, 3, 12, 1536),
        new("arctic-xs", "arctic-embed-xs (pretrained, 384 wide, 6 layers)", "arctic-xs", Pooling: "cls"),
        new("minilm-l6", "MiniLM-L6 (pretrained, 384 wide, 6 layers)", "minilm-l6"),
    ];

    /// <summary>The decoder sizes of the paper.</summary>
    public static readonly string[] Decoders = ["Qwen2.5-0.5B", "Qwen2.5-1.5B", "Qwen2.5-3B", "Qwen2.5-7B"];

    /// <summary>LoRA rank and prompt length of the paper's decoder runs (the memory plan's inputs).</summary>
    public const int PaperLoraRank = 256, PaperSequence = 40;

    public static IReadOnlyList<string> RowNamesKnown() => Encoders.SelectMany(e => Fusions.Select(f => $"{e.Name} {f}")).ToList();

    public static IReadOnlyList<string> DefaultRows(string profile) => profile switch
    {
        "smoke" => ["scratch-64x2 text-only", "scratch-64x2 vixml"],
        "ci" => ["scratch-64x2 text-only", "scratch-64x2 vixml", "minilm-l6 text-only", "minilm-l6 vixml"],
        _ => RowNamesKnown(),
    };

    public static IReadOnlyList<string> DefaultLayerTimings(string profile) => profile is "cpu" or "paper" ? Decoders : ["Qwen2.5-0.5B"];

    /// <summary>Configuration file and profile schedule of an encoder: from scratch configs/emoji-ci.yaml (InfoNCE; ci 6 of
    /// its 30 epochs), pretrained configs/emoji-minilm.yaml (ci: PromptAblationExperiment.CiMiniLm); cpu: the files as written.</summary>
    public static (string File, IReadOnlyList<string> Overrides) ConfigFor(ScalingEncoder e, string profile)
    {
        var o = new List<string> { "run.save_model=false" };
        if (e.Pretrained is null)
        {
            o.AddRange([$"model.hidden={e.Hidden}", $"model.layers={e.Layers}", $"model.heads={e.Heads}", $"model.intermediate={e.Intermediate}"]);
            if (profile != "cpu") o.Add("optim.epochs=6");
        }
        else
        {
            o.Add($"model.pooling={e.Pooling}");
            if (profile != "cpu") o.AddRange(PromptAblationExperiment.CiMiniLm);
        }
        if (profile == "smoke") o.AddRange(RowRunner.SmokeOverrides);
        return (e.Pretrained is null ? "emoji-ci.yaml" : "emoji-minilm.yaml", o);
    }

    public static ScalingResult Run(ScalingConfig c, TextWriter? log = null)
    {
        RowRunner.CheckProfile(c.Profile);
        if (c.Seeds.Count == 0) throw new ArgumentException("seeds: empty list");
        var names = c.RowNames.Count > 0 ? RowRunner.SelectRows(string.Join(",", c.RowNames), RowNamesKnown(), []) : DefaultRows(c.Profile);
        var timings = c.LayerTimings.Count > 0 ? c.LayerTimings : DefaultLayerTimings(c.Profile);
        foreach (var t in timings)
            if (!Decoders.Contains(t)) throw new ArgumentException($"unknown decoder '{t}' (known: {string.Join(", ", Decoders)})");
        var root = ExperimentProfile.RepoRoot();
        var machine = RowRunner.MachineNote();
        var decoders = DecoderTable(timings, c, machine, log);
        if (c.Profile == "paper")
        {
            var empty = EncoderTable([], new Dictionary<string, RowCost>(), new Scale("(no data)", "paper", c.Seeds, "dry run: nothing trained"), c.K);
            return new ScalingResult(null, [], PaperEncoderPlan(c, log), decoders, empty, new Figure("P@1 vs parameters (paper profile: nothing trained)"),
                new Figure("Cost vs parameters (paper profile: nothing trained)"));
        }
        var src = FusionExperiment.Resolve(new FusionConfig { Profile = RowRunner.DataProfile(c.Profile), DataRoot = c.DataRoot, DataDir = c.DataDir }, log);
        if (names.Any(n => n.EndsWith(" vixml", StringComparison.Ordinal))) FusionExperiment.EnsureBank(src.Directory, c.Bank, log);
        var runsRoot = c.RunsRoot ?? Path.Combine(root, "results", "runs", $"scaling-{c.Profile}");
        var runs = new List<RowRunner.Run>();
        var costs = new Dictionary<string, RowCost>();
        foreach (var name in names)
        {
            var enc = Encoders.First(e => name.StartsWith(e.Name + " ", StringComparison.Ordinal));
            bool vixml = name.EndsWith(" vixml", StringComparison.Ordinal);
            var (file, profileOverrides) = ConfigFor(enc, c.Profile);
            var configPath = Path.Combine(root, "configs", file);
            foreach (var seed in c.Seeds)
            {
                var o = new List<string>(profileOverrides)
                {
                    $"data.dir={src.Directory}", $"images.bank={c.Bank}", $"images.fusion={(vixml ? "early" : "none")}",
                    "images.eval_images=[]", "images.modality_dropout=0",
                    $"name={name.Replace(' ', '-')}-seed{seed}", $"seed={seed}", $"run.out_dir={runsRoot}",
                    $"data.vocab={Path.Combine(root, "assets", "vocab", "bert-base-uncased", "vocab.txt")}",
                    $"eval.propensity_a={c.PropensityA.ToString(CultureInfo.InvariantCulture)}",
                    $"eval.propensity_b={c.PropensityB.ToString(CultureInfo.InvariantCulture)}",
                };
                if (enc.Pretrained is not null)
                    o.Add("model.pretrained=" + PretrainedEncodersExperiment.EnsureImported(enc.Pretrained, c.ModelsRoot ?? Path.Combine(root, "models"), log));
                o.AddRange(c.TrainOverrides);
                runs.Add(RowRunner.Train(name, seed, configPath, o, Path.Combine(runsRoot, $"{name.Replace(' ', '-')}-seed{seed}"), log));
                log?.WriteLine(RowRunner.Inv($"{name} seed {seed}: P@1 {runs[^1].Metrics["P@1"]:F2} in {runs[^1].Seconds:F1} s"));
                if (!costs.ContainsKey(name)) costs[name] = Cost(configPath, o, src.Directory, vixml ? c.Bank : null);
            }
        }
        var scale = new Scale(src.Name, c.Profile, c.Seeds, $"{machine}; emoji-mm built from npm emoji packages, frozen {c.Bank} image bank; " +
            "pretrained MiniLM-L6 / arctic-embed-xs fine-tuned, the other encoders from random init; Qwen2.5 rows: see the decoder table" +
            (c.Profile == "smoke" ? "; smoke: 256 training queries, one epoch (the numbers mean nothing)" : "") + c.OverridesNote());
        var table = EncoderTable(runs, costs, scale, c.K);
        return new ScalingResult(src, runs, table, decoders, RowRunner.PerRun("Scaling: every run", runs, c.K, scale),
            P1Chart(table), CostChart(table));
    }

    /// <summary>Parameters (total / trainable, with the early-fusion adapter) and text embeddings per second of a row's model.</summary>
    public sealed record RowCost(long Parameters, long Trainable, double EmbeddingsPerSecond);

    /// <summary>Builds the row's model as the trainer does (weights do not change the cost), counts its parameters and
    /// times the text encoder over the test texts (eval mode, no gradient, batches of 256, after one warm-up batch).</summary>
    public static RowCost Cost(string configPath, IReadOnlyList<string> overrides, string dataDir, string? bank)
    {
        var cfg = ConfigLoader.LoadFile<TrainConfig>(configPath, overrides).Value;
        var tok = TrainingData.TokenizerFor(cfg, null);
        var data = XmcDataset.Load(dataDir);
        using var scope = NewDisposeScope();
        using var model = SiameseModel.Create(cfg.Model, tok.VocabSize, cfg.Seed);
        long total = 0, trainable = 0;
        foreach (var p in model.parameters())
        {
            total += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        if (bank is not null)
        {
            long adapter = (long)ImageBanks.Load(dataDir, bank, verifyChecksums: false).Bank.Dim * model.Dim + model.Dim;   // linear adapter
            total += adapter;
            trainable += adapter;
        }
        var texts = new TokenizedTexts(data.TestTexts, tok, cfg.Data.MaxLen);
        model.eval();
        using var ng = no_grad();
        int n = Math.Min(texts.Count, 1024), batch = 256;
        void Embed(int from, int count)
        {
            using var s = NewDisposeScope();
            var rows = Enumerable.Range(from, count).ToArray();
            var (ids, mask) = texts.Batch(rows);
            _ = model.Embed(ids, mask);
        }
        Embed(0, Math.Min(batch, n));
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i += batch) Embed(i, Math.Min(batch, n - i));
        return new RowCost(total, trainable, n / sw.Elapsed.TotalSeconds);
    }

    private static ResultTable EncoderTable(IReadOnlyList<RowRunner.Run> runs, Dictionary<string, RowCost> costs, Scale scale, int k)
    {
        string[] metrics = ["P@1", $"P@{Math.Min(5, k)}", "PSP@1", $"PSP@{Math.Min(5, k)}"];
        var cols = new List<string> { "row", "encoder", "fusion", "runs", "parameters", "trainable" };
        foreach (var m in metrics.Distinct()) { cols.Add(m); cols.Add(m + " std"); }
        cols.AddRange(["s/epoch", "peak RSS (MiB)", "embeddings/s"]);
        var t = new ResultTable("Scaling: accuracy (%) and cost by encoder, text-only and ViXML early fusion (mean and std over seeds)", cols, scale);
        foreach (var m in metrics.Distinct()) { t.Format(m, "F2"); t.Format(m + " std", "F2"); }
        t.Format("s/epoch", "F2"); t.Format("peak RSS (MiB)", "F0"); t.Format("embeddings/s", "F0");
        foreach (var g in runs.GroupBy(r => r.Row))
        {
            var enc = Encoders.First(e => g.Key.StartsWith(e.Name + " ", StringComparison.Ordinal));
            var cost = costs[g.Key];
            var row = new List<object?> { g.Key, enc.Label, g.Key.EndsWith(" vixml", StringComparison.Ordinal) ? "ViXML early fusion" : "text-only",
                g.Count(), cost.Parameters, cost.Trainable };
            foreach (var m in metrics.Distinct())
            {
                var (mean, std) = TextEncodersExperiment.MeanStd(g.Select(r => r.Metrics[m]).ToList());
                row.Add(mean); row.Add(std);
            }
            row.AddRange([g.Average(r => r.SecondsPerEpoch), g.Max(r => r.PeakRssMiB), cost.EmbeddingsPerSecond]);
            t.AddRow([.. row]);
        }
        return t;
    }

    /// <summary>
    /// The memory plan of a Qwen2.5 row. The seam for `./vixml train --dry-run` (the GPU-readiness issue, not on main when
    /// this was written): until it lands this is the accounting model of <see cref="Qwen2Memory"/> (shapes only, no
    /// allocation; the truth within about ±30 %), and the plan text says so.
    /// </summary>
    public static (Qwen2Memory.Estimate Estimate, string Plan) PaperPlan(string model, int rank = PaperLoraRank, int seqLen = PaperSequence)
    {
        var e = Qwen2Memory.Compute(model, Qwen2Presets.Get(model), rank, seqLen);
        const long gpu = 80L << 30;
        var inv = CultureInfo.InvariantCulture;
        return (e, string.Create(inv, $"estimate (Qwen2Memory accounting model, not a dry run): bf16 weights + LoRA r={rank} AdamW state ") +
            string.Create(inv, $"{e.StaticBytes / 1e9:F1} GB; an 80 GiB GPU holds {e.MaxSequences(gpu, false)} sequences of {seqLen} tokens per step ") +
            string.Create(inv, $"({e.MaxSequences(gpu, true)} with activation checkpointing)"));
    }

    /// <summary>Forward + backward of one decoder layer of the model's real shape on this CPU, float32, frozen weights (as
    /// under LoRA: gradients flow to the input only), <paramref name="batch"/> sequences of <paramref name="seqLen"/> tokens;
    /// median ms of 3 after a warm-up.</summary>
    public static double TimeOneLayer(string model, int batch = 8, int seqLen = PaperSequence)
    {
        var cfg = Qwen2Presets.Get(model);
        using var scope = NewDisposeScope();
        using var layer = new Qwen2DecoderLayer(cfg, ScalarType.Float32);
        using (no_grad())
            foreach (var (name, p) in layer.named_parameters())
            {
                if (name.EndsWith("layernorm.weight", StringComparison.Ordinal)) p.fill_(1.0);
                else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else p.normal_(0, 0.02);
                p.requires_grad = false;
            }
        var gen = new TorchSharp.torch.Generator(1);
        var x = randn([batch, seqLen, cfg.HiddenSize], generator: gen).requires_grad_(true);
        var pos = arange(seqLen, dtype: ScalarType.Int64).view(1, seqLen).expand(batch, seqLen);
        var (cos, sin) = Qwen2Ops.RopeCosSin(pos, cfg.HeadDim, cfg.RopeTheta, ScalarType.Float32);
        var mask = Qwen2Ops.AdditiveMask(ones(batch, seqLen, dtype: ScalarType.Int64), ScalarType.Float32);
        return RowRunner.MedianMs(() =>
        {
            using var s = NewDisposeScope();
            x.grad?.zero_();
            layer.forward(x, cos, sin, mask).sum().backward();
        }, 3);
    }

    private static ResultTable DecoderTable(IReadOnlyList<string> timed, ScalingConfig c, string machine, TextWriter? log)
    {
        var scale = new Scale("none (not trained here)", c.Profile, [], $"{machine}; parameters from the Qwen2.5 preset shapes " +
            "(lib/Models/Qwen2/Qwen2Presets.cs), memory from the Qwen2Memory accounting model, one decoder layer of the real " +
            "shape timed in float32 on this CPU; accuracy needs a GPU box and the weights");
        var t = new ResultTable("Scaling: Qwen2.5 decoders (not trainable here: the plan and one measured layer)",
            ["model", "parameters", "LoRA parameters", "weights bf16 (GB)", "LoRA + AdamW (GB)", "activations / sequence (MB)",
             "one layer fwd+bwd (ms)", "layers", "plan", "accuracy"], scale);
        t.Format("weights bf16 (GB)", "F2"); t.Format("LoRA + AdamW (GB)", "F2"); t.Format("activations / sequence (MB)", "F1");
        t.Format("one layer fwd+bwd (ms)", "F1");
        foreach (var m in Decoders)
        {
            var (e, plan) = PaperPlan(m);
            double? ms = null;
            if (timed.Contains(m))
            {
                ms = TimeOneLayer(m);
                log?.WriteLine(RowRunner.Inv($"{m}: one decoder layer forward+backward (batch 8 x {PaperSequence} tokens, fp32) {ms:F1} ms"));
            }
            t.AddRow(m, e.BaseParameters, e.LoraParameters, e.WeightBytes / 1e9, e.LoraStateBytes / 1e9, e.ActivationBytesPerSequence / 1e6,
                ms, Qwen2Presets.Get(m).NumHiddenLayers, plan,
                "needs a GPU box and the Qwen2.5 weights (none can be downloaded here)" + (ms is null ? "; layer not timed in this profile" : ""));
        }
        return t;
    }

    /// <summary>Profile paper: the paper's encoders built from their presets and counted (no data, nothing trained).</summary>
    private static ResultTable PaperEncoderPlan(ScalingConfig c, TextWriter? log)
    {
        var t = new ResultTable("Scaling, profile paper: the paper's encoders built from their presets (nothing trained)",
            ["model", "parameters", "note"], new Scale("(no data)", "paper", c.Seeds, "dry run: built on the CPU from the preset's HF config, parameters counted"));
        foreach (var (name, label) in new[] { ("minilm-l3", "MiniLM-L3"), ("distilbert-base-uncased", "DistilBERT"), ("bert-base-uncased", "BERT-base") })
        {
            using var scope = NewDisposeScope();
            using var enc = ViXml.Models.Encoders.FromPreset(name, 0);
            long n = enc.Module.parameters().Sum(p => p.numel());
            log?.WriteLine($"{label}: {n:N0} parameters");
            t.AddRow(label, n, "trains on the GPU box with the reference hyper-parameters (configs/presets); text-only and ViXML");
        }
        return t;
    }

    private static Figure P1Chart(ResultTable t)
    {
        var f = new Figure("P@1 vs parameters (log scale), text-only vs ViXML").XAxis("parameters", AxisType.Log).YAxis("P@1 (%)").Legend();
        var col = t.Columns.ToList();
        foreach (var g in t.Rows.GroupBy(r => (string)r[col.IndexOf("fusion")]!))
            f.Scatter(g.Key, g.Select(r => Convert.ToDouble(r[col.IndexOf("parameters")], CultureInfo.InvariantCulture)),
                g.Select(r => Convert.ToDouble(r[col.IndexOf("P@1")], CultureInfo.InvariantCulture)));
        return f;
    }

    private static Figure CostChart(ResultTable t)
    {
        var f = new Figure("Training cost vs parameters: wall seconds per epoch (log-log)").XAxis("parameters", AxisType.Log)
            .YAxis("s/epoch", AxisType.Log).Legend();
        var col = t.Columns.ToList();
        foreach (var g in t.Rows.GroupBy(r => (string)r[col.IndexOf("fusion")]!))
            f.Scatter(g.Key, g.Select(r => Convert.ToDouble(r[col.IndexOf("parameters")], CultureInfo.InvariantCulture)),
                g.Select(r => Convert.ToDouble(r[col.IndexOf("s/epoch")], CultureInfo.InvariantCulture)));
        return f;
    }

    public static IReadOnlyList<string> Save(ScalingResult r)
    {
        var files = new List<string>();
        files.AddRange(DatasetsExperiment.SaveTable(TableName, r.Table));
        files.AddRange(DatasetsExperiment.SaveTable(DecodersName, r.Decoders));
        if (r.Runs.Count > 0)
        {
            files.AddRange(DatasetsExperiment.SaveTable(RunsName, r.PerRun));
            files.AddRange(Results.Save("scaling-p1-vs-parameters", r.P1VsParameters));
            files.AddRange(Results.Save("scaling-cost-vs-parameters", r.CostVsParameters));
        }
        return files;
    }
}
