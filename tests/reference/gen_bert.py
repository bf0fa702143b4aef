#!/usr/bin/python3
"""Independent reference for ViXml.Models (BERT / MiniLM / DistilBERT).

Run with Debian's /usr/bin/python3 (python3-torch 1.13, numpy; no transformers, no safetensors package).
Writes tiny random checkpoints in exact Hugging Face layout into tests/fixtures/bert/<case>/
(config.json, model.safetensors or a sharded index, vocab.txt) and the expected outputs of a padded,
variable-length batch into tests/fixtures/bert/expected/<case>.safetensors.

The forward passes below are written from scratch in plain torch, following the numerics of HF's
modeling_bert.py (eager attention) and modeling_distilbert.py:
  BERT:       emb = LN(word + position + token_type); per layer:
              scores = (q k^T) / sqrt(d) + (1 - mask) * finfo.min ; softmax ; ctx = p v
              h = LN(dense(ctx) + x) ; h2 = LN(dense2(gelu_erf(dense1(h))) + h)
              pooler = tanh(dense(h[:, 0]))
  DistilBERT: emb = LN(word + position) (eps 1e-12 fixed); per layer:
              q = q / sqrt(d) ; scores = q k^T ; masked_fill(mask == 0, finfo.min) ; softmax
              sa = LN_sa(out_lin(ctx) + x) ; out = LN_out(lin2(gelu(lin1(sa))) + sa)
Pooling as sentence-transformers: mean = sum(h * m) / clamp(sum(m), 1e-9); cls = h[:, 0]; last = h[b, len_b - 1];
L2 normalisation as F.normalize(p=2, dim=1, eps=1e-12).
Deterministic (fixed seeds); runs in a few seconds.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "bert")
TRANSFORMERS_VERSION = "4.44.2"  # the version string we claim in config.json (ignored by loaders)

torch.set_num_threads(1)

# ---------------------------------------------------------------- safetensors, by hand
ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()  # numpy has no bf16: reinterpret the bits
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """8-byte little-endian header length, JSON header (space-padded to 8 bytes), raw little-endian data."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
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


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- tiny vocabulary
VOCAB = ["[PAD]"] + [f"[unused{i}]" for i in range(3)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    "the", "a", "of", "and", "to", "in", "for", "with", "on", "is", "red", "blue", "green", "small", "large",
    "shoe", "shoes", "book", "books", "phone", "case", "cable", "usb", "kit", "set", "pack", "new", "old",
    "##s", "##ing", "##ed", "##er", "##ly", ",", ".", "-", "!", "1", "2", "3", "x", "y", "z",
]
# ids: [PAD]=0 [UNK]=4 [CLS]=5 [SEP]=6 [MASK]=7 ; len(VOCAB) == 53
PAD, UNK, CLS, SEP = 0, 4, 5, 6


def write_vocab(d):
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        for tok in VOCAB:
            f.write(tok + "\n")


