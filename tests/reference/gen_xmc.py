"""Writes .npy reference files with numpy itself (format versions 1.0, 2.0, 3.0) into tests/fixtures/xmc-npy.

Run by /usr/bin/python3 (Debian's numpy). Deterministic: fixed seed, fixed content. The C# tests read these files
and check our writer reproduces numpy's version-1.0 bytes exactly.
"""
import json
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "xmc-npy")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(1234)

f32 = rng.standard_normal((3, 5)).astype("<f4")
f64 = rng.standard_normal((4, 2)).astype("<f8")
i64 = np.array([[0, 1, -1], [5, -1, -1]], dtype="<i8")
i32 = np.arange(7, dtype="<i4") - 3
vec = rng.standard_normal(6).astype("<f4")

np.save(os.path.join(out, "f32_v1.npy"), f32)
np.save(os.path.join(out, "i64_v1.npy"), i64)
np.save(os.path.join(out, "vec_v1.npy"), vec)
np.save(os.path.join(out, "f64_v1.npy"), f64)
np.save(os.path.join(out, "i32_v1.npy"), i32)
for ver in [(2, 0), (3, 0)]:
    with open(os.path.join(out, f"f32_v{ver[0]}.npy"), "wb") as fh:
        np.lib.format.write_array(fh, f32, version=ver)
    with open(os.path.join(out, f"i64_v{ver[0]}.npy"), "wb") as fh:
        np.lib.format.write_array(fh, i64, version=ver)

# The exact values as JSON (float32 printed through float64 repr, which is exact).
with open(os.path.join(out, "values.json"), "w") as fh:
    json.dump({
        "f32": [float(x) for x in f32.ravel()], "f32_shape": list(f32.shape),
        "f64": [float(x) for x in f64.ravel()], "f64_shape": list(f64.shape),
        "i64": [int(x) for x in i64.ravel()], "i64_shape": list(i64.shape),
        "i32": [int(x) for x in i32.ravel()],
        "vec": [float(x) for x in vec.ravel()],
    }, fh, indent=1)
    fh.write("\n")


# ---------------------------------------------------------------------------------------------------------------
# apt-fake icons: a tiny icons-64x64.tar.gz with PNGs in several colour types and bit depths, encoded here by hand
# (filters 0-4 cycling by row), plus the expected pixel features computed with numpy from the source pixels.
import gzip
import io
import struct
import tarfile
import zlib

fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "apt-fake")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def encode_png(rows_bytes, width, height, bit_depth, color_type, bpp, plte=None, trns=None):
    """rows_bytes: list of raw scanlines (bytes, already packed). Filters cycle 0..4 by row."""
    out = bytearray()
    prev = bytes(len(rows_bytes[0]))
    for y, line in enumerate(rows_bytes):
        f = y % 5
        enc = bytearray()
        for i, x in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            enc.append((x - pred) & 0xFF)
        out.append(f)
        out += enc
        prev = line
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if plte is not None:
        png += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        png += chunk(b"tRNS", bytes(trns))
    png += chunk(b"IDAT", zlib.compress(bytes(out), 9)) + chunk(b"IEND", b"")
    return png


def pack_bits(values, depth):
    out = bytearray()
    per = 8 // depth
    for i in range(0, len(values), per):
        byte = 0
        for j in range(per):
            v = values[i + j] if i + j < len(values) else 0
            byte |= v << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


W = H = 64
yy, xx = np.mgrid[0:H, 0:W]
icons = {}      # name -> (png bytes, rgba uint8 [H, W, 4])

# RGBA 8-bit: a disc of colour on transparent background.
rgba = np.zeros((H, W, 4), np.uint8)
rgba[..., 0] = (xx * 4) % 256
rgba[..., 1] = (yy * 4) % 256
rgba[..., 2] = 200
rgba[..., 3] = np.where((xx - 31.5) ** 2 + (yy - 31.5) ** 2 < 28 ** 2, 255, np.where((xx + yy) % 7 == 0, 128, 0))
icons["alpha-editor_alpha.png"] = (encode_png([rgba[y].tobytes() for y in range(H)], W, H, 8, 6, 4), rgba)

# RGB 8-bit, seeded noise.
rng2 = np.random.default_rng(77)
rgb = rng2.integers(0, 256, (H, W, 3), dtype=np.uint8)
full = np.concatenate([rgb, np.full((H, W, 1), 255, np.uint8)], axis=2)
icons["beta-viewer_beta.png"] = (encode_png([rgb[y].tobytes() for y in range(H)], W, H, 8, 2, 3), full)

