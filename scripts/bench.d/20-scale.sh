#!/usr/bin/env bash
# The real binary at 1,000 relationships (scripts/scale.sh), scraped as
# Prometheus scrapes while its targets poll, against the budget of
# README.md "Performance": 25 ms median, 48 MiB RSS.
# SCALE_WINDOW (default 60) is the measuring window in seconds.
set -euo pipefail
GO=${GO:-go}
bin=${1:-}
if [ -z "$bin" ]; then
  bin=$(mktemp -d)/dhcp_failover_exporter
  $GO build -o "$bin" .
fi
out=$(scripts/scale.sh "$bin" "${SCALE_WINDOW:-60}")
echo "$out"
echo "$out" | awk '
  /^scrape/ { for (i = 1; i <= NF; i++) if ($i == "median") { m = $(i+1); printf "median scrape over the 25 ms budget: %.2f\n", m / 25 } }
  /^RSS/    { printf "peak RSS over the 48 MiB budget: %.2f\n", $6 / 48 }'
