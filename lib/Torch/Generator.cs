namespace ViXml.Torch;

public static partial class torch
{
    /// <summary>A CPU random generator of its own (torch.Generator): pass it to randn/rand/randint/normal_/... to get
    /// a stream independent of the global seed. get_state/set_state snapshot it for resumable runs.</summary>
    public sealed class Generator : IDisposable
    {
        private IntPtr _ptr;

        static Generator() => Native.EnsureLoaded();

        public Generator(long seed = 67280421310721) => _ptr = Native.CheckPtr(Native.vx_generator_new((ulong)seed));

        internal IntPtr Ptr => _ptr != IntPtr.Zero ? _ptr : throw new ObjectDisposedException(nameof(Generator));

        public Generator manual_seed(long seed)
        {
            Native.Check(Native.vx_generator_set_seed(Ptr, (ulong)seed));
            return this;
        }

        /// <summary>The generator's state as a uint8 tensor.</summary>
        public Tensor get_state() => Tensor.Wrap(Native.vx_generator_get_state(Ptr));

        public void set_state(Tensor state) => Native.Check(Native.vx_generator_set_state(Ptr, state.Handle));

        public void Dispose()
        {
            var p = Interlocked.Exchange(ref _ptr, IntPtr.Zero);
            if (p != IntPtr.Zero) Native.vx_generator_free(p);
            GC.SuppressFinalize(this);
        }

        ~Generator() => Dispose();
    }
}
