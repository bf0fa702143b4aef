#!/usr/bin/python3
"""Checks a finished label_side.kind prime run from its files alone, with Debian's PyTorch.

Usage: /usr/bin/python3 tests/reference/check_prime_run.py RUN_DIR [--heads N] [--data DIR]

Reads RUN_DIR/label_side.safetensors (parsed here from the safetensors specification), embeddings/lbl_u.npy,
embeddings/lbl.npy and embeddings/trn.npy, and the dataset's trn_X_Y.txt (data.dir from run.json unless --data), then:
  1. rebuilds the combiner as torch.nn.TransformerEncoderLayer(d_model=E, nhead=heads, dim_feedforward=ffn,
     dropout=0.1, activation='gelu') from the file's state dict, applies it in eval mode to [lbl_u, free vector,
     centroid] (sequence first), means over the three outputs, L2-normalises, and compares with lbl.npy;
  2. checks that centroids equal the mean of the trn.npy rows of each label's training positives (zero without any)
     (label_side.centroids stale or exact, whose last refresh is an exact pass over the final model).
Prints the largest differences; exits non-zero when one exceeds 1e-5.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DT[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def read_labels(path, rows):
    with open(path) as f:
        lines = f.read().splitlines()
    n, _ = map(int, lines[0].split())
    assert n == rows, f"{path}: {n} rows, trn.npy has {rows}"
    return [[int(t.split(":")[0]) for t in line.split()] for line in lines[1:n + 1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--heads", type=int, default=None)
    ap.add_argument("--data", default=None)
    a = ap.parse_args()
    run = json.load(open(os.path.join(a.run, "run.json")))
    cfg = run["config"]
    heads = a.heads or cfg["label_side"]["heads"]
    data = a.data or cfg["data"]["dir"]
    st = read_safetensors(os.path.join(a.run, "label_side.safetensors"))
    u = np.load(os.path.join(a.run, "embeddings", "lbl_u.npy"))
    lbl = np.load(os.path.join(a.run, "embeddings", "lbl.npy"))
    trn = np.load(os.path.join(a.run, "embeddings", "trn.npy"))
    e_dim = st["free_vectors"].shape[1]
    ffn = st["linear1.weight"].shape[0]
    layer = torch.nn.TransformerEncoderLayer(e_dim, heads, dim_feedforward=ffn, dropout=0.1, activation="gelu")
    sd = {k: torch.from_numpy(v) for k, v in st.items() if k not in ("free_vectors", "label_free_vector", "centroids")}
    layer.load_state_dict(sd, strict=True)
    layer.eval()
    free = torch.from_numpy(st["free_vectors"])[torch.from_numpy(st["label_free_vector"])]
    cent = torch.from_numpy(st["centroids"])
    with torch.no_grad():
        # float64 throughout: the reference of a float32 computation
        layer = layer.double()
        e = F.normalize(layer(torch.stack([torch.from_numpy(u).double(), free.double(), cent.double()])).mean(0), dim=1)
    d_lbl = float((e - torch.from_numpy(lbl).double()).abs().max())
    labels = read_labels(os.path.join(data, "trn_X_Y.txt"), trn.shape[0])
    n_labels = cent.shape[0]
    sums = np.zeros((n_labels, e_dim))
    counts = np.zeros(n_labels)
    rows = [i for i, ls in enumerate(labels) if ls]
    if cfg["data"].get("max_train", 0) > 0:
        rows = rows[:cfg["data"]["max_train"]]   # the trainer's training rows: those with labels, cut to data.max_train
    for i in rows:
        for l in labels[i]:
            sums[l] += trn[i]
            counts[l] += 1
    expected = sums / np.maximum(counts, 1)[:, None]
    d_cent = float(np.abs(expected - st["centroids"]).max())
    norms = np.linalg.norm(lbl, axis=1)
    print(json.dumps({"labels": int(n_labels), "free_vectors": int(st["free_vectors"].shape[0]),
                      "lbl_max_abs_diff": d_lbl, "centroids_max_abs_diff": d_cent,
                      "lbl_norm_max_dev": float(np.abs(norms - 1).max())}))
    ok = d_lbl <= 1e-5 and d_cent <= 1e-5 and float(np.abs(norms - 1).max()) <= 1e-5
    sys.exit(0 if ok else 1)


main()
