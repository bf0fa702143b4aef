using System.Text;
using ViXml.Common;
using ViXml.Models.Hf;
using ViXml.Notebooks;
using ViXml.Reporting.Site;
using R = ViXml.Tests.Reporting.ResultsSiteTests;
using ViXml.Tests.TestSupport;
using ViXml.Text;
using ViXml.SafeTensors;
using ViXml.Training.Config;
using ViXml.Training.Runs;
using ViXml.Xmc;
using ViXml.Xmc.Debian;

namespace ViXml.Tests.Fuzz;

/// <summary>
/// One input format under fuzzing: the valid files mutations start from, the file name the mutated bytes are written
/// under (inside a scratch folder prepared by <see cref="Prepare"/>), and the reader to call. Adding a format (e.g.
/// ONNX once the importer lands) is one more entry in <see cref="FuzzFormats.All"/>.
/// </summary>
internal sealed record FuzzFormat(string Name, string FileName, Func<IReadOnlyList<byte[]>> Seeds, Action<string, string> Read)
{
    /// <summary>Copies the files a reader needs beside the fuzzed one (run folder, dataset folder, apt folder).</summary>
    public Action<string>? Prepare { get; init; }

    /// <summary>Fraction of the per-format case count this format runs (the site builder writes a whole site per case:
    /// a third keeps its time near the readers').</summary>
    public double Share { get; init; } = 1;
}

internal static class FuzzFormats
{
    private static byte[] F(params string[] parts) => File.ReadAllBytes(Repo.Fixture(parts));
    private static byte[] T(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] FirstLines(string path, int n) =>
        T(string.Join("\n", File.ReadLines(path).Take(n)) + "\n");

    private const string WordPieceJson = """
        {
          "version": "1.0",
          "added_tokens": [ {"id": 6, "content": "<new>", "special": false} ],
          "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                         "strip_accents": null, "lowercase": false},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
          "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                    "max_input_chars_per_word": 5,
                    "vocab": {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "Caf": 4, "##é": 5}}
        }
        """;

    private const string BpeJson = """
        {
          "version": "1.0",
          "added_tokens": [ {"id": 7, "content": "<|endoftext|>", "special": true} ],
          "normalizer": {"type": "NFC"},
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]},
          "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "Ġ": 5, "Ġa": 6},
                    "merges": ["a b", "ab c", "Ġ a"]}
        }
        """;

    private const string RunJson = """
        {"name": "t", "status": "finished", "config_hash": "abc", "config": {"name": "t", "seed": 1},
         "sessions": [{"started_utc": "2026-01-01T00:00:00Z"}], "timings": {"total_seconds": 1.5}}
        """;

    private const string StateJson = """
        {"EpochsDone":2,"Step":10,"Sampler":{"Rng":[1,2,3,4],"Clusters":null,"ClusteredAtEpoch":-1},"PositiveRng":[5,6,7,8],"StaleLength":0}
        """;

    private static string? _dataset;
    private static readonly object Gate = new();

    /// <summary>A small dataset built once from the fake apt folder (text + images), for manifest fuzzing.</summary>
    private static string Dataset()
    {
        lock (Gate)
        {
            if (_dataset is not null) return _dataset;
            var dir = Path.Combine(Path.GetTempPath(), $"vixml-fuzz-ds-{Environment.ProcessId}");
            if (!File.Exists(Path.Combine(dir, "manifest.json")))
                DebianDatasets.BuildTo("debian-apps-mm", "full", AptInputs.FromDirectory(Repo.Fixture("apt-fake")), dir);
            return _dataset = dir;
        }
    }

