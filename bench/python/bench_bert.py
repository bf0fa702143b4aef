#!/usr/bin/python3
"""Inference throughput of a MiniLM-L3-shaped BERT in Debian's PyTorch: embeddings/s at T tokens (mean pool + L2).
Usage: bench_bert.py [--threads 2] [--batch 256] [--tokens 32] [--iters 10] [--warmup 2]. Prints one JSON line."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_bert_model import MINILM_L3, Encoder, batch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--tokens", type=int, default=32)
ap.add_argument("--iters", type=int, default=10)
ap.add_argument("--warmup", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = Encoder(MINILM_L3).eval()
gen = torch.Generator().manual_seed(1)
ids, mask = batch(gen, a.batch, a.tokens, MINILM_L3["vocab_size"])
with torch.no_grad():
    for _ in range(a.warmup):
        model.embed(ids, mask)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(a.iters):
        model.embed(ids, mask)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
print(json.dumps({"embeddings_per_s": a.batch * a.iters / dt, "seconds": dt, "cpu_seconds": cpu, "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
