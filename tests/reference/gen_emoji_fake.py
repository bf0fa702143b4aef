"""Writes tests/fixtures/npm-emoji-fake: miniature `npm pack` tarballs of emojibase-data 17.0.0 and
emoji-datasource-{twitter,google} 16.0.0 (same file names and inner layout as the real ones), plus the pixel features
of every PNG computed with numpy from the source pixels (expected_features.json).

Run by /usr/bin/python3 (Debian's numpy). Deterministic (fixed content, tar/gzip mtime 0). The expected dataset is
worked out by hand in tests/fixtures/npm-emoji-fake/README.md and asserted in tests/Xmc/EmojiBuilderTests.cs.
"""
import gzip
import io
import json
import os
import struct
import tarfile
import zlib

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "npm-emoji-fake")
os.makedirs(out, exist_ok=True)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rows, width, height, bit_depth, color_type, plte=None, trns=None):
    """rows: raw scanlines (already packed); filter 0 (none) on even rows, 2 (up) on odd rows."""
    raw = bytearray()
    prev = bytes(len(rows[0]))
    for y, line in enumerate(rows):
        f = y % 2 * 2
        raw.append(f)
        raw += bytes((x - (prev[i] if f == 2 else 0)) & 0xFF for i, x in enumerate(line))
        prev = line
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if plte is not None:
        png += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        png += chunk(b"tRNS", bytes(trns))
    return png + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def features(rgba):
    """8x8 grid of mean RGB composited over white + 4x4x4 alpha-weighted histogram, each L2-normalised / sqrt(2)."""
    px = rgba.astype(np.float64)
    h, w = rgba.shape[:2]
    a = px[..., 3:4] / 255.0
    comp = (px[..., :3] * a + 255.0 * (1 - a)) / 255.0
    grid = comp.reshape(8, h // 8, 8, w // 8, 3).mean(axis=(1, 3)).reshape(-1)
    bins = np.minimum(3, rgba[..., :3].astype(np.int64) * 4 // 256)
    hist = np.zeros(64)
    np.add.at(hist, (bins[..., 0] * 4 + bins[..., 1]) * 4 + bins[..., 2], a[..., 0])
    grid /= np.linalg.norm(grid) if np.linalg.norm(grid) > 0 else 1
    hist /= np.linalg.norm(hist) if np.linalg.norm(hist) > 0 else 1
    return (np.concatenate([grid, hist]) / np.sqrt(2)).tolist()


S = 64
yy, xx = np.mgrid[0:S, 0:S]
disc = (xx - 31.5) ** 2 + (yy - 31.5) ** 2 < 26 ** 2


def image(seed, kind, size=S):
    """A disc of a seed-dependent colour on a transparent background, in one of the PNG kinds the vendors use:
    'rgba' (colour type 6), 'pal4' (palette 4-bit with tRNS, like some Twemoji), 'ga' (grey+alpha, like some Noto),
    'pal8' (palette 8-bit). Returns (png bytes, rgba uint8 [size, size, 4])."""
    col = ((seed * 67) % 256, (seed * 131 + 40) % 256, (seed * 29 + 90) % 256)
    y2, x2 = np.mgrid[0:size, 0:size]
    d = (x2 - (size - 1) / 2) ** 2 + (y2 - (size - 1) / 2) ** 2 < (size * 0.4) ** 2
    stripe = ((x2 + seed) // 8) % 2 == 0
    if kind == "rgba":
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[..., 0] = np.where(stripe, col[0], col[1])
        rgba[..., 1] = col[1]
        rgba[..., 2] = (x2 * 3 + seed) % 256
        rgba[..., 3] = np.where(d, 255, np.where((x2 + y2) % 9 == 0, 90, 0))
        return encode_png([rgba[y].tobytes() for y in range(size)], size, size, 8, 6), rgba
    if kind in ("pal4", "pal8"):
        pal = [(0, 0, 0), col, (255 - col[0], col[2], col[1]), (col[2], 255 - col[1], 40)]
        trns = [0, 255, 255, 200]
        idx = np.where(d, np.where(stripe, 1, 2), 0).astype(np.uint8)
        idx[(x2 + y2) % 11 == 0] = 3
        rgba = np.zeros((size, size, 4), np.uint8)
        for i, p in enumerate(pal):
            rgba[idx == i, :3] = p
            rgba[idx == i, 3] = trns[i]
        if kind == "pal8":
            rows = [idx[y].tobytes() for y in range(size)]
            return encode_png(rows, size, size, 8, 3, plte=sum(map(list, pal), []), trns=trns), rgba
        rows = [bytes((int(r[i]) << 4) | int(r[i + 1]) for i in range(0, size, 2)) for r in idx]
        return encode_png(rows, size, size, 4, 3, plte=sum(map(list, pal), []), trns=trns), rgba
    if kind == "ga":
        g = np.where(stripe, col[0], col[2]).astype(np.uint8)
        a = np.where(d, 255, 0).astype(np.uint8)
        ga = np.stack([g, a], axis=2)
        return encode_png([ga[y].tobytes() for y in range(size)], size, size, 8, 4), np.stack([g, g, g, a], axis=2)
    raise ValueError(kind)


def tgz(path, files):
    """A `npm pack`-style tarball: every file under package/, sorted, mtime 0."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name in sorted(files):
                data = files[name]
                info = tarfile.TarInfo("package/" + name)
                info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
                tar.addfile(info, io.BytesIO(data))
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())


def js(o):
    return (json.dumps(o, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# ---- emojibase-data: en/data.json and en/messages.json -------------------------------------------------------
def e(label, hexcode, tags, group, subgroup, skins=()):
    d = {"label": label, "hexcode": hexcode, "tags": tags, "emoji": "", "text": "", "type": 1, "group": group, "subgroup": subgroup}
    if skins:
        d["skins"] = [{"label": f"{label}: {t}", "hexcode": h, "emoji": "", "text": "", "type": 1, "group": group,
                       "subgroup": subgroup, "tone": tone} for h, tone, t in skins]
    return d


data = [
    {"label": "regional indicator A", "hexcode": "1F1E6", "emoji": "", "text": "", "type": 1, "version": 0},   # no group
    e("grinning face", "1F600", ["face", "grin", "grinning"], 0, 0),
    e("grinning face with big eyes", "1F603", ["face", "mouth", "open", "smile"], 0, 0),
    e("smiling face", "263A", ["face", "outlined", "relaxed", "smile"], 0, 1),
    e("waving hand", "1F44B", ["bye", "hand", "hello", "wave"], 1, 16,
      [("1F44B-1F3FB", 1, "light skin tone"), ("1F44B-1F3FD", 3, "medium skin tone")]),
    e("raised back of hand", "1F91A", ["backhand", "raised", "wave"], 1, 16, [("1F91A-1F3FB", 1, "light skin tone")]),
    e("hand with fingers splayed", "1F590", ["finger", "hand", "stop", "wave"], 1, 16,
      [("1F590-1F3FB", 1, "light skin tone"), ("1F590-1F3FF", 5, "dark skin tone")]),
    e("person shrugging", "1F937", ["doubt", "indifference", "shrug"], 1, 30),
    e("man shrugging", "1F937-200D-2642-FE0F", ["doubt", "indifference", "man", "shrug"], 1, 30),
    e("man technologist", "1F468-200D-1F4BB", ["coder", "developer", "man", "technologist"], 1, 40),
    e("woman technologist", "1F469-200D-1F4BB", ["coder", "developer", "technologist", "woman"], 1, 40),
    e("light skin tone", "1F3FB", ["skin", "tone"], 2, 22),                                                    # component
    e("red apple", "1F34E", ["apple", "fruit", "red"], 4, 50),
    e("pear", "1F350", ["fruit", "pear"], 4, 50),
    e("cherries", "1F352", ["berries", "cherry", "fruit", "red"], 4, 50),
    e("moose", "1FACE", ["animal", "moose"], 3, 60),                                                          # no vendor image
]
messages = {
    "groups": [{"key": "smileys-emotion", "message": "smileys & emotion", "order": 0},
               {"key": "people-body", "message": "people & body", "order": 1},
               {"key": "component", "message": "components", "order": 2},
               {"key": "animals-nature", "message": "animals & nature", "order": 3},
               {"key": "food-drink", "message": "food & drink", "order": 4}],
    "skinTones": [{"key": "dark", "message": "dark skin tone"}, {"key": "light", "message": "light skin tone"},
                  {"key": "medium", "message": "medium skin tone"}, {"key": "medium-dark", "message": "medium-dark skin tone"},
                  {"key": "medium-light", "message": "medium-light skin tone"}],
    "subgroups": [{"key": "face-smiling", "message": "smiling", "order": 0},
                  {"key": "face-affection", "message": "affectionate", "order": 1},
                  {"key": "hand-fingers-open", "message": "hand fingers open", "order": 16},
                  {"key": "skin-tone", "message": "skin tone", "order": 22},
                  {"key": "person-gesture", "message": "person gesture", "order": 30},
                  {"key": "person-role", "message": "person role", "order": 40},
                  {"key": "food-fruit", "message": "fruit", "order": 50},
                  {"key": "animal-mammal", "message": "mammal", "order": 60}],
}
tgz(os.path.join(out, "emojibase-data-17.0.0.tgz"), {
    "package.json": js({"name": "emojibase-data", "version": "17.0.0", "license": "MIT"}),
    "LICENSE": b"FAKE LICENSE of the emojibase-data test fixture\n",
    "en/data.json": js(data),
    "en/messages.json": js(messages),
    "de/data.json": js([]),
})

# ---- emoji-datasource-{twitter,google}: emoji.json + img/<vendor>/64/*.png --------------------------------------
# Datasource writes FE0F where the emoji is fully qualified (263A-FE0F); 1F34E has no Twemoji image; 1F603's Noto
# image is listed but absent; 1F350's Twemoji PNG is corrupt; 1F352's Noto PNG is 32x32; 1FACE is not in 16.0.
base = ["1F600", "1F603", "263A-FE0F", "1F44B", "1F91A", "1F590", "1F937", "1F937-200D-2642-FE0F",
        "1F468-200D-1F4BB", "1F469-200D-1F4BB", "1F3FB", "1F34E", "1F350", "1F352"]
skins = {"1F44B": ["1F3FB", "1F3FD", "1F3FF"], "1F91A": ["1F3FB"], "1F590": ["1F3FB", "1F3FF"]}


def entry(u):
    return {"unified": u, "image": u.lower() + ".png", "has_img_twitter": u != "1F34E", "has_img_google": True}


catalogue = []
for u in base:
    x = entry(u)
    x["short_name"] = u.lower()
    if u in skins:
        x["skin_variations"] = {t: entry(f"{u}-{t}") for t in skins[u]}
    catalogue.append(x)
all_codes = [c["unified"] for c in catalogue] + [v["unified"] for c in catalogue for v in c.get("skin_variations", {}).values()]
kinds = {"twitter": ["pal4", "rgba", "pal8"], "google": ["rgba", "ga", "pal4"]}
expected = {}
for vi, vendor in enumerate(["twitter", "google"]):
    files = {"package.json": js({"name": f"emoji-datasource-{vendor}", "version": "16.0.0", "license": "MIT"}),
             "LICENSE": f"FAKE LICENSE of the emoji-datasource-{vendor} test fixture\n".encode(),
             "emoji.json": js(catalogue)}
    for i, u in enumerate(sorted(all_codes)):
        name = u.lower() + ".png"
        if vendor == "twitter" and u == "1F34E":
            continue
        if vendor == "google" and u == "1F603":
            continue
        size = 32 if (vendor == "google" and u == "1F352") else S
        png, rgba = image(i * 3 + vi * 101 + 1, kinds[vendor][i % 3], size)
        if vendor == "twitter" and u == "1F350":
            png = png[:40] + bytes([png[40] ^ 0xFF]) + png[41:]   # CRC mismatch
        files[f"img/{vendor}/64/{name}"] = png
        if size == S:
            expected[f"{vendor}-{name}"] = features(rgba)
    files[f"img/{vendor}/sheets/{vendor}-sheet.png"] = b"not read"
    tgz(os.path.join(out, f"emoji-datasource-{vendor}-16.0.0.tgz"), files)

with open(os.path.join(out, "expected_features.json"), "w") as fh:
    json.dump(expected, fh, indent=0, sort_keys=True)
    fh.write("\n")

# npm's integrity strings of the fake tarballs ("sha512-" + base64 of the SHA-512 digest), for the cache tests.
import base64
import hashlib

with open(os.path.join(out, "integrity.json"), "w") as fh:
    json.dump({f: "sha512-" + base64.b64encode(hashlib.sha512(open(os.path.join(out, f), "rb").read()).digest()).decode()
               for f in sorted(os.listdir(out)) if f.endswith(".tgz")}, fh, indent=1)
    fh.write("\n")

# ---- tests/fixtures/image-bank-numpy: a bare bank as the reference code ships it, written by numpy ------------------
# float32 bank [4, 3]; int32 trn map [3, 2] and int64 tst map [2, 2] (-1 = no image); tiny label files for the row counts.
nb = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "image-bank-numpy")
os.makedirs(nb, exist_ok=True)
bank = (np.arange(12, dtype=np.float64).reshape(4, 3) / 7 - 0.5).astype("<f4")
np.save(os.path.join(nb, "img_embs.npy"), bank)
np.save(os.path.join(nb, "trn_img_map.npy"), np.array([[0, 1], [2, -1], [-1, -1]], dtype="<i4"))
np.save(os.path.join(nb, "tst_img_map.npy"), np.array([[3, 0], [1, 2]], dtype="<i8"))
with open(os.path.join(nb, "trn_X_Y.txt"), "w") as fh:
    fh.write("3 2\n0:1\n1:1\n0:1 1:1\n")
with open(os.path.join(nb, "tst_X_Y.txt"), "w") as fh:
    fh.write("2 2\n1:1\n0:1\n")
with open(os.path.join(nb, "values.json"), "w") as fh:
    json.dump({"bank": [float(x) for x in bank.ravel()]}, fh, indent=1)
    fh.write("\n")
