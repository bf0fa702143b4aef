#!/usr/bin/python3
"""Independent reference for the Qwen2 decoder encoder, LoRA and the prompt templates (issue 7).

Run with Debian's PyTorch (/usr/bin/python3; torch 1.13.1, numpy; no transformers, no safetensors package).
Writes tiny random checkpoints in exact Hugging Face layout plus expected outputs into tests/fixtures/qwen2/:

  tiny-bf16/      config.json + model.safetensors (BF16 storage, tied embeddings, GQA 4 heads / 2 kv heads)
                  expected.safetensors: a right-padded variable-length batch (positions arange(T), the HF default)
                  and the same texts left-padded with compact positions (cumsum(mask) - 1).
  tiny-f32-sharded/  config.json + 2 shards + model.safetensors.index.json (F32, untied: lm_head.weight present,
                  GQA 6 heads / 2 kv heads, rope_theta 1e4, eps 1e-5); expected.safetensors as above.
  lora/           PEFT adapter (adapter_config.json + adapter_model.safetensors, rsLoRA, all 7 targets) over tiny-bf16;
                  expected outputs with the adapter applied and the gradients of a fixed scalar loss w.r.t. A and B.
  template/       embedding-level prompt layouts over tiny-bf16 ([prefix][text][pads][suffix] and the multimodal
                  T1 + E + eEOS form with image slots), in the reference's padded positions and in compact positions.

The forward pass is written here from the HF modeling_qwen2.py numerics (not imported): RMSNorm in float32
(variance of x.float(), then weight * x.to(dtype)), rotate-half RoPE with rope_theta, grouped-query attention by
repeating k/v heads, bias on q/k/v only, SwiGLU MLP, causal + padding mask as an additive finfo.min mask (a masked row
never becomes NaN), final norm. All expected values are float32 compute from the stored weights upcast to float32.
"""
import json
import math
import os
import struct
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "qwen2")

# --------------------------------------------------------------------------------------------------------------------
# safetensors by hand: 8-byte little-endian header length, JSON header, raw little-endian data.

DTYPE_NAME = {torch.float32: "F32", torch.bfloat16: "BF16", torch.int64: "I64", torch.float16: "F16"}


def tensor_bytes(t):
    t = t.contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.int64:
        return t.numpy().astype("<i8").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (written in sorted key order, as the HF library does)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = metadata or {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # the data section starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return offset


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------------------------
# Config and random weights

def qwen2_config(hidden, layers, heads, kv_heads, inter, vocab, theta, eps, tied, dtype):
    # Field set and order follow the published Qwen2.5 config.json files.
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": vocab - 2,
        "eos_token_id": vocab - 1,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": 256,
        "max_window_layers": layers,
        "model_type": "qwen2",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": eps,
        "rope_theta": theta,
        "sliding_window": 256,
        "tie_word_embeddings": tied,
        "torch_dtype": dtype,
        "transformers_version": "4.43.1",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": vocab,
    }


def random_weights(cfg, gen):
    """HF names under the `model.` prefix. Scales chosen so attention and the MLP are far from trivial."""
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh

    def rn(*shape, std):
        return torch.randn(*shape, generator=gen) * std

    w = {"model.embed_tokens.weight": rn(V, H, std=1.0)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1.0 + rn(H, std=0.2)
        w[p + "post_attention_layernorm.weight"] = 1.0 + rn(H, std=0.2)
        w[p + "self_attn.q_proj.weight"] = rn(nh * hd, H, std=1.0 / math.sqrt(H))
        w[p + "self_attn.q_proj.bias"] = rn(nh * hd, std=0.1)
        w[p + "self_attn.k_proj.weight"] = rn(nkv * hd, H, std=1.0 / math.sqrt(H))
        w[p + "self_attn.k_proj.bias"] = rn(nkv * hd, std=0.1)
        w[p + "self_attn.v_proj.weight"] = rn(nkv * hd, H, std=1.0 / math.sqrt(H))
        w[p + "self_attn.v_proj.bias"] = rn(nkv * hd, std=0.1)
        w[p + "self_attn.o_proj.weight"] = rn(H, nh * hd, std=1.0 / math.sqrt(H))
        w[p + "mlp.gate_proj.weight"] = rn(I, H, std=1.0 / math.sqrt(H))
        w[p + "mlp.up_proj.weight"] = rn(I, H, std=1.0 / math.sqrt(H))
        w[p + "mlp.down_proj.weight"] = rn(H, I, std=1.0 / math.sqrt(I))
    w["model.norm.weight"] = 1.0 + rn(H, std=0.2)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rn(V, H, std=1.0 / math.sqrt(H))
    return w


# --------------------------------------------------------------------------------------------------------------------
# The forward pass (HF modeling_qwen2.py numerics, float32)

def rms_norm(x, weight, eps):
    dtype = x.dtype
    h = x.to(torch.float32)
    var = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(var + eps)
    return weight * h.to(dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(position_ids, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))  # (hd/2)
    freqs = position_ids[:, :, None].float() * inv_freq[None, None, :]  # (B, T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, hd)
    return emb.cos(), emb.sin()


def additive_mask(attention_mask, dtype=torch.float32):
    """(B, T) 0/1 -> (B, 1, T, T) additive: 0 where key j <= query i and key j is attended, finfo.min elsewhere."""
    B, T = attention_mask.shape
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, :, :] & attention_mask.bool()[:, None, :]
    m = torch.zeros(B, T, T, dtype=dtype)
    m.masked_fill_(~allowed, torch.finfo(dtype).min)
    return m[:, None, :, :]


