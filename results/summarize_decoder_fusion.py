#!/usr/bin/python3
"""Curates results/vixml-decoder-fusion-emoji-mm-small.{md table,csv} from `./vixml train` run folders named
<template>-seed<s> (each with run.json): P@k / PSP@k mean ± sample std over seeds, overall and with at most n images.
Loading and CSV rows are summarize_fusion.py's."""
import os, statistics, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize_fusion import M, csv_rows, f, load_runs


def main():
    runs = load_runs(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else "results/vixml-decoder-fusion-emoji-mm-small"
    order = ["prefix-eos", "t1-e-eeos", "image-first", "image-first-no-prefix"]
    print("| template | images | seeds | untrained P@1 | " + " | ".join(M) + " | P@1 with 0 / 1 / 2 images | s/run |")
    print("|" + "---|" * (len(M) + 6))
    csv = ["template,images,runs," + ",".join(M) + "," + ",".join(m + " std" for m in M)]
    for t in order:
        if t not in runs: continue
        rs = [runs[t][s] for s in sorted(runs[t])]
        by = sorted({k for r in rs for k in r.get("final_metrics_by_images", {})}, key=int)
        print(f"| {t} | {'none' if not by else 'early'} | {','.join(map(str, sorted(runs[t])))} | "
              + f([100 * r['untrained_metrics']['P@1'] for r in rs]) + " | "
              + " | ".join(f([100 * r['final_metrics'][k] for r in rs]) for k in M) + " | "
              + (" / ".join(f"{statistics.mean(100 * r['final_metrics_by_images'][n]['P@1'] for r in rs):.1f}" for n in by) or "–")
              + f" | {statistics.mean(r['timings']['total_seconds'] for r in rs):.0f} |")
        csv.extend(csv_rows(t, rs))
    open(out + ".csv", "w").write("\n".join(csv) + "\n")


if __name__ == "__main__":
    main()
