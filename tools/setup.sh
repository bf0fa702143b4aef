#!/usr/bin/env bash
# Installs what ViXml needs on a fresh Debian 12 machine, or says exactly what to run.
#   tools/setup.sh            runtime: patchelf + a C compiler (the Debian 12 compat step for TorchSharp's native
#                             library, see environment.md); libtorch itself comes from NuGet (TorchSharp)
#   tools/setup.sh tests      + Debian's PyTorch/numpy (independent references) with OpenBLAS (without it Debian's
#                               PyTorch links the reference BLAS, ~3 GFLOP/s: the import parity references took 6.5 min),
#                               nbformat (notebook validation),
#                               chromium (PNG export, results-site check)
#   tools/setup.sh reproduce  + chromium (PNG export of charts, results-site check)
#   tools/setup.sh jupyter    + Debian's Jupyter nbconvert/nbclient (tools/jupyter-run.sh runs the notebooks in Jupyter)
# apt-get update always runs with the English translations and AppStream icons enabled, because the
# embedded datasets are built from them and a plain `apt-get update` deletes them.
set -euo pipefail
want=(patchelf gcc libc6-dev)
case "${1:-}" in
  tests) want+=(python3-torch python3-numpy libopenblas0-pthread python3-nbformat nodejs npm chromium) ;;
  reproduce) want+=(python3-nbformat nodejs npm chromium) ;;
  jupyter) want+=(python3-nbformat jupyter-nbconvert python3-nbclient bc nodejs npm) ;;
  ""|runtime) ;;
  *) echo "usage: tools/setup.sh [runtime|tests|reproduce|jupyter]" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
# node/npm may come from outside Debian (the machine image ships them): accept those.
if command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
UPDATE="apt-get update -o Acquire::Languages=en -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=true"
# The embedded datasets read the English translations, DEP-11 components and 64x64 icons from apt's lists.
metadata_missing() {
  ! compgen -G "/var/lib/apt/lists/*Translation-en*" >/dev/null ||
  ! compgen -G "/var/lib/apt/lists/*Components-amd64.yml*" >/dev/null ||
  ! compgen -G "/var/lib/apt/lists/*icons-64x64.tar*" >/dev/null
}
if [[ "${1:-}" == tests || "${1:-}" == reproduce || "${1:-}" == jupyter ]] && metadata_missing; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: fetching apt metadata with translations and icons (for the embedded datasets)" >&2
    eval "$UPDATE" >/dev/null
  else
    echo "The embedded datasets need apt's English translations and AppStream icons. Run as root:  sudo $UPDATE" >&2
  fi
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0
INSTALL="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "ViXml needs these Debian packages: ${missing[*]}" >&2
  echo "Run as root:  sudo $UPDATE && sudo $INSTALL" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
eval "$UPDATE" >/dev/null
eval "$INSTALL" >/dev/null
