using System.CommandLine;
using System.Globalization;
using ViXml.Training.Baselines;
using ViXml.Training.Data;
using ViXml.Xmc;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml baseline bm25 --data DIR [--json] [--k K] [--top-k N] [--out F]</c>: training-free baselines through the
/// same search/metrics path as trained models (JSON keys as <c>vixml metrics</c>).
/// </summary>
public sealed class BaselineCommand : ICliCommand
{
    public Command Build()
    {
        var data = new Option<string>("--data") { Description = "dataset folder (trn/tst/lbl raw texts, trn_X_Y.txt, tst_X_Y.txt, optional filter_labels_test.txt)", Required = true };
        var json = new Option<bool>("--json") { Description = "print one JSON object with the keys of `vixml metrics --json`" };
        var k = new Option<int>("--k") { Description = "largest metric cut-off K", DefaultValueFactory = _ => 5 };
        var topK = new Option<int>("--top-k") { Description = "predictions kept per query", DefaultValueFactory = _ => 100 };
        var a = new Option<double>("--a") { Description = "propensity A", DefaultValueFactory = _ => 0.6 };
        var b = new Option<double>("--b") { Description = "propensity B", DefaultValueFactory = _ => 2.6 };
        var k1 = new Option<double>("--k1") { Description = "BM25 k1", DefaultValueFactory = _ => 1.2 };
        var bb = new Option<double>("--bm25-b") { Description = "BM25 length normalisation b", DefaultValueFactory = _ => 0.75 };
        var outFile = new Option<string?>("--out") { Description = "also write the top-k predictions as an XC score matrix" };

        var bm25 = new Command("bm25", "Okapi BM25 (k1 1.2, b 0.75) from each test query's text to the label texts.");
        foreach (var o in new Option[] { data, json, k, topK, a, b, k1, bb, outFile }) bm25.Options.Add(o);
        bm25.SetAction(pr => UserErrors.Guard(() =>
        {
            if (pr.GetValue(k) < 1 || pr.GetValue(topK) < pr.GetValue(k)) throw new CliException("need 1 <= --k <= --top-k");
            if (Bm25.ParameterProblem(pr.GetValue(k1), pr.GetValue(bb)) is string bad) throw new CliException($"--k1/--bm25-b: {bad}");
            XmcDataset ds;
            try { ds = XmcDataset.Load(pr.GetValue(data)!); }
            catch (Exception e) when (e is IOException or InvalidDataException or XmcFormatException or ArgumentException)
            {
                throw new CliException(e.Message);
            }
            int tk = pr.GetValue(topK), kk = pr.GetValue(k);
            if (tk > ds.NumLabels)
            {
                Console.Error.WriteLine($"note: --top-k {tk} exceeds the {ds.NumLabels} labels; keeping {ds.NumLabels} per query");
                tk = Math.Max(1, ds.NumLabels);
                kk = Math.Min(kk, tk);
            }
            try { Propensity.Check(pr.GetValue(a), pr.GetValue(b)); }
            catch (ArgumentException e) { throw new CliException($"--a/--b: {e.Message}"); }
            var r = Bm25Baseline.Run(ds, tk, kk, pr.GetValue(a), pr.GetValue(b), pr.GetValue(k1), pr.GetValue(bb));
            if (pr.GetValue(outFile) is string o) XcSparse.Write(o, r.Predictions.ToCsr(ds.NumLabels));
            if (pr.GetValue(json)) Console.Out.WriteLine(r.Metrics.ToJson());
            else
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"BM25 on {ds.Dir}: {ds.TestTexts.Length} queries, {ds.NumLabels} labels, vocabulary {r.Vocabulary}, {r.Seconds:F2} s"));
                Console.Out.Write(r.Metrics.ToTable());
            }
            return 0;
        }));
        var cmd = new Command("baseline", "Training-free baselines (sanity anchors).");
        cmd.Subcommands.Add(bm25);
        return cmd;
    }
}
