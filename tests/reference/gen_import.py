#!/usr/bin/python3
"""Independent PyTorch forward over model folders written by `./vixml model import` (tests/Import/ImportParityTests).

Run with Debian's /usr/bin/python3 (python3-torch, numpy; no transformers, no safetensors package: safetensors is
parsed here by hand, json header + numpy). The C# test runs ONNX Runtime on the package's original ONNX graph and
this script on the IMPORTED folder, on the same inputs, and compares.

  gen_import.py bert   MODEL_DIR WORK_DIR   # WORK_DIR/batch_*.ids.npy, .mask.npy (int64 [B, T])
                                            #  -> batch_*.hidden.npy [B, T, H], batch_*.pooled.npy [B, H] (pooling from
                                            #     MODEL_DIR/1_Pooling/config.json, then L2)
  gen_import.py resnet MODEL_DIR WORK_DIR   # WORK_DIR/icons64.npy float32 [N, 3, 64, 64] planar RGB 0..255
                                            #  -> resized224.npy [N, 3, 224, 224], features.npy [N, 512]

BERT is written from HF modeling_bert.py's numerics (eager attention, additive finfo.min mask, erf GELU, LayerNorm with
the config's eps); names are HF BertModel's. ResNet follows the folder's config.json literally: every conv's pads
(ONNX order top, left, bottom, right) applied with F.pad, BatchNorm in inference mode with the recorded eps, max pool
padded with -inf, average pool over the final map; preprocessing = channel permutation + mean image from
preprocess.safetensors. Icons are resized 64 -> 224 with F.interpolate(bilinear, align_corners=False, antialias=False).

Without arguments (as tools/test.sh runs every gen_*.py) it has nothing to regenerate: the inputs come from the test.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(2)
ST_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype=ST_DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32).copy())
    return out


# ---------------------------------------------------------------- BERT
def bert_forward(w, cfg, ids, mask):
    B, T = ids.shape
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    assert cfg["hidden_act"] == "gelu"

    def lin(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    def ln(x, p):
        return F.layer_norm(x, (H,), w[p + ".weight"], w[p + ".bias"], eps)

    pos = torch.arange(T)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos][None] \
        + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = ln(x, "embeddings.LayerNorm")
    add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min  # (B, 1, 1, T)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."

        def heads(t):
            return t.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)

        q, k, v = (heads(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / (hd ** 0.5) + add_mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H)
        h = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        ff = F.gelu(lin(h, p + "intermediate.dense"))
        x = ln(lin(ff, p + "output.dense") + h, p + "output.LayerNorm")
    return x


def pooling_mode(model_dir):
    with open(os.path.join(model_dir, "1_Pooling", "config.json")) as f:
        c = json.load(f)
    on = [k for k, v in c.items() if k.startswith("pooling_mode_") and v is True]
    assert on in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]), on
    return "mean" if on == ["pooling_mode_mean_tokens"] else "cls"


def run_bert(model_dir, work):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mode = pooling_mode(model_dir)
    batches = sorted(n[:-len(".ids.npy")] for n in os.listdir(work) if n.endswith(".ids.npy"))
    for b in batches:
        ids = torch.from_numpy(np.load(os.path.join(work, b + ".ids.npy")))
        mask = torch.from_numpy(np.load(os.path.join(work, b + ".mask.npy")))
        with torch.no_grad():
            h = bert_forward(w, cfg, ids, mask)
            if mode == "mean":
                m = mask[..., None].float()
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            else:
                pooled = h[:, 0]
            pooled = F.normalize(pooled, p=2, dim=1)
        np.save(os.path.join(work, b + ".hidden.npy"), h.numpy().astype(np.float32))
        np.save(os.path.join(work, b + ".pooled.npy"), pooled.numpy().astype(np.float32))
    print(f"gen_import: bert {model_dir}: {len(batches)} batches, pooling {mode}")


# ---------------------------------------------------------------- ResNet
def run_resnet(model_dir, work):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mean = read_safetensors(os.path.join(model_dir, "preprocess.safetensors"))["mean_image"]
    eps = cfg["batch_norm"]["eps"]
    convs = cfg["convs"]
    prep = cfg["preprocess"]
    size = prep["input_size"]

    icons = torch.from_numpy(np.load(os.path.join(work, "icons64.npy")))  # (N, 3, 64, 64) RGB 0..255
    x = F.interpolate(icons, size=tuple(size), mode="bilinear", align_corners=False)
    np.save(os.path.join(work, "resized224.npy"), x.numpy().astype(np.float32))
    perm = prep["channel_permutation_from_rgb"]
    x = x[:, perm] * prep["scale"] - mean[None]  # (N, 3, S, S) in the model's channel order

    def conv(x, name):
        c = convs[name]
        t, l, b, r = c["pads"]
        return F.conv2d(F.pad(x, (l, r, t, b)), w[name + ".weight"], stride=tuple(c["stride"]))

    def bn(x, name):
        return F.batch_norm(x, w[name + ".running_mean"], w[name + ".running_var"], w[name + ".weight"],
                            w[name + ".bias"], training=False, eps=eps)

    with torch.no_grad():
        x = F.relu(bn(conv(x, "conv1"), "bn1"))
        mp = cfg["stem"]["max_pool"]
        t, l, b, r = mp["pads"]
        x = F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), tuple(mp["kernel"]), tuple(mp["stride"]))
        for s, n_blocks in enumerate(cfg["blocks"], start=1):
            for i in range(n_blocks):
                p = f"layer{s}.{i}"
                y = F.relu(bn(conv(x, p + ".conv1"), p + ".bn1"))
                y = bn(conv(y, p + ".conv2"), p + ".bn2")
                sc = bn(conv(x, p + ".downsample.0"), p + ".downsample.1") if p + ".downsample.0" in convs else x
                x = F.relu(y + sc)
        ap = cfg["average_pool"]
        assert tuple(x.shape[2:]) == tuple(ap["kernel"]), (x.shape, ap)
        feats = x.mean(dim=(2, 3))  # global average (no padding involved)
    np.save(os.path.join(work, "features.npy"), feats.numpy().astype(np.float32))
    print(f"gen_import: resnet {model_dir}: {feats.shape[0]} images -> {feats.shape[1]}-d")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        print("gen_import.py: nothing to regenerate (tests/Import/ImportParityTests runs it with its own inputs)")
        sys.exit(0)
    kind, model_dir, work = sys.argv[1:4]
    {"bert": run_bert, "resnet": run_resnet}[kind](model_dir, work)
