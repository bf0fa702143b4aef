#!/usr/bin/python3
"""Independent references for PRIME's label side and loss (lib/Training/Prime), from Debian's PyTorch 1.13.

Written from ../shared/paper/PRIME-SPEC.md (sections 2, 4 and 5); the combiner is torch.nn.TransformerEncoderLayer
itself, configured as the reference configures it (post-norm, exact GELU, dropout 0.1, eps 1e-5, sequence first).

Writes tests/fixtures/prime/:
  loss.json              cases (float64): the combiner's parameters, raw label outputs u, free-vector bank and the
                         columns' free-vector indices and centroids, unit query embeddings q, the batch target, the four
                         drawn positive index vectors (L_u, L_i, L_uv, L_r: inputs, so both sides use the same draws),
                         the enriched vectors e (eval mode), and for both tie rules (half: torch.max(0, x) as the
                         reference; zero: relu) every loss term, the total and the gradients w.r.t. q, u, the bank and
                         every combiner parameter. Each case is checked here by central finite differences (tie rule
                         zero, the margins of violating slots held at their base values: PRIME-SPEC §10.12) and keeps
                         every discrete decision (violation, band edge, top-k boundary, RegLoss hinge sign) at least
                         1e-4 from its boundary; across the cases L_u, L_i and L_uv all have tie rows.
  label_side.safetensors a label side as a PyTorch user would write it: the layer's state dict under its own names,
                         free_vectors [n, E], label_free_vector int64 [L], centroids [L, E] (float32)
  label_side.json        lbl_u (the encoder outputs u, float32) for those labels and the enriched vectors PyTorch gives
  centroids.json         a stale bank, the labels of each bank row, and the exact centroids (mean of the rows of each
                         label's positives, not re-normalised, zero without positives)
Deterministic: fixed seeds.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "prime")
os.makedirs(OUT, exist_ok=True)

MMIN, MMAX, TAU, DELTA = 0.1, 0.3, 0.1, 0.1
GAP = 1e-4
PARAM_NAMES = ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
               "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
               "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]


def write_json(name, obj):
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def make_layer(e, heads, ffn, seed, dtype=torch.float64):
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(e, heads, dim_feedforward=ffn, dropout=0.1, activation="gelu")
    with torch.no_grad():
        # Move the zero/one initial biases and LayerNorm weights off their special values so every gradient is exercised.
        for n, p in layer.named_parameters():
            if n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            if n.startswith("norm") and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
    return layer.to(dtype).eval()


def enrich(layer, u, free, cent):
    x = torch.stack([u, free, cent])          # (3, N, E): sequence first, as the reference (batch_first False)
    return F.normalize(layer(x).mean(0), dim=1)


def hinge(x, rule):
    return torch.max(torch.zeros_like(x), x) if rule == "half" else torch.relu(x)


def topk_negatives(s, y, k):
    masked = torch.where(y == 0, s, torch.full_like(s, -50.0))
    return masked.topk(k + 1, dim=1)


def triplet(s, y, pos, k, rule, held=None):
    """One OHNM term. held: base margins for the slots that violated at the base point (finite differences only)."""
    sp = s.gather(1, pos[:, None])
    idx = topk_negatives(s.detach(), y, k).indices[:, :k]
    sn = s.gather(1, idx)
    m = (sp - sn).abs().clamp(MMIN, MMAX).detach()
    if held is not None:
        m = torch.where(held[0], held[1], m)
    h = hinge(sn - sp + m, rule)
    w = torch.softmax(torch.where(h > 0, sn, torch.full_like(sn, -50.0)) / TAU, dim=1)
    return (h * w).sum(1).mean(), (sp, sn, m, h, idx)


def reg(si, sf, y, pos, k, rule):
    p = hinge(si.gather(1, pos[:, None]) - sf.gather(1, pos[:, None]) + DELTA, rule).flatten()
    idx = topk_negatives(sf.detach(), y, k).indices[:, :k]
    n = hinge(sf.gather(1, idx) - si.gather(1, idx) + DELTA, rule).flatten()
    lp = 0 if p.sum() == 0 else p.sum() / (p > 0).sum()
    ln = 0 if n.sum() == 0 else n.sum() / (n > 0).sum()
    return (lp + ln) / 2


def total(inputs, layer, case, rule, held=None):
    q, u, bank = inputs
    y = case["y"]
    r = F.normalize(u, dim=1)
    e = enrich(layer, u, bank[case["col_free"]], case["cent"])
    si, sf = q @ r.T, q @ e.T
    lu, iu = triplet(si, y, case["pos"][0], case["k"], rule, None if held is None else held[0])
    li, ii = triplet(r @ q.T, y.T, case["pos"][1], case["k"], rule, None if held is None else held[1])
    luv, iuv = triplet(sf, y, case["pos"][2], case["k"], rule, None if held is None else held[2])
    lr = reg(si, sf, y, case["pos"][3], case["k"], rule)
    tot = lu + luv + case["l2q"] * li + case["reg_weight"] * lr
    return tot, (lu, li, luv, lr), (iu, ii, iuv), (si, sf)


def decisions_ok(info, s, y, k):
    """Every discrete decision at least GAP from its boundary; returns (ok, number of tie rows)."""
    sp, sn, m, h, idx = info
    d = (sp - sn).detach()
    if ((d - MMIN).abs() < GAP).any() or ((d - MMAX).abs() < GAP).any():
        return False, 0
    vals = topk_negatives(s.detach(), y, k).values
    if ((vals[:, k - 1] - vals[:, k]) < GAP).any() or (vals[:, k] <= -50).any():   # k+1 negatives, clear boundary
        return False, 0
    violating = (d < MMIN).any(1)
    band = ((d >= MMIN) & (d <= MMAX)).any(1)
    return True, int((~violating & band).sum())


def reg_ok(si, sf, y, pos, k):
    p = si.gather(1, pos[:, None]) - sf.gather(1, pos[:, None]) + DELTA
    vals = topk_negatives(sf.detach(), y, k)
    idx = vals.indices[:, :k]
    n = sf.gather(1, idx) - si.gather(1, idx) + DELTA
    gaps = vals.values[:, k - 1] - vals.values[:, k]
    return bool((p.abs() > GAP).all() and (n.abs() > GAP).all() and (gaps > GAP).all() and (p > 0).any() and (n > 0).any())


def draw_positive(y, gen):
    return torch.multinomial(y.float(), 1, generator=gen).flatten()


def make_case(seed, b, c, e, heads, ffn, k, nfree, l2q=1.0, reg_weight=0.1):
    gen = torch.Generator().manual_seed(seed)
    layer = make_layer(e, heads, ffn, seed)
    # Target: query i drew column i mod c (the column's own query), plus up to two extra positives; every row and
    # every column keeps at least k + 1 negatives.
    y = torch.zeros(b, c, dtype=torch.float64)
    for i in range(b):
        y[i, i % c] = 1
        for _ in range(int(torch.randint(0, 3, (1,), generator=gen))):
            y[i, int(torch.randint(0, c, (1,), generator=gen))] = 1
    if (y.sum(1) > c - k - 1).any() or ((1 - y).sum(0) < k + 1).any():
        return None
    r_dir = F.normalize(torch.randn(c, e, generator=gen, dtype=torch.float64), dim=1)
    u = r_dir * (0.5 + 2.5 * torch.rand(c, 1, generator=gen, dtype=torch.float64))  # unnormalised encoder outputs
    mix = 0.4 + 0.8 * torch.rand(b, 1, generator=gen, dtype=torch.float64)
    q = F.normalize(mix * (y @ r_dir) / y.sum(1, keepdim=True) + 0.35 * torch.randn(b, e, generator=gen, dtype=torch.float64), dim=1)
    bank = 0.3 * torch.randn(nfree, e, generator=gen, dtype=torch.float64)
    col_free = torch.randint(0, nfree, (c,), generator=gen)
    cent = 0.6 * F.normalize(torch.randn(c, e, generator=gen, dtype=torch.float64), dim=1) * torch.rand(c, 1, generator=gen, dtype=torch.float64)
    cent[c - 1] = 0  # a label without training positives
    pos = [draw_positive(y, gen), draw_positive(y.T, gen), draw_positive(y, gen), draw_positive(y, gen)]
    case = {"y": y, "pos": pos, "col_free": col_free, "cent": cent, "k": k, "l2q": l2q, "reg_weight": reg_weight}
    with torch.no_grad():
        _, _, infos, (si, sf) = total((q, u, bank), layer, case, "zero")
    ties = []
    for info, s, yy in zip(infos, [si, (F.normalize(u, dim=1) @ q.T), sf], [y, y.T, y]):
        ok, t = decisions_ok(info, s, yy, k)
        if not ok:
            return None
        ties.append(t)
    if not reg_ok(si, sf, y, pos[3], k):
        return None
    return layer, case, (q, u, bank), ties


def grads(layer, case, inputs, rule, held=None):
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    layer.zero_grad()
    tot, terms, infos, _ = total(leaves, layer, case, rule, held)
    tot.backward()
    g = {"q": leaves[0].grad, "u": leaves[1].grad, "free_vectors": leaves[2].grad}
    for n, p in layer.named_parameters():
        g[n] = p.grad.clone()
    return tot, terms, infos, g


def finite_differences(layer, case, inputs, infos, analytic, eps=1e-6):
    """Central differences of the total (tie rule zero) w.r.t. every input and parameter, the margins of the slots that
    violated at the base point held fixed (the reference detaches the margin; a numerical derivative would otherwise
    differentiate it)."""
    held = [((info[3] > 0), info[2]) for info in infos]
    worst = 0.0
    targets = [("q", inputs[0]), ("u", inputs[1]), ("free_vectors", inputs[2])] + list(layer.named_parameters())
    with torch.no_grad():
        for name, t in targets:
            num = torch.zeros_like(t).reshape(-1)
            view = t.data.reshape(-1)
            for j in range(view.numel()):
                old = float(view[j])
                view[j] = old + eps
                up = float(total(inputs, layer, case, "zero", held)[0])
                view[j] = old - eps
                down = float(total(inputs, layer, case, "zero", held)[0])
                view[j] = old
                num[j] = (up - down) / (2 * eps)
            worst = max(worst, float((num - analytic[name].reshape(-1)).abs().max()))
    return worst


def loss_cases():
    specs = [  # (b, c, e, heads, ffn, k, nfree)
        (12, 12, 16, 8, 32, 3, 4),
        (16, 16, 32, 8, 40, 10, 8),
        (14, 10, 16, 8, 24, 3, 4),   # fewer columns than queries (the project's sampler deduplicates labels)
    ]
    out, tie_totals = [], [0, 0, 0]
    for ci, (b, c, e, heads, ffn, k, nfree) in enumerate(specs):
        found = None
        for seed in range(1000 * ci, 1000 * ci + 1000):
            found = make_case(seed, b, c, e, heads, ffn, k, nfree)
            if found is not None and sum(found[3]) >= 2 and all(t > 0 for t in found[3][:1]):
                break
            found = None
        assert found is not None, f"no valid case for spec {ci}"
        layer, case, inputs, ties = found
        for j in range(3):
            tie_totals[j] += ties[j]
        with torch.no_grad():
            e_cols = enrich(layer, inputs[1], inputs[2][case["col_free"]], case["cent"])
        c_out = {
            "seed": seed, "B": b, "C": c, "E": e, "heads": heads, "ffn": ffn, "k": k, "n_free": nfree,
            "tau": TAU, "margin_min": MMIN, "margin_max": MMAX, "reg_margin": DELTA,
            "label_to_query": case["l2q"], "reg_weight": case["reg_weight"],
            "q": flat(inputs[0]), "u": flat(inputs[1]), "free_vectors": flat(inputs[2]),
            "col_free": [int(x) for x in case["col_free"]], "centroids": flat(case["cent"]),
            "target": flat(case["y"]), "params": {n: flat(p) for n, p in layer.named_parameters()},
            "pos_u": [int(x) for x in case["pos"][0]], "pos_i": [int(x) for x in case["pos"][1]],
            "pos_uv": [int(x) for x in case["pos"][2]], "pos_r": [int(x) for x in case["pos"][3]],
            "enriched": flat(e_cols), "tie_rows": {"u": ties[0], "i": ties[1], "uv": ties[2]},
        }
        for rule in ("half", "zero"):
            tot, terms, infos, g = grads(layer, case, inputs, rule)
            c_out[rule] = {"total": float(tot), "loss_u": float(terms[0]), "loss_i": float(terms[1]),
                           "loss_uv": float(terms[2]), "loss_r": float(terms[3]),
                           "grads": {n: flat(v) for n, v in g.items()}}
            if rule == "zero":
                worst = finite_differences(layer, case, inputs, infos, g)
                assert worst < 1e-6, f"case {ci}: finite differences disagree with autograd by {worst}"
                c_out["fd_max_abs_error"] = worst
        # The tie rule must matter in this case (otherwise it tests nothing).
        diff = max(max(abs(a - b) for a, b in zip(c_out["half"]["grads"][n], c_out["zero"]["grads"][n])) for n in c_out["half"]["grads"])
        assert diff > 1e-6, f"case {ci}: the tie rules give the same gradients"
        c_out["rule_grad_max_diff"] = diff
        out.append(c_out)
    assert all(t > 0 for t in tie_totals), f"tie rows per term across cases: {tie_totals}"
    return out


# ---------------------------------------------------------------- safetensors written the way a PyTorch user would
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def label_side_file():
    e, heads, ffn, n_labels, n_free = 32, 8, 64, 20, 8
    layer = make_layer(e, heads, ffn, 77, torch.float32)
    g = torch.Generator().manual_seed(78)
    bank = 0.3 * torch.randn(n_free, e, generator=g)
    mapping = torch.randint(0, n_free, (n_labels,), generator=g, dtype=torch.int64)
    cent = 0.5 * torch.randn(n_labels, e, generator=g)
    cent[3] = 0
    u = 2 * torch.randn(n_labels, e, generator=g)
    with torch.no_grad():
        enriched = enrich(layer, u, bank[mapping], cent)
    tensors = [("centroids", cent), ("free_vectors", bank), ("label_free_vector", mapping)]
    tensors += [(n, t.detach()) for n, t in layer.state_dict().items()]
    write_safetensors(os.path.join(OUT, "label_side.safetensors"), tensors)
    write_json("label_side.json", {"E": e, "heads": heads, "ffn": ffn, "labels": n_labels, "n_free": n_free,
                                   "lbl_u": flat(u), "enriched": flat(enriched)})


def centroid_case():
    g = torch.Generator().manual_seed(5)
    rows, e, n_labels = 9, 4, 6
    bank = F.normalize(torch.randn(rows, e, generator=g, dtype=torch.float64), dim=1).float()
    labels = [[0], [0, 2], [1], [2, 4], [4], [0, 4], [1, 2], [4], [2]]   # label 3 and 5: no positives
    exact = np.zeros((n_labels, e))
    for l in range(n_labels):
        members = [i for i, ls in enumerate(labels) if l in ls]
        if members:
            exact[l] = bank.double().numpy()[members].mean(0)
    write_json("centroids.json", {"rows": rows, "E": e, "labels": n_labels, "bank": flat(bank), "row_labels": labels,
                                  "exact": [float(x) for x in exact.reshape(-1)]})


torch.set_num_threads(1)
write_json("loss.json", {"cases": loss_cases()})
label_side_file()
centroid_case()