    private static void CopyDir(string from, string to, string? except = null)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            if (Path.GetFileName(f) != except) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), true);
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
    }

    // ---- the results site: a mutated CSV, figure or executed notebook in a results folder ------------------------

    private static string HostileCsv =>
        $"method,\"{R.ImgPwn.Replace("\"", "\"\"")}\",P@1,scale_dataset,scale_profile,scale_seeds,scale_note\n" +
        $"{R.ScriptPwn},bm25,20.5,tiny,ci,1;2,\"{R.ImgPwn.Replace("\"", "\"\"")}\"\n\"ngame, <b>x</b>\",2,14.8,tiny,ci,1;2,\"{R.ImgPwn.Replace("\"", "\"\"")}\"\n";

    private static void SiteSides(string dir)
    {
        var results = Path.Combine(dir, "r");
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(dir, "plotly.js"), "window.Plotly = {newPlot: function () {}};\n");
        // one of each kind beside the fuzzed file, so every page kind is built
        File.WriteAllText(Path.Combine(results, "other-table.csv"), "k,v\nx,1\n");
    }

    /// <summary>Builds the site over the scratch results folder and checks every page is inert (see <see cref="SiteInert"/>).</summary>
    private static void BuildSite(string dir)
    {
        var r = ResultsSite.Build(new ResultsSiteOptions
        {
            ResultsDirectory = Path.Combine(dir, "r"), SiteDirectory = Path.Combine(dir, "site"), PlotlyJsPath = Path.Combine(dir, "plotly.js"),
        });
        foreach (var page in r.Pages) SiteInert(File.ReadAllText(Path.Combine(r.SiteDirectory, page)), page);
    }

    private static readonly System.Text.RegularExpressions.Regex RealTag = new(@"<([A-Za-z][A-Za-z0-9]*)([^>]*)>", System.Text.RegularExpressions.RegexOptions.Compiled);
    private static readonly System.Text.RegularExpressions.Regex Quoted = new("\"[^\"]*\"", System.Text.RegularExpressions.RegexOptions.Compiled);
    private static readonly System.Text.RegularExpressions.Regex LinkValue = new(@"\s(?:href|src)=""([^""]*)""", System.Text.RegularExpressions.RegexOptions.Compiled);
    private static readonly HashSet<string> Active = new(StringComparer.OrdinalIgnoreCase) { "iframe", "object", "embed", "base", "form", "link", "svg", "math", "frame", "meta" };

    /// <summary>
    /// A page is inert when its only scripts are ours (plotly.js by relative path, the vixmlPlot helper and calls), no
    /// tag carries an event handler, no active element (iframe, object, svg, ...) appears besides our charset/viewport
    /// metas, and every href/src is relative or a data:image. A violation is not a clear error: the case counts as a crash.
    /// </summary>
    private static void SiteInert(string html, string page)
    {
        var withoutOurScripts = System.Text.RegularExpressions.Regex.Replace(html, @"<script>(?:\nfunction vixmlPlot|vixmlPlot\().*?</script>", "",
            System.Text.RegularExpressions.RegexOptions.Singleline);
        foreach (System.Text.RegularExpressions.Match tag in RealTag.Matches(withoutOurScripts))
        {
            var name = tag.Groups[1].Value;
            var attrs = Quoted.Replace(tag.Groups[2].Value, "\"\"");
            bool ours = name.Equals("meta", StringComparison.OrdinalIgnoreCase) && (tag.Value.StartsWith("<meta charset=", StringComparison.Ordinal) || tag.Value.StartsWith("<meta name=\"viewport\"", StringComparison.Ordinal))
                        || name.Equals("script", StringComparison.OrdinalIgnoreCase) && tag.Value.Contains("assets/plotly.min.js\"");
            if (name.Equals("script", StringComparison.OrdinalIgnoreCase) && !ours) throw new InvalidOperationException($"{page}: a script that is not ours: {tag.Value}");
            if (Active.Contains(name) && !ours) throw new InvalidOperationException($"{page}: an active element: {tag.Value}");
            if (System.Text.RegularExpressions.Regex.IsMatch(attrs, @"(?i)\son[a-z]+\s*=")) throw new InvalidOperationException($"{page}: an event handler: {tag.Value}");
            foreach (System.Text.RegularExpressions.Match link in LinkValue.Matches(tag.Value))
            {
                var target = System.Net.WebUtility.HtmlDecode(link.Groups[1].Value);
                if (target.Contains(':') && !target.StartsWith("data:image/", StringComparison.Ordinal))
                    throw new InvalidOperationException($"{page}: a link with a scheme: {tag.Value}");
            }
        }
    }

    public static readonly FuzzFormat[] All =
    [
        new("xc-sparse", "tst_X_Y.txt",
            () => [F("xmc-metrics", "small-02-ties", "score_mat.txt"), F("xmc-metrics", "small-03-longtail", "tst_X_Y.txt"), T("2 3\n\n0:1 2:0.5\n")],
            (p, _) => XcSparse.Read(p)),
        new("filter-pairs", "filter_labels_test.txt", () => [F("xmc-metrics", "small-04-filter", "filter_labels_test.txt")],
            (p, _) => FilterPairs.Read(p, 15, 40)),
        new("raw-text", "trn.raw.txt", () => [T("libc6: GNU C Library\nzlib1g: compression library - runtime\n\nécole ☃\n")],
            (p, _) => RawText.Read(p)),
        new("npy", "a.npy",
            () => [F("xmc-npy", "f32_v1.npy"), F("xmc-npy", "i64_v2.npy"), F("xmc-npy", "f32_v3.npy"), F("xmc-npy", "f64_v1.npy")],
            (p, _) =>
            {
                var a = Npy.Read(p);
                if (a.DType is NpyDType.Float32 or NpyDType.Float64) a.ToFloat32(); else a.ToInt64();
            }),
        new("safetensors", "model.safetensors",
            () => [F("safetensors", "reference_layout.safetensors"), F("safetensors", "pytorch_all_dtypes.safetensors")],
            (p, _) =>
            {
                using var f = SafeTensorsFile.Open(p);
                foreach (var t in f.Tensors) f.ReadInto(t.Name, new byte[t.ByteLength]);
            }),
        new("hf-config", "config.json",
            () => [F("bert", "bert_plain", "config.json"), F("qwen2", "tiny-bf16", "config.json"), F("bert", "distilbert_plain", "config.json")],
            (p, _) => HfConfig.Load(p)),
        new("train-yaml", "train.yaml", () => [File.ReadAllBytes(Repo.Path_("configs", "ci.yaml")), File.ReadAllBytes(Repo.Path_("configs", "cpu.yaml"))],
            (p, _) => ConfigLoader.LoadFile<TrainConfig>(p).Value.Validate()),
        new("ipynb", "nb.ipynb", () => [F("notebooks", "basic.ipynb"), F("notebooks", "display.ipynb")],
            (p, _) => Notebook.Load(p)),
        new("tokenizer-json", "tokenizer.json", () => [T(WordPieceJson), T(BpeJson)],
            (p, _) => TokenizerLoader.FromFile(p)),
        new("vocab-txt", "vocab.txt", () => [FirstLines(Repo.Fixture("bert", "bert_plain", "vocab.txt"), 400)],
            (p, _) => WordPieceTokenizer.FromVocabFile(p)),
        new("dataset-manifest", "manifest.json", () => [File.ReadAllBytes(Path.Combine(Dataset(), "manifest.json"))],
            (_, dir) =>
            {
                // these report problems as lists: a non-empty list counts as a clear error
                if (DatasetManifest.Verify(dir, checksums: true) is { Count: > 0 } errors) throw new InvalidDataException(errors[0]);
                if (DatasetCheck.Run(dir).Errors is { Count: > 0 } e2) throw new InvalidDataException(e2[0]);
            })
        {
            Prepare = dir => CopyDir(Dataset(), dir, except: "manifest.json"),
        },
        new("run-json", "run.json", () => [T(RunJson)], (_, dir) => RunFolder.ReadRunJson(dir)),
        new("checkpoint-state", "checkpoint/state.json", () => [T(StateJson)],
            (_, dir) => RunFolder.FindCheckpoint(dir))
        {
            Prepare = dir =>
            {
                Directory.CreateDirectory(Path.Combine(dir, "checkpoint"));
                foreach (var f in new[] { "model.safetensors", "optimizer.safetensors" })
                    File.Copy(Repo.Fixture("safetensors", "reference_layout.safetensors"), Path.Combine(dir, "checkpoint", f));
            },
        },
        new("site-csv", "r/t-scores.csv", () => [T(HostileCsv), T("method,runs,P@1\nbm25,1,20.2345\n\"a,\"\"b\"\"\",2,\n")],
            (_, dir) => BuildSite(dir)) { Prepare = SiteSides, Share = 1.0 / 3 },
        new("site-figure", "r/fig-curve.plotly.json",
            () => [T(R.HostileFigure().ToJsonString()), T(new ViXml.Reporting.Figure("Demo").Line("a", [0, 1, 2], [0.5, 0.25, 0.1]).ToJsonString(indented: true))],
            (_, dir) => BuildSite(dir)) { Prepare = SiteSides, Share = 1.0 / 3 },
        new("site-notebook", "r/01-nb.ipynb", () => [T(R.HostileNotebook()), F("site", "results-ci", "01-demo.ipynb")],
            (_, dir) => BuildSite(dir)) { Prepare = SiteSides, Share = 1.0 / 3 },
        new("apt-packages", "Packages", () => [F("apt-fake", "Packages")],
            (_, dir) => DebianDepsBuilder.Build(AptInputs.FromDirectory(dir), titlesOnly: true, "full"))
        {
            Prepare = dir => CopyDir(Repo.Fixture("apt-fake"), dir, except: "Packages"),
        },
    ];
}
