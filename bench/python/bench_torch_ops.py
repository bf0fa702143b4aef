#!/usr/bin/python3
"""Python side of bench/OpsBench.cs: a 2-layer MLP (in 256, hidden 512, 10 classes, batch 64) forward +
backward + clip + AdamW step, repeated; prints 'steps_per_s VALUE', 'final_loss VALUE', then the per-op
overhead of a 1-element add as 'us_per_tiny_op VALUE'.
usage: bench_torch_ops.py THREADS STEPS"""
import sys, time
import torch
import torch.nn.functional as F

threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
x = torch.randn(64, 256)
y = torch.randint(0, 10, (64,))
l1 = torch.nn.Linear(256, 512)
l2 = torch.nn.Linear(512, 10)
params = list(l1.parameters()) + list(l2.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)

def step():
    opt.zero_grad()
    loss = F.cross_entropy(l2(F.gelu(l1(x))), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return loss

for _ in range(20):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    loss = step()
dt = time.perf_counter() - t0
print(f"steps_per_s {steps / dt:.2f}")
print(f"final_loss {float(loss):.6f}")

# per-op overhead: 200,000 additions of two 1-element tensors
a, b = torch.ones(1), torch.ones(1)
for _ in range(1000):
    a + b
n, t0 = 200_000, time.perf_counter()
for _ in range(n):
    a + b
print(f"us_per_tiny_op {(time.perf_counter() - t0) / n * 1e6:.3f}")
