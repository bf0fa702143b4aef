using System.Text.Json;
using ViXml.Common;
using ViXml.Xmc;

namespace ViXml.Experiments;

/// <summary>What <see cref="DatasetSubset.Write"/> made: the folder and its sizes beside the source's.</summary>
public sealed record SubsetInfo(string Source, string Directory, int TrainQueries, int TestQueries, int Labels,
    int SourceTrainQueries, int SourceTestQueries, int SourceLabels)
{
    /// <summary>What a table's scale line adds: which part of which dataset ran.</summary>
    public string Note =>
        $"; smoke subset of {Path.GetFileName(Source.TrimEnd('/'))}: first {TrainQueries} of {SourceTrainQueries} training and " +
        $"{TestQueries} of {SourceTestQueries} test queries, the {Labels} of {SourceLabels} labels they use";
}

/// <summary>
/// A smaller XC dataset folder cut from a built one, for the <c>smoke</c> profile: the first N training and M test
/// queries, and only the labels those rows carry (renumbered in their original order). Texts, ids, the test filter pairs
/// and every image bank come along (banks are copied whole; the trn/tst/lbl image maps are cut to the kept rows), so a
/// run on the subset goes through exactly the code a run on the source goes through, on a few hundred queries.
/// The folder has no manifest.json: it is derived data, rewritten by every smoke run (subset.json says from what).
/// </summary>
public static class DatasetSubset
{
    public const string InfoFile = "subset.json";

    public static SubsetInfo Write(string sourceDir, string destDir, int maxTrain, int maxTest)
    {
        if (maxTrain < 1 || maxTest < 1) throw new ArgumentException($"subset sizes must be positive (train {maxTrain}, test {maxTest})");
        string S(string f) => Path.Combine(sourceDir, f);
        var trn = XcSparse.Read(S("trn_X_Y.txt"));
        var tst = XcSparse.Read(S("tst_X_Y.txt"));
        if (trn.Cols != tst.Cols)
            throw new XmcFormatException(S("tst_X_Y.txt"), 1, $"{tst.Cols} labels in the header but trn_X_Y.txt has {trn.Cols}");
        int nTr = Math.Min(maxTrain, trn.Rows), nTe = Math.Min(maxTest, tst.Rows);
        // The labels the kept rows use, in their original order.
        var used = new bool[trn.Cols];
        for (int r = 0; r < nTr; r++) foreach (var c in trn.RowIndices(r)) used[c] = true;
        for (int r = 0; r < nTe; r++) foreach (var c in tst.RowIndices(r)) used[c] = true;
        var newOf = new int[trn.Cols];
        var kept = new List<int>();
        for (int c = 0; c < trn.Cols; c++) newOf[c] = used[c] ? Add(kept, c) : -1;

        var full = Path.GetFullPath(destDir);
        var parent = Path.GetDirectoryName(full) ?? throw new ArgumentException($"no parent folder for {destDir}");
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);
        string D(string f) => Path.Combine(tmp, f);

        XcSparse.Write(D("trn_X_Y.txt"), Cut(trn, nTr, newOf, kept.Count));
        XcSparse.Write(D("tst_X_Y.txt"), Cut(tst, nTe, newOf, kept.Count));
        foreach (var (file, rows) in new[] { ("trn.raw.txt", nTr), ("trn.ids.txt", nTr), ("tst.raw.txt", nTe), ("tst.ids.txt", nTe) })
            if (File.Exists(S(file))) RawText.Write(D(file), RawText.Read(S(file)).Take(rows));
        foreach (var file in new[] { "lbl.raw.txt", "lbl.ids.txt" })
            if (File.Exists(S(file)))
            {
                var lines = RawText.Read(S(file));
                if (lines.Length != trn.Cols) throw new XmcFormatException(S(file), 0, $"{lines.Length} lines but expected {trn.Cols}");
                RawText.Write(D(file), kept.Select(c => lines[c]));
            }
        if (File.Exists(S("filter_labels_test.txt")))
        {
            var f = FilterPairs.Read(S("filter_labels_test.txt"), tst.Rows, tst.Cols);
            new FilterPairs(f.Pairs.Where(p => p.Row < nTe && newOf[p.Col] >= 0).Select(p => (p.Row, newOf[p.Col]))).Write(D("filter_labels_test.txt"));
        }
        // Image banks: the bank rows are images, not items, so banks (and img.ids.txt) are copied as they are; only the
        // item -> image maps follow the kept rows.
        foreach (var name in ImageBanks.Names(sourceDir))
            foreach (var file in new[] { ImageBanks.EmbsFile(name), ImageBanks.ManifestFile(name) })
                if (File.Exists(S(file))) File.Copy(S(file), D(file));
        if (File.Exists(S(ImageBanks.ImageIdsFile))) File.Copy(S(ImageBanks.ImageIdsFile), D(ImageBanks.ImageIdsFile));
        foreach (var (split, rows) in new[] { ("trn", Enumerable.Range(0, nTr).ToList()), ("tst", Enumerable.Range(0, nTe).ToList()), ("lbl", kept) })
        {
            var mapFile = ImageBanks.MapFile(split);
            if (!File.Exists(S(mapFile))) continue;
            var m = ImageMap.Read(S(mapFile));
            var idx = new long[rows.Count * m.K];
            for (int i = 0; i < rows.Count; i++)
            {
                if (rows[i] >= m.Items) throw new XmcFormatException(S(mapFile), 0, $"image map has {m.Items} rows; item {rows[i]} is missing");
                Array.Copy(m.Indices, (long)rows[i] * m.K, idx, (long)i * m.K, m.K);
            }
            new ImageMap(rows.Count, m.K, idx).Write(D(mapFile));
        }
        var info = new SubsetInfo(Path.GetFullPath(sourceDir), full, nTr, nTe, kept.Count, trn.Rows, tst.Rows, trn.Cols);
        Atomic.WriteAllText(D(InfoFile), JsonSerializer.Serialize(new
        {
            source = info.Source, train_queries = nTr, test_queries = nTe, labels = kept.Count,
            source_train_queries = trn.Rows, source_test_queries = tst.Rows, source_labels = trn.Cols,
            rule = "first train/test rows; the labels those rows use, renumbered in their original order",
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        Directory.Move(tmp, full);
        return info with { Directory = full };
    }

    private static int Add(List<int> list, int value)
    {
        list.Add(value);
        return list.Count - 1;
    }

    /// <summary>The first <paramref name="rows"/> rows with their label columns renumbered through <paramref name="newOf"/>.</summary>
    private static CsrMatrix Cut(CsrMatrix m, int rows, int[] newOf, int cols)
    {
        var indptr = new int[rows + 1];
        var indices = new List<int>();
        var values = new List<float>();
        for (int r = 0; r < rows; r++)
        {
            var ix = m.RowIndices(r);
            var vs = m.RowValues(r);
            for (int p = 0; p < ix.Length; p++)
            {
                indices.Add(newOf[ix[p]]);
                values.Add(vs[p]);
            }
            indptr[r + 1] = indices.Count;
        }
        return new CsrMatrix(rows, cols, indptr, indices.ToArray(), values.ToArray()) { TextDecimals = m.TextDecimals };
    }
}
