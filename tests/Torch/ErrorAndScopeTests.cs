using ViXml.Torch;
using static ViXml.Torch.torch;

namespace ViXml.Tests.Torch;

/// <summary>libtorch errors come back as TorchException and the process survives; dispose scopes free tensors.</summary>
public class ErrorAndScopeTests
{
    [Fact]
    public void Native_errors_become_TorchException()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<TorchException>(() => ones(2, 3).matmul(ones(2, 3)));
        Assert.Contains("cannot be multiplied", ex.Message);
        Assert.DoesNotContain("Exception raised from", ex.Message); // no C++ backtrace
        // dtype mismatch
        Assert.Throws<TorchException>(() => ones([2, 2], DType.float32).mm(ones([2, 2], DType.float64)));
        // index out of range
        var e2 = Assert.Throws<TorchException>(() => ones(3, 2).index_select(0, tensor(new long[] { 5 })));
        Assert.Contains("out of range", e2.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<TorchException>(() => F_embedding_out_of_range());
        // bad view
        Assert.Throws<TorchException>(() => ones(2, 3).view(4, 2));
        Assert.Throws<TorchException>(() => ones(2, 3).transpose(0, 1).view(6));
        // shape mismatch in elementwise ops, bad dims, backward on non-scalar
        Assert.Throws<TorchException>(() => ones(2, 3) + ones(4));
        Assert.Throws<TorchException>(() => ones(2, 3).sum(5));
        Assert.Throws<TorchException>(() => ones([2], requires_grad: true).mul(2).backward());
        Assert.Throws<TorchException>(() => from_bytes(new byte[7], DType.float32, [2]));
        // a hostile shape is rejected before any allocation (1e6 x 1e6 x 1e6 floats would be 4 EB)
        Assert.Contains("overflows", Assert.Throws<TorchException>(() => from_bytes(new byte[8], DType.float32, [1_000_000, 1_000_000, 1_000_000, 1_000_000])).Message);
        Assert.Contains("needs", Assert.Throws<TorchException>(() => from_bytes(new byte[8], DType.float32, [1L << 40])).Message);
        Assert.Throws<TorchException>(() => from_bytes(new byte[8], DType.float32, [-2, -1]));
        Assert.Throws<TorchException>(() => tensor(new float[] { 1, 2, 3 }, [2, 2]));
        Assert.Throws<TorchException>(() => ones(2).ToArray<double>());
        // a thread's error does not leak into the next successful call
        Assert.Equal(6, ones(2, 3).sum().item<float>());
    }

    private static Tensor F_embedding_out_of_range() =>
        nn.functional.embedding(tensor(new long[] { 0, 10 }), ones(4, 2));

    [Fact]
    public void Disposed_tensor_throws_ObjectDisposed_and_double_dispose_is_safe()
    {
        var t = ones(2);
        t.Dispose();
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.sum());
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
                kept = (temp * 2).MoveToOuterScope();
                detached = (temp + 1).DetachFromDisposeScope();
            }
            Assert.True(temp.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(new float[] { 2, 2, 2 }, kept.ToArray<float>());
            Assert.Same(outer, DisposeScope.Current);
        }
        Assert.True(kept.IsDisposed);
        Assert.False(detached.IsDisposed);
        Assert.Null(DisposeScope.Current);
        detached.Dispose();
    }

    [Fact]
    public void Scopes_are_thread_local()
    {
        using var scope = NewDisposeScope();
        Tensor? fromOtherThread = null;
        var th = new Thread(() => fromOtherThread = ones(2));
        th.Start();
        th.Join();
        Assert.Equal(0, scope.Count);
        Assert.False(fromOtherThread!.IsDisposed);
        fromOtherThread.Dispose();
    }
}
