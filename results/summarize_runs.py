#!/usr/bin/python3
"""Summarises training runs and BM25 baselines into a Markdown table (mean ± sample std over seeds).
Usage: summarize_runs.py OUT.md TITLE BM25.json GROUP=results/runs/PREFIX-s* [GROUP=...]
Each run folder must hold run.json with final_metrics and untrained_metrics (written by `vixml train`)."""
import glob, json, os, statistics, sys

KEYS = ["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"]


def fmt(vals):
    vals = [100 * v for v in vals]
    if len(vals) == 1:
        return f"{vals[0]:.2f}"
    return f"{statistics.mean(vals):.2f} ± {statistics.stdev(vals):.2f}"


out, title, bm25_path, groups = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = []
bm25 = json.load(open(bm25_path))
rows.append(("BM25 (k1 1.2, b 0.75)", "—", [fmt([bm25[k]]) for k in KEYS], ""))
per_seed = ["method,run,seed,epochs,seconds," + ",".join(KEYS)]
for g in groups:
    name, pattern = g.split("=", 1)
    # The run column is the run folder's name (run.json's "name" is the config's, shared by --out runs).
    runs = [dict(json.load(open(p)), folder=os.path.basename(os.path.dirname(p))) for p in sorted(glob.glob(pattern + "/run.json"))]
    runs = [r for r in runs if r.get("status") == "finished"]
    for r in runs:
        per_seed.append(",".join([name, r["folder"], str(r["seeds"]["seed"]), str(r["epochs_done"]),
                                  f'{r["timings"]["total_seconds"]:.0f}'] + [f'{100 * r["final_metrics"][k]:.4f}' for k in KEYS]))
    if not runs:
        continue
    secs = statistics.mean(r["timings"]["total_seconds"] for r in runs)
    rows.append((name + " — untrained (epoch 0)", str(len(runs)), [fmt([r["untrained_metrics"][k] for r in runs]) for k in KEYS], ""))
    rows.append((name, str(len(runs)), [fmt([r["final_metrics"][k] for r in runs]) for k in KEYS], f"{secs:.0f}"))
with open(out, "w") as f:
    f.write(f"# {title}\n\nValues in percent; trained rows: mean ± sample std over seeds (each seed a full run).\n\n")
    f.write("| method | seeds | " + " | ".join(KEYS) + " | s/run |\n|---|---|" + "---|" * len(KEYS) + "---|\n")
    for n, s, v, t in rows:
        f.write(f"| {n} | {s} | " + " | ".join(v) + f" | {t} |\n")
with open(out[:-3] + ".csv", "w") as f:
    f.write("\n".join(per_seed) + "\n")
print(open(out).read())
