using System.CommandLine;
using ViXml.Xmc;

namespace ViXml.Cli.Commands;

/// <summary>
/// <c>vixml metrics --truth F --scores F [--train F] [--filter F] [--a A] [--b B] [--k K] [--json]</c>:
/// pyxclib-identical P@k, nDCG@k, PSP@k, PSnDCG@k, R@k. A contract other tools rely on: keep keys and options stable.
/// </summary>
public sealed class MetricsCommand : ICliCommand
{
    public Command Build()
    {
        var truth = new Option<string>("--truth") { Description = "test ground truth (XC sparse format, e.g. tst_X_Y.txt)", Required = true };
        var scores = new Option<string>("--scores") { Description = "predicted scores (XC sparse format, e.g. score_mat.txt)", Required = true };
        var train = new Option<string?>("--train") { Description = "training labels (trn_X_Y.txt): enables PSP@k / PSnDCG@k" };
        var filter = new Option<string?>("--filter") { Description = "filter_labels_test.txt: (row col) pairs removed from the scores first" };
        var preset = new Option<string?>("--preset") { Description = "propensity preset: amazon (0.6/2.6), wikipedia (0.5/0.4), other (0.55/1.5)" };
        var a = new Option<double?>("--a") { Description = "propensity A (default 0.6, the Amazon value)" };
        var b = new Option<double?>("--b") { Description = "propensity B (default 2.6, the Amazon value)" };
        var k = new Option<int>("--k") { Description = "largest cut-off K", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "print one JSON object with keys P@1..P@K, nDCG@k, PSP@k, PSnDCG@k, R@k" };

        var cmd = new Command("metrics", "Evaluate a score matrix against ground truth (pyxclib definitions).");
        foreach (var o in new Option[] { truth, scores, train, filter, preset, a, b, k, json }) cmd.Options.Add(o);
        cmd.SetAction(pr => UserErrors.Guard(() =>
        {
            int kk = pr.GetValue(k);
            if (kk < 1) throw new CliException("--k must be at least 1");
            var p = PropensityParams.Amazon;
            try
            {
                if (pr.GetValue(preset) is string ps) p = PropensityParams.FromPreset(ps);
            }
            catch (ArgumentException e) { throw new CliException(e.Message); }
            p = new PropensityParams(pr.GetValue(a) ?? p.A, pr.GetValue(b) ?? p.B);
            try { Propensity.Check(p.A, p.B); }
            catch (ArgumentException e) { throw new CliException($"--a/--b: {e.Message}"); }

            XmcMetricsResult result;
            try
            {
                var y = XcSparse.Read(pr.GetValue(truth)!);
                if (y.Rows == 0)
                    throw new CliException($"{pr.GetValue(truth)}: no rows (header '0 {y.Cols}'): there are no test points to score, the metrics are undefined");
                if (kk > Math.Max(1, y.Cols))
                {
                    // a cut-off past the number of labels ranks nothing new: bounded, and said so
                    Console.Error.WriteLine($"note: --k {kk} exceeds the {y.Cols} labels of {pr.GetValue(truth)}; computing @1..{Math.Max(1, y.Cols)}");
                    kk = Math.Max(1, y.Cols);
                }
                var s = XcSparse.Read(pr.GetValue(scores)!);
                double[]? w = null;
                if (pr.GetValue(train) is string trainPath)
                {
                    var trn = XcSparse.Read(trainPath);
                    if (trn.Cols != y.Cols)
                        throw new CliException($"{trainPath} has {trn.Cols} labels but {pr.GetValue(truth)} has {y.Cols}");
                    w = Propensity.Inverse(trn, p);
                }
                var f = pr.GetValue(filter) is string fp ? FilterPairs.Read(fp, y.Rows, y.Cols) : null;
                result = XmcMetrics.Compute(y, s, w, kk, f);
            }
            catch (XmcFormatException e) { throw new CliException(e.Message); }
            catch (FileNotFoundException e) { throw new CliException(e.Message); }
            catch (ArgumentException e) { throw new CliException(e.Message); }

            if (pr.GetValue(json)) Console.Out.WriteLine(result.ToJson());
            else
            {
                if (result.Psp is not null) Console.Out.WriteLine($"propensity A={p.A} B={p.B}");
                Console.Out.Write(result.ToTable());
            }
            return 0;
        }));
        return cmd;
    }
}
