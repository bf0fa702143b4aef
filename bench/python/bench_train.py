#!/usr/bin/python3
"""The training loop of `vixml train` (cpu profile shape) in Debian's PyTorch, for bench/TrainBench.cs.
One step: embed B queries and B labels with the shared MiniLM-L3-shaped encoder (mean pool + L2), then either
InfoNCE (softmax(s/0.05) cross-entropy, both directions; the cpu profile's loss) or the triplet loss with in-batch hard
negatives (top-10, dynamic margin, softmax(s_n/0.1) weights, label->query term), backward, clip 1.0, AdamW. Every
label i is query i's positive (the target is the identity). Prints one JSON line with queries/s.
Usage: bench_train.py [--threads 2] [--batch 256] [--tokens 16] [--steps 3] [--warmup 1] [--hidden 384] [--layers 3]
       [--heads 12] [--intermediate 1536] [--loss infonce|triplet]"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_bert_model import MINILM_L3, Encoder, batch  # noqa: E402


def direction(sim, target, pos, k=10, tau=0.1):
    k = min(k, sim.shape[1])
    sp = sim.gather(1, pos.unsqueeze(1))
    with torch.no_grad():
        idx = sim.detach().masked_fill(target > 0, float("-inf")).topk(k, dim=1).indices
    sn = sim.gather(1, idx)
    m = torch.clamp((sp - sn).abs(), 0.1, 0.3).detach()
    h = torch.relu(sn - sp + m).masked_fill(target.gather(1, idx) > 0, 0.0)
    h = h * torch.softmax(sn.masked_fill(h == 0, -50.0) / tau, dim=1)
    return h.sum(1).mean()


def infonce(sim, pos, temperature=0.05):
    return torch.nn.functional.cross_entropy(sim / temperature, pos)


ap = argparse.ArgumentParser()
ap.add_argument("--loss", choices=["infonce", "triplet"], default="infonce")
for name, default in [("threads", 2), ("batch", 256), ("tokens", 16), ("steps", 3), ("warmup", 1), ("hidden", 384),
                      ("layers", 3), ("heads", 12), ("intermediate", 1536)]:
    ap.add_argument("--" + name, type=int, default=default)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
cfg = dict(MINILM_L3, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
           intermediate_size=a.intermediate)
model = Encoder(cfg).train()
no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "ln" in n]
decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "ln" in n)]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=5e-4, eps=1e-6)
gen = torch.Generator().manual_seed(1)
q_ids, q_mask = batch(gen, a.batch, a.tokens, cfg["vocab_size"])
l_ids, l_mask = batch(gen, a.batch, a.tokens, cfg["vocab_size"])
target = torch.eye(a.batch)
pos = torch.arange(a.batch)


def step():
    q = model.embed(q_ids, q_mask)
    l = model.embed(l_ids, l_mask)
    sim = q @ l.t()
    if a.loss == "infonce":
        loss = infonce(sim, pos) + infonce(sim.t(), pos)
    else:
        loss = direction(sim, target, pos) + direction(sim.t(), target, pos)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    loss = step()
dt = time.perf_counter() - t0
print(json.dumps({"queries_per_s": a.steps * a.batch / dt, "seconds": dt, "loss": loss,
                  "threads": torch.get_num_threads(), "torch": torch.__version__}))
