using System.Globalization;
using System.Text;

namespace ViXml.Tests.Training;

/// <summary>
/// A small synthetic XMC dataset written in the repository layout, learnable from text: label i is named by a pair of
/// words (an animal and a colour); a query mentions its positives' words among filler words.
/// </summary>
public static class TinyXmc
{
    private static readonly string[] Animals = ["cat", "dog", "horse", "mouse", "bird", "fish", "snake", "frog", "lion", "tiger"];
    private static readonly string[] Colours = ["red", "green", "blue", "yellow", "black", "white"];
    private static readonly string[] Filler = ["the", "a", "with", "and", "of", "small", "big", "very", "new", "old"];

    public static int NumLabels => Animals.Length * Colours.Length;

    public static string Write(string dir, int train = 300, int test = 80, ulong seed = 1, bool filter = true)
    {
        Directory.CreateDirectory(dir);
        var rng = new ViXml.Training.Rng(seed);
        string Label(int l) => $"{Animals[l / Colours.Length]} {Colours[l % Colours.Length]}";
        var lbl = Enumerable.Range(0, NumLabels).Select(l => Label(l) + " thing").ToArray();
        (string[] X, List<int[]> Y) Split(int n)
        {
            var xs = new string[n];
            var ys = new List<int[]>();
            for (int i = 0; i < n; i++)
            {
                int a = rng.NextInt(Animals.Length), c = rng.NextInt(Colours.Length);
                var pos = new List<int> { a * Colours.Length + c };
                if (rng.NextDouble() < 0.5) pos.Add(a * Colours.Length + (c + 1) % Colours.Length);
                var words = new List<string> { Animals[a], Colours[c] };
                for (int f = 0; f < 3; f++) words.Insert(rng.NextInt(words.Count + 1), Filler[rng.NextInt(Filler.Length)]);
                xs[i] = string.Join(' ', words);
                ys.Add(pos.Distinct().Order().ToArray());
            }
            return (xs, ys);
        }
        var (trnX, trnY) = Split(train);
        var (tstX, tstY) = Split(test);
        File.WriteAllLines(Path.Combine(dir, "trn.raw.txt"), trnX);
        File.WriteAllLines(Path.Combine(dir, "tst.raw.txt"), tstX);
        File.WriteAllLines(Path.Combine(dir, "lbl.raw.txt"), lbl);
        WriteY(Path.Combine(dir, "trn_X_Y.txt"), trnY);
        WriteY(Path.Combine(dir, "tst_X_Y.txt"), tstY);
        if (filter) File.WriteAllText(Path.Combine(dir, "filter_labels_test.txt"), "0 59\n1 58\n");
        return dir;
    }

    private static void WriteY(string path, List<int[]> rows)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{rows.Count} {NumLabels}\n");
        foreach (var r in rows) sb.Append(string.Join(' ', r.Select(l => $"{l}:1"))).Append('\n');
        File.WriteAllText(path, sb.ToString());
    }
}
