namespace ViXml.Xmc;

/// <summary>
/// A dataset folder in the XC layout, loaded: label matrices, texts, optional ids, filter and image bank/maps.
/// What the trainer and the notebooks start from. Files are validated while loading (errors name file and line).
/// </summary>
public sealed class XmcDataset
{
    /// <summary>The folder it was loaded from.</summary>
    public required string Dir { get; init; }
    /// <summary>Training labels (rows = training points).</summary>
    public required CsrMatrix TrainY { get; init; }
    /// <summary>Test labels (rows = test points).</summary>
    public required CsrMatrix TestY { get; init; }
    /// <summary>Texts of the training points (trn.raw.txt).</summary>
    public required string[] TrainTexts { get; init; }
    /// <summary>Texts of the test points (tst.raw.txt).</summary>
    public required string[] TestTexts { get; init; }
    /// <summary>Label texts (lbl.raw.txt), or null when the folder has none.</summary>
    public string[]? LabelTexts { get; init; }
    /// <summary>Identifiers (trn/tst/lbl.ids.txt), or null.</summary>
    public string[]? TrainIds { get; init; }
    public string[]? TestIds { get; init; }
    public string[]? LabelIds { get; init; }
    /// <summary>Pairs removed from test predictions before scoring (filter_labels_test.txt), or null.</summary>
    public FilterPairs? Filter { get; init; }
    /// <summary>Image bank (img_embs.npy) and per-item maps, or null for text-only datasets.</summary>
    public ImageBank? Images { get; init; }
    public ImageMap? TrainImages { get; init; }
    public ImageMap? TestImages { get; init; }
    public ImageMap? LabelImages { get; init; }

    public int NumLabels => TrainY.Cols;

    /// <summary>Inverse propensities from the training labels (pyxclib's formula).</summary>
    public double[] InversePropensity(PropensityParams p) => Propensity.Inverse(TrainY, p);

    /// <summary>Short texts (trn/tst.title.txt) when the folder has them, else null.</summary>
    public (string[] Train, string[] Test)? Titles()
    {
        var a = Path.Combine(Dir, "trn.title.txt");
        var b = Path.Combine(Dir, "tst.title.txt");
        return File.Exists(a) && File.Exists(b) ? (RawText.Read(a), RawText.Read(b)) : null;
    }

    public static XmcDataset Load(string dir)
    {
        if (File.Exists(dir)) throw new XmcFormatException(dir, 0, "is a file; a dataset is a folder (trn_X_Y.txt, tst_X_Y.txt, *.raw.txt)");
        if (!Directory.Exists(dir)) throw new XmcFormatException(dir, 0, "no such dataset folder (build one with `vixml data build`)");
        // A dataset built by `vixml data build` records sizes and checksums: a modified, truncated or half-rebuilt
        // folder is refused here rather than trained on.
        if (DatasetManifest.Verify(dir, checksums: false) is { Count: > 0 } bad)
            throw new XmcFormatException(Path.Combine(dir, DatasetManifest.FileName), 0,
                $"the folder does not match its manifest: {bad[0]}{(bad.Count > 1 ? $" (and {bad.Count - 1} more; run `vixml data check {dir}`)" : "")}");
        string P(string f) => Path.Combine(dir, f);
        string[]? Opt(string f) => File.Exists(P(f)) ? RawText.Read(P(f)) : null;
        var trn = XcSparse.Read(P("trn_X_Y.txt"));
        var tst = XcSparse.Read(P("tst_X_Y.txt"));
        if (trn.Cols != tst.Cols)
            throw new XmcFormatException(P("tst_X_Y.txt"), 1, $"{tst.Cols} labels in the header but trn_X_Y.txt has {trn.Cols}");
        void Count(string f, string[]? lines, int n)
        {
            if (lines is not null && lines.Length != n) throw new XmcFormatException(P(f), 0, $"{lines.Length} lines but expected {n}");
        }
        var trnText = RawText.Read(P("trn.raw.txt"));
        var tstText = RawText.Read(P("tst.raw.txt"));
        Count("trn.raw.txt", trnText, trn.Rows);
        Count("tst.raw.txt", tstText, tst.Rows);
        var lbl = Opt("lbl.raw.txt"); Count("lbl.raw.txt", lbl, trn.Cols);
        var trnIds = Opt("trn.ids.txt"); Count("trn.ids.txt", trnIds, trn.Rows);
        var tstIds = Opt("tst.ids.txt"); Count("tst.ids.txt", tstIds, tst.Rows);
        var lblIds = Opt("lbl.ids.txt"); Count("lbl.ids.txt", lblIds, trn.Cols);
        var filter = File.Exists(P("filter_labels_test.txt")) ? FilterPairs.Read(P("filter_labels_test.txt"), tst.Rows, tst.Cols) : null;
        var bank = File.Exists(P("img_embs.npy")) ? ImageBank.Read(P("img_embs.npy")) : null;
        ImageMap? Map(string f, int rows) => bank is not null && File.Exists(P(f)) ? ImageMap.Read(P(f), bank.NumImages, rows) : null;
        return new XmcDataset
        {
            Dir = dir,
            TrainY = trn,
            TestY = tst,
            TrainTexts = trnText,
            TestTexts = tstText,
            LabelTexts = lbl,
            TrainIds = trnIds,
            TestIds = tstIds,
            LabelIds = lblIds,
            Filter = filter,
            Images = bank,
            TrainImages = Map("trn_img_map.npy", trn.Rows),
            TestImages = Map("tst_img_map.npy", tst.Rows),
            LabelImages = Map("lbl_img_map.npy", trn.Cols),
        };
    }
}
