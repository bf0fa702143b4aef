namespace ViXml.Xmc;

/// <summary>Named (A, B) pairs of the Jain et al. propensity model, as the Extreme Classification Repository uses them.</summary>
public readonly record struct PropensityParams(double A, double B)
{
    /// <summary>Amazon datasets (LF-AmazonTitles-131K, LF-Amazon-1.3M, ...).</summary>
    public static readonly PropensityParams Amazon = new(0.6, 2.6);
    /// <summary>Wikipedia datasets (LF-WikiSeeAlso, ...).</summary>
    public static readonly PropensityParams Wikipedia = new(0.5, 0.4);
    /// <summary>Everything else (pyxclib's defaults).</summary>
    public static readonly PropensityParams Other = new(0.55, 1.5);

    public static PropensityParams FromPreset(string name) => name.ToLowerInvariant() switch
    {
        "amazon" => Amazon,
        "wikipedia" or "wiki" => Wikipedia,
        "other" => Other,
        _ => throw new ArgumentException($"unknown propensity preset '{name}' (amazon, wikipedia, other)"),
    };
}

public static class Propensity
{
    /// <summary>
    /// Inverse propensity per label from the training label matrix: w_l = 1 + C (N_l + B)^-A with
    /// C = (ln N - 1)(B + 1)^A, N = training rows, N_l = column sum (pyxclib's compute_inv_propesity).
    /// </summary>
    public static double[] Inverse(CsrMatrix trainLabels, double a, double b)
    {
        Check(a, b);
        double n = trainLabels.Rows;
        double c = (Math.Log(n) - 1) * Math.Pow(b + 1, a);
        var freq = trainLabels.ColumnSums();
        var w = new double[freq.Length];
        for (int l = 0; l < w.Length; l++) w[l] = 1.0 + c * Math.Pow(freq[l] + b, -a);
        return w;
    }

    public static double[] Inverse(CsrMatrix trainLabels, PropensityParams p) => Inverse(trainLabels, p.A, p.B);

    /// <summary>A must be a positive finite number and B a positive finite number (B^-A weighs labels never seen in
    /// training); anything else gives NaN or infinite weights and PSP silently 0.</summary>
    public static void Check(double a, double b)
    {
        if (!double.IsFinite(a) || a <= 0) throw new ArgumentException($"propensity A must be a positive number, got {a}");
        if (!double.IsFinite(b) || b <= 0) throw new ArgumentException($"propensity B must be a positive number, got {b}");
    }
}
