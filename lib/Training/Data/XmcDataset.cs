using ViXml.Xmc;

namespace ViXml.Training.Data;

/// <summary>
/// A dataset folder in the Extreme Classification layout as the trainer needs it: the three raw-text files
/// (trn.raw.txt, tst.raw.txt, lbl.raw.txt; trn_X.txt / tst_X.txt / Y.txt are accepted as the repository's older names),
/// the train and test label matrices and the optional test filter. Shapes are cross-checked, errors name the file.
/// </summary>
public sealed class XmcDataset
{
    public required string Dir { get; init; }
    public required string[] TrainTexts { get; init; }
    public required string[] TestTexts { get; init; }
    public required string[] LabelTexts { get; init; }
    public required CsrMatrix TrainY { get; init; }
    public required CsrMatrix TestY { get; init; }
    public FilterPairs? Filter { get; init; }

    public int NumLabels => LabelTexts.Length;

    public static XmcDataset Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"dataset folder not found: {dir}");
        string Find(params string[] names)
        {
            foreach (var n in names)
            {
                var p = Path.Combine(dir, n);
                if (File.Exists(p)) return p;
            }
            throw new FileNotFoundException($"{dir}: none of {string.Join(", ", names)} found");
        }
        var trnX = RawText.Read(Find("trn.raw.txt", "trn_X.txt"));
        var tstX = RawText.Read(Find("tst.raw.txt", "tst_X.txt"));
        var lblPath = Find("lbl.raw.txt", "Y.txt", "lbl_X.txt");
        var lbl = RawText.Read(lblPath);
        var trnYPath = Find("trn_X_Y.txt");
        var tstYPath = Find("tst_X_Y.txt");
        var trnY = XcSparse.Read(trnYPath);
        var tstY = XcSparse.Read(tstYPath);
        void Check(bool ok, string msg) { if (!ok) throw new InvalidDataException(msg); }
        Check(trnY.Rows == trnX.Length, $"{trnYPath}: {trnY.Rows} rows but {trnX.Length} training texts");
        Check(tstY.Rows == tstX.Length, $"{tstYPath}: {tstY.Rows} rows but {tstX.Length} test texts");
        Check(trnY.Cols == lbl.Length, $"{trnYPath}: {trnY.Cols} label columns but {lblPath} has {lbl.Length} labels");
        Check(tstY.Cols == lbl.Length, $"{tstYPath}: {tstY.Cols} label columns but {lblPath} has {lbl.Length} labels");
        var filterPath = Path.Combine(dir, "filter_labels_test.txt");
        var filter = File.Exists(filterPath) ? FilterPairs.Read(filterPath, tstY.Rows, tstY.Cols) : null;
        return new XmcDataset
        {
            Dir = dir, TrainTexts = trnX, TestTexts = tstX, LabelTexts = lbl, TrainY = trnY, TestY = tstY, Filter = filter,
        };
    }

    /// <summary>Training rows with at least one label (rows without labels cannot give a positive).</summary>
    public int[] TrainRowsWithLabels() =>
        Enumerable.Range(0, TrainY.Rows).Where(r => TrainY.RowLength(r) > 0).ToArray();

    /// <summary>Evaluates ranked predictions for the test split: filter first, PSP from the training labels.</summary>
    public XmcMetricsResult Evaluate(TopK predictions, int k, double a, double b, int? firstRows = null)
    {
        var truth = TestY;
        if (firstRows is int n && n < TestY.Rows)
        {
            truth = new CsrMatrix(n, TestY.Cols, TestY.Indptr[..(n + 1)], TestY.Indices[..TestY.Indptr[n]],
                TestY.Values[..TestY.Indptr[n]]);
        }
        var w = Propensity.Inverse(TrainY, a, b);
        return XmcMetrics.Compute(truth, predictions, w, k, Filter);
    }
}
