#!/usr/bin/env bash
# The test command (README and .ci/run): installs test prerequisites (as root), regenerates the independent
# reference fixtures with Debian's PyTorch, builds everything, runs the xunit suite and prints
# "N passed, N failed" as its last line. Exit code is non-zero if anything failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Two OpenMP threads spinning while they wait collapse throughput on a shared or busy machine (3.7 vs 115 steps/s
# measured here); passive waiting costs little on a quiet one. A value set by the caller wins.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
tools/setup.sh tests || exit 1
# Independent references: every tests/reference/gen_*.py regenerates its fixtures (deterministic seeds).
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  for f in tests/reference/gen_*.py; do
    [[ -e "$f" ]] || continue
    echo "reference: $f"
    /usr/bin/python3 "$f" || { echo "reference script failed: $f"; echo "0 passed, 1 failed"; exit 1; }
  done
else
  echo "reference: Debian's python3-torch missing; tests use the committed fixtures"
fi
[[ -x tools/assets.sh ]] && { tools/assets.sh || { echo "0 passed, 1 failed"; exit 1; }; }
build_log="$(mktemp)"
if ! dotnet build ViXml.slnx -c Release -nologo -v q >"$build_log" 2>&1; then
  grep -E "error|FAILED" "$build_log" | sort -u | head -50; rm -f "$build_log"
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
rm -f "$build_log"
# End-to-end checks beside the unit tests: the real `small` datasets build from this machine's apt metadata (and,
# for emoji-mm, from pinned npm tarballs that `npm pack` fetches once into .cache/npm/, 143 MB, sha512-verified) and
# pass `data check`. They count in the closing line like tests.
extra_pass=0; extra_fail=0
for ds in debian-deps-titles debian-deps debian-apps-mm emoji-mm; do
  if ./vixml data build "$ds" --size small >/tmp/vixml-build-$ds.log 2>&1 && ./vixml data check "data/$ds-small" >>/tmp/vixml-build-$ds.log 2>&1; then
    echo "check: data build+check $ds small: ok"; extra_pass=$((extra_pass+1))
  else
    echo "check: data build+check $ds small: FAILED"; cat /tmp/vixml-build-$ds.log; extra_fail=$((extra_fail+1))
  fi
done
trx_dir="$(mktemp -d)"
dotnet test tests/ViXml.Tests.csproj -c Release --no-build -nologo --logger "trx;LogFileName=results.trx" \
  --results-directory "$trx_dir" "$@" 2>&1 | grep -vE "^\s*$"
rc=${PIPESTATUS[0]}
trx="$trx_dir/results.trx"
if [[ -f "$trx" ]]; then
  passed=$(grep -o 'passed="[0-9]*"' "$trx" | head -1 | grep -o '[0-9]*')
  failed=$(grep -o 'failed="[0-9]*"' "$trx" | head -1 | grep -o '[0-9]*')
  echo "$(( ${passed:-0} + extra_pass )) passed, $(( ${failed:-0} + extra_fail )) failed"
  [[ $extra_fail -eq 0 ]] || rc=1
else
  echo "0 passed, 1 failed"; rc=1
fi
exit $rc
