package isclog

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// FuzzParseLine: never panics, and a refusal it reports is placed only in
// the configuration's places (bounded label values).
func FuzzParseLine(f *testing.F) {
	// syslog.log: dhcpd's lines under syslog headers (the lab's
	// non-refusal lines, refusals in server/dhcp.c's formats);
	// dhcpd-4.4-pair.log: refusal lines of the real pair of
	// `go test ./integration -run TestISCPoolShareExhaustedInPartition`
	// (dhcpd -d, no header).
	files, _ := filepath.Glob("testdata/*.log")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
			f.Add(append([]byte("Nov 26 17:31:02 lab-b dhcpd[2212]: "), sc.Bytes()...))
		}
	}
	f.Add([]byte("DHCPDISCOVER from 02 (a: network campus: no free leases) via 10.20.1.1: peer holds all free leases"))
	f.Add([]byte("DHCPNAK on 10.20.2.9 to  via "))
	nets := testNetworks(f)
	allowed := map[Place]bool{}
	for _, r := range Reasons {
		for _, p := range nets.Places(r) {
			allowed[p] = true
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, ok := ParseLine(line)
		if !ok {
			if ev != (Event{}) {
				t.Fatalf("not a refusal but %+v", ev)
			}
			return
		}
		if len(line) > MaxLine {
			t.Fatalf("refusal in a line of %d bytes", len(line))
		}
		switch ev.Reason {
		case failover.RefusedPoolExhausted, failover.RefusedPartnerHoldsFree, failover.RefusedNAK:
		default:
			t.Fatalf("reason %q", ev.Reason)
		}
		if p := nets.Place(ev); !allowed[p] {
			t.Fatalf("placed at %+v, not a place of the configuration", p)
		}
		c := NewCounter(nets)
		before := len(c.counts)
		c.Line(line)
		if len(c.counts) != before {
			t.Fatalf("counter grew from %d to %d places", before, len(c.counts))
		}
	})
}