# Palette 4-bit with tRNS (index 0 transparent, index 1 half).
pal = [(i * 17, 255 - i * 17, (i * 53) % 256) for i in range(16)]
trns = [0, 128] + [255] * 14
idx = ((xx // 4 + yy // 8) % 16).astype(np.uint8)
full = np.zeros((H, W, 4), np.uint8)
for i in range(16):
    full[idx == i, :3] = pal[i]
    full[idx == i, 3] = trns[i]
rows = [pack_bits(list(idx[y]), 4) for y in range(H)]
icons["delta-player_delta.png"] = (encode_png(rows, W, H, 4, 3, 1, plte=sum(map(list, pal), []), trns=trns), full)

# Palette 1-bit, no tRNS.
pal1 = [(10, 20, 30), (250, 240, 5)]
idx1 = ((xx // 3 + yy // 5) % 2).astype(np.uint8)
full = np.zeros((H, W, 4), np.uint8)
for i in range(2):
    full[idx1 == i, :3] = pal1[i]
full[..., 3] = 255
icons["eta-game_eta.png"] = (encode_png([pack_bits(list(idx1[y]), 1) for y in range(H)], W, H, 1, 3, 1, plte=sum(map(list, pal1), [])), full)

# Palette 8-bit.
pal8 = [((i * 7) % 256, (i * 13) % 256, (i * 29) % 256) for i in range(256)]
idx8 = ((xx * 3 + yy * 5) % 256).astype(np.uint8)
full = np.zeros((H, W, 4), np.uint8)
full[..., 0] = np.array([p[0] for p in pal8], np.uint8)[idx8]
full[..., 1] = np.array([p[1] for p in pal8], np.uint8)[idx8]
full[..., 2] = np.array([p[2] for p in pal8], np.uint8)[idx8]
full[..., 3] = 255
icons["theta-shell_theta.png"] = (encode_png([idx8[y].tobytes() for y in range(H)], W, H, 8, 3, 1, plte=sum(map(list, pal8), [])), full)

# Grey + alpha 8-bit.
g = ((xx * 2 + yy) % 256).astype(np.uint8)
a = ((255 - yy * 4) % 256).astype(np.uint8)
ga = np.stack([g, a], axis=2)
full = np.stack([g, g, g, a], axis=2)
icons["mu_mu.png"] = (encode_png([ga[y].tobytes() for y in range(H)], W, H, 8, 4, 2), full)

# Grey 16-bit (decoded to its high byte).
g16 = ((xx * 1000 + yy * 37) % 65536).astype(">u2")
full = np.stack([(g16 >> 8).astype(np.uint8)] * 3 + [np.full((H, W), 255, np.uint8)], axis=2)
icons["nu_nu.png"] = (encode_png([g16[y].tobytes() for y in range(H)], W, H, 16, 0, 2), full)


def features(rgba):
    """8x8 grid of mean RGB composited over white + 4x4x4 alpha-weighted histogram, each L2-normalised / sqrt(2)."""
    px = rgba.astype(np.float64)
    a = px[..., 3:4] / 255.0
    comp = (px[..., :3] * a + 255.0 * (1 - a)) / 255.0
    grid = comp.reshape(8, 8, 8, 8, 3).mean(axis=(1, 3)).reshape(-1)
    bins = np.minimum(3, rgba[..., :3].astype(np.int64) * 4 // 256)
    hist = np.zeros(64)
    np.add.at(hist, (bins[..., 0] * 4 + bins[..., 1]) * 4 + bins[..., 2], a[..., 0])
    grid /= np.linalg.norm(grid) if np.linalg.norm(grid) > 0 else 1
    hist /= np.linalg.norm(hist) if np.linalg.norm(hist) > 0 else 1
    return (np.concatenate([grid, hist]) / np.sqrt(2)).tolist()


buf = io.BytesIO()
with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
    with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(icons):
            data = icons[name][0]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
with open(os.path.join(fake, "icons-64x64.tar.gz"), "wb") as fh:
    fh.write(buf.getvalue())
with open(os.path.join(fake, "expected_icon_features.json"), "w") as fh:
    json.dump({name: features(icons[name][1]) for name in sorted(icons)}, fh, indent=0)
    fh.write("\n")
