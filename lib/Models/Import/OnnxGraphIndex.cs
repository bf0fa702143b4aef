namespace ViXml.Models.Import;

/// <summary>A model whose graph does not have the shape an importer expects; the message names the file and the tensor/node.</summary>
public sealed class OnnxImportException(string message) : Exception(message);

/// <summary>One imported weight: its HF name and shape, float32 data, where it came from and whether it was transposed.</summary>
public sealed record ImportedTensor(string Name, long[] Shape, float[] Data, string OnnxName, bool Transposed, string Via);

/// <summary>An initializer deliberately not written, with the reason (graph constants, HF buffers).</summary>
public sealed record SkippedInitializer(string OnnxName, string Reason);

/// <summary>Producer/consumer lookups over an ONNX graph, and constant values (initializers or Constant nodes).</summary>
public sealed class OnnxGraphIndex
{
    public OnnxModel Model { get; }
    public OnnxGraph Graph => Model.Graph;
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }
    private readonly Dictionary<string, OnnxNode> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);

    public OnnxGraphIndex(OnnxModel model)
    {
        Model = model;
        var inits = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        foreach (var t in model.Graph.Initializers)
            if (!inits.TryAdd(t.Name, t)) throw Error($"initializer '{t.Name}' appears twice");
        Initializers = inits;
        foreach (var n in model.Graph.Nodes)
        {
            foreach (var o in n.Outputs)
                if (o != "" && !_producer.TryAdd(o, n)) throw Error($"value '{o}' is produced by two nodes ('{_producer[o].Name}', '{n.Name}')");
            foreach (var i in n.Inputs)
            {
                if (i == "") continue;
                if (!_consumers.TryGetValue(i, out var l)) _consumers[i] = l = [];
                l.Add(n);
            }
        }
    }

    public OnnxImportException Error(string what) => new($"{Model.File}: {what}");

    public OnnxNode? Producer(string value) => _producer.GetValueOrDefault(value);
    public IReadOnlyList<OnnxNode> Consumers(string value) => _consumers.TryGetValue(value, out var l) ? l : [];

    public IEnumerable<OnnxNode> Nodes(string opType) => Graph.Nodes.Where(n => n.OpType == opType);

    /// <summary>The float values of a constant input (an initializer or a Constant node's value), or null.</summary>
    public float[]? ConstantFloats(string value)
    {
        if (Initializers.TryGetValue(value, out var t) && t.DataType == OnnxDataType.Float) return t.ToFloats();
        if (Producer(value) is { OpType: "Constant" } c && c.Attr("value")?.T is { DataType: OnnxDataType.Float } ct) return ct.ToFloats();
        return null;
    }

    /// <summary>The one scalar float constant among a node's inputs (e.g. the eps of an Add, the divisor of a Div).</summary>
    public float? ScalarInput(OnnxNode n)
    {
        foreach (var i in n.Inputs)
            if (ConstantFloats(i) is [var v]) return v;
        return null;
    }

    /// <summary>The single consumer of <paramref name="value"/> with op <paramref name="op"/>, or null.</summary>
    public OnnxNode? OnlyConsumer(string value, string op)
    {
        var c = Consumers(value);
        return c.Count == 1 && c[0].OpType == op ? c[0] : null;
    }

    /// <summary>A float32 value as the shortest decimal that round-trips (1e-12 rather than 9.99999996e-13).</summary>
    public static double Shortest(float f) =>
        double.Parse(f.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>[rows, cols] row-major → [cols, rows].</summary>
    public static float[] Transpose2D(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[(long)c * rows + r] = a[(long)r * cols + c];
        return t;
    }
}
