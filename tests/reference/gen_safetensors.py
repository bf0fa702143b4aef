#!/usr/bin/python3
"""Independent safetensors reference written with Debian's PyTorch (no safetensors package exists here).

The format is written by hand from its specification: 8-byte little-endian header length N, N bytes of JSON
header (padded with spaces), then the raw little-endian tensor bytes. Values, bytes and dtype conversions all come
from torch, so the C# reader and converters are checked against an implementation that is not ours.

Writes into tests/fixtures/safetensors/:
  pytorch_all_dtypes.safetensors        every supported dtype, special values, 0-d and empty tensors,
                                        tensors deliberately NOT in the reference writer's order
  pytorch_all_dtypes.expected.json      per tensor: dtype, shape, raw bytes (hex) and values (bit patterns / ints)
  reference_layout.safetensors          the same tensors laid out as the reference writer does (writer byte check)
  sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json + expected.json
  conversions.safetensors               torch's bf16/f16 <-> f32 conversions (exhaustive for 16-bit -> f32)
Deterministic: fixed seeds, sorted JSON.
"""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "safetensors")

DTYPE_NAMES = {
    torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t: torch.Tensor) -> bytes:
    """Little-endian bytes of a tensor as torch stores them (this machine is little-endian)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()  # numpy has no bfloat16
    if t.dtype == torch.bool:
        return t.numpy().astype(np.uint8).tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None, ensure_ascii=True):
    """tensors: list of (name, tensor) written in the given order (no re-sorting)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors:
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=ensure_ascii).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data section starts 8-byte aligned
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def expected_entry(t: torch.Tensor):
    e = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "hex": raw_bytes(t).hex()}
    flat = t.reshape(-1)
    if t.dtype in (torch.bfloat16, torch.float16, torch.float32):
        # torch's own widening to float32, as unsigned bit patterns (NaN/inf survive JSON this way)
        e["f32_bits"] = [int(v) & 0xFFFFFFFF for v in flat.float().view(torch.int32).tolist()]
    elif t.dtype == torch.float64:
        e["f64_bits"] = [int(v) & 0xFFFFFFFFFFFFFFFF for v in flat.view(torch.int64).tolist()]
    else:
        e["ints"] = [int(v) for v in flat.tolist()]
    return e


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def main():
    torch.manual_seed(1234)
    inf, nan = float("inf"), float("nan")
    special = [0.0, -0.0, inf, -inf, nan, 1.0, -2.5, 1.0 / 3.0, 1e-40, 6e-8, 65504.0, 1e30, -1e-30]
    tensors = [
        # small dtypes first on purpose: the reader must not assume the reference writer's alignment order
        ("u8.vec", torch.tensor([0, 1, 127, 128, 254, 255, 42], dtype=torch.uint8)),
        ("bool.mask", torch.rand(3, 3) > 0.5),
        ("bf16.mat", (torch.randn(3, 4) * 10).to(torch.bfloat16)),
        ("bf16.special", torch.tensor(special, dtype=torch.float32).to(torch.bfloat16)),
        ("f16.cube", torch.randn(2, 3, 4).to(torch.float16)),
        ("f16.special", torch.tensor(special, dtype=torch.float32).to(torch.float16)),
        ("f32.mat", torch.randn(5, 3)),
        ("f32.special", torch.tensor(special, dtype=torch.float32)),
        ("f32.scalar", torch.tensor(3.25)),
        ("f32.empty", torch.zeros(0, 3)),
        ("f64.vec", torch.tensor([1.0 / 3.0, -1e300, 5e-324, 2.0 ** 60 + 1, inf, -0.0, nan], dtype=torch.float64)),
        ("i64.vec", torch.tensor([0, -1, 2 ** 62 + 7, -2 ** 63, 2 ** 63 - 1, 123456789012], dtype=torch.int64)),
        ("i64.empty", torch.zeros(0, dtype=torch.int64)),
        ("i32.mat", torch.tensor([[-2 ** 31, 2 ** 31 - 1], [7, -7]], dtype=torch.int32)),
        ("layer.0.ünïcode.weight", torch.randint(-1000, 1000, (2, 2), dtype=torch.int32)),
    ]
    meta = {"format": "pt", "generator": "tests/reference/gen_safetensors.py"}
    write_safetensors(os.path.join(OUT, "pytorch_all_dtypes.safetensors"), tensors, meta)
    with open(os.path.join(OUT, "pytorch_all_dtypes.expected.json"), "w") as f:
        json.dump({"metadata": meta, "tensors": {n: expected_entry(t) for n, t in tensors}},
                  f, sort_keys=True, indent=1)

    # The reference writer's layout (safetensors' serialize): "__metadata__" first, tensors ordered by dtype
    # descending in its dtype enum (BOOL < U8 < F16 < BF16 < I32 < F32 < F64 < I64), then by name; compact JSON,
    # UTF-8 names unescaped; spaces pad the header to a multiple of 8. Our writer must produce these exact bytes.
    rank = ["BOOL", "U8", "F16", "BF16", "I32", "F32", "F64", "I64"]
    ordered = sorted(tensors, key=lambda nt: (-rank.index(DTYPE_NAMES[nt[1].dtype]), nt[0].encode("utf-8")))
    write_safetensors(os.path.join(OUT, "reference_layout.safetensors"), ordered, dict(sorted(meta.items())),
                      ensure_ascii=False)

    # --- sharded checkpoint in HF layout ---
    shard_dir = os.path.join(OUT, "sharded")
    shards = {
        "model-00001-of-00002.safetensors": [
            ("embeddings.word_embeddings.weight", torch.randn(6, 4)),
            ("embeddings.LayerNorm.weight", torch.ones(4).to(torch.bfloat16)),
            ("encoder.layer.0.attention.self.query.weight", torch.randn(4, 4).to(torch.float16)),
        ],
        "model-00002-of-00002.safetensors": [
            ("encoder.layer.0.attention.self.query.bias", torch.randn(4)),
            ("embeddings.position_ids", torch.arange(8, dtype=torch.int64).unsqueeze(0)),
        ],
    }
    weight_map, total, expected = {}, 0, {}
    for fname, ts in shards.items():
        write_safetensors(os.path.join(shard_dir, fname), ts, {"format": "pt"})
        for n, t in ts:
            weight_map[n] = fname
            total += len(raw_bytes(t))
            expected[n] = dict(expected_entry(t), shard=fname)
    with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    with open(os.path.join(shard_dir, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True, indent=1)

    # --- conversions: torch is the oracle ---
    all16 = torch.arange(65536, dtype=torch.int32).to(torch.int16)  # every 16-bit pattern, in order
    g = np.random.default_rng(99)
    edge = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0x00800000, 0x00000001, 0x807FFFFF,
            0x3F808000, 0x3F818000, 0x3F80C000, 0x3F807FFF, 0x477FF000, 0x477FEFFF, 0x477FE000, 0x33000000,
            0x33000001, 0x33C00000, 0x387FC000, 0x38800000, 0x7F7F8000, 0xC7800000]
    edge += [struct.unpack("<I", struct.pack("<f", v))[0] for v in (65520.0, 65519.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8,
                                                                  2 ** -25, 1.5 * 2 ** -24, 2 ** -26, 1e39 / 1e10)]
    rand_bits = g.integers(0, 2 ** 32, size=6000, dtype=np.uint64).astype(np.uint32)  # includes NaNs, subnormals
    # values in the normal float16 range, with exact bf16 ties (low 16 bits = 0x8000) and f16 ties (low 13 bits = 0x1000)
    mags = g.uniform(-20, 15, size=3000)
    normal = np.float32(np.sign(g.standard_normal(3000)) * 2.0 ** mags).view(np.uint32)
    ties_bf16 = (normal[:1000] & np.uint32(0xFFFF0000)) | np.uint32(0x8000)
    ties_f16 = (normal[1000:2000] & np.uint32(0xFFFFE000)) | np.uint32(0x1000)
    inputs = np.concatenate([np.array(edge, dtype=np.uint32), rand_bits, normal, ties_bf16, ties_f16])
    x = torch.from_numpy(inputs.view(np.int32).copy()).view(torch.float32)
    conv = [
        ("f16_all_to_f32", all16.view(torch.float16).float()),
        ("bf16_all_to_f32", all16.view(torch.bfloat16).float()),
        ("f32_inputs", x),
        ("f32_to_bf16", x.to(torch.bfloat16)),
        ("f32_to_f16", x.to(torch.float16)),
    ]
    write_safetensors(os.path.join(OUT, "conversions.safetensors"), conv, {"torch": torch.__version__})


if __name__ == "__main__":
    main()
