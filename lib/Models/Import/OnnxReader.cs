using System.Buffers.Binary;
using System.Text;

namespace ViXml.Models.Import;

/// <summary>An ONNX file that cannot be read; the message names the file, the message path and what is wrong.</summary>
public sealed class OnnxFormatException(string message) : Exception(message);

/// <summary>ONNX <c>TensorProto.DataType</c> values this reader knows by name (others keep their number).</summary>
public enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
    Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, BFloat16 = 16,
}

/// <summary>One initializer or attribute tensor. Float data is decoded on demand from raw_data or float_data.</summary>
public sealed class OnnxTensor
{
    public required string Name { get; init; }
    public required OnnxDataType DataType { get; init; }
    public required long[] Dims { get; init; }
    /// <summary>Little-endian raw_data bytes (a slice of the file buffer), empty when the typed field is used.</summary>
    internal ReadOnlyMemory<byte> Raw { get; init; }
    internal float[]? FloatData { get; init; }
    internal long[]? Int64Data { get; init; }
    internal int[]? Int32Data { get; init; }
    internal string Where { get; init; } = "";

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>A FLOAT tensor from values (tests and graph rewrites).</summary>
    public static OnnxTensor FromFloats(string name, long[] dims, float[] data) =>
        new() { Name = name, DataType = OnnxDataType.Float, Dims = dims, FloatData = data, Where = "(in memory)" };

    /// <summary>The values as float32 (FLOAT tensors only); an error naming the tensor if the data does not fit the dims.</summary>
    public float[] ToFloats()
    {
        if (DataType != OnnxDataType.Float)
            throw new OnnxFormatException($"{Where}: tensor '{Name}' is {DataType}, expected FLOAT");
        long n = ElementCount;
        if (n > Array.MaxLength / 4) throw new OnnxFormatException($"{Where}: tensor '{Name}' dims [{string.Join(", ", Dims)}] are too large ({n} elements)");
        if (FloatData is { Length: > 0 } fd)
        {
            if (fd.Length != n) throw new OnnxFormatException($"{Where}: tensor '{Name}' dims [{string.Join(", ", Dims)}] need {n} floats, float_data has {fd.Length}");
            return (float[])fd.Clone();
        }
        if (Raw.Length != n * 4)
            throw new OnnxFormatException($"{Where}: tensor '{Name}' dims [{string.Join(", ", Dims)}] need {n * 4} bytes, raw_data has {Raw.Length}");
        var result = new float[n];
        var span = Raw.Span;
        for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(span.Slice(4 * i, 4));
        return result;
    }

    /// <summary>The values as int64 (INT64 or INT32 tensors, e.g. shape constants).</summary>
    public long[] ToInt64s()
    {
        long n = ElementCount;
        if (n > Array.MaxLength / 8) throw new OnnxFormatException($"{Where}: tensor '{Name}' dims [{string.Join(", ", Dims)}] are too large ({n} elements)");
        if (DataType == OnnxDataType.Int64)
        {
            if (Int64Data is { Length: > 0 } d) return d.Length == n ? (long[])d.Clone() : throw Bad(d.Length);
            if (Raw.Length != n * 8) throw Bad(Raw.Length / 8);
            var r = new long[n];
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt64LittleEndian(Raw.Span.Slice(8 * i, 8));
            return r;
        }
        if (DataType == OnnxDataType.Int32)
        {
            if (Int32Data is { Length: > 0 } d) return d.Length == n ? d.Select(x => (long)x).ToArray() : throw Bad(d.Length);
            if (Raw.Length != n * 4) throw Bad(Raw.Length / 4);
            var r = new long[n];
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt32LittleEndian(Raw.Span.Slice(4 * i, 4));
            return r;
        }
        throw new OnnxFormatException($"{Where}: tensor '{Name}' is {DataType}, expected an integer type");
        OnnxFormatException Bad(long got) =>
            new($"{Where}: tensor '{Name}' dims [{string.Join(", ", Dims)}] need {n} values, found {got}");
    }
}

/// <summary>One node attribute (the scalar/list kinds ONNX graphs use; subgraphs are rejected).</summary>
public sealed record OnnxAttribute(string Name, int Type, float F, long I, byte[] S, float[] Floats, long[] Ints, OnnxTensor? T)
{
    public string Text => Encoding.UTF8.GetString(S);
}

public sealed record OnnxNode(string Name, string OpType, string Domain, string[] Inputs, string[] Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    public OnnxAttribute? Attr(string name) => Attributes.TryGetValue(name, out var a) ? a : null;
}

/// <summary>A graph input or output: name, element type, dims (a symbolic dim is -1 with its name in DimParams).</summary>
public sealed record OnnxValueInfo(string Name, int ElemType, long[] Dims, string?[] DimParams);

