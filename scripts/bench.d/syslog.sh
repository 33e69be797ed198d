#!/usr/bin/env bash
# dhcpd's syslog: the refusal counter following 1 GiB of generated dhcpd
# log lines appended after its start (isclog BenchmarkFollowSyslog), beside
# the limit, reading the same file from the page cache with nothing
# parsed; and the heap it kept after the gigabyte (the read buffer and one
# line, never the file).
# Environment: DFE_BENCH_SYSLOG_SIZE (bytes, default 1 GiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
size=${DFE_BENCH_SYSLOG_SIZE:-1073741824}
out=$(DFE_BENCH_SYSLOG_SIZE="$size" $GO test ./isclog -run '^$' -bench '^BenchmarkFollowSyslog$' -benchmem -benchtime 1x -count 1)
echo "$out" | grep '^BenchmarkFollowSyslog'
echo "$out" | awk '/^BenchmarkFollowSyslog/ {
    for (i = 1; i <= NF; i++) { u = $(i+1); if (u == "MB/s") s = $i; if (u == "limit-MB/s") l = $i; if (u == "file-MiB") f = $i; if (u == "heap-growth-KiB") h = $i; if (u == "B/op") a = $i }
    printf "syslog: %.0f MiB followed at %.0f MB/s, %.2f of the read limit (%.0f MB/s); heap kept %.0f KiB, %d bytes allocated in all\n", f, s, s / l, l, h, a
  }'
