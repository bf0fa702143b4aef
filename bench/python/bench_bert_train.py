#!/usr/bin/python3
"""Training step of the issue-2 benchmark in Debian's PyTorch: a MiniLM-L3-shaped encoder shared by two towers
(queries and labels, B x T tokens each), mean pooling + L2, in-batch softmax loss (temperature 0.05), AdamW.
Usage: bench_bert_train.py [--threads 2] [--batch 256] [--tokens 32] [--steps 5] [--warmup 1]. Prints one JSON line."""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_bert_model import MINILM_L3, Encoder, batch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--tokens", type=int, default=32)
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--warmup", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = Encoder(MINILM_L3).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
gen = torch.Generator().manual_seed(1)
q_ids, q_mask = batch(gen, a.batch, a.tokens, MINILM_L3["vocab_size"])
l_ids, l_mask = batch(gen, a.batch, a.tokens, MINILM_L3["vocab_size"])
target = torch.arange(a.batch)


def step():
    opt.zero_grad(set_to_none=True)
    q = model.embed(q_ids, q_mask)
    l = model.embed(l_ids, l_mask)
    loss = F.cross_entropy(q @ l.t() / 0.05, target)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
c0 = time.process_time()
for _ in range(a.steps):
    loss = step()
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({"steps_per_s": a.steps / dt, "seconds": dt, "cpu_seconds": cpu, "loss": loss, "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
