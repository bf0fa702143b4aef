#!/usr/bin/env bash
# The notebooks in real Jupyter: the proof that they run in the .NET Interactive kernel users have, not only in
# `vixml nb run`. CI calls it at the smoke profile after `./vixml reproduce --profile smoke` (seconds per notebook:
# the kernel route and the table equality are proven without training everything twice).
#   tools/jupyter-run.sh [--profile smoke|ci|...] [--no-compare] [NOTEBOOK ...]   (default: smoke, every notebooks/NN-*.ipynb)
# 1. installs Debian's jupyter-nbconvert + python3-nbclient (tools/setup.sh jupyter), restores the dotnet-interactive
#    tool from the local tool manifest (.config/dotnet-tools.json) and registers its .net-csharp kernelspec;
# 2. `./vixml nb inject` writes each notebook with the injected-parameters cell (-p profile=P) and absolute #r paths
#    into results/P/jupyter/, and `jupyter nbconvert --to notebook --execute` runs it there (tables and charts land in
#    the same folder through VIXML_RESULTS_DIR; PNG export off);
# 3. each executed notebook, exported to HTML, draws all its charts in headless chromium without network;
# 4. tools/compare-tables.py checks that every table CSV equals the one `vixml nb run` saved in results/P/
#    (wall-clock columns excepted).
# Prints one timing line per notebook; exit 0 when every notebook ran and every table matched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE=smoke
COMPARE=1
nbs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --no-compare) COMPARE=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "jupyter-run: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) nbs+=("$1"); shift ;;
  esac
done
if [[ ${#nbs[@]} -eq 0 ]]; then
  while IFS= read -r f; do nbs+=("$f"); done < <(ls notebooks/[0-9][0-9]-*.ipynb | grep -v '\.out\.ipynb$' | sort)
fi
tools/setup.sh jupyter
tools/assets.sh
dotnet tool restore >/dev/null
# `dotnet interactive jupyter install` writes into the user's kernelspec folder but does not create it.
kernels="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels"
mkdir -p "$kernels"
dotnet interactive jupyter install >/dev/null
[[ -f "$kernels/.net-csharp/kernel.json" ]] || { echo "jupyter-run: the .net-csharp kernelspec was not installed in $kernels" >&2; exit 1; }
out="$ROOT/results/$PROFILE/jupyter"
mkdir -p "$out"
# Builds the CLI (and with it the library folder the notebooks #r) when stale.
./vixml --help >/dev/null
export VIXML_ROOT="$ROOT" VIXML_RESULTS_DIR="$out" VIXML_PNG=0
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
status=0
for nb in "${nbs[@]}"; do
  name="$(basename "$nb")"
  ./vixml nb inject "$nb" -p "profile=$PROFILE" --out "$out/$name"
  t0=$(date +%s.%N)
  if jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.kernel_name=.net-csharp \
       --ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.startup_timeout=180 "$out/$name" >"$out/${name%.ipynb}.log" 2>&1; then
    printf 'jupyter: %s ok in %.1f s\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)"
  else
    printf 'jupyter: %s FAILED after %.1f s (log: %s)\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" "$out/${name%.ipynb}.log"
    tail -30 "$out/${name%.ipynb}.log" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] || exit 1
# The charts draw offline: export each executed notebook to HTML (nbconvert), load it in headless chromium with the
# network off, and count the figures plotly.js drew against the figure outputs in the notebook.
chromium_bin="$(command -v chromium || command -v chromium-browser || true)"
if [[ -n "$chromium_bin" ]]; then
  for nb in "${nbs[@]}"; do
    name="$(basename "$nb" .ipynb)"
    want=$(/usr/bin/python3 -c 'import json,sys; nb=json.load(open(sys.argv[1])); print(sum(1 for c in nb["cells"] if c["cell_type"]=="code" for o in c.get("outputs",[]) if "application/vnd.plotly.v1+json" in o.get("data",{})))' "$out/$name.ipynb")
    jupyter nbconvert --to html "$out/$name.ipynb" --output-dir "$out" >/dev/null 2>&1
    prof="$(mktemp -d)"
    got=$(timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
      --proxy-server=127.0.0.1:9 --user-data-dir="$prof" --virtual-time-budget=10000 --dump-dom "file://$out/$name.html" 2>/dev/null \
      | grep -o 'class="js-plotly-plot"' | wc -l || true)
    rm -rf "$prof"
    if [[ "$got" -eq "$want" ]]; then echo "jupyter: $name.html: $got of $want charts drawn offline"
    else echo "jupyter: $name.html: only $got of $want charts drawn offline" >&2; status=1; fi
  done
  [[ $status -eq 0 ]] || exit 1
else
  echo "jupyter: chromium not installed; offline chart rendering not checked"
fi
if [[ $COMPARE -eq 1 ]]; then
  /usr/bin/python3 tools/compare-tables.py "$ROOT/results/$PROFILE" "$out" || exit 1
fi
