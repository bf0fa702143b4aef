namespace ViXml.Xmc.Debian;

/// <summary>
/// "LF"-style datasets from Debian's package relationships (like LF-AmazonTitles): a query is a binary package, its
/// labels are the packages it Depends / Pre-Depends / Recommends / Suggests on, and every label is itself a package
/// with its own text (label features).
/// </summary>
public static class DebianDepsBuilder
{
    /// <summary>Relationship fields that make labels.</summary>
    public static readonly string[] RelationFields = ["Depends", "Pre-Depends", "Recommends", "Suggests"];

    /// <summary>Labels used by more queries than this are infrastructure (debconf, python3, perl), not meaning.</summary>
    public const int MaxLabelQueries = 500;

    /// <summary>Largest number of queries in the "small" size.</summary>
    public const int SmallQueries = 3000;

    /// <summary>One package as the builder sees it.</summary>
    public sealed record Package(string Name, string Section, string Short, string Long, IReadOnlyList<string> Relations);

    /// <summary>
    /// Why a package cannot be a label, or null if it can (transitional packages cannot be queries either). Libraries (lib* names except libreoffice*,
    /// sections libs/libdevel/oldlibs), -dev, -dbg, -dbgsym, -doc, -data packages and transitional packages.
    /// </summary>
    public static string? Excluded(Package p)
    {
        var n = p.Name;
        var section = p.Section.Contains('/') ? p.Section[(p.Section.LastIndexOf('/') + 1)..] : p.Section;
        if (IsTransitional(p)) return "transitional";
        if ((n.StartsWith("lib", StringComparison.Ordinal) && !n.StartsWith("libreoffice", StringComparison.Ordinal))
            || section is "libs" or "libdevel" or "oldlibs") return "library";
        if (n.EndsWith("-dev", StringComparison.Ordinal)) return "dev";
        if (n.EndsWith("-dbg", StringComparison.Ordinal) || n.EndsWith("-dbgsym", StringComparison.Ordinal)) return "dbg";
        if (n.EndsWith("-doc", StringComparison.Ordinal)) return "doc";
        if (n.EndsWith("-data", StringComparison.Ordinal)) return "data";
        return null;
    }

