#!/usr/bin/python3
"""Curates results/pretrained-encoders-debian-deps-titles-<size>.{md table,csv} from the run folders of notebook 02
(results/runs/pretrained-encoders-<profile>/*/run.json) and a committed BM25 result (`./vixml baseline bm25 --json`).
Mean and sample std over seeds. Usage: summarize_pretrained.py RUNS_DIR OUT_STEM [BM25_JSON]"""
import json, glob, os, statistics, sys
runs_dir = sys.argv[1] if len(sys.argv) > 1 else "results/runs/pretrained-encoders-ci"
out = sys.argv[2] if len(sys.argv) > 2 else "results/pretrained-encoders-debian-deps-titles-small"
M = ["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"]
rows = {}
def add(method, metrics, seconds=None, epochs=None):
    rows.setdefault(method, []).append((metrics, seconds, epochs))
for rj in sorted(glob.glob(os.path.join(runs_dir, "*", "run.json"))):
    r = json.load(open(rj)); name = os.path.basename(os.path.dirname(rj))
    if r.get("status") != "finished" and "final_metrics" not in r: continue
    base = name.rsplit("-seed", 1)[0]
    if base == "infonce-random-batches": method = "from scratch (64 wide, InfoNCE, random batches)"
    else:
        model, meth = base.split("-", 2)[0] + "-" + base.split("-", 2)[1], base.split("-", 2)[2]
        method = f"{model} / {meth}"
        zs = f"{model} / zero-shot"
        if zs not in rows: add(zs, r["untrained_metrics"], 0, 0)
    add(method, r["final_metrics"], r["timings"]["total_seconds"], r["epochs_done"])
bm = json.load(open(sys.argv[3] if len(sys.argv) > 3 else "results/bm25-debian-deps-titles-small.json"))   # `./vixml baseline bm25 --json`
add("BM25", bm)
def fmt(vals):
    v = [100 * x for x in vals]
    return f"{statistics.mean(v):.2f}" if len(v) == 1 else f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}"
order = sorted(rows, key=lambda m: (m != "BM25", not m.startswith("from scratch"), m))
md = ["| method | runs | " + " | ".join(M) + " | epochs | wall s/run |", "|" + "---|" * (len(M) + 4)]
csv = ["method,runs," + ",".join(M + [m + " std" for m in M]) + ",epochs,seconds"]
for m in order:
    rs = rows[m]
    if "zero-shot" in m:   # deterministic: one row, checked equal across seeds
        rs = rs[:1]
    secs = [s for _, s, _ in rs if s]
    ep = rs[0][2]
    md.append(f"| {m} | {len(rs) if 'zero-shot' not in m and m != 'BM25' else 'deterministic'} | " + " | ".join(fmt([x[0][k] for x in rs]) for k in M)
              + f" | {ep if ep is not None else '–'} | {statistics.mean(secs):.0f} |" if secs else
              f"| {m} | {'deterministic'} | " + " | ".join(fmt([x[0][k] for x in rs]) for k in M) + " | – | – |")
    means = [statistics.mean([100 * x[0][k] for x in rs]) for k in M]
    stds = [statistics.stdev([100 * x[0][k] for x in rs]) if len(rs) > 1 else 0 for k in M]
    csv.append(f"\"{m}\",{len(rs)}," + ",".join(f"{v:.4f}" for v in means + stds) + f",{ep or ''},{statistics.mean(secs) if secs else ''}")
open(out + ".csv", "w").write("\n".join(csv) + "\n")
print("\n".join(md))
