using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace ViXml.SafeTensors;

/// <summary>
/// One .safetensors file, opened for on-demand reads. Layout: 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON (an object: tensor name -> {dtype, shape, data_offsets}, plus an optional "__metadata__" of strings),
/// then the data section. Open() reads and validates only the header; tensor bytes are read when asked for, with
/// positional reads on the open handle (thread-safe, no whole-file load, no mapping to clean up).
/// </summary>
public sealed class SafeTensorsFile : ISafeTensorsSource
{
    /// <summary>Largest header accepted (the reference implementation uses the same 100 MB bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, TensorInfo> _entries;
    private bool _disposed;

    public string Path { get; }
    public IReadOnlyList<string> Names { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the JSON header in bytes (including padding).</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute offset of the data section (8 + HeaderLength).</summary>
    public long DataStart => 8 + HeaderLength;

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>Entries in name order.</summary>
    public IEnumerable<TensorInfo> Tensors => Names.Select(n => _entries[n]);

    private SafeTensorsFile(string path, SafeFileHandle handle, long headerLength, long dataLength,
        Dictionary<string, TensorInfo> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        HeaderLength = headerLength;
        DataLength = dataLength;
        _entries = entries;
        Metadata = metadata;
        var names = entries.Keys.ToList();
        names.Sort(StringComparer.Ordinal);
        Names = names;
    }

    /// <summary>Opens and validates <paramref name="path"/>; a <see cref="SafeTensorsException"/> names any problem.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new SafeTensorsException(path, null, "file not found");
        // stat before open: opening a FIFO would block, a device would be read without end
        if (ViXml.Common.InputFile.Problem(path) is string why) throw new SafeTensorsException(path, null, why);
        SafeFileHandle handle;
        try
        {
            handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafeTensorsException(path, null, $"cannot open: {e.Message}", e);
        }
        try
        {
            long fileLength = RandomAccess.GetLength(handle);
            if (fileLength == 0)
                throw new SafeTensorsException(path, null, "file is empty (expected an 8-byte header length, a JSON header and data)");
            if (fileLength < 8)
                throw new SafeTensorsException(path, null,
                    $"file is truncated: {fileLength} bytes, shorter than the 8-byte header length prefix");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, path, prefix, 0);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            // Bound N before allocating anything: a hostile prefix (e.g. 2^63) must not become a huge allocation.
            if (n == 0)
                throw new SafeTensorsException(path, null, "header length is 0 (the header must be a JSON object)");
            if (n > MaxHeaderBytes)
                throw new SafeTensorsException(path, null,
                    $"header length {n} exceeds the {MaxHeaderBytes}-byte limit (corrupt or not a safetensors file)");
            if ((long)n > fileLength - 8)
                throw new SafeTensorsException(path, null,
                    $"header length {n} exceeds the {fileLength - 8} bytes after the length prefix (truncated file?)");
            var header = new byte[(int)n];
            ReadExactly(handle, path, header, 8);
            long dataLength = fileLength - 8 - (long)n;
            var (entries, metadata) = ParseHeader(path, header, 8 + (long)n, dataLength);
            return new SafeTensorsFile(path, handle, (long)n, dataLength, entries, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Validates a header against a data section of <paramref name="dataLength"/> bytes.</summary>
    internal static (Dictionary<string, TensorInfo>, Dictionary<string, string>) ParseHeader(
        string path, byte[] header, long dataStart, long dataLength)
    {
        // JsonDocument checks UTF-8 only when a string is materialised; check it all up front for a clean error.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new SafeTensorsException(path, null, "header is not valid JSON: it is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException(path, null, $"header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            try
            {
                return ParseRoot(path, doc.RootElement, dataStart, dataLength);
            }
            catch (InvalidOperationException e)
            {
                // e.g. an escaped lone surrogate ("\ud800") that cannot become a .NET string
                throw new SafeTensorsException(path, null, $"header is not valid JSON text: {e.Message}", e);
            }
        }
    }

    private static (Dictionary<string, TensorInfo>, Dictionary<string, string>) ParseRoot(
        string path, JsonElement root, long dataStart, long dataLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, null, $"header must be a JSON object, found {Kind(root)}");
        var entries = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in root.EnumerateObject())
        {
            // JsonDocument keeps duplicate keys; the format has one entry per name, so a repeat is corruption.
            if (!seen.Add(prop.Name))
                throw new SafeTensorsException(path, prop.Name, "duplicate key in header");
            if (prop.Name == "__metadata__")
                ParseMetadata(path, prop.Value, metadata);
            else
                entries.Add(prop.Name, ParseEntry(path, prop.Name, prop.Value, dataStart, dataLength));
        }
        CheckCoverage(path, entries.Values, dataLength);
        return (entries, metadata);
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, "__metadata__", $"must be a JSON object of strings, found {Kind(value)}");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsException(path, "__metadata__",
                    $"value of '{p.Name}' must be a string, found {Kind(p.Value)}");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!))
                throw new SafeTensorsException(path, "__metadata__", $"duplicate key '{p.Name}'");
        }
    }

    private static TensorInfo ParseEntry(string path, string name, JsonElement e, long dataStart, long dataLength)
    {
        SafeTensorsException Bad(string problem) => new(path, name, problem);
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad($"entry must be a JSON object, found {Kind(e)}");
        JsonElement? dtypeEl = null, shapeEl = null, offsetsEl = null;
        foreach (var p in e.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeEl;
            switch (p.Name)
            {
                case "dtype": slot = ref dtypeEl; break;
                case "shape": slot = ref shapeEl; break;
                case "data_offsets": slot = ref offsetsEl; break;
                // The format defines exactly these three fields; anything else means a different or damaged writer.
                default: throw Bad($"unknown field '{p.Name}' (expected dtype, shape, data_offsets)");
            }
            if (slot is not null) throw Bad($"duplicate field '{p.Name}'");
            slot = p.Value;
        }
        if (dtypeEl is null) throw Bad("missing field 'dtype'");
        if (shapeEl is null) throw Bad("missing field 'shape'");
        if (offsetsEl is null) throw Bad("missing field 'data_offsets'");

        if (dtypeEl.Value.ValueKind != JsonValueKind.String)
            throw Bad($"'dtype' must be a string, found {Kind(dtypeEl.Value)}");
        string dtypeName = dtypeEl.Value.GetString()!;
        if (!SafeDTypes.TryParse(dtypeName, out var dtype))
            throw Bad(SafeDTypes.KnownUnsupported.Contains(dtypeName)
                ? $"dtype '{dtypeName}' is valid safetensors but not supported here (supported: BF16, F16, F32, F64, I64, I32, U8, BOOL)"
                : $"unknown dtype '{dtypeName}' (supported: BF16, F16, F32, F64, I64, I32, U8, BOOL)");

        var s = shapeEl.Value;
        if (s.ValueKind != JsonValueKind.Array)
            throw Bad($"'shape' must be an array of integers, found {Kind(s)}");
        var shape = new long[s.GetArrayLength()];
        long elements = 1;
        bool overflow = false;
        for (int i = 0; i < shape.Length; i++)
        {
            var d = s[i];
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
                throw Bad($"shape[{i}] must be an integer, found {Raw(d)}");
            if (dim < 0)
                throw Bad($"shape[{i}] is {dim}: negative dimension");
            shape[i] = dim;
            // Keep multiplying past an overflow only to learn whether a zero dimension makes the product 0 anyway.
            if (!overflow)
            {
                try { elements = checked(elements * dim); }
                catch (OverflowException) { overflow = true; }
            }
        }
        if (shape.Contains(0)) { elements = 0; overflow = false; }
        long bytes = 0;
        if (!overflow)
        {
            try { bytes = checked(elements * dtype.ItemSize()); }
            catch (OverflowException) { overflow = true; }
        }
        if (overflow)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtypeName} overflows a 64-bit byte count");

        var o = offsetsEl.Value;
        if (o.ValueKind != JsonValueKind.Array || o.GetArrayLength() != 2)
            throw Bad($"'data_offsets' must be an array of two integers [begin, end], found {Raw(o)}");
        long begin = Offset(o[0], "begin"), end = Offset(o[1], "end");
        if (begin > end)
            throw Bad($"data_offsets [{begin}, {end}] are reversed (begin > end)");
        if (end > dataLength)
            throw Bad($"data_offsets [{begin}, {end}] lie outside the data section ({dataLength} bytes; truncated file?)");
        if (end - begin != bytes)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtypeName} needs {bytes} bytes but data_offsets " +
                      $"[{begin}, {end}] span {end - begin}");
        return new TensorInfo(name, dtype, shape, begin, end, path, dataStart);

        long Offset(JsonElement v, string which)
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetUInt64(out ulong u) || u > long.MaxValue)
                throw Bad($"data_offsets {which} must be a non-negative integer, found {Raw(v)}");
            return (long)u;
        }
    }

    /// <summary>
    /// The format requires the tensors to tile the data section exactly: no overlap (two tensors sharing bytes would
    /// alias on write-back), no gaps and no trailing bytes (the reference implementation rejects both; unexplained
    /// bytes mean a damaged or foreign file, and allowing them would let a file hide data).
    /// </summary>
    private static void CheckCoverage(string path, IEnumerable<TensorInfo> entries, long dataLength)
    {
        var sorted = entries.OrderBy(t => t.Begin).ThenBy(t => t.End).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        long cursor = 0;
        TensorInfo? prev = null;
        foreach (var t in sorted)
        {
            if (t.Begin < cursor)
                throw new SafeTensorsException(path, t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] overlap tensor '{prev!.Name}' [{prev.Begin}, {prev.End}]");
            if (t.Begin > cursor)
                throw new SafeTensorsException(path, t.Name,
                    $"gap in the data section: bytes [{cursor}, {t.Begin}) before it belong to no tensor");
            cursor = t.End;
            prev = t;
        }
        if (cursor != dataLength)
            throw new SafeTensorsException(path, null,
                $"data section has {dataLength} bytes but the tensors cover only {cursor} (trailing bytes [{cursor}, {dataLength}))");
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public TensorInfo Info(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _entries.TryGetValue(name, out var t) ? t : throw new SafeTensorsException(Path, name, "no such tensor in the file");
    }

    public void ReadInto(string name, Span<byte> destination)
    {
        var t = Info(name);
        if (destination.Length != t.ByteLength)
            throw new ArgumentException($"{Path}: tensor '{name}' has {t.ByteLength} bytes, destination has {destination.Length}");
        ReadExactly(_handle, Path, destination, t.FileOffset);
    }

    public unsafe void ReadInto(string name, byte* destination, long length)
    {
        var t = Info(name);
        if (length != t.ByteLength)
            throw new ArgumentException($"{Path}: tensor '{name}' has {t.ByteLength} bytes, destination has {length}");
        const int chunk = 1 << 30; // spans are int-indexed; copy very large tensors in 1 GiB pieces
        for (long done = 0; done < length; done += chunk)
        {
            int n = (int)Math.Min(chunk, length - done);
            ReadExactly(_handle, Path, new Span<byte>(destination + done, n), t.FileOffset + done);
        }
    }

    private static void ReadExactly(SafeFileHandle h, string path, Span<byte> buffer, long offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(h, buffer[done..], offset + done);
            if (n <= 0)
                throw new SafeTensorsException(path, null,
                    $"unexpected end of file at byte {offset + done} (file changed or truncated after opening?)");
            done += n;
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private static string Raw(JsonElement e)
    {
        var raw = e.GetRawText();
        return raw.Length > 60 ? raw[..60] + "..." : raw;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _handle.Dispose();
    }
}
