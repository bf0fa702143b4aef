using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using ViXml.Common;

namespace ViXml.SafeTensors;

/// <summary>
/// One tensor to write. The bytes come either from memory or from a callback that streams exactly
/// <see cref="ByteLength"/> bytes (so a large model never needs all its weights in managed memory at once).
/// </summary>
public sealed class SafeTensorsWriteEntry
{
    public string Name { get; }
    public SafeDType DType { get; }
    public long[] Shape { get; }
    public long ByteLength { get; }
    internal Action<Stream> WriteData { get; }

    public SafeTensorsWriteEntry(string name, SafeDType dtype, long[] shape, ReadOnlyMemory<byte> data)
        : this(name, dtype, shape, data.Length, s => s.Write(data.Span))
    {
    }

    public SafeTensorsWriteEntry(string name, SafeDType dtype, long[] shape, long byteLength, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__")
            throw new ArgumentException("'__metadata__' is reserved for the metadata map and cannot name a tensor");
        long expected;
        try
        {
            long elements = 1;
            foreach (var d in shape)
            {
                if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension in shape [{string.Join(", ", shape)}]");
                if (!shape.Contains(0)) elements = checked(elements * d);
            }
            // A zero dimension makes the tensor empty whatever the other dimensions (the reader agrees).
            expected = shape.Contains(0) ? 0 : checked(elements * dtype.ItemSize());
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] overflows a 64-bit byte count");
        }
        if (byteLength != expected)
            throw new ArgumentException(
                $"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes, got {byteLength}");
        Name = name;
        DType = dtype;
        Shape = (long[])shape.Clone();
        ByteLength = byteLength;
        WriteData = writeData;
    }
}

/// <summary>Writes .safetensors files the way the reference implementation lays them out.</summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="entries"/> (+ optional string metadata) to <paramref name="path"/> atomically: a failure
    /// at any point leaves the previous file (or nothing) in place.
    /// </summary>
    public static void Write(string path, IEnumerable<SafeTensorsWriteEntry> entries,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = Order(entries);
        var header = BuildHeader(ordered, metadata);
        Atomic.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            var counting = new CountingStream(stream);
            foreach (var e in ordered)
            {
                long before = counting.Written;
                e.WriteData(counting);
                long wrote = counting.Written - before;
                if (wrote != e.ByteLength)
                    throw new InvalidOperationException(
                        $"{path}: tensor '{e.Name}': data callback wrote {wrote} bytes, expected {e.ByteLength}");
            }
        });
    }

    /// <summary>
    /// The reference writer's order: dtype descending (widest first, so every offset is a multiple of the item size
    /// once the header is padded to 8 bytes), then name.
    /// </summary>
    internal static List<SafeTensorsWriteEntry> Order(IEnumerable<SafeTensorsWriteEntry> entries)
    {
        var list = entries.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in list)
            if (!seen.Add(e.Name))
                throw new ArgumentException($"duplicate tensor name '{e.Name}'");
        list.Sort((a, b) =>
        {
            int c = b.DType.CompareTo(a.DType);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        return list;
    }

    /// <summary>JSON header, "__metadata__" first, entries in data order, padded with spaces to a multiple of 8.</summary>
    internal static byte[] BuildHeader(List<SafeTensorsWriteEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        // Relaxed escaping keeps non-ASCII names readable; the output is still valid JSON.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in ordered)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.HeaderName());
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.ByteLength;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    /// <summary>Forwards writes and counts bytes, so a streaming callback cannot silently write the wrong amount.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }
    }
}
