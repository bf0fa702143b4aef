"""Vectorised numpy XMC metrics (pyxclib definitions) from top-k prediction arrays; the other side of bench/run metrics.

usage: bench_metrics.py DIR K LABELS   (DIR holds indptr.npy, indices.npy, pred.npy [N, top-k], invp.npy)
Prints "seconds S", "peak_rss_mib M" and one "NAME@k value" line per metric.
"""
import resource
import sys
import time

import numpy as np


def metrics(indptr, indices, pred, invp, k, labels):
    n = indptr.shape[0] - 1
    top = np.ascontiguousarray(pred[:, :k]).astype(np.int64)          # (N, k), -1 = empty slot
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))   # row of each true label
    keys = rows * labels + indices                                     # sorted: rows ascending, columns ascending
    q = np.arange(n, dtype=np.int64)[:, None] * labels + top
    pos = np.searchsorted(keys, q)
    pos[pos >= keys.shape[0]] = 0
    rel = (keys[pos] == q) & (top >= 0)                                # (N, k) hits
    ny = np.diff(indptr).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(k) + 2.0)
    idcg_prefix = np.concatenate([[0.0], np.cumsum(disc)])
    ks = np.arange(1, k + 1)
    hits = np.cumsum(rel, axis=1)
    out = {}
    idcg = idcg_prefix[np.minimum(ks[None, :], ny[:, None]).astype(np.int64)]  # (N, k)
    has = ny > 0
    dcg = np.cumsum(rel * disc, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndcg = np.where(has[:, None], dcg / idcg, 0.0)
        rec = np.where(has[:, None], hits / ny[:, None], 0.0)
    w = np.where(top >= 0, invp[np.maximum(top, 0)], 0.0)
    whits = np.cumsum(rel * w, axis=1)
    wdcg = np.cumsum(rel * w * disc, axis=1)
    # ideal: each row's true-label weights in descending order, first k
    tw = invp[indices]
    order = np.lexsort((-tw, rows))
    rank = np.arange(indices.shape[0]) - indptr[rows[order]]
    keep = rank < k
    ideal = np.zeros((n, k))
    ideal[rows[order][keep], rank[keep]] = tw[order][keep]
    wideal = np.cumsum(ideal, axis=1)
    widcg = np.cumsum(ideal * disc, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        psn_num = np.where(has[:, None], wdcg / idcg, 0.0).sum(0)
        psn_den = np.where(has[:, None], widcg / idcg, 0.0).sum(0)
    for j in range(k):
        out[f"P@{j + 1}"] = hits[:, j].sum() / (j + 1) / n
        out[f"nDCG@{j + 1}"] = ndcg[:, j].sum() / n
        out[f"PSP@{j + 1}"] = (whits[:, j].sum() / (j + 1)) / (wideal[:, j].sum() / (j + 1))
        out[f"PSnDCG@{j + 1}"] = psn_num[j] / psn_den[j]
        out[f"R@{j + 1}"] = rec[:, j].sum() / n
    return out


def main():
    d, k, labels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    indptr = np.load(f"{d}/indptr.npy").astype(np.int64)
    indices = np.load(f"{d}/indices.npy").astype(np.int64)
    pred = np.load(f"{d}/pred.npy", mmap_mode="r")
    invp = np.load(f"{d}/invp.npy")
    pred = np.ascontiguousarray(pred)   # in memory, as ours
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        out = metrics(indptr, indices, pred, invp, k, labels)
        best = min(best, time.perf_counter() - t)
    print(f"seconds {best:.4f}")
    print(f"peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    for name, v in out.items():
        print(f"{name} {v!r}")


if __name__ == "__main__":
    main()
