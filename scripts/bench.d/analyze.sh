#!/usr/bin/env bash
# Throughput of `analyze` on a replay of the real captures of peer/testdata
# (peer/peertest/replay.go), against tshark's dhcpfo dissector on the same
# file. Prints msg/s of the text and JSON outputs and the ratio to
#   tshark -q -z io,stat,0,dhcpfo
# Uses hyperfine when installed, else the best of RUNS timed runs.
# Usage: scripts/bench.d/analyze.sh [MESSAGES]   (default 2000000)
# Environment: RUNS (default 5), TSHARK_RUNS (default 3),
#   CHECK_TSHARK=1 also compares the counts per message type with tshark's.
set -euo pipefail
cd "$(dirname "$0")/../.."
messages=${1:-2000000}
runs=${RUNS:-5}
tshark_runs=${TSHARK_RUNS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

go build -o "$dir/dhcp_failover_exporter" .
go run ./internal/replaygen -o "$dir/replay.pcap" -messages "$messages" -counts "$dir/want.counts"
want=$(awk '{n += $2} END {print n}' "$dir/want.counts")

# The exporter must decode every message of the replay.
got=$("$dir/dhcp_failover_exporter" analyze --no-timeline "$dir/replay.pcap" | tail -1 |
	sed -n 's/.* on the failover ports, \([0-9]*\) messages,.*/\1/p')
if [ "$got" != "$want" ]; then
	echo "analyze decoded $got messages, the replay holds $want" >&2
	exit 1
fi
if [ "${CHECK_TSHARK:-0}" = 1 ] && command -v tshark >/dev/null; then
	tshark -r "$dir/replay.pcap" -d tcp.port==847,dhcpfo -Y dhcpfo -T fields -e dhcpfo.type |
		tr ',' '\n' | sort -n | uniq -c | awk '{print $2, $1}' >"$dir/tshark.types"
	# tshark gives type numbers; the exporter's names, draft-12 numbering.
	awk 'BEGIN {split("POOLREQ POOLRESP BNDUPD BNDACK CONNECT CONNECTACK UPDREQALL UPDDONE UPDREQ STATE CONTACT DISCONNECT", n, " ")}
		{print n[$1], $2}' "$dir/tshark.types" | sort >"$dir/tshark.counts"
	if ! diff -u "$dir/want.counts" "$dir/tshark.counts"; then
		echo "tshark's counts differ from the replay's" >&2
		exit 1
	fi
	echo "counts per type equal to tshark's"
fi

# best_of N CMD...: the shortest wall time of N runs, in seconds.
best_of() {
	local n=$1 best="" t0 t1 d
	shift
	for _ in $(seq "$n"); do
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s.%N)
		d=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
	done
	echo "$best"
}
# hyper N CMD: hyperfine's mean, in seconds.
hyper() {
	local n=$1
	shift
	hyperfine --runs "$n" --warmup 1 --style none --export-json "$dir/h.json" "$*" >/dev/null
	sed -n 's/.*"mean": *\([0-9.e+-]*\),*/\1/p' "$dir/h.json" | head -1
}
measure() {
	if command -v hyperfine >/dev/null; then
		hyper "$1" "${*:2}"
	else
		best_of "$@"
	fi
}

exp="$dir/dhcp_failover_exporter analyze"
text=$(measure "$runs" $exp "$dir/replay.pcap")
json=$(measure "$runs" $exp --format=json "$dir/replay.pcap")
quiet=$(measure "$runs" $exp --no-timeline "$dir/replay.pcap")
packets=$(tail -1 <("$dir/dhcp_failover_exporter" analyze --no-timeline "$dir/replay.pcap") | awk '{print $1}')
echo "replay: $packets packets, $want messages ($(du -h "$dir/replay.pcap" | cut -f1))"
rate() { echo "$want / $1" | bc -l | xargs printf '%.0f'; }
printf 'analyze (text)         %7.3fs  %10s msg/s\n' "$text" "$(rate "$text")"
printf 'analyze --format=json  %7.3fs  %10s msg/s\n' "$json" "$(rate "$json")"
printf 'analyze --no-timeline  %7.3fs  %10s msg/s\n' "$quiet" "$(rate "$quiet")"
if command -v tshark >/dev/null; then
	ts=$(measure "$tshark_runs" tshark -q -r "$dir/replay.pcap" -d tcp.port==847,dhcpfo -z io,stat,0,dhcpfo)
	printf 'tshark -z io,stat      %7.3fs  %10s msg/s\n' "$ts" "$(rate "$ts")"
	printf 'ratio to tshark: text %.1fx, JSON %.1fx\n' "$(echo "$ts / $text" | bc -l)" "$(echo "$ts / $json" | bc -l)"
else
	echo "tshark not installed: no ratio"
fi