def linear(x, w, b=None, lora=None):
    y = x @ w.t()
    if b is not None:
        y = y + b
    if lora is not None:
        A, Bm, scale = lora
        y = y + (x @ A.t()) @ Bm.t() * scale
    return y


def qwen2_forward(cfg, w, inputs_embeds, attention_mask, position_ids, lora=None):
    """Returns the last hidden state (B, T, H) after the final norm. lora: dict module-name -> (A, B, scale)."""
    lora = lora or {}
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh
    eps = cfg["rms_norm_eps"]
    B, T, _ = inputs_embeds.shape
    cos, sin = rope_cos_sin(position_ids, hd, cfg["rope_theta"])
    cos, sin = cos[:, None].to(inputs_embeds.dtype), sin[:, None].to(inputs_embeds.dtype)  # (B, 1, T, hd)
    mask = additive_mask(attention_mask, inputs_embeds.dtype)
    x = inputs_embeds
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        L = lambda name: lora.get(p + name)  # noqa: E731
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"], L("self_attn.q_proj"))
        k = linear(h, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"], L("self_attn.k_proj"))
        v = linear(h, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"], L("self_attn.v_proj"))
        q = q.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = k.view(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = v.view(B, T, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = k[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)  # repeat_kv
        v = v[:, :, None].expand(B, nkv, rep, T, hd).reshape(B, nh, T, hd)
        att = (q @ k.transpose(2, 3)) * hd ** -0.5 + mask  # (B, nh, T, T); HF multiplies by scaling
        att = torch.softmax(att, dim=-1, dtype=torch.float32).to(q.dtype)
        o = (att @ v).transpose(1, 2).reshape(B, T, nh * hd)
        x = x + linear(o, w[p + "self_attn.o_proj.weight"], None, L("self_attn.o_proj"))
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = linear(h, w[p + "mlp.gate_proj.weight"], None, L("mlp.gate_proj"))
        u = linear(h, w[p + "mlp.up_proj.weight"], None, L("mlp.up_proj"))
        x = x + linear(torch.nn.functional.silu(g) * u, w[p + "mlp.down_proj.weight"], None, L("mlp.down_proj"))
    return rms_norm(x, w["model.norm.weight"], eps)


def mean_pool(h, mask):
    m = mask.to(h.dtype)[:, :, None]
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def last_pool(h, mask):
    """The hidden state at the last attended position of each row (works for left, right and template padding)."""
    T = mask.shape[1]
    idx = (mask.long() * torch.arange(T)[None, :]).argmax(1)  # last index where mask == 1
    return h[torch.arange(h.shape[0]), idx]


# --------------------------------------------------------------------------------------------------------------------
# Cases

def text_batch(gen, vocab, lengths):
    """Random ids in [0, vocab - 2) (bos/eos excluded), one row per length."""
    rows = []
    for L in lengths:
        r = torch.randint(0, vocab - 2, (L,), generator=gen)
        rows.append(r)
    return rows


def pad_batch(rows, pad_id, left):
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.int64)
    mask = torch.zeros(len(rows), T, dtype=torch.int64)
    for i, r in enumerate(rows):
        if left:
            ids[i, T - len(r):] = r
            mask[i, T - len(r):] = 1
        else:
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
    return ids, mask


def compact_positions(mask):
    """Positions counting only attended tokens: cumsum(mask) - 1 (clamped at 0). A masked slot repeats the position
    of the attended token before it; its value never reaches an attended row."""
    return (mask.cumsum(1) - 1).clamp(min=0)


def model_case(name, cfg, gen, store_dtype, shards, lengths):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    w = random_weights(cfg, gen)
    stored = {k: v.to(store_dtype) for k, v in w.items()}
    write_json(os.path.join(d, "config.json"), cfg)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), stored)
    else:
        names = sorted(stored)
        per = math.ceil(len(names) / shards)
        weight_map = {}
        total = 0
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: stored[k] for k in names[s * per:(s + 1) * per]}
            total += write_safetensors(os.path.join(d, fname), part)
            for k in part:
                weight_map[k] = fname
        write_json(os.path.join(d, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    wf = {k: v.float() for k, v in stored.items()}  # compute in float32 from the stored values
    emb = wf["model.embed_tokens.weight"]
    rows = text_batch(gen, cfg["vocab_size"], lengths)
    exp = {}
    for tag, left in (("right", False), ("left", True)):
        ids, mask = pad_batch(rows, cfg["eos_token_id"], left)
        # right padding: HF's default positions arange(T); left padding: compact positions (cumsum(mask) - 1)
        pos = compact_positions(mask) if left else torch.arange(ids.shape[1])[None].expand_as(ids).contiguous()
        with torch.no_grad():
            h = qwen2_forward(cfg, wf, emb[ids], mask, pos)
        exp[f"{tag}.input_ids"] = ids
        exp[f"{tag}.attention_mask"] = mask
        exp[f"{tag}.position_ids"] = pos
        exp[f"{tag}.last_hidden_state"] = h.contiguous()
        exp[f"{tag}.mean"] = mean_pool(h, mask)
        exp[f"{tag}.last"] = last_pool(h, mask)
    write_safetensors(os.path.join(d, "expected.safetensors"), exp)
    return wf, exp


TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def lora_case(cfg, wf, exp, gen):
    d = os.path.join(OUT, "lora")
    os.makedirs(d, exist_ok=True)
    r, alpha = 4, 8
    scale = alpha / math.sqrt(r)  # rsLoRA
    adapter = {}
    lora = {}
    params = []
    for i in range(cfg["num_hidden_layers"]):
        for t in TARGETS:
            mod = f"model.layers.{i}." + ("self_attn." if t in TARGETS[:4] else "mlp.") + t
            W = wf[mod + ".weight"]
            A = (torch.randn(r, W.shape[1], generator=gen) / math.sqrt(W.shape[1])).requires_grad_(True)
            Bm = (torch.randn(W.shape[0], r, generator=gen) * 0.1).requires_grad_(True)  # non-zero: a trained adapter
            lora[mod] = (A, Bm, scale)
            adapter[f"base_model.model.{mod}.lora_A.weight"] = A.detach().clone()
            adapter[f"base_model.model.{mod}.lora_B.weight"] = Bm.detach().clone()
            params.append((mod, A, Bm))
    write_safetensors(os.path.join(d, "adapter_model.safetensors"), adapter)
    write_json(os.path.join(d, "adapter_config.json"), {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": "../tiny-bf16",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": alpha,
        "lora_dropout": 0.0,
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": r,
        "rank_pattern": {},
        "revision": None,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "task_type": "FEATURE_EXTRACTION",
        "use_dora": False,
        "use_rslora": True,
    })
    ids, mask, pos = exp["right.input_ids"], exp["right.attention_mask"], exp["right.position_ids"]
    h = qwen2_forward(cfg, wf, wf["model.embed_tokens.weight"][ids], mask, pos, lora)
    mean = mean_pool(h, mask)
    # A fixed scalar loss so the gradients of every A and B can be compared: sum(mean * probe).
    probe = torch.randn(mean.shape, generator=gen)
    loss = (mean * probe).sum()
    loss.backward()
    out = {
        "input_ids": ids, "attention_mask": mask, "position_ids": pos,
        "last_hidden_state": h.detach().contiguous(), "mean": mean.detach(), "last": last_pool(h, mask).detach(),
        "probe": probe, "loss": loss.detach().reshape(1),
    }
    for mod, A, Bm in params:
        out[f"grad.{mod}.lora_A"] = A.grad.clone()
        out[f"grad.{mod}.lora_B"] = Bm.grad.clone()
    # The merged weights W + scale * B A for one module: what a merge must produce.
    A, Bm, _ = lora["model.layers.0.self_attn.q_proj"]
    out["merged.model.layers.0.self_attn.q_proj.weight"] = (wf["model.layers.0.self_attn.q_proj.weight"]
                                                            + scale * (Bm @ A)).detach()
    write_safetensors(os.path.join(d, "expected.safetensors"), out)


def template_case(cfg, wf, gen):
    """Embedding-level prompt layouts, built row by row here (independently of the C# planner)."""
    d = os.path.join(OUT, "template")
    os.makedirs(d, exist_ok=True)
    V, Hd = cfg["vocab_size"], cfg["hidden_size"]
    emb = wf["model.embed_tokens.weight"]
    pad_id = cfg["eos_token_id"]
    prefix = torch.tensor([11, 22, 33], dtype=torch.int64)  # stands for tokens("This product text")
    img_prefix = torch.tensor([44, 55, 66], dtype=torch.int64)  # stands for tokens("and its image")
    suffix = torch.tensor([pad_id], dtype=torch.int64)  # <|endoftext|>
    lengths = [5, 2, 7]
    rows = text_batch(gen, V, lengths)
    Lmax = max(lengths)
    n_img = 3
    images = torch.randn(len(rows), n_img, Hd, generator=gen)  # already projected image embeddings
    image_mask = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.int64)  # missing slots: zero, masked
    images = images * image_mask[:, :, None]

    def E(ids):
        return emb[ids]

    # Each variant: a list of pieces per row; a piece is (embeddings (n, H), mask (n)).
    def build(pieces_of_row, compact):
        seqs, masks = [], []
        for i in range(len(rows)):
            es, ms = zip(*pieces_of_row(i))
            seqs.append(torch.cat(es))
            masks.append(torch.cat(ms))
        x = torch.stack(seqs)
        m = torch.stack(masks)
        pos = compact_positions(m) if compact else torch.arange(x.shape[1])[None].expand(x.shape[0], -1).contiguous()
        return x, m, pos

    def ones(n):
        return torch.ones(n, dtype=torch.int64)

    def text_and_pads(i):
        r = rows[i]
        ids = torch.cat([r, torch.full((Lmax - len(r),), pad_id, dtype=torch.int64)])
        return (E(ids), torch.cat([ones(len(r)), torch.zeros(Lmax - len(r), dtype=torch.int64)]))

    def imgs(i):
        return (images[i], image_mask[i])

    variants = {
        "none": lambda i: [text_and_pads(i)],
        "prefix": lambda i: [(E(prefix), ones(3)), text_and_pads(i)],
        "prefix-eos": lambda i: [(E(prefix), ones(3)), text_and_pads(i), (E(suffix), ones(1))],
        "t1-e-eeos": lambda i: [(E(prefix), ones(3)), text_and_pads(i), (E(img_prefix), ones(3)), imgs(i),
                                (E(suffix), ones(1))],
        "image-first": lambda i: [(E(img_prefix), ones(3)), imgs(i), (E(prefix), ones(3)), text_and_pads(i),
                                  (E(suffix), ones(1))],
    }
    out = {"prefix_ids": prefix, "image_prefix_ids": img_prefix, "suffix_ids": suffix,
           "text_ids": pad_batch(rows, pad_id, False)[0], "text_lengths": torch.tensor(lengths, dtype=torch.int64),
           "images": images.contiguous(), "image_mask": image_mask}
    with torch.no_grad():
        for name, fn in variants.items():
            for mode in ("padded", "compact"):
                x, m, pos = build(fn, mode == "compact")
                h = qwen2_forward(cfg, wf, x, m, pos)
                k = f"{name}.{mode}"
                out[k + ".attention_mask"] = m
                out[k + ".position_ids"] = pos
                out[k + ".mean"] = mean_pool(h, m)
                out[k + ".last"] = last_pool(h, m)
    write_safetensors(os.path.join(d, "expected.safetensors"), out)


def main():
    t0 = time.time()
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261122)
    cfg_a = qwen2_config(hidden=64, layers=2, heads=4, kv_heads=2, inter=160, vocab=512, theta=1000000.0, eps=1e-6,
                         tied=True, dtype="bfloat16")
    wf_a, exp_a = model_case("tiny-bf16", cfg_a, gen, torch.bfloat16, 1, [6, 3, 9, 1])
    cfg_b = qwen2_config(hidden=48, layers=3, heads=6, kv_heads=2, inter=96, vocab=384, theta=10000.0, eps=1e-5,
                         tied=False, dtype="float32")
    model_case("tiny-f32-sharded", cfg_b, gen, torch.float32, 2, [4, 8, 2])
    lora_case(cfg_a, wf_a, exp_a, gen)
    template_case(cfg_a, wf_a, gen)
    print(f"gen_qwen2: wrote {OUT} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
