using System.Text;
using ViXml.Common;
using ViXml.Models.Hf;
using ViXml.Notebooks;
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

    /// <summary>A valid manifest for the fixture dataset's own bank "img" (its checksums hold), as images embed writes one.</summary>
    private static byte[] BankManifest()
    {
        var ds = Dataset();
        var bank = ImageBank.Read(Path.Combine(ds, ImageBanks.EmbsFile("img")));
        return new ImageBankManifest
        {
            Name = "img", Model = "pixel-features/1", Preprocessing = "8x8 mean colours + 4x4x4 histogram", NumImages = bank.NumImages, Dim = bank.Dim,
            Inputs = [new FileDigest("images", ImageBanks.Digest(Path.Combine(ds, "images"))),
                      new FileDigest(ImageBanks.ImageIdsFile, ImageBanks.Digest(Path.Combine(ds, ImageBanks.ImageIdsFile)))],
            Outputs = [new FileDigest(ImageBanks.EmbsFile("img"), ImageBanks.Digest(Path.Combine(ds, ImageBanks.EmbsFile("img"))))],
        }.ToJson();
    }

    private static void CopyDir(string from, string to, string? except = null)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            if (Path.GetFileName(f) != except) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), true);
        foreach (var d in Directory.GetDirectories(from)) CopyDir(d, Path.Combine(to, Path.GetFileName(d)));
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
        new("image-bank-manifest", ImageBanks.ManifestFile("img"), () => [BankManifest()],
            (_, dir) => ImageBanks.Load(dir, "img"))
        {
            // links, not copies: the reader only reads them, and 750 copies of the folder cost ~40 s
            Prepare = dir =>
            {
                foreach (var e in Directory.EnumerateFileSystemEntries(Dataset()))
                    if (Path.GetFileName(e) != ImageBanks.ManifestFile("img")) File.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(e)), e);
            },
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
        new("apt-packages", "Packages", () => [F("apt-fake", "Packages")],
            (_, dir) => DebianDepsBuilder.Build(AptInputs.FromDirectory(dir), titlesOnly: true, "full"))
        {
            Prepare = dir => CopyDir(Repo.Fixture("apt-fake"), dir, except: "Packages"),
        },
    ];
}
