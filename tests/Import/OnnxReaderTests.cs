using System.Buffers.Binary;
using System.Text;
using ViXml.Models.Import;
using ViXml.Tests.TestSupport;

namespace ViXml.Tests.Import;

/// <summary>
/// The ONNX reader against protobuf bytes built here field by field (an independent encoding of the wire format:
/// tags, varints, packed fields), and its behaviour on truncated and bit-flipped files: an OnnxFormatException naming
/// the file, never another exception type or a huge allocation.
/// </summary>
public class OnnxReaderTests
{
    // ---- a minimal protobuf writer (wire format: tag = field << 3 | wire type; LEN fields prefixed by a varint)
    private static byte[] Varint(ulong v)
    {
        var b = new List<byte>();
        do { byte x = (byte)(v & 0x7F); v >>= 7; b.Add(v != 0 ? (byte)(x | 0x80) : x); } while (v != 0);
        return b.ToArray();
    }
    private static byte[] VarintField(int field, long v) => [.. Varint((ulong)(field << 3)), .. Varint((ulong)v)];
    private static byte[] Len(int field, byte[] payload) => [.. Varint((ulong)(field << 3 | 2)), .. Varint((ulong)payload.Length), .. payload];
    private static byte[] Str(int field, string s) => Len(field, Encoding.UTF8.GetBytes(s));
    private static byte[] Floats(float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    /// <summary>A tiny graph: y = MatMul(x, W) + b with W as raw_data, b as packed float_data, one Constant node.</summary>
    public static byte[] TinyModel()
    {
        var w = Concat(Len(1, [.. Varint(2), .. Varint(3)]), VarintField(2, 1), Str(8, "W"), Len(9, Floats([1, 2, 3, 4, 5, 6])));
        var b = Concat(VarintField(1, 3), VarintField(2, 1), Str(8, "b"), Len(4, Floats([0.5f, -1, 2])));
        var attr = Concat(Str(1, "value"), VarintField(20, 4), Len(5, Concat(VarintField(2, 1), Len(4, Floats([1e-12f])))));
        var constant = Concat(Str(2, "eps"), Str(3, "c0"), Str(4, "Constant"), Len(5, attr));
        var matmul = Concat(Str(1, "x"), Str(1, "W"), Str(2, "xw"), Str(3, "mm"), Str(4, "MatMul"));
        var add = Concat(Str(1, "xw"), Str(1, "b"), Str(2, "y"), Str(3, "add"), Str(4, "Add"),
            Len(5, Concat(Str(1, "axis"), VarintField(20, 2), VarintField(3, -1))));
        var dim = (long d) => Len(1, VarintField(1, d));
        var xInfo = Concat(Str(1, "x"), Len(2, Len(1, Concat(VarintField(1, 1), Len(2, Concat(Len(1, Str(2, "batch")), dim(2)))))));
        var yInfo = Concat(Str(1, "y"), Len(2, Len(1, Concat(VarintField(1, 1), Len(2, Concat(dim(4), dim(3)))))));
        var graph = Concat(Len(1, constant), Len(1, matmul), Len(1, add), Str(2, "tiny"), Len(5, w), Len(5, b), Len(11, xInfo), Len(12, yInfo),
            Len(10, Encoding.UTF8.GetBytes("doc string, skipped")));
        // graph last, so every strict prefix of the file lacks a complete graph
        return Concat(VarintField(1, 7), Str(2, "hand"), Str(3, "1.0"), Len(8, Concat(Str(1, ""), VarintField(2, 13))),
            Len(8, Concat(Str(1, "com.example"), VarintField(2, 2))), Len(7, graph));
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void ReadsEveryFieldOfAHandEncodedModel()
    {
        var m = OnnxReader.Read(TinyModel(), "tiny.onnx");
        Assert.Equal(7, m.IrVersion);
        Assert.Equal("hand", m.ProducerName);
        Assert.Equal(13, m.Opsets["ai.onnx"]);
        Assert.Equal(2, m.Opsets["com.example"]);
        Assert.Equal("tiny", m.Graph.Name);
        Assert.Equal(["Constant", "MatMul", "Add"], m.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(["x", "W"], m.Graph.Nodes[1].Inputs);
        Assert.Equal(-1, m.Graph.Nodes[2].Attr("axis")!.I);
        Assert.Equal(1e-12f, m.Graph.Nodes[0].Attr("value")!.T!.ToFloats().Single());
        var w = m.Graph.Initializers[0];
        Assert.Equal([2L, 3], w.Dims);
        Assert.Equal([1f, 2, 3, 4, 5, 6], w.ToFloats());
        Assert.Equal([0.5f, -1, 2], m.Graph.Initializers[1].ToFloats());
        Assert.Equal([-1L, 2], m.Graph.Inputs[0].Dims);
        Assert.Equal("batch", m.Graph.Inputs[0].DimParams[0]);
        Assert.Equal([4L, 3], m.Graph.Outputs[0].Dims);
    }

    [Fact]
    public void EveryTruncationIsAClearError()
    {
        var full = TinyModel();
        for (int n = 0; n < full.Length; n++)
        {
            var e = Assert.Throws<OnnxFormatException>(() => OnnxReader.Read(full[..n], "cut.onnx"));
            Assert.StartsWith("cut.onnx: ", e.Message);
        }
    }

    [Fact]
    public void BitFlipsNeverEscapeAsAnotherException()
    {
        var full = TinyModel();
        int errors = 0;
        for (int i = 0; i < full.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var bad = (byte[])full.Clone();
                bad[i] ^= (byte)(1 << bit);
                try
                {
                    var m = OnnxReader.Read(bad, "flip.onnx");
                    foreach (var t in m.Graph.Initializers)
                        if (t.DataType == OnnxDataType.Float) t.ToFloats(); // data/dims disagreement must be caught too
                }
                catch (OnnxFormatException e)
                {
                    Assert.StartsWith("flip.onnx: ", e.Message);
                    errors++;
                }
            }
        Assert.True(errors > full.Length, $"only {errors} of {full.Length * 8} flips were detected");
    }

    [Fact]
    public void AHugeDeclaredLengthFailsBeforeAllocating()
    {
        // graph field declaring 2^40 bytes, then nothing
        var bytes = Concat(VarintField(1, 7), Varint(7 << 3 | 2), Varint(1UL << 40));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxReader.Read(bytes, "huge.onnx"));
        Assert.Contains("declares 1099511627776 bytes but only 0 remain", e.Message);
        Assert.Contains("huge.onnx", e.Message);
    }

    [Fact]
    public void RawDataThatDoesNotFitTheDimsIsNamed()
    {
        var w = Concat(Len(1, [.. Varint(2), .. Varint(3)]), VarintField(2, 1), Str(8, "W"), Len(9, Floats([1, 2, 3])));
        var bytes = Concat(VarintField(1, 7), Len(7, Len(5, w)));
        var m = OnnxReader.Read(bytes, "short.onnx");
        var e = Assert.Throws<OnnxFormatException>(() => m.Graph.Initializers[0].ToFloats());
        Assert.Contains("tensor 'W' dims [2, 3] need 24 bytes, raw_data has 12", e.Message);
    }

    [Fact]
    public void ExternalDataAndNonOnnxFilesAreRefused()
    {
        var ext = Concat(VarintField(2, 1), Str(8, "W"), Len(13, Str(1, "location")));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxReader.Read(Concat(VarintField(1, 7), Len(7, Len(5, ext))), "ext.onnx"));
        Assert.Contains("external_data", e.Message);
        Assert.Throws<OnnxFormatException>(() => OnnxReader.Read(File.ReadAllBytes(Repo.Path_("README.md")), "README.md"));
    }
}
