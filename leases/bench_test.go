package leases

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

var (
	bigOnce  sync.Once
	bigFile  []byte
	bigCount int
)

// generated builds a leases file of about size bytes as dhcpd 4.4 writes
// one for a busy failover pool: mostly active lease blocks with the usual
// client data, a failover state record every 500 leases.
func generated(size int) ([]byte, int) {
	var b bytes.Buffer
	b.Grow(size + 4096)
	b.WriteString("# The format of this file is documented in the dhcpd.leases(5) manual page.\n" +
		"# This lease file was written by isc-dhcp-4.4.3-P1\n\n" +
		"# authoring-byte-order entry is generated, DO NOT DELETE\nauthoring-byte-order little-endian;\n\n")
	states := []string{"normal", "communications-interrupted", "partner-down", "recover-done"}
	n, records := 0, 0
	for b.Len() < size {
		if n%500 == 0 {
			fmt.Fprintf(&b, "\nfailover peer \"fo-lab\" state {\n  my state %s at 4 2026/11/26 17:%02d:%02d;\n  partner state normal at 4 2026/11/26 17:34:05;\n}\n",
				states[records%len(states)], records/60%60, records%60)
			records++
		}
		fmt.Fprintf(&b, "lease 10.%d.%d.%d {\n"+
			"  starts 4 2026/11/26 17:34:05;\n  ends 4 2026/11/26 17:44:05;\n"+
			"  tstp 4 2026/11/26 17:44:05;\n  tsfp 4 2026/11/26 17:44:05;\n  atsfp 4 2026/11/26 17:44:05;\n"+
			"  cltt 4 2026/11/26 17:34:05;\n  binding state active;\n  next binding state expired;\n"+
			"  rewind binding state free;\n  hardware ethernet 02:fa:00:%02x:%02x:%02x;\n"+
			"  uid \"\\001\\002\\372\\000\\000\\001\\001\";\n"+
			"  set vendor-class-identifier = \"MSFT 5.0 {x;y}\";\n  client-hostname \"host-%d\";\n}\n",
			n>>16&255, n>>8&255, n&255, n>>16&255, n>>8&255, n&255, n)
		n++
	}
	return b.Bytes(), records
}

// BenchmarkParse100MB is a full parse of a 100 MB file, fed in the 64 KiB
// pieces the leases source reads.
func BenchmarkParse100MB(b *testing.B) { benchmarkParse(b, false) }

// BenchmarkParse100MBBindings is the same parse keeping the binding state
// of every address (about 200,000 of them) and the counts per pool.
func BenchmarkParse100MBBindings(b *testing.B) { benchmarkParse(b, true) }

func benchmarkParse(b *testing.B, bindings bool) {
	bigOnce.Do(func() { bigFile, bigCount = generated(100 << 20) })
	pools := []Pool{{Peer: "fo-lab", Ranges: []Range{mustRange(b, "10.0.0.0-10.1.255.255")}}}
	b.SetBytes(int64(len(bigFile)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var p Parser
		if bindings {
			p.Bindings, _ = NewTable(pools)
		}
		var recs []Record
		var err error
		n := 0
		for off := 0; off < len(bigFile); off += 64 << 10 {
			recs, err = p.Feed(recs[:0], bigFile[off:min(off+64<<10, len(bigFile))])
			if err != nil {
				b.Fatal(err)
			}
			n += len(recs)
		}
		if n != bigCount {
			b.Fatalf("%d records, want %d", n, bigCount)
		}
	}
	b.ReportMetric(float64(bigCount), "records/op")
	if bindings {
		tab, _ := NewTable(pools)
		p := Parser{Bindings: tab}
		p.Feed(nil, bigFile)
		b.ReportMetric(float64(tab.Addresses()), "addresses")
	}
}

func TestGeneratedFile(t *testing.T) {
	data, n := generated(1 << 20)
	var p Parser
	recs, err := p.Feed(nil, data)
	if err != nil || len(recs) != n {
		t.Fatalf("%d records, want %d: %v", len(recs), n, err)
	}
}