public sealed record OnnxGraph(string Name, IReadOnlyList<OnnxNode> Nodes, IReadOnlyList<OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs, IReadOnlyList<OnnxValueInfo> Outputs);

public sealed record OnnxModel(string File, long IrVersion, string ProducerName, string ProducerVersion,
    IReadOnlyDictionary<string, long> Opsets, OnnxGraph Graph);

/// <summary>
/// A small reader over the protobuf wire format of ONNX's <c>ModelProto</c>, covering what importers need: graph
/// nodes (inputs, outputs, op type, attributes), initializers (dims, data type, raw_data / float_data / int data),
/// graph inputs and outputs with their shapes, opsets and producer. Every length is checked against the bytes that
/// remain in its enclosing message before anything is allocated, so a truncated or corrupt file gives an
/// <see cref="OnnxFormatException"/> naming the file, the message path and the offset — never a huge allocation or an
/// index error. Unknown fields are skipped as protobuf requires; tensors stored outside the file (external_data) are
/// refused.
/// </summary>
public static class OnnxReader
{
    public static OnnxModel ReadFile(string path)
    {
        if (!File.Exists(path)) throw new OnnxFormatException($"{path}: file not found");
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses <paramref name="bytes"/> (kept alive: raw tensor data are slices of it); <paramref name="file"/> names it in errors.</summary>
    public static OnnxModel Read(byte[] bytes, string file)
    {
        var r = new Wire(bytes, 0, bytes.Length, file, "ModelProto");
        long ir = 0;
        string producer = "", producerVersion = "";
        var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        OnnxGraph? graph = null;
        while (r.More)
        {
            var (field, wt) = r.Tag();
            switch (field)
            {
                case 1: ir = r.Varint(wt, "ir_version"); break;
                case 2: producer = r.String(wt, "producer_name"); break;
                case 3: producerVersion = r.String(wt, "producer_version"); break;
                case 7:
                    if (graph is not null) throw r.Error("more than one graph");
                    graph = ReadGraph(r.Sub(wt, "graph"));
                    break;
                case 8:
                {
                    var s = r.Sub(wt, "opset_import");
                    string domain = ""; long version = 0;
                    while (s.More)
                    {
                        var (f2, w2) = s.Tag();
                        if (f2 == 1) domain = s.String(w2, "domain");
                        else if (f2 == 2) version = s.Varint(w2, "version");
                        else s.Skip(w2);
                    }
                    opsets[domain == "" ? "ai.onnx" : domain] = version;
                    break;
                }
                default: r.Skip(wt); break;
            }
        }
        if (graph is null) throw new OnnxFormatException($"{file}: not an ONNX model: no graph (ModelProto field 7) found");
        if (ir <= 0) throw new OnnxFormatException($"{file}: not an ONNX model: ir_version missing or {ir}");
        return new OnnxModel(file, ir, producer, producerVersion, opsets, graph);
    }

    private static OnnxGraph ReadGraph(Wire r)
    {
        string name = "";
        var nodes = new List<OnnxNode>();
        var inits = new List<OnnxTensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        while (r.More)
        {
            var (field, wt) = r.Tag();
            switch (field)
            {
                case 1: nodes.Add(ReadNode(r.Sub(wt, $"node[{nodes.Count}]"))); break;
                case 2: name = r.String(wt, "name"); break;
                case 5: inits.Add(ReadTensor(r.Sub(wt, $"initializer[{inits.Count}]"))); break;
                case 11: inputs.Add(ReadValueInfo(r.Sub(wt, $"input[{inputs.Count}]"))); break;
                case 12: outputs.Add(ReadValueInfo(r.Sub(wt, $"output[{outputs.Count}]"))); break;
                case 15: throw r.Error("sparse initializers are not supported");
                default: r.Skip(wt); break;
            }
        }
        return new OnnxGraph(name, nodes, inits, inputs, outputs);
    }

    private static OnnxNode ReadNode(Wire r)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", op = "", domain = "";
        var attrs = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        while (r.More)
        {
            var (field, wt) = r.Tag();
            switch (field)
            {
                case 1: inputs.Add(r.String(wt, "input")); break;
                case 2: outputs.Add(r.String(wt, "output")); break;
                case 3: name = r.String(wt, "name"); break;
                case 4: op = r.String(wt, "op_type"); break;
                case 7: domain = r.String(wt, "domain"); break;
                case 5:
                {
                    var a = ReadAttribute(r.Sub(wt, $"attribute[{attrs.Count}]"));
                    if (!attrs.TryAdd(a.Name, a)) throw r.Error($"attribute '{a.Name}' appears twice");
                    break;
                }
                default: r.Skip(wt); break;
            }
        }
        if (op == "") throw r.Error($"node '{name}' has no op_type");
        return new OnnxNode(name, op, domain, inputs.ToArray(), outputs.ToArray(), attrs);
    }

