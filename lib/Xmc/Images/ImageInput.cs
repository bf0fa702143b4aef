namespace ViXml.Xmc.Images;

/// <summary>
/// Turns a decoded image into the float input a CNN expects: alpha-composited over white (icons have transparent
/// backgrounds), planar RGB in 0..255, resized with bilinear interpolation on half-pixel centres and clamped edges —
/// the same arithmetic as PyTorch's <c>F.interpolate(mode="bilinear", align_corners=False, antialias=False)</c>.
/// Model-specific steps (channel order, mean, scale) come from the model folder, not from here.
/// </summary>
public static class ImageInput
{
    /// <summary>(3, H, W) planar RGB, 0..255, composited over white.</summary>
    public static float[] PlanarRgb(RgbaImage img)
    {
        int n = img.Width * img.Height;
        var outp = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            float a = img.Pixels[4 * i + 3] / 255f;
            for (int c = 0; c < 3; c++) outp[c * n + i] = img.Pixels[4 * i + c] * a + 255f * (1 - a);
        }
        return outp;
    }

    /// <summary>Bilinear resize of planar (C, H, W) to (C, outH, outW).</summary>
    public static float[] ResizeBilinear(float[] planar, int channels, int h, int w, int outH, int outW)
    {
        if (planar.Length != channels * h * w) throw new ArgumentException($"expected {channels}x{h}x{w} values, got {planar.Length}");
        var (y0, y1, fy) = Taps(h, outH);
        var (x0, x1, fx) = Taps(w, outW);
        var result = new float[channels * outH * outW];
        for (int c = 0; c < channels; c++)
        {
            int src = c * h * w, dst = c * outH * outW;
            for (int oy = 0; oy < outH; oy++)
            {
                float ly = fy[oy], hy = 1 - ly;
                int r0 = src + y0[oy] * w, r1 = src + y1[oy] * w;
                for (int ox = 0; ox < outW; ox++)
                {
                    float lx = fx[ox], hx = 1 - lx;
                    result[dst + oy * outW + ox] =
                        hy * (hx * planar[r0 + x0[ox]] + lx * planar[r0 + x1[ox]]) +
                        ly * (hx * planar[r1 + x0[ox]] + lx * planar[r1 + x1[ox]]);
                }
            }
        }
        return result;
    }

    /// <summary>Source taps per output index: src = (dst + 0.5) * in/out - 0.5, clamped at 0, as PyTorch computes it.</summary>
    private static (int[] I0, int[] I1, float[] Frac) Taps(int inSize, int outSize)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var frac = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            float s = Math.Max(0f, (o + 0.5f) * scale - 0.5f);
            int lo = Math.Min((int)s, inSize - 1);
            i0[o] = lo;
            i1[o] = Math.Min(lo + 1, inSize - 1);
            frac[o] = s - lo;
        }
        return (i0, i1, frac);
    }
}
