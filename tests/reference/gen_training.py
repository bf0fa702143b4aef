#!/usr/bin/python3
"""Independent references for ViXml.Training (run by tools/test.sh with Debian's python3-torch).

Writes tests/fixtures/training/:
  bm25.json     -- a small corpus, queries and the BM25 scores of every (query, document) pair, computed here in
                   plain python from the textbook formula (k1=1.2, b=0.75, Lucene idf).
  triplet.json  -- (added with the loss) similarity matrices, targets and the loss/gradients from plain torch.
Deterministic: fixed seeds, no wall-clock data.
"""
import json, math, os, re

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "training")
os.makedirs(OUT, exist_ok=True)


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- BM25
def tokens(s):
    return [t.lower() for t in re.findall(r"[^\W_]+", s)]


def bm25_scores(docs, queries, k1=1.2, b=0.75):
    toks = [tokens(d) for d in docs]
    n = len(docs)
    avgdl = sum(len(t) for t in toks) / n
    df = {}
    for t in toks:
        for w in set(t):
            df[w] = df.get(w, 0) + 1
    out = []
    for q in queries:
        row = []
        for t in toks:
            s = 0.0
            for w in set(tokens(q)):
                if w not in df:
                    continue
                tf = t.count(w)
                if tf == 0:
                    continue
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(t) / avgdl))
            row.append(s)
        out.append(row)
    return out


docs = [
    "libssl-dev: Secure Sockets Layer toolkit - development files",
    "libssl3: Secure Sockets Layer toolkit - shared libraries",
    "python3: interactive high-level object-oriented language",
    "python3-numpy: Fast array facility to the Python 3 language",
    "zlib1g: compression library - runtime",
    "zlib1g-dev: compression library - development",
    "openssl: Secure Sockets Layer toolkit - cryptographic utility",
    "libc6: GNU C Library: Shared libraries",
    "",
]
queries = [
    "curl: command line tool for transferring data with URL syntax, using OpenSSL",
    "python3-scipy: scientific tools for Python 3",
    "libpng-dev: PNG library - development (version 1.6) uses zlib compression",
    "nothing matches here: qqq zzz",
    "Shared shared SHARED libraries library",
]
write("bm25.json", {"k1": 1.2, "b": 0.75, "docs": docs, "queries": queries, "scores": bm25_scores(docs, queries)})


# ---------------------------------------------------------------- triplet loss (plain torch, written from the spec)
import torch
import torch.nn.functional as F


def triplet_direction(sim, target, pos, top_k, margin, mvalue, mmin, mmax, aggressive, tau):
    k = min(top_k, sim.shape[1])
    sp = sim[torch.arange(sim.shape[0]), pos].unsqueeze(1)
    with torch.no_grad():
        hard = sim.detach().clone()
        hard[target > 0] = float("-inf")
        idx = torch.topk(hard, k, dim=1).indices
    sn = torch.gather(sim, 1, idx)
    on_pos = torch.gather(target, 1, idx) > 0
    if margin == "fixed":
        m = torch.full_like(sn, mvalue)
    else:
        m = torch.clamp((sp - sn).abs(), mmin, mmax).detach()
    h = torch.relu(sn - sp + m)
    h = torch.where(on_pos, torch.zeros_like(h), h)
    if aggressive:
        s2 = torch.where(h == 0, torch.full_like(sn, -50.0), sn)
        h = h * torch.softmax(s2 / tau, dim=1)
    return h.sum(1).mean()


def triplet_case(seed, B, L, d, cfg):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, d, generator=g, dtype=torch.float64)
    l = torch.randn(L, d, generator=g, dtype=torch.float64)
    # every label column is someone's drawn positive (batch labels = the drawn positives): B >= L
    pos = torch.cat([torch.arange(L), torch.randint(0, L, (B - L,), generator=g)])
    pos = pos[torch.randperm(B, generator=g)]
    target = (torch.rand(B, L, generator=g) < 0.2).double()
    target[torch.arange(B), pos] = 1.0
    q.requires_grad_(True)
    l.requires_grad_(True)
    sim = F.normalize(q, dim=1) @ F.normalize(l, dim=1).t()
    args = (cfg["top_k"], cfg["margin"], cfg["margin_value"], cfg["margin_min"], cfg["margin_max"], cfg["aggressive"], cfg["tau"])
    loss = triplet_direction(sim, target, pos, *args)
    if cfg["label_to_query"] > 0:
        first = torch.tensor([int((pos == j).nonzero()[0]) for j in range(L)])
        loss = loss + cfg["label_to_query"] * triplet_direction(sim.t(), target.t().contiguous(), first, *args)
    loss.backward()
    return {
        "config": cfg, "B": B, "L": L, "d": d,
        "q": q.detach().flatten().tolist(), "l": l.detach().flatten().tolist(),
        "pos": pos.tolist(), "target": target.flatten().tolist(),
        "loss": loss.item(), "grad_q": q.grad.flatten().tolist(), "grad_l": l.grad.flatten().tolist(),
    }


base = {"top_k": 10, "margin": "dynamic", "margin_value": 0.3, "margin_min": 0.1, "margin_max": 0.3,
        "aggressive": True, "tau": 0.1, "label_to_query": 1.0}
cases = [
    triplet_case(1, 12, 9, 8, base),                                                   # paper setting (k > negatives)
    triplet_case(2, 16, 14, 6, dict(base, top_k=3)),                                    # few hardest
    triplet_case(3, 10, 8, 5, dict(base, margin="fixed", aggressive=False, label_to_query=0.0)),
    triplet_case(4, 20, 17, 4, dict(base, top_k=5, margin="fixed", margin_value=0.5, label_to_query=0.5, tau=0.5)),
    triplet_case(5, 8, 8, 3, dict(base, top_k=4, aggressive=False)),
]
write("triplet.json", {"torch_version": torch.__version__, "cases": cases})
