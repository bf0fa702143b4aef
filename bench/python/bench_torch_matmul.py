#!/usr/bin/python3
"""Python side of bench/MatmulBench.cs: float32 n x n matmul GFLOP/s with Debian's PyTorch.
usage: bench_torch_matmul.py THREADS SECONDS DTYPE N [N ...] (DTYPE float32|bfloat16); prints 'gflops N VALUE' lines."""
import sys, time
import torch

threads, seconds, dtype = int(sys.argv[1]), float(sys.argv[2]), getattr(torch, sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
with torch.no_grad():
    for n in map(int, sys.argv[4:]):
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        t0, i = time.perf_counter(), 0
        while i < 2 or time.perf_counter() - t0 < seconds / 5:  # warm-up, as on the C# side
            a @ b
            i += 1
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds or reps < 3:
            a @ b
            reps += 1
        print(f"gflops {n} {2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9:.2f}", flush=True)
