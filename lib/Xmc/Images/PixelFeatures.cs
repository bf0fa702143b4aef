namespace ViXml.Xmc.Images;

/// <summary>
/// Hand-crafted pixel features that stand in for SigLIP2 image embeddings until a vision encoder exists: an 8x8 grid
/// of mean colours plus a 4x4x4 colour histogram, each part L2-normalised and scaled by 1/sqrt(2), so the whole
/// vector has unit norm. Pixels are alpha-composited over white first (icons have transparent backgrounds).
/// </summary>
public static class PixelFeatures
{
    /// <summary>Grid cells per side.</summary>
    public const int Grid = 8;
    /// <summary>Histogram bins per colour channel.</summary>
    public const int Bins = 4;
    /// <summary>Feature width: 8*8*3 grid colours + 4*4*4 histogram = 256.</summary>
    public const int Dim = Grid * Grid * 3 + Bins * Bins * Bins;

    public static float[] Compute(RgbaImage img)
    {
        var f = new double[Dim];
        var gridCount = new double[Grid * Grid];
        int hOff = Grid * Grid * 3;
        for (int y = 0; y < img.Height; y++)
        {
            int gy = y * Grid / img.Height;
            for (int x = 0; x < img.Width; x++)
            {
                int gx = x * Grid / img.Width;
                int o = (y * img.Width + x) * 4;
                double a = img.Pixels[o + 3] / 255.0;
                // Composite over white, in [0, 1].
                double r = (img.Pixels[o] * a + 255 * (1 - a)) / 255.0;
                double g = (img.Pixels[o + 1] * a + 255 * (1 - a)) / 255.0;
                double b = (img.Pixels[o + 2] * a + 255 * (1 - a)) / 255.0;
                int cell = gy * Grid + gx;
                f[cell * 3] += r; f[cell * 3 + 1] += g; f[cell * 3 + 2] += b;
                gridCount[cell]++;
                // Histogram of the icon's own colours, weighted by opacity (the white background does not vote).
                int br = Math.Min(Bins - 1, img.Pixels[o] * Bins / 256);
                int bg = Math.Min(Bins - 1, img.Pixels[o + 1] * Bins / 256);
                int bb = Math.Min(Bins - 1, img.Pixels[o + 2] * Bins / 256);
                f[hOff + (br * Bins + bg) * Bins + bb] += a;
            }
        }
        for (int c = 0; c < Grid * Grid; c++)
            if (gridCount[c] > 0) for (int k = 0; k < 3; k++) f[c * 3 + k] /= gridCount[c];
        Normalise(f.AsSpan(0, hOff));
        Normalise(f.AsSpan(hOff));
        var outv = new float[Dim];
        for (int i = 0; i < Dim; i++) outv[i] = (float)(f[i] / Math.Sqrt(2));
        return outv;
    }

    private static void Normalise(Span<double> v)
    {
        double s = 0;
        foreach (var x in v) s += x * x;
        if (s <= 0) return;
        double inv = 1 / Math.Sqrt(s);
        for (int i = 0; i < v.Length; i++) v[i] *= inv;
    }
}
