#!/usr/bin/python3
"""Curates results/pretrained-encoders-debian-deps-titles-<size>.{md table,csv} from the run folders of notebook 02
(results/runs/pretrained-encoders-<profile>/*/run.json) and a committed BM25 result (`./vixml baseline bm25 --json`).
Mean and sample std over seeds. The zero-shot row is each model's epoch-0 evaluation: deterministic, so every run of
a model must report the same numbers (checked). Optional SCRATCH_DIR: run folders of `./vixml train` for a from-scratch
context row (any depth below it; the row is named by SCRATCH_LABEL).
Usage: summarize_pretrained.py RUNS_DIR OUT_STEM [BM25_JSON [SCRATCH_DIR SCRATCH_LABEL]]"""
import json, glob, os, statistics, sys
runs_dir = sys.argv[1] if len(sys.argv) > 1 else "results/runs/pretrained-encoders-ci"
out = sys.argv[2] if len(sys.argv) > 2 else "results/pretrained-encoders-debian-deps-titles-small"
bm25 = sys.argv[3] if len(sys.argv) > 3 else "results/bm25-debian-deps-titles-small.json"
scratch_dir, scratch_label = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
M = ["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"]
rows, zero_shot = {}, {}
def add(method, metrics, seconds=None, epochs=None):
    rows.setdefault(method, []).append((metrics, seconds, epochs))
def finished(rj):
    r = json.load(open(rj))
    return r if r.get("status") == "finished" or "final_metrics" in r else None
for rj in sorted(glob.glob(os.path.join(runs_dir, "*", "run.json"))):
    r = finished(rj); name = os.path.basename(os.path.dirname(rj))
    if r is None: continue
    base = name.rsplit("-seed", 1)[0]
    if base == "infonce-random-batches": method = "from scratch (64 wide, InfoNCE, random batches)"
    else:
        parts = base.split("-", 2)
        model, meth = parts[0] + "-" + parts[1], parts[2]
        method = f"{model} / {meth}"
        zs = f"{model} / zero-shot"
        if zs not in zero_shot: zero_shot[zs] = (name, r["untrained_metrics"]); add(zs, r["untrained_metrics"], 0, 0)
        else:   # deterministic: every run of the model starts from the same weights and evaluates the same test split
            first, ref = zero_shot[zs]
            bad = [k for k in M if abs(ref[k] - r["untrained_metrics"][k]) > 1e-9]
            if bad: sys.exit(f"{rj}: zero-shot {bad[0]} {r['untrained_metrics'][bad[0]]} differs from {first}'s {ref[bad[0]]}")
    add(method, r["final_metrics"], r["timings"]["total_seconds"], r["epochs_done"])
if scratch_dir:
    found = [r for r in map(finished, sorted(glob.glob(os.path.join(scratch_dir, "**", "run.json"), recursive=True))) if r]
    if not found: sys.exit(f"{scratch_dir}: no finished run.json below it")
    for r in found: add(scratch_label, r["final_metrics"], r["timings"]["total_seconds"], r["epochs_done"])
add("BM25", json.load(open(bm25)))
def fmt(vals):
    v = [100 * x for x in vals]
    return f"{statistics.mean(v):.2f}" if len(v) == 1 else f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}"
def deterministic(m): return m == "BM25" or m.endswith("/ zero-shot")
order = sorted(rows, key=lambda m: (m != "BM25", not m.startswith("from scratch"), m))
md = ["| method | runs | " + " | ".join(M) + " | epochs | wall s/run |", "|" + "---|" * (len(M) + 4)]
csv = ["method,runs," + ",".join(M + [m + " std" for m in M]) + ",epochs,seconds"]
for m in order:
    rs = rows[m]
    secs = [s for _, s, _ in rs if s]
    ep = rs[0][2]
    cells = " | ".join(fmt([x[0][k] for x in rs]) for k in M)
    if deterministic(m): md.append(f"| {m} | deterministic | {cells} | – | – |")
    else: md.append(f"| {m} | {len(rs)} | {cells} | {ep if ep is not None else '–'} | {statistics.mean(secs):.0f} |")
    means = [statistics.mean([100 * x[0][k] for x in rs]) for k in M]
    stds = [statistics.stdev([100 * x[0][k] for x in rs]) if len(rs) > 1 else 0 for k in M]
    csv.append(f"\"{m}\",{len(rs)}," + ",".join(f"{v:.4f}" for v in means + stds) + f",{ep or ''},{statistics.mean(secs) if secs else ''}")
open(out + ".csv", "w").write("\n".join(csv) + "\n")
print("\n".join(md))