    private static OnnxAttribute ReadAttribute(Wire r)
    {
        string name = "";
        int type = 0;
        float f = 0; long i = 0; byte[] s = [];
        var floats = new List<float>();
        var ints = new List<long>();
        OnnxTensor? t = null;
        while (r.More)
        {
            var (field, wt) = r.Tag();
            switch (field)
            {
                case 1: name = r.String(wt, "name"); break;
                case 20: type = (int)r.Varint(wt, "type"); break;
                case 2: f = r.Fixed32Float(wt, "f"); break;
                case 3: i = r.Varint(wt, "i"); break;
                case 4: s = r.Bytes(wt, "s").ToArray(); break;
                case 5: t = ReadTensor(r.Sub(wt, "t")); break;
                case 7: r.RepeatedFloat(wt, "floats", floats); break;
                case 8: r.RepeatedVarint(wt, "ints", ints); break;
                case 6 or 11: throw r.Error($"attribute '{name}': subgraph attributes are not supported");
                default: r.Skip(wt); break;
            }
        }
        return new OnnxAttribute(name, type, f, i, s, floats.ToArray(), ints.ToArray(), t);
    }

    private static OnnxTensor ReadTensor(Wire r)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        ReadOnlyMemory<byte> raw = default;
        var floats = new List<float>();
        var int32s = new List<long>();
        var int64s = new List<long>();
        while (r.More)
        {
            var (field, wt) = r.Tag();
            switch (field)
            {
                case 1: r.RepeatedVarint(wt, "dims", dims); break;
                case 2: dataType = (int)r.Varint(wt, "data_type"); break;
                case 4: r.RepeatedFloat(wt, "float_data", floats); break;
                case 5: r.RepeatedVarint(wt, "int32_data", int32s); break;
                case 7: r.RepeatedVarint(wt, "int64_data", int64s); break;
                case 8: name = r.String(wt, "name"); break;
                case 9: raw = r.Bytes(wt, "raw_data"); break;
                case 13: throw r.Error($"tensor '{name}' keeps its data outside the file (external_data), not supported");
                case 14:
                    if (r.Varint(wt, "data_location") != 0) throw r.Error($"tensor '{name}' keeps its data outside the file");
                    break;
                default: r.Skip(wt); break;
            }
        }
        foreach (var d in dims)
            if (d < 0) throw r.Error($"tensor '{name}' has a negative dimension in [{string.Join(", ", dims)}]");
        try { _ = dims.Aggregate(1L, (a, d) => checked(a * d)); }
        catch (OverflowException) { throw r.Error($"tensor '{name}': dims [{string.Join(", ", dims)}] overflow"); }
        return new OnnxTensor
        {
            Name = name, DataType = (OnnxDataType)dataType, Dims = dims.ToArray(), Raw = raw,
            FloatData = floats.Count > 0 ? floats.ToArray() : null,
            Int32Data = int32s.Count > 0 ? int32s.Select(x => (int)x).ToArray() : null,
            Int64Data = int64s.Count > 0 ? int64s.ToArray() : null,
            Where = $"{r.File}: {r.Path}",
        };
    }

    private static OnnxValueInfo ReadValueInfo(Wire r)
    {
        string name = "";
        int elem = 0;
        var dims = new List<long>();
        var dimParams = new List<string?>();
        while (r.More)
        {
            var (field, wt) = r.Tag();
            if (field == 1) name = r.String(wt, "name");
            else if (field == 2)
            {
                var type = r.Sub(wt, "type");
                while (type.More)
                {
                    var (f2, w2) = type.Tag();
                    if (f2 != 1) { type.Skip(w2); continue; }
                    var tt = type.Sub(w2, "tensor_type");
                    while (tt.More)
                    {
                        var (f3, w3) = tt.Tag();
                        if (f3 == 1) elem = (int)tt.Varint(w3, "elem_type");
                        else if (f3 == 2)
                        {
                            var shape = tt.Sub(w3, "shape");
                            while (shape.More)
                            {
                                var (f4, w4) = shape.Tag();
                                if (f4 != 1) { shape.Skip(w4); continue; }
                                var dim = shape.Sub(w4, "dim");
                                long v = -1; string? p = null;
                                while (dim.More)
                                {
                                    var (f5, w5) = dim.Tag();
                                    if (f5 == 1) v = dim.Varint(w5, "dim_value");
                                    else if (f5 == 2) p = dim.String(w5, "dim_param");
                                    else dim.Skip(w5);
                                }
                                dims.Add(v); dimParams.Add(p);
                            }
                        }
                        else tt.Skip(w3);
                    }
                }
            }
            else r.Skip(wt);
        }
        return new OnnxValueInfo(name, elem, dims.ToArray(), dimParams.ToArray());
    }

    /// <summary>A cursor over one protobuf message: [pos, end) of the shared buffer, with its path for messages.</summary>
    private sealed class Wire(byte[] buf, int pos, int end, string file, string path)
    {
        private int _pos = pos;
        public string File { get; } = file;
        public string Path { get; } = path;
        public bool More => _pos < end;

        public OnnxFormatException Error(string what) =>
            new($"{File}: {Path} (byte offset {_pos}): {what} (file truncated or corrupt?)");

        public (int Field, int WireType) Tag()
        {
            ulong tag = RawVarint("field tag");
            int field = (int)(tag >> 3), wt = (int)(tag & 7);
            if (field == 0 || tag >> 3 > int.MaxValue) throw Error($"invalid field number in tag {tag}");
            return (field, wt);
        }

        private ulong RawVarint(string what)
        {
            ulong result = 0;
            for (int shift = 0; shift < 70; shift += 7)
            {
                if (_pos >= end) throw Error($"{what}: varint runs past the end of the message");
                byte b = buf[_pos++];
                if (shift == 63 && b > 1) throw Error($"{what}: varint longer than 64 bits");
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw Error($"{what}: varint longer than 10 bytes");
        }

        private void Expect(int wt, int want, string what)
        {
            if (wt != want) throw Error($"field '{what}' has wire type {wt}, expected {want}");
        }

        public long Varint(int wt, string what)
        {
            Expect(wt, 0, what);
            return (long)RawVarint(what);
        }

        private int Length(string what)
        {
            ulong len = RawVarint(what + " length");
            if (len > (ulong)(end - _pos))
                throw Error($"field '{what}' declares {len} bytes but only {end - _pos} remain in its message");
            return (int)len;
        }

        public ReadOnlyMemory<byte> Bytes(int wt, string what)
        {
            Expect(wt, 2, what);
            int len = Length(what);
            var m = new ReadOnlyMemory<byte>(buf, _pos, len);
            _pos += len;
            return m;
        }

        public string String(int wt, string what)
        {
            var b = Bytes(wt, what);
            try { return new UTF8Encoding(false, true).GetString(b.Span); }
            catch (DecoderFallbackException) { throw Error($"field '{what}' is not valid UTF-8"); }
        }

        public Wire Sub(int wt, string what)
        {
            Expect(wt, 2, what);
            int len = Length(what);
            var w = new Wire(buf, _pos, _pos + len, File, $"{Path}.{what}");
            _pos += len;
            return w;
        }

        public float Fixed32Float(int wt, string what)
        {
            Expect(wt, 5, what);
            if (end - _pos < 4) throw Error($"field '{what}': 4 bytes needed, {end - _pos} remain");
            float f = BinaryPrimitives.ReadSingleLittleEndian(buf.AsSpan(_pos, 4));
            _pos += 4;
            return f;
        }

        /// <summary>Packed (wire type 2) or one unpacked (wire type 5) float.</summary>
        public void RepeatedFloat(int wt, string what, List<float> into)
        {
            if (wt == 5) { into.Add(Fixed32Float(wt, what)); return; }
            Expect(wt, 2, what);
            int len = Length(what);
            if (len % 4 != 0) throw Error($"packed field '{what}' has {len} bytes, not a multiple of 4");
            into.Capacity = Math.Max(into.Capacity, into.Count + len / 4);
            for (int i = 0; i < len; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(buf.AsSpan(_pos + i, 4)));
            _pos += len;
        }

        /// <summary>Packed (wire type 2) or one unpacked (wire type 0) varint.</summary>
        public void RepeatedVarint(int wt, string what, List<long> into)
        {
            if (wt == 0) { into.Add((long)RawVarint(what)); return; }
            Expect(wt, 2, what);
            int len = Length(what);
            var sub = new Wire(buf, _pos, _pos + len, File, $"{Path}.{what}");
            while (sub.More) into.Add((long)sub.RawVarint(what));
            _pos += len;
        }

        public void Skip(int wt)
        {
            switch (wt)
            {
                case 0: RawVarint("skipped field"); break;
                case 1:
                    if (end - _pos < 8) throw Error("skipped fixed64 field runs past the end");
                    _pos += 8; break;
                case 2: { int len = Length("skipped field"); _pos += len; break; }
                case 5:
                    if (end - _pos < 4) throw Error("skipped fixed32 field runs past the end");
                    _pos += 4; break;
                default: throw Error($"unsupported wire type {wt} (groups or garbage)");
            }
        }
    }
}