    /// <summary>Transitional (dummy) packages only pull in their replacement: neither queries nor labels.</summary>
    public static bool IsTransitional(Package p) => p.Short.Contains("transitional", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads Packages and Translation-en into packages (first stanza of a name wins; names sorted).</summary>
    public static List<Package> ReadPackages(AptInputs inputs)
    {
        // Long descriptions by (package, Description-md5), with a by-name fallback.
        var longByMd5 = new Dictionary<(string, string), string>();
        var longByName = new Dictionary<string, string>(StringComparer.Ordinal);
        var trKeep = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Package", "Description-md5", "Description-en" };
        foreach (var path in inputs.Translations)
        {
            AptInputs.CheckComplete(path);
            using var r = AptInputs.OpenText(path);
            foreach (var s in Deb822.Read(r, trKeep, path))
            {
                var name = s.Get("Package");
                var desc = s.Get("Description-en");
                if (name is null || desc is null) continue;
                var text = Deb822.LongDescription(desc);
                longByMd5.TryAdd((name, s.Get("Description-md5") ?? ""), text);
                longByName.TryAdd(name, text);
            }
        }
        var keep = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Package", "Section", "Description", "Description-md5" };
        foreach (var f in RelationFields) keep.Add(f);
        var byName = new Dictionary<string, Package>(StringComparer.Ordinal);
        foreach (var path in inputs.Packages)
        {
            AptInputs.CheckComplete(path);
            using var r = AptInputs.OpenText(path);
            foreach (var s in Deb822.Read(r, keep, path))
            {
                var name = s.Get("Package") ?? throw new XmcFormatException(path, s.Line, "stanza without a Package field");
                if (byName.ContainsKey(name)) continue;
                var desc = s.Get("Description") ?? "";
                var md5 = s.Get("Description-md5") ?? "";
                string longText = Deb822.LongDescription(desc);   // Packages may carry the long text itself
                if (longText.Length == 0)
                    longText = longByMd5.TryGetValue((name, md5), out var t) ? t : longByName.GetValueOrDefault(name, "");
                var rels = RelationFields.SelectMany(f => Deb822.RelationNames(s.Get(f))).ToList();
                byName[name] = new Package(name, s.Get("Section") ?? "", Deb822.ShortDescription(desc), longText, rels);
            }
        }
        return byName.Values.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Builds debian-deps-titles (short descriptions) or debian-deps (short + long descriptions).</summary>
    public static BuiltDataset Build(AptInputs inputs, bool titlesOnly, string size)
    {
        inputs.Require(translations: !titlesOnly, appstream: false);
        var d = Build(ReadPackages(inputs), titlesOnly, size);
        return d.WithInputs(inputs.Packages.Concat(inputs.Translations));
    }

    public static BuiltDataset Build(IReadOnlyList<Package> packages, bool titlesOnly, string size,
        int maxLabelQueries = MaxLabelQueries, int smallQueries = SmallQueries)
    {
        if (size is not ("small" or "full")) throw new ArgumentException($"size must be small or full, got '{size}'");
        var counts = new Dictionary<string, long> { ["packages"] = packages.Count };
        var pkg = packages.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var eligible = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in packages)
        {
            var why = Excluded(p);
            if (why is null) eligible.Add(p.Name);
            else counts["excluded_" + why] = counts.GetValueOrDefault("excluded_" + why) + 1;
        }

        // Relationship edges from every non-transitional package to label-eligible packages (self and virtual/unknown
        // names dropped).
        var edges = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        long droppedVirtual = 0;
        // Any package except a transitional one may be a query (a -doc or -dev package describing what it belongs
        // to is a fair query); only labels must be meaningful packages.
        foreach (var p in packages)
        {
            if (IsTransitional(p)) continue;
            var set = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var t in p.Relations)
            {
                if (t == p.Name) continue;
                if (!pkg.ContainsKey(t)) { droppedVirtual++; continue; }
                if (eligible.Contains(t)) set.Add(t);
            }
            edges[p.Name] = set;
        }
        counts["relation_targets_virtual_or_unknown"] = droppedVirtual;

        // Reciprocal pairs (A relates to B and B to A) leak the answer from the other side: they are removed from the
        // ground truth and listed in the filter file for test points, as LF datasets do.
        bool Reciprocal(string a, string b) => edges.TryGetValue(b, out var back) && back.Contains(a);
        long reciprocal = 0;
        var labelsOf = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (q, targets) in edges)
        {
            var l = new List<string>();
            foreach (var t in targets)
            {
                if (Reciprocal(q, t)) { reciprocal++; continue; }
                l.Add(t);
            }
            labelsOf[q] = l;
        }
        counts["reciprocal_pairs_removed"] = reciprocal;

