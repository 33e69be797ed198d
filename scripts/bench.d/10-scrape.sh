#!/usr/bin/env bash
# The scale benchmarks of collector/scale_bench_test.go, COUNT runs each
# (default 5), summarised as the median of the runs: the scrape's median
# time, the limit (compressing the same bytes alone, already encoded) and
# their ratio, and the cost per series; then how flat that cost is from
# 1,000 to 10,000 relationships. The benchmarks print, never assert.
set -euo pipefail
GO=${GO:-go}
count=${COUNT:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
$GO test -run '^$' -bench '^Benchmark(Scrape|Gather)' -count "$count" ./collector > "$out"
awk '
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    for (i = 3; i < NF; i += 2) { v[name, $(i+1), ++c[name, $(i+1)]] = $i }
  }
  function med(name, unit,    k, m, a, i, j, t) {
    m = c[name, unit]; if (m == 0) return -1
    for (i = 1; i <= m; i++) a[i] = v[name, unit, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((m + 1) / 2)]
  }
  END {
    printf "%-34s %10s %10s %8s %10s %9s\n", "benchmark (median of runs)", "median-ms", "limit-ms", "x-limit", "ns/series", "series"
    for (k = 1; k <= n; k++) {
      b = order[k]
      if (med(b, "median-ms") < 0) { printf "%-34s %10.2f   (ms/scrape; the dto path: Gather and promhttp, uncompressed)\n", b, med(b, "ms/scrape"); continue }
      printf "%-34s %10.2f %10.2f %8.2f %10.1f %9d\n", b, med(b, "median-ms"), med(b, "limit-ms"), med(b, "x-limit"), med(b, "ns/series"), med(b, "series")
    }
    a = med("BenchmarkScrape500Targets", "ns/series"); z = med("BenchmarkScrape5000Targets", "ns/series")
    if (a > 0 && z > 0) printf "cost per series, 10,000 relationships over 1,000: %.2f (flat: within 0.90-1.10)\n", z / a
    a = med("BenchmarkScrape500TargetsPolling", "ns/series"); z = med("BenchmarkScrape5000TargetsPolling", "ns/series")
    if (a > 0 && z > 0) printf "cost per series while polling, 10,000 over 1,000: %.2f\n", z / a
    a = med("BenchmarkScrape500Targets", "ns/series"); z = med("BenchmarkScrape50000Pools", "ns/series")
    if (a > 0 && z > 0) printf "cost per series, 50,000 pools over 1,000 relationships: %.2f\n", z / a
  }' "$out"
