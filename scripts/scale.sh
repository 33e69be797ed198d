#!/usr/bin/env bash
# Scale check: 500 simulated targets (1,000 relationships)
# polled every 10 s by the real binary. Prints the scrape time of /metrics,
# the exporter's RSS and its CPU use over a measuring window.
# Usage: scripts/scale.sh [BINARY] [WINDOW_SECONDS]
set -euo pipefail
bin=${1:-./dhcp_failover_exporter}
window=${2:-60}
dir=$(mktemp -d)
port=19648
{
  echo "targets:"
  for p in $(seq -w 0 249); do
    for s in a b; do
      echo "  - {name: sim-$p-$s, source: simulated, pair: pair-$p, server: $s, offset: ${p#0}s}"
    done
  done
} > "$dir/scale.yml"
"$bin" --config.file="$dir/scale.yml" --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
sleep 12   # every target polled at least once
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
best=999; worst=0; n=0
end=$(( $(date +%s) + window ))
while [ "$(date +%s)" -lt "$end" ]; do
  # As Prometheus asks: OpenMetrics first, gzip.
  t=$(curl -s --compressed -H 'Accept: application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
        -o "$dir/scrape" -w '%{time_total}' "http://127.0.0.1:$port/metrics")
  best=$(echo "$t $best" | awk '{print ($1<$2)?$1:$2}')
  worst=$(echo "$t $worst" | awk '{print ($1>$2)?$1:$2}')
  n=$((n+1))
  sleep 5
done
c1=$(cpu); t1=$(date +%s.%N)
series=$(grep -vc -e '^#' -e '_created{' "$dir/scrape")
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" -v best="$best" -v worst="$worst" -v n="$n" \
    -v rss="$rss" -v hwm="$hwm" -v series="$series" 'BEGIN {
  printf "series per scrape: %d\n", series
  printf "scrape /metrics (curl, OpenMetrics + gzip, %d scrapes every 5 s): best %.1f ms, worst %.1f ms\n", n, best*1000, worst*1000
  printf "RSS now %.1f MiB, peak %.1f MiB\n", rss/1024, hwm/1024
  printf "CPU over %.0f s (polls + scrapes): %.2f %% of one core\n", t1-t0, 100*(c1-c0)/hz/(t1-t0)
}'
