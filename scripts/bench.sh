#!/usr/bin/env bash
# Runs every scripts/bench.d/*.sh in name order; each prints its figures,
# each beside its anchor (the limit it is measured against). A script that
# fails makes bench.sh fail, after the others have run.
# Usage: scripts/bench.sh [BINARY]   (BINARY for the scripts that run the exporter)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for s in scripts/bench.d/*.sh; do
  echo "== $s"
  if ! bash "$s" "$@"; then
    echo "bench: $s failed" >&2
    status=1
  fi
done
exit $status
