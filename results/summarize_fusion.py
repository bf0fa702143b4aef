#!/usr/bin/python3
"""Curates results/vixml-fusion-emoji-mm-small.{md,csv} from notebook 03's run folders
(results/runs/fusion-<profile>/<method>-seed<s>/run.json): P@k/PSP@k mean ± sample std over seeds, overall and with
at most n images per test item."""
import json, glob, os, statistics, sys
M = ["P@1", "P@3", "P@5", "PSP@1", "PSP@3", "PSP@5"]


def load_runs(runs_dir):
    """{name: {seed: run.json}} for every finished run folder <name>-seed<s> under runs_dir."""
    runs = {}
    for rj in sorted(glob.glob(os.path.join(runs_dir, "*-seed*", "run.json"))):
        r = json.load(open(rj))
        if "final_metrics" not in r: continue
        name, seed = os.path.basename(os.path.dirname(rj)).rsplit("-seed", 1)
        runs.setdefault(name, {})[int(seed)] = r
    return runs


def f(v): return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"


def csv_rows(name, rs):
    """CSV lines of one method: every image count ("all" = the final evaluation), means then sample stds."""
    rows = []
    for n in ["all"] + sorted({k for r in rs for k in r.get("final_metrics_by_images", {})}, key=int):
        src = [r["final_metrics"] if n == "all" else r["final_metrics_by_images"][n] for r in rs]
        vals = [[100 * x[k] for x in src] for k in M]
        rows.append(f"{name},{n},{len(rs)}," + ",".join(f"{statistics.mean(v):.4f}" for v in vals) + "," +
                    ",".join(f"{statistics.stdev(v) if len(v) > 1 else 0:.4f}" for v in vals))
    return rows


def main():
    runs_dir = sys.argv[1] if len(sys.argv) > 1 else "results/runs/fusion-ci"
    out = sys.argv[2] if len(sys.argv) > 2 else "results/vixml-fusion-emoji-mm-small"
    order = ["text-only", "early-linear", "early-mlp", "late", "early-dropout"]
    runs = load_runs(runs_dir)
    lines = ["| method | seeds | " + " | ".join(M) + " | s/run |", "|" + "---|" * (len(M) + 3)]
    csv = ["method,images,runs," + ",".join(M) + "," + ",".join(m + " std" for m in M)]
    for m in order:
        if m not in runs: continue
        rs = [runs[m][s] for s in sorted(runs[m])]
        lines.append(f"| {m} | {','.join(map(str, sorted(runs[m])))} | " + " | ".join(f([100 * r['final_metrics'][k] for r in rs]) for k in M)
                     + f" | {statistics.mean(r['timings']['total_seconds'] for r in rs):.0f} |")
        csv.extend(csv_rows(m, rs))
    by = ["| method | images available | P@1 | P@5 | PSP@1 | PSP@5 |", "|---|---|---|---|---|---|"]
    for m in order:
        if m not in runs or m == "text-only": continue
        rs = [runs[m][s] for s in sorted(runs[m])]
        for n in sorted(rs[0].get("final_metrics_by_images", {})):
            by.append(f"| {m} | {n} | " + " | ".join(f([100 * r['final_metrics_by_images'][n][k] for r in rs]) for k in ["P@1", "P@5", "PSP@1", "PSP@5"]) + " |")
    open(out + ".csv", "w").write("\n".join(csv) + "\n")
    print("\n".join(lines)); print(); print("\n".join(by))


if __name__ == "__main__":
    main()