        // Drop infrastructure labels (used by more than MaxLabelQueries queries).
        var freq = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var l in labelsOf.Values) foreach (var t in l) freq[t] = freq.GetValueOrDefault(t) + 1;
        var frequent = freq.Where(p => p.Value > maxLabelQueries).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        counts[$"labels_dropped_over_{maxLabelQueries}_queries"] = frequent.Count;
        var queries = labelsOf.Select(p => (Q: p.Key, L: p.Value.Where(t => !frequent.Contains(t)).ToList()))
            .Where(p => p.L.Count > 0).OrderBy(p => p.Q, StringComparer.Ordinal).ToList();
        counts["queries_full"] = queries.Count;

        if (size == "small") queries = SmallSubset(queries, smallQueries);

        var labelNames = queries.SelectMany(q => q.L).Distinct().Order(StringComparer.Ordinal).ToArray();
        var labelIndex = labelNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        string Text(string name) => titlesOnly || pkg[name].Long.Length == 0 ? pkg[name].Short : pkg[name].Short + " " + pkg[name].Long;

        var trn = queries.Where(q => !DatasetWriter.IsTest(q.Q)).ToList();
        var tst = queries.Where(q => DatasetWriter.IsTest(q.Q)).ToList();
        CsrMatrix Y(List<(string Q, List<string> L)> rows) =>
            CsrMatrix.FromRows(labelNames.Length, rows.Select(r => r.L.Select(t => labelIndex[t])).ToList());

        // Filter: the test package itself when it is also a label, and its reciprocal partners.
        var filter = new FilterPairs();
        for (int i = 0; i < tst.Count; i++)
        {
            var q = tst[i].Q;
            if (labelIndex.TryGetValue(q, out int self)) filter.Add(i, self);
            foreach (var t in edges[q])
                if (Reciprocal(q, t) && labelIndex.TryGetValue(t, out int j)) filter.Add(i, j);
        }

        return new BuiltDataset
        {
            Name = titlesOnly ? "debian-deps-titles" : "debian-deps",
            Size = size,
            TrainIds = trn.Select(q => q.Q).ToArray(),
            TestIds = tst.Select(q => q.Q).ToArray(),
            LabelIds = labelNames,
            TrainTexts = trn.Select(q => Text(q.Q)).ToArray(),
            TestTexts = tst.Select(q => Text(q.Q)).ToArray(),
            LabelTexts = labelNames.Select(Text).ToArray(),
            TrainY = Y(trn),
            TestY = Y(tst),
            Filter = filter,
            BuildCounts = counts,
            Notes =
            [
                "query = binary package; labels = packages named in Depends/Pre-Depends/Recommends/Suggests (all alternatives)",
                "never labels: lib* (except libreoffice*), sections libs/libdevel/oldlibs, -dev, -dbg, -dbgsym, -doc, -data, transitional ('transitional' in the short description), virtual/unknown names, the package itself; transitional packages are not queries either",
                "reciprocal pairs (A->B and B->A) removed from ground truth; labels used by more than 500 queries dropped; queries without labels dropped",
                titlesOnly ? "text = short description" : "text = short description + long description (Translation-en)",
                "split: test when the first 8 bytes of SHA-256(name), big-endian, modulo 5 == 0",
                "filter_labels_test.txt: (test row, label) for the package itself and its reciprocal partners",
                $"small: labels with 2..{Math.Max(2, smallQueries / 20)} queries visited in SHA-256(\"small:\"+label) order, all their queries taken while the total stays <= {smallQueries}; queries keep the chosen labels plus labels shared by >= 2 chosen queries",
            ],
        };
    }

    /// <summary>
    /// At most <paramref name="limit"/> queries, chosen so every label keeps several points: labels (with 2 to
    /// limit/20 queries) are visited in a stable hash order and all queries of a label are taken together while they
    /// fit; the queries then keep the chosen labels and any other label shared by at least two chosen queries.
    /// </summary>
    private static List<(string Q, List<string> L)> SmallSubset(List<(string Q, List<string> L)> queries, int limit)
    {
        if (queries.Count <= limit) return queries;
        var byLabel = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (q, l) in queries)
            foreach (var t in l)
            {
                if (!byLabel.TryGetValue(t, out var list)) byLabel[t] = list = new List<string>();
                list.Add(q);
            }
        int maxLabelSize = Math.Max(2, limit / 20);   // no single label may eat the budget
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var chosenLabels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in byLabel.Keys.OrderBy(t => DatasetWriter.StableHash("small:" + t)).ThenBy(t => t, StringComparer.Ordinal))
        {
            var members = byLabel[label];
            if (members.Count < 2 || members.Count > maxLabelSize) continue;
            int add = members.Count(q => !chosen.Contains(q));
            if (chosen.Count + add > limit) continue;
            foreach (var q in members) chosen.Add(q);
            chosenLabels.Add(label);
            if (chosen.Count == limit) break;
        }
        // Other labels of the chosen queries stay when at least two chosen queries share them.
        var subset = queries.Where(q => chosen.Contains(q.Q)).ToList();
        var inSubset = subset.SelectMany(q => q.L).GroupBy(t => t, StringComparer.Ordinal).Where(g => g.Count() >= 2).Select(g => g.Key);
        chosenLabels.UnionWith(inSubset);
        return subset.Select(q => (q.Q, q.L.Where(chosenLabels.Contains).ToList())).ToList();
    }
}
