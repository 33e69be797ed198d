// Command replaygen writes a large capture of failover traffic built from
// the real captures of peer/testdata (peertest.Replay): for timing the
// analyze subcommand against tshark (scripts/bench.d/analyze.sh).
//
//	go run ./internal/replaygen -o /tmp/replay.pcap -messages 2000000
//
// It prints the packets, connections and messages written; with -counts
// FILE it also writes the expected counts per type, one "TYPE N" a line.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
)

func main() {
	out := flag.String("o", "replay.pcap", "capture file to write")
	dir := flag.String("fixtures", "peer/testdata", "directory of the real captures (NAME.pcap with NAME.counts.txt)")
	messages := flag.Uint64("messages", 2_000_000, "at least this many failover messages")
	lanes := flag.Int("lanes", peertest.DefaultReplayLanes, "copies of a fixture played at once")
	counts := flag.String("counts", "", "also write the expected counts per message type to this file")
	flag.Parse()
	if err := run(*out, *dir, *messages, *lanes, *counts); err != nil {
		fmt.Fprintln(os.Stderr, "replaygen:", err)
		os.Exit(1)
	}
}

func run(out, dir string, messages uint64, lanes int, countsFile string) error {
	files, err := peertest.Fixtures(dir)
	if err != nil {
		return err
	}
	r, err := peertest.LoadReplay(files...)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := r.Write(bw, peertest.ReplayOptions{Sets: r.SetsFor(messages), Lanes: lanes})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d packets, %d connections, %d messages\n", out, st.Packets, st.Conns, st.Messages())
	if countsFile == "" {
		return nil
	}
	total := map[string]uint64{}
	for _, m := range st.Counts.Dirs {
		for t, n := range m {
			total[t] += n
		}
	}
	types := make([]string, 0, len(total))
	for t := range total {
		types = append(types, t)
	}
	sort.Strings(types)
	cf, err := os.Create(countsFile)
	if err != nil {
		return err
	}
	for _, t := range types {
		fmt.Fprintf(cf, "%s %d\n", t, total[t])
	}
	return cf.Close()
}
