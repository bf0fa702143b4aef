#!/usr/bin/python3
"""Curates results/vixml-decoder-fusion-emoji-mm-small.{md rows,csv} from `./vixml train` run folders named
<template>-seed<s> (each with run.json): P@k / PSP@k mean ± sample std over seeds, overall and with at most n images."""
import json, glob, os, statistics, sys
runs_dir = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else "results/vixml-decoder-fusion-emoji-mm-small"
M = ["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"]
order = ["prefix-eos", "t1-e-eeos", "image-first", "image-first-no-prefix"]
runs = {}
for rj in sorted(glob.glob(os.path.join(runs_dir, "*-seed*", "run.json"))):
    r = json.load(open(rj))
    if "final_metrics" not in r: continue
    t, seed = os.path.basename(os.path.dirname(rj)).rsplit("-seed", 1)
    runs.setdefault(t, {})[int(seed)] = r
def f(v): return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
print("| template | images | seeds | untrained P@1 | " + " | ".join(M) + " | P@1 with 0 / 1 / 2 images | s/run |")
print("|" + "---|" * (len(M) + 6))
csv = ["template,images,seeds," + ",".join(M) + "," + ",".join(m + " std" for m in M)]
for t in order:
    if t not in runs: continue
    rs = [runs[t][s] for s in sorted(runs[t])]
    by = sorted({k for r in rs for k in r.get("final_metrics_by_images", {})}, key=int)
    print(f"| {t} | {'none' if not by else 'early'} | {','.join(map(str, sorted(runs[t])))} | "
          + f([100 * r['untrained_metrics']['P@1'] for r in rs]) + " | "
          + " | ".join(f([100 * r['final_metrics'][k] for r in rs]) for k in M) + " | "
          + (" / ".join(f"{statistics.mean(100 * r['final_metrics_by_images'][n]['P@1'] for r in rs):.1f}" for n in by) or "–")
          + f" | {statistics.mean(r['timings']['total_seconds'] for r in rs):.0f} |")
    for n in ["all"] + by:
        src = [r["final_metrics"] if n == "all" else r["final_metrics_by_images"][n] for r in rs]
        vals = [[100 * x[k] for x in src] for k in M]
        csv.append(f"{t},{n},{len(rs)}," + ",".join(f"{statistics.mean(v):.4f}" for v in vals) + "," +
                   ",".join(f"{statistics.stdev(v) if len(v) > 1 else 0:.4f}" for v in vals))
open(out + ".csv", "w").write("\n".join(csv) + "\n")
