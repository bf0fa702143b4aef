#!/usr/bin/env bash
# Checks what `./vixml reproduce --profile P` left behind, for CI:
#   tools/reproduce-check.sh [--profile smoke|ci|cpu|paper] [--results DIR] [--notebooks DIR] [--paper-tables DIR] [--no-site]
# - results/P/reproduce.json says the run succeeded;
# - every notebooks/NN-*.ipynb has an executed copy in results/P/ that Debian's python3-nbformat validates, with every
#   code cell executed, no `error` output and no failed cell;
# - the tables (.csv/.md/.html/.parquet) and charts the notebooks save exist and are non-empty (CSV with a header and
#   at least one row); the results site has its index and a page per notebook (unless --no-site: reproduce --no-site);
# - a PNG beside every chart when chromium is installed (and VIXML_PNG is not 0);
# - paper-tables/{datasets,text-encoders,claims}.md were regenerated for this profile (smoke: results/smoke/paper-tables/).
# Exit 0 when all holds; otherwise 1 with one line per problem.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=ci
RESULTS=""
NOTEBOOKS="$ROOT/notebooks"
TABLES=""
SITE=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --results) RESULTS="$2"; shift 2 ;;
    --notebooks) NOTEBOOKS="$2"; shift 2 ;;
    --paper-tables) TABLES="$2"; shift 2 ;;
    --no-site) SITE=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "reproduce-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
RESULTS="${RESULTS:-$ROOT/results/$PROFILE}"
# Where `vixml reproduce` writes a profile's paper tables by default (Reproduce.DefaultPaperTablesDirectory).
if [[ -z "$TABLES" ]]; then
  if [[ "$PROFILE" == smoke ]]; then TABLES="$RESULTS/paper-tables"; else TABLES="$ROOT/paper-tables"; fi
fi
PY=/usr/bin/python3
if ! "$PY" -c 'import nbformat' 2>/dev/null; then
  echo "reproduce-check: $PY lacks nbformat (apt-get install python3-nbformat)" >&2; exit 2
fi
PNG=0
if [[ "${VIXML_PNG:-1}" != "0" ]] && command -v chromium >/dev/null 2>&1; then PNG=1; fi

exec "$PY" - "$PROFILE" "$RESULTS" "$NOTEBOOKS" "$TABLES" "$PNG" "$SITE" <<'PYEOF'
import csv, json, os, re, sys
import nbformat

profile, results, notebooks, tables, png = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1"
check_site = sys.argv[6] == "1"
problems = []
def bad(msg): problems.append(msg)

# Files each notebook saves (stems under results/<profile>/); charts get .html + .plotly.json (+ .png).
TABLES_BY_NB = {
    "00-datasets.ipynb": ["datasets-statistics", "datasets-label-frequency"],
    "01-text-encoders.ipynb": ["text-encoders", "text-encoders-runs"],
}
CHARTS_BY_NB = {
    "00-datasets.ipynb": ["datasets-long-tail", "datasets-rank-frequency", "datasets-zero-shot"],
    "01-text-encoders.ipynb": ["text-encoders-bars"],
}

def nonempty(path):
    if not os.path.isfile(path): bad(f"missing: {path}"); return False
    if os.path.getsize(path) == 0: bad(f"empty: {path}"); return False
    return True

summary = os.path.join(results, "reproduce.json")
if nonempty(summary):
    s = json.load(open(summary, encoding="utf-8"))
    if not s.get("succeeded"): bad(f"{summary}: succeeded is false: {s.get('failure')}")
    if s.get("profile") != profile: bad(f"{summary}: profile {s.get('profile')!r}, expected {profile!r}")

if not os.path.isdir(notebooks): bad(f"no notebooks folder {notebooks}")
nbs = sorted(f for f in os.listdir(notebooks) if re.match(r"^\d{2}-.+\.ipynb$", f) and not f.endswith(".out.ipynb")) if os.path.isdir(notebooks) else []
if not nbs: bad(f"no numbered notebooks in {notebooks}")
for name in nbs:
    path = os.path.join(results, name)
    if not nonempty(path): continue
    try:
        nb = nbformat.read(path, 4)
        nbformat.validate(nb)
    except Exception as e:
        bad(f"{path}: nbformat rejects it: {type(e).__name__}: {e}"); continue
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    if not injected or f'"{profile}"' not in injected[0].source:
        bad(f"{path}: no injected-parameters cell with profile \"{profile}\"")
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code": continue
        if c.get("execution_count") is None: bad(f"{path}: cell {i} was not executed")
        status = c.get("metadata", {}).get("papermill", {}).get("status")
        if status not in (None, "completed"): bad(f"{path}: cell {i} status {status}")
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                bad(f"{path}: cell {i} has an error output: {o.get('ename')}: {o.get('evalue')}")
    for stem in TABLES_BY_NB.get(name, []):
        for ext in (".csv", ".md", ".html", ".parquet"):
            nonempty(os.path.join(results, stem + ext))
        p = os.path.join(results, stem + ".csv")
        if os.path.isfile(p):
            rows = list(csv.reader(open(p, encoding="utf-8", newline="")))
            if len(rows) < 2: bad(f"{p}: no data rows")
            elif any(len(r) != len(rows[0]) for r in rows): bad(f"{p}: ragged rows")
            elif "scale_profile" in rows[0] and any(r[rows[0].index("scale_profile")] != profile for r in rows[1:]):
                bad(f"{p}: scale_profile is not {profile}")
    for stem in CHARTS_BY_NB.get(name, []):
        nonempty(os.path.join(results, stem + ".html"))
        j = os.path.join(results, stem + ".plotly.json")
        if nonempty(j):
            fig = json.load(open(j, encoding="utf-8"))
            if not fig.get("data"): bad(f"{j}: figure without traces")
        if png: nonempty(os.path.join(results, stem + ".png"))

# The results site (vixml report, run by reproduce): an index and one page per executed notebook.
site = os.path.join(results, "site")
if check_site:
    nonempty(os.path.join(site, "index.html"))
    for name in nbs:
        nonempty(os.path.join(site, "notebooks", name[:-len(".ipynb")] + ".html"))

for t in ("datasets.md", "text-encoders.md", "claims.md"):
    p = os.path.join(tables, t)
    if nonempty(p):
        text = open(p, encoding="utf-8").read()
        if f"--profile {profile}`" not in text: bad(f"{p}: not generated by --profile {profile}")
        if "| claim | paper value | ours | Δ | our scale |" not in text: bad(f"{p}: no comparison table")

if problems:
    for p in problems: print("reproduce-check: " + p)
    print(f"reproduce-check: FAILED ({len(problems)} problem(s)) for {results}")
    sys.exit(1)
print(f"reproduce-check: OK: {len(nbs)} notebooks, tables, charts{' and PNGs' if png else ''} in {results}; paper tables in {tables}")
PYEOF
