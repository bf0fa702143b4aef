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
