namespace ViXml.Xmc;

/// <summary>
/// Image embeddings as the ViXML reference code ships them: a float32 bank [num_images, D] in a .npy file plus, per
/// item, up to K row indices into the bank (-1 = no image), stored as an int64 .npy [num_items, K].
/// </summary>
public sealed class ImageBank
{
    /// <summary>Number of images (rows of the bank).</summary>
    public int NumImages { get; }
    /// <summary>Embedding width D.</summary>
    public int Dim { get; }
    /// <summary>Embeddings, row-major (NumImages, Dim).</summary>
    public float[] Embeddings { get; }

    public ImageBank(int numImages, int dim, float[] embeddings)
    {
        if (embeddings.Length != (long)numImages * dim)
            throw new ArgumentException($"bank needs {numImages}x{dim} floats, got {embeddings.Length}");
        NumImages = numImages; Dim = dim; Embeddings = embeddings;
    }

    public ReadOnlySpan<float> Row(int i) => Embeddings.AsSpan(i * Dim, Dim);

    public static ImageBank Read(string path)
    {
        var a = Npy.Read(path);
        if (a.Shape.Length != 2)
            throw new XmcFormatException(path, 0, $"image bank must be 2-D [num_images, D], got shape ({string.Join(", ", a.Shape)})");
        if (a.DType is not (NpyDType.Float32 or NpyDType.Float64))
            throw new XmcFormatException(path, 0, $"image bank must hold floats, got {a.DType}");
        var data = a.ToFloat32();
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i]))
                throw new XmcFormatException(path, 0, $"non-finite value in image {i / (int)a.Shape[1]}, dim {i % (int)a.Shape[1]}");
        return new ImageBank((int)a.Shape[0], (int)a.Shape[1], data);
    }

    public void Write(string path) => Npy.WriteFloat32(path, Embeddings, NumImages, Dim);
}

/// <summary>Per-item image lists: row i holds up to K indices into an <see cref="ImageBank"/>, -1 padding.</summary>
public sealed class ImageMap
{
    /// <summary>Number of items.</summary>
    public int Items { get; }
    /// <summary>Maximum images per item.</summary>
    public int K { get; }
    /// <summary>Indices, row-major (Items, K); -1 means no image in that slot.</summary>
    public long[] Indices { get; }

    public ImageMap(int items, int k, long[] indices)
    {
        if (indices.Length != (long)items * k) throw new ArgumentException($"map needs {items}x{k} entries, got {indices.Length}");
        Items = items; K = k; Indices = indices;
    }

    /// <summary>The images of item i, padding removed.</summary>
    public IEnumerable<int> ImagesOf(int i)
    {
        for (int j = 0; j < K; j++)
            if (Indices[i * K + j] >= 0) yield return (int)Indices[i * K + j];
    }

    /// <summary>Reads a map and checks it against the bank size and the item count (errors name the file and item).</summary>
    public static ImageMap Read(string path, int? numImages = null, int? expectedItems = null)
    {
        var a = Npy.Read(path);
        if (a.Shape.Length != 2)
            throw new XmcFormatException(path, 0, $"image map must be 2-D [num_items, K], got shape ({string.Join(", ", a.Shape)})");
        if (a.DType is not (NpyDType.Int64 or NpyDType.Int32))
            throw new XmcFormatException(path, 0, $"image map must hold integers, got {a.DType}");
        var m = new ImageMap((int)a.Shape[0], (int)a.Shape[1], a.ToInt64());
        if (expectedItems is int n && m.Items != n)
            throw new XmcFormatException(path, 0, $"image map has {m.Items} rows but there are {n} items");
        for (int i = 0; i < m.Indices.Length; i++)
        {
            long v = m.Indices[i];
            if (v < -1 || (numImages is int ni && v >= ni))
                throw new XmcFormatException(path, 0, $"item {i / m.K} slot {i % m.K}: image index {v} out of range [-1, {numImages})");
        }
        return m;
    }

    public void Write(string path) => Npy.WriteInt64(path, Indices, Items, K);
}
