#!/usr/bin/env bash
# Leases: the exporter's first read of a large dhcpd.leases (the leases
# source's start: every record parsed, the newest state of every address
# kept, counted per pool of dhcpd.conf) against dhcpd-pools(1), the
# Debian package's C analyser, on the same two files.
# Prints both throughputs, their ratio and the memory of each.
# Environment: DFE_BENCH_LEASES_SIZE (bytes, default 1 GiB),
# DFE_BENCH_LEASES_SUBNETS (of 200 addresses each, default 256),
# DFE_BENCH_COUNT (runs of each, best kept; default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${DFE_BENCH_LEASES_SIZE:-1073741824}
subnets=${DFE_BENCH_LEASES_SUBNETS:-256}
count=${DFE_BENCH_COUNT:-3}
if ! command -v dhcpd-pools >/dev/null; then
  echo "leases: dhcpd-pools is not installed (Debian package dhcpd-pools): no anchor" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go run ./internal/leasesgen -dir "$dir" -size "$size" -subnets "$subnets" >&2
bytes=$(stat -c %s "$dir/dhcpd.leases")

# The exporter's parser, as a Go benchmark over the same files.
out=$(DFE_LEASES_DIR="$dir" go test ./leases -run '^$' -bench '^BenchmarkFollowFile$' -benchtime "${count}x" -count 1)
ours=$(awk '/^BenchmarkFollowFile/ { for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") print $i }' <<<"$out")
heap=$(awk '/^BenchmarkFollowFile/ { for (i = 1; i <= NF; i++) if ($(i+1) == "heap-MiB") print $i }' <<<"$out")

# dhcpd-pools: best wall time of count runs, its peak RSS.
best=; rss=0
for _ in $(seq "$count"); do
  /usr/bin/time -f '%e %M' -o "$dir/time" dhcpd-pools -A -f c -c "$dir/dhcpd.conf" -l "$dir/dhcpd.leases" >/dev/null
  read -r s kb <"$dir/time"
  best=$(awk -v a="$s" -v b="${best:-$s}" 'BEGIN { print (a < b ? a : b) }')
  rss=$(( kb > rss ? kb : rss ))
done
theirs=$(awk -v b="$bytes" -v s="$best" 'BEGIN { printf "%.1f", b / 1e6 / (s > 0 ? s : 0.01) }')
ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
printf 'leases: %d MB file, %d addresses: exporter %s MB/s (heap %s MiB after the read), dhcpd-pools %s MB/s (RSS %d MiB); ratio %sx (goal >= 1x)\n' \
  $((bytes / 1000000)) $((subnets * 200)) "$ours" "$heap" "$theirs" $((rss / 1024)) "$ratio"
