using ViXml.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ViXml.Tests.TestSupport;

/// <summary>Analytic gradients (backward) against central finite differences, in float64.</summary>
public static class GradCheck
{
    /// <summary>
    /// Checks d f(x) / dx for a scalar-valued f: backward vs (f(x+h) − f(x−h)) / 2h at every <paramref name="stride"/>-th
    /// element of x0; passes when |numeric − backward| ≤ absTol + relTol·|numeric| everywhere checked.
    /// </summary>
    public static void Check(Func<Tensor, Tensor> f, Tensor x0, double h = 1e-6, double absTol = 1e-6, double relTol = 1e-6,
        int stride = 1, string name = "x")
    {
        using var scope = NewDisposeScope();
        var x = x0.detach().clone().requires_grad_(true);
        f(x).backward();
        var analytic = x.grad!.ToArray<double>();
        var values = x0.to(ScalarType.Float64).ToArray<double>();
        var shape = x0.shape;
        for (var i = 0; i < values.Length; i += stride)
        {
            double Eval(double delta)
            {
                using var s = NewDisposeScope();
                var v = (double[])values.Clone();
                v[i] += delta;
                using var _ = no_grad();
                return f(tensor(v, shape)).ToDouble();
            }
            var numeric = (Eval(h) - Eval(-h)) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= absTol + relTol * Math.Abs(numeric),
                $"{name}[{i}]: backward {analytic[i]}, finite difference {numeric}");
        }
    }
}
