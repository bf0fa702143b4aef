using System.Runtime.InteropServices;
using ViXml.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace ViXml.Tests.Torch;

/// <summary>Native libtorch errors come back as one clear managed exception and the process survives; TorchSharp's
/// matmul (which aborts the process on a mismatch) is only reached through the checked wrapper; dispose scopes free
/// tensors.</summary>
public class ErrorAndScopeTests
{
    private static TorchException Guarded(Func<Tensor> f) =>
        Assert.Throws<TorchException>(() => TorchException.Guard("op", f));

    [Fact]
    public void Every_kind_of_native_error_is_one_clean_exception()
    {
        using var scope = NewDisposeScope();
        // matmul shape and dtype: refused before libtorch is called (TorchSharp 0.107's native matmul would abort)
        Assert.Contains("cannot be multiplied", Assert.Throws<TorchException>(() => ones(2, 3).matmul_checked(ones(2, 3))).Message);
        Assert.Contains("dtypes differ", Assert.Throws<TorchException>(() => ones(2, 2).matmul_checked(ones([2, 2], ScalarType.Float64))).Message);
        Assert.Contains("batch dimensions", Assert.Throws<TorchException>(() => ones(2, 2, 3).matmul_checked(ones(3, 3, 4))).Message);
        Assert.Contains("at least 1 dimension", Assert.Throws<TorchException>(() => ones(2).matmul_checked(tensor(1f))).Message);
        Assert.Equal(new long[] { 5, 2, 4 }, ones(5, 2, 3).matmul_checked(ones(3, 4)).shape);     // broadcasting still works
        Assert.Equal(new long[] { 2 }, ones(2, 3).matmul_checked(ones(3)).shape);
        // the rest throw from libtorch: each becomes one TorchException carrying libtorch's first line, no C++ frames
        var cases = new (string what, Func<Tensor> f, string expect)[]
        {
            ("mm", () => ones(2, 3).mm(ones(4, 5)), "cannot be multiplied"),
            ("bmm", () => ones(2, 2, 3).bmm(ones(2, 4, 5)), "batch2"),
            ("linear", () => nn.functional.linear(ones(2, 3), ones(4, 5)), "cannot be multiplied"),
            ("dtype", () => ones(2, 2).mm(ones([2, 2], ScalarType.Float64)), "dtype"),
            ("index", () => ones(3, 2).index_select(0, tensor(new long[] { 5 })), "out of range"),
            ("view", () => ones(2, 3).view(4, 2), "invalid for input of size 6"),
            ("broadcast", () => ones(2, 3) + ones(4), "must match"),
            ("hostile shape", () => zeros([long.MaxValue / 2, 4]), "overflow"),
            ("negative shape", () => zeros([-1, 4]), "non-negative"),
            ("backward on a non-scalar", () => { var x = ones([2], requires_grad: true).mul(2); x.backward(); return x; }, "scalar outputs"),
        };
        foreach (var (what, f, expect) in cases)
        {
            var e = Guarded(f);
            Assert.Contains(expect, e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Exception raised from", e.Message);
            Assert.DoesNotContain("frame #", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.IsAssignableFrom<ExternalException>(e.InnerException);
        }
        // byte I/O refuses wrong lengths and overflowing shapes before allocating
        Assert.Throws<TorchException>(() => TensorExtensions.from_bytes(new byte[7], ScalarType.Float32, [2]));
        Assert.Throws<OverflowException>(() => TensorExtensions.from_bytes(new byte[8], ScalarType.Float32, [1_000_000, 1_000_000, 1_000_000, 1_000_000]));
        Assert.Throws<TorchException>(() => ones(2).ToArray<double>());
        // the thread is fine afterwards
        Assert.Equal(6, ones(2, 3).sum().item<float>());
    }

    [Fact]
    public void Scopes_dispose_temporaries_and_keep_moved_results()
    {
        Tensor kept, temp, detached;
        using (var outer = NewDisposeScope())
        {
            using (NewDisposeScope())
            {
                temp = ones(3);
                kept = (temp * 2).MoveToOuterDisposeScope();
                detached = (temp + 1).DetachFromDisposeScope();
            }
            Assert.True(temp.IsInvalid);
            Assert.False(kept.IsInvalid);
            Assert.Equal(new float[] { 2, 2, 2 }, kept.ToArray<float>());
        }
        Assert.True(kept.IsInvalid);
        Assert.False(detached.IsInvalid);
        detached.Dispose();
    }
}
