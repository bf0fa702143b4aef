#!/usr/bin/python3
"""Qwen2 encoder throughput in Debian's PyTorch, with the plain-torch forward of tests/reference/gen_qwen2.py (HF
modeling_qwen2 numerics). Qwen2.5-0.5B layer shapes (hidden 896, 14/2 heads, intermediate 4864) with --layers layers
and a --vocab-row embedding table (the vocabulary size does not change the cost of a forward).
Modes: infer (no_grad forward + mean pool, embeddings/s) and lora (forward + backward of a LoRA-adapted model, all 7
targets, r=--rank; sequences/s). Prints one JSON line.
Usage: bench_qwen2.py [--mode infer|lora] [--dtype float32|bfloat16] [--threads 2] [--batch 8] [--tokens 36]
                      [--layers 2] [--rank 16] [--iters 3] [--warmup 1]"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from gen_qwen2 import TARGETS, mean_pool, qwen2_config, qwen2_forward, random_weights  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--mode", default="infer", choices=["infer", "lora"])
ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--tokens", type=int, default=36)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--rank", type=int, default=16)
ap.add_argument("--vocab", type=int, default=4096)
ap.add_argument("--iters", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
dtype = getattr(torch, a.dtype)
cfg = qwen2_config(hidden=896, layers=a.layers, heads=14, kv_heads=2, inter=4864, vocab=a.vocab, theta=1e6, eps=1e-6,
                   tied=True, dtype=a.dtype)
cfg["max_position_embeddings"] = 32768
gen = torch.Generator().manual_seed(0)
w = {k: v.to(dtype) for k, v in random_weights(cfg, gen).items()}
ids = torch.randint(0, a.vocab, (a.batch, a.tokens), generator=gen)
mask = torch.ones(a.batch, a.tokens, dtype=torch.int64)
mask[a.batch // 2:, a.tokens * 3 // 4:] = 0  # half the rows padded
lora = None
if a.mode == "lora":
    lora = {}
    for i in range(a.layers):
        for t in TARGETS:
            mod = f"model.layers.{i}." + ("self_attn." if t in TARGETS[:4] else "mlp.") + t
            W = w[mod + ".weight"]
            A = (torch.randn(a.rank, W.shape[1], generator=gen) / math.sqrt(W.shape[1])).requires_grad_(True)
            B = torch.zeros(W.shape[0], a.rank).requires_grad_(True)
            lora[mod] = (A, B, 1.0)


def step():
    emb = w["model.embed_tokens.weight"][ids]
    if a.mode == "infer":
        with torch.no_grad():
            return mean_pool(qwen2_forward(cfg, w, emb, mask, torch.arange(a.tokens)[None].expand(a.batch, -1), lora).float(), mask)
    h = qwen2_forward(cfg, w, emb, mask, torch.arange(a.tokens)[None].expand(a.batch, -1), lora)
    out = mean_pool(h.float(), mask)
    out.pow(2).sum().backward()
    return out


for _ in range(a.warmup):
    step()
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(a.iters):
    step()
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"mode": a.mode, "dtype": a.dtype, "sequences_per_s": a.batch * a.iters / dt, "seconds": dt,
                  "cpu_seconds": cpu, "sequences_per_cpu_s": a.batch * a.iters / cpu,
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))
