#!/usr/bin/python3
"""Independent reference for ViXml early fusion (lib/Training/SiameseModel.cs, EncodeEarly / Embed).

Run with Debian's /usr/bin/python3 (python3-torch, numpy). Reads the committed tiny BERT checkpoint
tests/fixtures/bert/bert_plain and distilbert_plain (written by gen_bert.py) with a small safetensors reader of its own, draws image
adapters (linear, and Linear-GELU-Linear) and a batch, and writes tests/fixtures/fusion/early.safetensors with the
adapters, the inputs and the expected outputs.

Early fusion as the ViXML reference code does it, written here from scratch in plain torch:
  img   = adapter(image_vectors)                                  (B, K, H); empty slots: zero input vector, mask 0
  x     = cat([img, word_embeddings(ids)], 1)                     (B, K+T, H)  -- [img1..imgK][CLS] tokens [SEP] pad
  emb   = LayerNorm(x + token_type[0] + position[0..K+T-1])       (images take positions 0..K-1, text K..)
  h     = BERT layers with the additive mask (1 - cat([img_mask, mask])) * finfo.min  (HF eager attention)
  e     = normalize(sum(h * m) / clamp(sum(m), 1e-9))             mean pooling over every unmasked position, L2
Deterministic (fixed seed); runs in a second.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERT = os.path.join(ROOT, "tests", "fixtures", "bert", "bert_plain")
DISTILBERT = os.path.join(ROOT, "tests", "fixtures", "bert", "distilbert_plain")
OUT = os.path.join(ROOT, "tests", "fixtures", "fusion")
torch.set_num_threads(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        arr = np.frombuffer(data[base + a:base + b], dtype=dt).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dt = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}[t.dtype]
        b = t.numpy().astype(dt[1]).tobytes()
        header[name] = {"dtype": dt[0], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def lin(x, w, p):
    return F.linear(x, w[p + ".weight"], w[p + ".bias"])


def ln(x, w, p, eps):
    return F.layer_norm(x, (x.shape[-1],), w[p + ".weight"], w[p + ".bias"], eps)


def bert_from_embeds(w, cfg, x, mask):
    B, T, H = x.shape
    nh = cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    x = x + w["embeddings.token_type_embeddings.weight"][0] + w["embeddings.position_embeddings.weight"][:T]
    x = ln(x, w, "embeddings.LayerNorm", eps)
    ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).permute(0, 2, 1, 3)

        q, k, v = (heads(lin(x, w, p + "attention.self." + n)) for n in ("query", "key", "value"))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, T, H)
        a = ln(lin(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inter = F.gelu(lin(a, w, p + "intermediate.dense"))
        x = ln(lin(inter, w, p + "output.dense") + a, w, p + "output.LayerNorm", eps)
    return x


def distilbert_from_embeds(w, cfg, x, mask):
    """DistilBERT: LN(x + position) (no segments), masked_fill(mask == 0, finfo.min) on q/sqrt(d) k^T."""
    B, T, H = x.shape
    nh = cfg["n_heads"]
    hd = H // nh
    x = ln(x + w["embeddings.position_embeddings.weight"][:T], w, "embeddings.LayerNorm", 1e-12)
    masked = (mask == 0).view(B, 1, 1, T)
    for l in range(cfg["n_layers"]):
        p = f"transformer.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).transpose(1, 2)

        q = heads(lin(x, w, p + "attention.q_lin")) / math.sqrt(hd)
        k, v = heads(lin(x, w, p + "attention.k_lin")), heads(lin(x, w, p + "attention.v_lin"))
        scores = torch.matmul(q, k.transpose(2, 3)).masked_fill(masked, torch.finfo(torch.float32).min)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(B, T, H)
        sa = ln(lin(ctx, w, p + "attention.out_lin") + x, w, p + "sa_layer_norm", 1e-12)
        x = ln(lin(F.gelu(lin(sa, w, p + "ffn.lin1")), w, p + "ffn.lin2") + sa, w, p + "output_layer_norm", 1e-12)
    return x


def main():
    cfg = json.load(open(os.path.join(BERT, "config.json")))
    w = read_safetensors(os.path.join(BERT, "model.safetensors"))
    dcfg = json.load(open(os.path.join(DISTILBERT, "config.json")))
    dw = read_safetensors(os.path.join(DISTILBERT, "model.safetensors"))
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    assert dcfg["dim"] == H and dcfg["vocab_size"] == V
    g = torch.Generator().manual_seed(1305)
    D, K, M = 6, 3, 10          # image width, slots, MLP inner width
    lengths = [5, 2, 7, 3]
    B, T = len(lengths), max(lengths)
    ids = torch.zeros(B, T, dtype=torch.int64)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(8, V, (n,), generator=g)
        ids[b, 0] = 2  # [CLS]-like first token
        mask[b, :n] = 1
    img_mask = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 0, 0], [0, 1, 1]], dtype=torch.int64)  # (B, K)
    images = torch.randn(B, K, D, generator=g) * img_mask.unsqueeze(-1)                          # empty slots: zeros
    ad = {
        "image_adapter.proj.weight": torch.randn(H, D, generator=g) / math.sqrt(D),
        "image_adapter.proj.bias": torch.randn(H, generator=g) * 0.1,
    }
    mlp = {
        "image_adapter.fc1.weight": torch.randn(M, D, generator=g) / math.sqrt(D),
        "image_adapter.fc1.bias": torch.randn(M, generator=g) * 0.1,
        "image_adapter.fc2.weight": torch.randn(H, M, generator=g) / math.sqrt(M),
        "image_adapter.fc2.bias": torch.randn(H, generator=g) * 0.1,
    }
    out = {"ids": ids, "mask": mask, "images": images, "image_mask": img_mask}
    for name, adapter in (("linear", lambda v: lin(v, ad, "image_adapter.proj")),
                          ("mlp", lambda v: lin(F.gelu(lin(v, mlp, "image_adapter.fc1")), mlp, "image_adapter.fc2"))):
        x = torch.cat([adapter(images), F.embedding(ids, w["embeddings.word_embeddings.weight"])], 1)
        full = torch.cat([img_mask, mask], 1)
        h = bert_from_embeds(w, cfg, x, full)
        m = full.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        out[f"{name}.hidden"] = h
        out[f"{name}.embedding"] = F.normalize(pooled, p=2, dim=1, eps=1e-12)
        # The same fused inputs through the DistilBERT checkpoint (its own word embeddings).
        xd = torch.cat([adapter(images), F.embedding(ids, dw["embeddings.word_embeddings.weight"])], 1)
        hd_ = distilbert_from_embeds(dw, dcfg, xd, full)
        out[f"distilbert.{name}.hidden"] = hd_
        out[f"distilbert.{name}.embedding"] = F.normalize((hd_ * m).sum(1) / torch.clamp(m.sum(1), min=1e-9), p=2, dim=1, eps=1e-12)
    out.update({"linear." + k: v for k, v in ad.items()})
    out.update({"mlp." + k: v for k, v in mlp.items()})
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "early.safetensors"), out)
    print("wrote", os.path.join(OUT, "early.safetensors"), {k: list(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    with torch.no_grad():
        main()
