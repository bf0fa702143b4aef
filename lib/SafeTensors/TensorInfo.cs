namespace ViXml.SafeTensors;

/// <summary>One tensor's header entry.</summary>
/// <param name="Name">Tensor name as in the header (HF weight name).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions; empty for a 0-d scalar.</param>
/// <param name="Begin">Start of the bytes, relative to the data section (data_offsets[0]).</param>
/// <param name="End">End (exclusive), relative to the data section (data_offsets[1]).</param>
/// <param name="File">The .safetensors file holding the bytes.</param>
/// <param name="DataStart">Absolute file offset of the data section (8 + header length).</param>
public sealed record TensorInfo(string Name, SafeDType DType, long[] Shape, long Begin, long End, string File, long DataStart)
{
    public long ByteLength => End - Begin;

    public long ElementCount => ByteLength / DType.ItemSize();

    /// <summary>Absolute offset of the first byte in <see cref="File"/>.</summary>
    public long FileOffset => DataStart + Begin;

    public string ShapeString => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Anything that serves named tensors from safetensors storage: one file or a sharded checkpoint.
/// Reads are on demand (positional reads on an open handle); nothing is loaded until asked for.
/// </summary>
public interface ISafeTensorsSource : IDisposable
{
    /// <summary>Description for messages: the file, or the index file of a sharded checkpoint.</summary>
    string Path { get; }

    /// <summary>Tensor names, sorted ordinally.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Free-form string metadata (`__metadata__` of a file; `metadata` of an index, values as JSON text).</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    bool Contains(string name);

    /// <summary>The entry; a <see cref="SafeTensorsException"/> naming the key if absent.</summary>
    TensorInfo Info(string name);

    /// <summary>Copies the tensor's raw little-endian bytes into <paramref name="destination"/> (exactly ByteLength long).</summary>
    void ReadInto(string name, Span<byte> destination);

    /// <summary>Copies into unmanaged memory (e.g. a native tensor's storage); for tensors of any size.</summary>
    unsafe void ReadInto(string name, byte* destination, long length);
}