# ---------------------------------------------------------------- the padded batch every case runs
def make_batch(gen, vocab_size):
    lengths = [7, 3, 12, 1, 5]
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.int64)
    mask = torch.zeros(len(lengths), T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        body = torch.randint(8, vocab_size, (n,), generator=gen)
        if n >= 2:
            body[0] = CLS
            body[n - 1] = SEP
        ids[b, :n] = body
        mask[b, :n] = 1
    return ids, mask


# ---------------------------------------------------------------- random weights (larger than HF init so numerics are exercised)
def rnd(gen, *shape, std=0.2):
    return torch.randn(*shape, generator=gen) * std


def ln_params(gen, prefix, h, out):
    out[prefix + ".weight"] = 1.0 + rnd(gen, h, std=0.1)
    out[prefix + ".bias"] = rnd(gen, h, std=0.1)


def linear_params(gen, prefix, n_out, n_in, out):
    out[prefix + ".weight"] = rnd(gen, n_out, n_in, std=1.0 / math.sqrt(n_in))
    out[prefix + ".bias"] = rnd(gen, n_out, std=0.1)


def bert_weights(gen, cfg, pooler=True, position_ids=True):
    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    w = {}
    w["embeddings.word_embeddings.weight"] = rnd(gen, cfg["vocab_size"], H, std=0.5)
    w["embeddings.position_embeddings.weight"] = rnd(gen, cfg["max_position_embeddings"], H, std=0.5)
    w["embeddings.token_type_embeddings.weight"] = rnd(gen, cfg["type_vocab_size"], H, std=0.5)
    ln_params(gen, "embeddings.LayerNorm", H, w)
    if position_ids:
        w["embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)
    for l in range(L):
        p = f"encoder.layer.{l}."
        for n in ("query", "key", "value"):
            linear_params(gen, p + "attention.self." + n, H, H, w)
        linear_params(gen, p + "attention.output.dense", H, H, w)
        ln_params(gen, p + "attention.output.LayerNorm", H, w)
        linear_params(gen, p + "intermediate.dense", I, H, w)
        linear_params(gen, p + "output.dense", H, I, w)
        ln_params(gen, p + "output.LayerNorm", H, w)
    if pooler:
        linear_params(gen, "pooler.dense", H, H, w)
    return w


def distilbert_weights(gen, cfg):
    H, I, L = cfg["dim"], cfg["hidden_dim"], cfg["n_layers"]
    w = {}
    w["embeddings.word_embeddings.weight"] = rnd(gen, cfg["vocab_size"], H, std=0.5)
    w["embeddings.position_embeddings.weight"] = rnd(gen, cfg["max_position_embeddings"], H, std=0.5)
    ln_params(gen, "embeddings.LayerNorm", H, w)
    for l in range(L):
        p = f"transformer.layer.{l}."
        for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
            linear_params(gen, p + "attention." + n, H, H, w)
        ln_params(gen, p + "sa_layer_norm", H, w)
        linear_params(gen, p + "ffn.lin1", I, H, w)
        linear_params(gen, p + "ffn.lin2", H, I, w)
        ln_params(gen, p + "output_layer_norm", H, w)
    return w


# ---------------------------------------------------------------- forward passes (float32, eval mode: no dropout)
def linear(x, w, p):
    return F.linear(x, w[p + ".weight"], w[p + ".bias"])


def layer_norm(x, w, p, eps):
    return F.layer_norm(x, (x.shape[-1],), w[p + ".weight"], w[p + ".bias"], eps)


def act(name, x):
    if name == "gelu":
        return F.gelu(x)  # erf form
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu(x)
    raise ValueError(name)


def bert_forward(w, cfg, ids, mask):
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    pos = torch.arange(T).unsqueeze(0)
    tt = torch.zeros_like(ids)
    x = (F.embedding(ids, w["embeddings.word_embeddings.weight"])
         + F.embedding(tt, w["embeddings.token_type_embeddings.weight"])
         + F.embedding(pos, w["embeddings.position_embeddings.weight"]))
    x = layer_norm(x, w, "embeddings.LayerNorm", eps)
    ext = (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min  # (B, 1, 1, T)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).permute(0, 2, 1, 3)  # (B, nh, T, hd)

        q = heads(linear(x, w, p + "attention.self.query"))
        k = heads(linear(x, w, p + "attention.self.key"))
        v = heads(linear(x, w, p + "attention.self.value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, T, H)
        a = layer_norm(linear(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inter = act(cfg["hidden_act"], linear(a, w, p + "intermediate.dense"))
        x = layer_norm(linear(inter, w, p + "output.dense") + a, w, p + "output.LayerNorm", eps)
    pooled = None
    if "pooler.dense.weight" in w:
        pooled = torch.tanh(linear(x[:, 0], w, "pooler.dense"))
    return x, pooled


def distilbert_forward(w, cfg, ids, mask):
    B, T = ids.shape
    H, nh = cfg["dim"], cfg["n_heads"]
    hd = H // nh
    pos = torch.arange(T).unsqueeze(0)
    x = F.embedding(ids, w["embeddings.word_embeddings.weight"]) + F.embedding(pos, w["embeddings.position_embeddings.weight"])
    x = layer_norm(x, w, "embeddings.LayerNorm", 1e-12)
    masked = (mask == 0).view(B, 1, 1, T)
    for l in range(cfg["n_layers"]):
        p = f"transformer.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).transpose(1, 2)

        q = heads(linear(x, w, p + "attention.q_lin")) / math.sqrt(hd)
        k = heads(linear(x, w, p + "attention.k_lin"))
        v = heads(linear(x, w, p + "attention.v_lin"))
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = scores.masked_fill(masked.expand_as(scores), torch.tensor(torch.finfo(scores.dtype).min))
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).contiguous().view(B, T, H)
        sa = layer_norm(linear(ctx, w, p + "attention.out_lin") + x, w, p + "sa_layer_norm", 1e-12)
        f = linear(act(cfg["activation"], linear(sa, w, p + "ffn.lin1")), w, p + "ffn.lin2")
        x = layer_norm(f + sa, w, p + "output_layer_norm", 1e-12)
    return x, None


def pools(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    mean = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    cls = h[:, 0]
    last_idx = mask.sum(1) - 1
    last = h[torch.arange(h.shape[0]), last_idx]
    return {"mean": mean, "cls": cls, "last": last}


# ---------------------------------------------------------------- configs with the real HF fields
def bert_config(arch, **over):
    cfg = {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 40,
        "model_type": "bert",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": len(VOCAB),
    }
    cfg.update(over)
    return cfg


def distilbert_config(arch, **over):
    cfg = {
        "activation": "gelu",
        "architectures": [arch],
        "attention_dropout": 0.1,
        "dim": 32,
        "dropout": 0.1,
        "hidden_dim": 64,
        "initializer_range": 0.02,
        "max_position_embeddings": 40,
        "model_type": "distilbert",
        "n_heads": 4,
        "n_layers": 2,
        "pad_token_id": 0,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "sinusoidal_pos_embds": False,
        "tie_weights_": True,
        "torch_dtype": "float32",
        "transformers_version": TRANSFORMERS_VERSION,
        "vocab_size": len(VOCAB),
    }
    cfg.update(over)
    return cfg


def round_trip(w, dtype):
    """Weights as a loader sees them after upcasting storage dtype -> float32."""
    return {k: (v.to(dtype).to(torch.float32) if v.is_floating_point() else v) for k, v in w.items()}


def stored(w, dtype, prefix=""):
    return {prefix + k: (v.to(dtype) if v.is_floating_point() else v) for k, v in w.items()}


def save_expected(case, ids, mask, h, pooled):
    out = {"input_ids": ids, "attention_mask": mask, "last_hidden_state": h.contiguous()}
    for name, v in pools(h, mask).items():
        out["pooled_" + name] = v.contiguous()
        out["normalized_" + name] = F.normalize(v, p=2, dim=1).contiguous()
    if pooled is not None:
        out["pooler_output"] = pooled.contiguous()
    d = os.path.join(OUT, "expected")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, case + ".safetensors"), out)


GRAD_KEYS = {
    "bert": ["embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight", "encoder.layer.0.attention.self.query.weight",
             "encoder.layer.0.attention.self.value.bias", "encoder.layer.1.intermediate.dense.weight",
             "encoder.layer.1.output.LayerNorm.bias"],
    "distilbert": ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                   "transformer.layer.0.attention.q_lin.weight", "transformer.layer.0.sa_layer_norm.weight",
                   "transformer.layer.1.ffn.lin1.bias", "transformer.layer.1.ffn.lin2.weight"],
}


def grad_reference(case, family, w, cfg, ids, mask, gen):
    """Gradients of loss = sum(normalize(mean_pool(h)) * R) for a fixed random R (eval mode: no dropout)."""
    w = {k: (v.clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in w.items()}
    fwd = bert_forward if family == "bert" else distilbert_forward
    h, _ = fwd(w, cfg, ids, mask)
    emb = F.normalize(pools(h, mask)["mean"], p=2, dim=1)
    r = torch.randn(emb.shape, generator=gen)
    (emb * r).sum().backward()
    out = {"loss_weights": r}
    out.update({"grad." + k: w[k].grad.contiguous() for k in GRAD_KEYS[family]})
    write_safetensors(os.path.join(OUT, "expected", case + ".grads.safetensors"), out)


def case_dir(case):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):  # stale shards from an earlier layout must not linger
        if f.endswith(".safetensors") or f.endswith(".json"):
            os.remove(os.path.join(d, f))
    write_vocab(d)
    return d


def main():
    meta = {"format": "pt"}

    # 1. BertModel, no prefix, with the (old-style persistent) position_ids buffer and a pooler; F32.
    gen = torch.Generator().manual_seed(1001)
    cfg = bert_config("BertModel")
    w = bert_weights(gen, cfg, pooler=True, position_ids=True)
    d = case_dir("bert_plain")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), w, meta)
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, pooled = bert_forward(w, cfg, ids, mask)
    save_expected("bert_plain", ids, mask, h, pooled)
    grad_reference("bert_plain", "bert", w, cfg, ids, mask, gen)

    # 2. BertForMaskedLM: `bert.` prefix, no pooler, MLM head tensors under cls.*; hidden_act gelu; F32.
    gen = torch.Generator().manual_seed(1002)
    cfg = bert_config("BertForMaskedLM", num_hidden_layers=3, layer_norm_eps=1e-5)
    w = bert_weights(gen, cfg, pooler=False, position_ids=False)
    H = cfg["hidden_size"]
    mlm = {}
    linear_params(gen, "cls.predictions.transform.dense", H, H, mlm)
    ln_params(gen, "cls.predictions.transform.LayerNorm", H, mlm)
    mlm["cls.predictions.bias"] = rnd(gen, cfg["vocab_size"])
    d = case_dir("bert_mlm")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), {**stored(w, torch.float32, "bert."), **mlm}, meta)
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, _ = bert_forward(w, cfg, ids, mask)
    save_expected("bert_mlm", ids, mask, h, None)

    # 3. DistilBertForMaskedLM: `distilbert.` prefix + vocab_* head; F32.
    gen = torch.Generator().manual_seed(1003)
    cfg = distilbert_config("DistilBertForMaskedLM")
    w = distilbert_weights(gen, cfg)
    head = {}
    linear_params(gen, "vocab_transform", cfg["dim"], cfg["dim"], head)
    ln_params(gen, "vocab_layer_norm", cfg["dim"], head)
    head["vocab_projector.bias"] = rnd(gen, cfg["vocab_size"])
    d = case_dir("distilbert_mlm")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), {**stored(w, torch.float32, "distilbert."), **head}, meta)
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, _ = distilbert_forward(w, cfg, ids, mask)
    save_expected("distilbert_mlm", ids, mask, h, None)

    # 4. DistilBertModel, no prefix; F32.
    gen = torch.Generator().manual_seed(1004)
    cfg = distilbert_config("DistilBertModel", n_layers=3)
    w = distilbert_weights(gen, cfg)
    d = case_dir("distilbert_plain")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), w, meta)
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, _ = distilbert_forward(w, cfg, ids, mask)
    save_expected("distilbert_plain", ids, mask, h, None)
    grad_reference("distilbert_plain", "distilbert", w, cfg, ids, mask, gen)

    # 5/6. BertModel stored in BF16 and in F16 (expected outputs use the weights upcast to float32, as a loader does).
    for seed, case, dt, name in ((1005, "bert_bf16", torch.bfloat16, "bfloat16"), (1006, "bert_f16", torch.float16, "float16")):
        gen = torch.Generator().manual_seed(seed)
        cfg = bert_config("BertModel", torch_dtype=name)
        w = bert_weights(gen, cfg, pooler=True, position_ids=False)
        d = case_dir(case)
        write_json(os.path.join(d, "config.json"), cfg)
        write_safetensors(os.path.join(d, "model.safetensors"), stored(w, dt), meta)
        ids, mask = make_batch(gen, cfg["vocab_size"])
        h, pooled = bert_forward(round_trip(w, dt), cfg, ids, mask)
        save_expected(case, ids, mask, h, pooled)

    # 7. BertModel sharded into two files with model.safetensors.index.json; F32.
    gen = torch.Generator().manual_seed(1007)
    cfg = bert_config("BertModel", hidden_act="gelu_new")
    w = bert_weights(gen, cfg, pooler=True, position_ids=False)
    d = case_dir("bert_sharded")
    write_json(os.path.join(d, "config.json"), cfg)
    names = sorted(w)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for fname, keys in shards.items():
        write_safetensors(os.path.join(d, fname), {k: w[k] for k in keys}, meta)
        weight_map.update({k: fname for k in keys})
    total = sum(v.numel() * v.element_size() for v in w.values())
    write_json(os.path.join(d, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": weight_map})
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, pooled = bert_forward(w, cfg, ids, mask)
    save_expected("bert_sharded", ids, mask, h, pooled)

    # 8. sentence-transformers layout (MiniLM-style BertModel at the root + modules.json + 1_Pooling/config.json).
    gen = torch.Generator().manual_seed(1008)
    cfg = bert_config("BertModel", _name_or_path="old_models/tiny-MiniLM/0_Transformer")
    w = bert_weights(gen, cfg, pooler=True, position_ids=True)
    d = case_dir("st_minilm")
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), w, meta)
    write_json(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}])
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    write_json(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    write_json(os.path.join(d, "sentence_bert_config.json"), {"max_seq_length": 128, "do_lower_case": False})
    ids, mask = make_batch(gen, cfg["vocab_size"])
    h, pooled = bert_forward(w, cfg, ids, mask)
    save_expected("st_minilm", ids, mask, h, pooled)

    print(f"gen_bert: wrote fixtures under {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
