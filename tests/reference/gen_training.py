#!/usr/bin/python3
"""Independent references for ViXml.Training (run by tools/test.sh with Debian's python3-torch).

Writes tests/fixtures/training/:
  bm25.json     -- a small corpus, queries and the BM25 scores of every (query, document) pair, computed here in
                   plain python from the textbook formula (k1=1.2, b=0.75, Lucene idf).
  triplet.json  -- (added with the loss) similarity matrices, targets and the loss/gradients from plain torch.
Deterministic: fixed seeds, no wall-clock data.
"""
import json, math, os, re

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "training")
os.makedirs(OUT, exist_ok=True)


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- BM25
def tokens(s):
    return [t.lower() for t in re.findall(r"[^\W_]+", s)]


def bm25_scores(docs, queries, k1=1.2, b=0.75):
    toks = [tokens(d) for d in docs]
    n = len(docs)
    avgdl = sum(len(t) for t in toks) / n
    df = {}
    for t in toks:
        for w in set(t):
            df[w] = df.get(w, 0) + 1
    out = []
    for q in queries:
        row = []
        for t in toks:
            s = 0.0
            for w in set(tokens(q)):
                if w not in df:
                    continue
                tf = t.count(w)
                if tf == 0:
                    continue
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(t) / avgdl))
            row.append(s)
        out.append(row)
    return out


docs = [
    "libssl-dev: Secure Sockets Layer toolkit - development files",
    "libssl3: Secure Sockets Layer toolkit - shared libraries",
    "python3: interactive high-level object-oriented language",
    "python3-numpy: Fast array facility to the Python 3 language",
    "zlib1g: compression library - runtime",
    "zlib1g-dev: compression library - development",
    "openssl: Secure Sockets Layer toolkit - cryptographic utility",
    "libc6: GNU C Library: Shared libraries",
    "",
]
queries = [
    "curl: command line tool for transferring data with URL syntax, using OpenSSL",
    "python3-scipy: scientific tools for Python 3",
    "libpng-dev: PNG library - development (version 1.6) uses zlib compression",
    "nothing matches here: qqq zzz",
    "Shared shared SHARED libraries library",
]
write("bm25.json", {"k1": 1.2, "b": 0.75, "docs": docs, "queries": queries, "scores": bm25_scores(docs, queries)})
