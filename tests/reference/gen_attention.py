#!/usr/bin/python3
"""Independent reference for model.attention (bidirectional | causal) on every encoder kind.

Run with Debian's /usr/bin/python3 (python3-torch 1.13). Reads the tiny random checkpoints that gen_bert.py and
gen_qwen2.py wrote (tests/fixtures/bert/bert_plain, bert/distilbert_plain, qwen2/tiny-f32-sharded; all float32) and
writes tests/fixtures/attention/expected.safetensors: for each model, a padded batch and its last hidden states and
mean-pooled vectors with the *other* attention direction than the family's own:
  bert.causal.*        BERT with HF's is_decoder mask: allowed(i, j) = mask[j] and j <= i; scores + (1 - allowed) * finfo.min
  distilbert.causal.*  DistilBERT, scores.masked_fill(not allowed, finfo.min)
  qwen2.bidirectional.* Qwen2 with the padding mask only: allowed(i, j) = mask[j]
Every batch has a row whose first position is masked (an absent image slot in front of the text): under a causal mask
its first query sees no key at all, and the reference (like HF) keeps that row finite (uniform attention over
finfo.min scores). The forward passes reuse the plain-torch implementations of gen_bert.py / gen_qwen2.py with the
mask swapped; nothing is computed by ViXml.
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_bert  # noqa: E402
import gen_qwen2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "attention")
MIN = torch.finfo(torch.float32).min

torch.set_num_threads(1)


def read_safetensors(path):
    """The fixtures' own format, by hand: 8-byte header length, JSON header, raw little-endian data (F32 / I64)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F32": torch.float32, "I64": torch.int64}[info["dtype"]]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=dt).reshape(info["shape"]).clone()
    return out


def read_folder(d):
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors") and f != "expected.safetensors")
    w = {}
    for f in files:
        w.update(read_safetensors(os.path.join(d, f)))
    with open(os.path.join(d, "config.json")) as f:
        return w, json.load(f)


def allowed_mask(mask, causal):
    """(B, T) 0/1 -> bool (B, 1, T, T): key j allowed for query i."""
    B, T = mask.shape
    keys = mask.bool()[:, None, None, :].expand(B, 1, T, T)
    if not causal:
        return keys
    return keys & torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None]


