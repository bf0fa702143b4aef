#!/usr/bin/env bash
# Opens the results site (results/<profile>/site/, built by `./vixml report` or at the end of `./vixml reproduce`) in
# Debian's headless Chromium over the DevTools protocol and checks every page: no console error or uncaught exception,
# no request that leaves the machine (only file:, data:, blob:, localhost), no failed local request, every chart drew
# an SVG with its traces. Saves results/<profile>/site/screenshot.png (the index, full page) and site-check.json.
#   tools/site-check.sh [--profile smoke|ci|cpu|paper] [--build]     (--build rebuilds the site first)
# Exit 0 when every page passes; 1 with one line per problem otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE=ci
BUILD=--no-build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --build) BUILD=""; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "site-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
exec "$ROOT/vixml" report --profile "$PROFILE" --check $BUILD
