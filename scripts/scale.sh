#!/usr/bin/env bash
# Scale check: simulated targets (PAIRS pairs of servers, two relationships
# each: 250 pairs are 500 targets and 1,000 relationships) polled every
# 10 s by the real binary, on a free loopback port. Scrapes /metrics once a
# second as Prometheus asks for it (OpenMetrics, gzip) while the targets
# poll, and prints the median, best and worst scrape time, the exporter's
# RSS, its CPU use over the window, and the time `gzip -1` takes to
# compress the same exposition alone (the anchor of the scrape time).
# Usage: PAIRS=250 scripts/scale.sh [BINARY] [WINDOW_SECONDS]
set -euo pipefail
bin=${1:-./dhcp_failover_exporter}
window=${2:-60}
pairs=${PAIRS:-250}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
{
  echo "targets:"
  for ((p = 0; p < pairs; p++)); do
    for s in a b; do
      printf '  - {name: sim-%05d-%s, source: simulated, pair: pair-%05d, server: %s, offset: %ds}\n' "$p" "$s" "$p" "$s" $((p % 120))
    done
  done
} > "$dir/scale.yml"

# A free port: the kernel's pick where python3 is there, else a random
# one; a port taken meanwhile makes the exporter exit, and another is tried.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 40000))
}
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  "$bin" --config.file="$dir/scale.yml" --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  kill -0 $pid 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; pid=
  [ "$attempt" = 5 ] && { echo "scale: the exporter did not start:" >&2; cat "$dir/log" >&2; exit 1; }
done
sleep 12   # every target polled at least once, and into its spread phase
accept='application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
end=$(( $(date +%s) + window ))
: > "$dir/times"
while [ "$(date +%s)" -lt "$end" ]; do
  curl -s --compressed -H "Accept: $accept" -o "$dir/scrape" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >> "$dir/times"
  sleep 1
done
c1=$(cpu); t1=$(date +%s.%N)
series=$(grep -vc -e '^#' -e '_created{' "$dir/scrape")
bytes=$(wc -c < "$dir/scrape")
gzbytes=$(curl -s -H "Accept: $accept" -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" | wc -c)
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
# The anchor: zlib's gzip -1 over the same bytes, median of 5.
for _ in 1 2 3 4 5; do
  s=$(date +%s%N); gzip -1 -c "$dir/scrape" >/dev/null; e=$(date +%s%N)
  echo $(( (e - s) / 1000 ))
done | sort -n | sed -n 3p > "$dir/limit"
sort -n "$dir/times" | awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" -v pairs="$pairs" \
    -v rss="$rss" -v hwm="$hwm" -v series="$series" -v bytes="$bytes" -v gzbytes="$gzbytes" -v limit="$(cat "$dir/limit")" '
  { t[NR] = $1 }
  END {
    med = t[int((NR + 1) / 2)] * 1000
    printf "targets: %d, relationships: %d, series per scrape: %d, %d bytes (%d gzip)\n", 2*pairs, 4*pairs, series, bytes, gzbytes
    printf "scrape /metrics (curl, OpenMetrics + gzip, %d scrapes 1 s apart while targets poll): median %.1f ms, best %.1f ms, worst %.1f ms\n", NR, med, t[1]*1000, t[NR]*1000
    printf "limit (gzip -1 of the same bytes alone): %.1f ms; median / limit: %.2f\n", limit/1000, med / (limit/1000)
    printf "RSS now %.1f MiB, peak %.1f MiB\n", rss/1024, hwm/1024
    printf "CPU over %.0f s (polls + scrapes): %.2f %% of one core\n", t1-t0, 100*(c1-c0)/hz/(t1-t0)
  }'
