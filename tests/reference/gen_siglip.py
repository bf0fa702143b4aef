#!/usr/bin/python3
"""Independent reference for ViXml.Models.Vision.SiglipVisionModel (tests/Models/SiglipTests).

Run with Debian's /usr/bin/python3 (python3-torch, numpy; no transformers, no safetensors package: written by hand).
Writes tiny random SigLIP vision towers in exact Hugging Face layout into tests/fixtures/siglip/<case>/
(config.json, preprocessor_config.json, model.safetensors) and, for a few images, the expected outputs into
tests/fixtures/siglip/expected/<case>.safetensors: "pixels" (B, 3, S, S) RGB 0..255 (the tower's input after resizing),
"last_hidden_state" (B, N, D) after post_layernorm, "pooled" (B, D) = HF's pooler_output (the attention-pooling head).

The forward is written from scratch in plain torch after HF modeling_siglip.py (SiglipVisionModel, eager attention):
  pixels = (rgb * rescale_factor - image_mean) / image_std                (SiglipImageProcessor after resizing)
  x = conv2d(pixels, patch_embedding, stride = patch).flatten(2).T + position_embedding.weight   (no class token)
  per layer: x = x + out_proj(softmax(q k^T * hd^-0.5) v)  on layer_norm1(x);  x = x + fc2(act(fc1(layer_norm2(x))))
  h = post_layernorm(x)
  head: a = MultiheadAttention(probe, h, h) (torch.nn.MultiheadAttention, packed in_proj, batch_first);
        pooled = (a + mlp(layernorm(a)))[:, 0]
Cases: "siglip-model" = a SiglipModel checkpoint (model_type "siglip", vision_config, with a few text_model.* tensors
and logit_scale/logit_bias that a vision loader must skip), gelu_pytorch_tanh, SigLIP's default processor (0.5/0.5);
"siglip-vision" = a SiglipVisionModel checkpoint (model_type "siglip_vision_model"), erf gelu, CLIP-like mean/std,
float16 weights (the loader converts). Deterministic (fixed seeds).
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "siglip")
torch.set_num_threads(1)
ST_DTYPE = {torch.float32: "F32", torch.float16: "F16"}


def write_safetensors(path, tensors, metadata=None):
    header = {} if metadata is None else {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().tobytes()
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


def random_tower(cfg, g):
    D, I, S, P = cfg["hidden_size"], cfg["intermediate_size"], cfg["image_size"], cfg["patch_size"]
    N = (S // P) ** 2

    def rn(*shape, std=0.2):
        return torch.randn(*shape, generator=g) * std

    w = {}
    pre = "vision_model."
    w[pre + "embeddings.patch_embedding.weight"] = rn(D, 3, P, P, std=0.05)
    w[pre + "embeddings.patch_embedding.bias"] = rn(D, std=0.05)
    w[pre + "embeddings.position_embedding.weight"] = rn(N, D, std=0.5)

    def ln(name):
        w[name + ".weight"] = 1.0 + rn(D, std=0.1)
        w[name + ".bias"] = rn(D, std=0.1)

    def lin(name, o, i):
        w[name + ".weight"] = rn(o, i, std=1.0 / i ** 0.5)
        w[name + ".bias"] = rn(o, std=0.05)

    for l in range(cfg["num_hidden_layers"]):
        p = f"{pre}encoder.layers.{l}."
        ln(p + "layer_norm1")
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            lin(p + "self_attn." + n, D, D)
        ln(p + "layer_norm2")
        lin(p + "mlp.fc1", I, D)
        lin(p + "mlp.fc2", D, I)
    ln(pre + "post_layernorm")
    h = pre + "head."
    w[h + "probe"] = rn(1, 1, D, std=1.0)
    w[h + "attention.in_proj_weight"] = rn(3 * D, D, std=1.0 / D ** 0.5)
    w[h + "attention.in_proj_bias"] = rn(3 * D, std=0.05)
    lin(h + "attention.out_proj", D, D)
    ln(h + "layernorm")
    lin(h + "mlp.fc1", I, D)
    lin(h + "mlp.fc2", D, I)
    return w


def act(x, name):
    if name == "gelu_pytorch_tanh":
        return F.gelu(x, approximate="tanh")
    assert name == "gelu", name
    return F.gelu(x)


def forward(w, cfg, prep, rgb):
    D, H, P = cfg["hidden_size"], cfg["num_attention_heads"], cfg["patch_size"]
    hd, eps = D // H, cfg["layer_norm_eps"]
    mean = torch.tensor(prep["image_mean"]).view(1, 3, 1, 1)
    std = torch.tensor(prep["image_std"]).view(1, 3, 1, 1)
    x = (rgb * prep["rescale_factor"] - mean) / std
    pre = "vision_model."
    x = F.conv2d(x, w[pre + "embeddings.patch_embedding.weight"], w[pre + "embeddings.patch_embedding.bias"], stride=P)
    x = x.flatten(2).transpose(1, 2) + w[pre + "embeddings.position_embedding.weight"][None]  # (B, N, D)
    B, N, _ = x.shape

    def lin(t, name):
        return t @ w[name + ".weight"].T + w[name + ".bias"]

    def ln(t, name):
        return F.layer_norm(t, (D,), w[name + ".weight"], w[name + ".bias"], eps)

    for l in range(cfg["num_hidden_layers"]):
        p = f"{pre}encoder.layers.{l}."
        r = x
        t = ln(x, p + "layer_norm1")
        q, k, v = (lin(t, p + "self_attn." + n).view(B, N, H, hd).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
        a = torch.softmax((q @ k.transpose(-1, -2)) * hd ** -0.5, dim=-1, dtype=torch.float32)
        o = (a @ v).transpose(1, 2).reshape(B, N, D)
        x = r + lin(o, p + "self_attn.out_proj")
        x = x + lin(act(lin(ln(x, p + "layer_norm2"), p + "mlp.fc1"), cfg["hidden_act"]), p + "mlp.fc2")
    hs = ln(x, pre + "post_layernorm")
    h = pre + "head."
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
    mha.load_state_dict({"in_proj_weight": w[h + "attention.in_proj_weight"], "in_proj_bias": w[h + "attention.in_proj_bias"],
                         "out_proj.weight": w[h + "attention.out_proj.weight"], "out_proj.bias": w[h + "attention.out_proj.bias"]})
    mha.eval()
    probe = w[h + "probe"].repeat(B, 1, 1)
    a = mha(probe, hs, hs)[0]
    pooled = a + lin(act(lin(ln(a, h + "layernorm"), h + "mlp.fc1"), cfg["hidden_act"]), h + "mlp.fc2")
    return hs, pooled[:, 0]


CASES = {
    "siglip-model": dict(
        vision=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8,
                    hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6),
        full_model=True, prep=dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5], rescale_factor=1 / 255), dtype=torch.float32, seed=11),
    "siglip-vision": dict(
        vision=dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3, image_size=28, patch_size=7,
                    hidden_act="gelu", layer_norm_eps=1e-5),
        full_model=False, prep=dict(image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
                                    rescale_factor=1 / 255), dtype=torch.float16, seed=12),
}


def main():
    for case, c in CASES.items():
        g = torch.Generator().manual_seed(c["seed"])
        cfg = c["vision"]
        d = os.path.join(OUT, case)
        os.makedirs(d, exist_ok=True)
        w = random_tower(cfg, g)
        w = {k: v.to(c["dtype"]) for k, v in w.items()}          # stored dtype; the forward runs on these values in float32
        wf = {k: v.float() for k, v in w.items()}
        stored = dict(w)
        if c["full_model"]:
            config = {"model_type": "siglip", "architectures": ["SiglipModel"], "transformers_version": "4.47.0",
                      "text_config": {"hidden_size": 16, "vocab_size": 10}, "vision_config": dict(cfg)}
            stored["text_model.embeddings.token_embedding.weight"] = torch.randn(10, 16, generator=g)
            stored["text_model.final_layer_norm.weight"] = torch.ones(16)
            stored["logit_scale"] = torch.zeros(1)
            stored["logit_bias"] = torch.zeros(1)
        else:
            config = dict(cfg, model_type="siglip_vision_model", architectures=["SiglipVisionModel"], transformers_version="4.47.0")
        write_json(os.path.join(d, "config.json"), config)
        S = cfg["image_size"]
        write_json(os.path.join(d, "preprocessor_config.json"), {
            "image_processor_type": "SiglipImageProcessor", "do_resize": True, "size": {"height": S, "width": S}, "resample": 3,
            "do_rescale": True, "rescale_factor": c["prep"]["rescale_factor"], "do_normalize": True,
            "image_mean": c["prep"]["image_mean"], "image_std": c["prep"]["image_std"]})
        write_safetensors(os.path.join(d, "model.safetensors"), stored, {"format": "pt"})
        # 3 images: two random (integers 0..255, as decoded pixels), one flat grey
        rgb = torch.cat([torch.randint(0, 256, (2, 3, S, S), generator=g).float(), torch.full((1, 3, S, S), 128.0)])
        with torch.no_grad():
            hs, pooled = forward(wf, cfg, c["prep"], rgb)
        os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
        write_safetensors(os.path.join(OUT, "expected", case + ".safetensors"),
                          {"pixels": rgb, "last_hidden_state": hs.contiguous(), "pooled": pooled.contiguous()})
        print(f"gen_siglip: {case}: D={cfg['hidden_size']} layers={cfg['num_hidden_layers']} S={S} -> pooled {tuple(pooled.shape)}, "
              f"|pooled| max {pooled.abs().max():.3f}")


if __name__ == "__main__":
    main()
