#!/usr/bin/env bash
# Runs the exporter's demo on a free loopback port, scrapes /metrics after a
# few polls, and requires `promtool check metrics` to print nothing.
set -euo pipefail
bin=${1:-./dhcp_failover_exporter}
promtool=${2:-promtool}
if ! command -v "$promtool" >/dev/null; then
  # Skipped on a machine without Debian's prometheus package; CI sets
  # DFE_REQUIRE_INTEGRATION=1 (and .ci/run installs the package), so there it fails.
  if [ "${DFE_REQUIRE_INTEGRATION:-}" = 1 ]; then
    echo "lint-demo-metrics: $promtool not found (apt-get install prometheus)" >&2; exit 1
  fi
  echo "lint-demo-metrics: SKIPPED: $promtool not found (apt-get install prometheus)"
  exit 0
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 19647)
log=$(mktemp)
"$bin" --demo --demo.cycle=20s --web.listen-address="127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/-/healthy" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2
scrape=$(curl -fsS "http://127.0.0.1:$port/metrics")
out=$(printf '%s\n' "$scrape" | "$promtool" check metrics 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "promtool check metrics:"; echo "$out"; exit 1; fi
n=$(printf '%s\n' "$scrape" | grep -c '^dhcp_failover_state{' || true)
[ "$n" -gt 0 ] || { echo "lint-demo-metrics: no dhcp_failover_state series in the demo scrape"; cat "$log"; exit 1; }
echo "lint-demo-metrics: promtool check metrics clean ($n state series)"