def batch(gen, vocab, lengths, lead_masked_row):
    """Right-padded rows of random ids in [8, vocab); row `lead_masked_row` has its first position masked."""
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.int64)
    mask = torch.zeros(len(lengths), T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(8, vocab, (n,), generator=gen)
        mask[b, :n] = 1
    mask[lead_masked_row, 0] = 0
    return ids, mask


def bert_forward(w, cfg, ids, mask, causal):
    """gen_bert.bert_forward with the extended mask built from allowed_mask (HF is_decoder semantics when causal)."""
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    x = (F.embedding(ids, w["embeddings.word_embeddings.weight"])
         + F.embedding(torch.zeros_like(ids), w["embeddings.token_type_embeddings.weight"])
         + F.embedding(torch.arange(T).unsqueeze(0), w["embeddings.position_embeddings.weight"]))
    x = gen_bert.layer_norm(x, w, "embeddings.LayerNorm", eps)
    ext = (1.0 - allowed_mask(mask, causal).to(torch.float32)) * MIN  # (B, 1, T, T)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).permute(0, 2, 1, 3)

        q = heads(gen_bert.linear(x, w, p + "attention.self.query"))
        k = heads(gen_bert.linear(x, w, p + "attention.self.key"))
        v = heads(gen_bert.linear(x, w, p + "attention.self.value"))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / hd ** 0.5 + ext, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, T, H)
        a = gen_bert.layer_norm(gen_bert.linear(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inter = gen_bert.act(cfg["hidden_act"], gen_bert.linear(a, w, p + "intermediate.dense"))
        x = gen_bert.layer_norm(gen_bert.linear(inter, w, p + "output.dense") + a, w, p + "output.LayerNorm", eps)
    return x


def distilbert_forward(w, cfg, ids, mask, causal):
    B, T = ids.shape
    H, nh = cfg["dim"], cfg["n_heads"]
    hd = H // nh
    x = (F.embedding(ids, w["embeddings.word_embeddings.weight"])
         + F.embedding(torch.arange(T).unsqueeze(0), w["embeddings.position_embeddings.weight"]))
    x = gen_bert.layer_norm(x, w, "embeddings.LayerNorm", 1e-12)
    forbidden = ~allowed_mask(mask, causal)
    for l in range(cfg["n_layers"]):
        p = f"transformer.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).transpose(1, 2)

        q = heads(gen_bert.linear(x, w, p + "attention.q_lin")) / hd ** 0.5
        k = heads(gen_bert.linear(x, w, p + "attention.k_lin"))
        v = heads(gen_bert.linear(x, w, p + "attention.v_lin"))
        scores = torch.matmul(q, k.transpose(2, 3)).masked_fill(forbidden.expand(B, nh, T, T), torch.tensor(MIN))
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).contiguous().view(B, T, H)
        sa = gen_bert.layer_norm(gen_bert.linear(ctx, w, p + "attention.out_lin") + x, w, p + "sa_layer_norm", 1e-12)
        f = gen_bert.linear(gen_bert.act(cfg["activation"], gen_bert.linear(sa, w, p + "ffn.lin1")), w, p + "ffn.lin2")
        x = gen_bert.layer_norm(f + sa, w, p + "output_layer_norm", 1e-12)
    return x


def qwen2_forward(cfg, w, ids, mask, causal):
    """gen_qwen2.qwen2_forward with its additive mask replaced by allowed_mask's (default positions arange(T))."""
    def additive(attention_mask, dtype=torch.float32):
        m = torch.zeros(allowed_mask(attention_mask, causal).shape, dtype=dtype)
        return m.masked_fill(~allowed_mask(attention_mask, causal), torch.finfo(dtype).min)

    saved = gen_qwen2.additive_mask
    gen_qwen2.additive_mask = additive
    try:
        pos = torch.arange(ids.shape[1])[None].expand_as(ids).contiguous()
        return gen_qwen2.qwen2_forward(cfg, w, w["model.embed_tokens.weight"][ids], mask, pos)
    finally:
        gen_qwen2.additive_mask = saved


def mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)


def main():
    gen = torch.Generator().manual_seed(2311)
    out = {}
    with torch.no_grad():
        for tag, folder, fwd in (("bert.causal", ("bert", "bert_plain"), bert_forward),
                                 ("distilbert.causal", ("bert", "distilbert_plain"), distilbert_forward)):
            w, cfg = read_folder(os.path.join(FIX, *folder))
            ids, mask = batch(gen, cfg["vocab_size"], [7, 3, 9, 5], lead_masked_row=3)
            h = fwd(w, cfg, ids, mask, causal=True)
            out.update({tag + ".input_ids": ids, tag + ".attention_mask": mask,
                        tag + ".last_hidden_state": h.contiguous(), tag + ".mean": mean_pool(h, mask).contiguous()})
        w, cfg = read_folder(os.path.join(FIX, "qwen2", "tiny-f32-sharded"))
        ids, mask = batch(gen, cfg["vocab_size"], [4, 8, 2, 6], lead_masked_row=3)
        h = qwen2_forward(cfg, w, ids, mask, causal=False)
        tag = "qwen2.bidirectional"
        out.update({tag + ".input_ids": ids, tag + ".attention_mask": mask,
                    tag + ".last_hidden_state": h.contiguous(), tag + ".mean": mean_pool(h, mask).contiguous()})
        # The native direction through the same code, so the test also pins that the switch is what changes the output.
        h = qwen2_forward(cfg, w, ids, mask, causal=True)
        out["qwen2.causal.last_hidden_state"] = h.contiguous()
    for k, v in out.items():
        assert torch.isfinite(v.float()).all(), k
    os.makedirs(OUT, exist_ok=True)
    gen_bert.write_safetensors(os.path.join(OUT, "expected.safetensors"), out)
    print(f"gen_attention: wrote {os.path.relpath(OUT, ROOT)}/expected.safetensors")


if __name__ == "__main__":
    main()
