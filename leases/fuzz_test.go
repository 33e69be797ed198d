package leases

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParser feeds arbitrary bytes in two pieces: it must never panic,
// never buffer more than its bound, return only valid records, and find the
// same records wherever the input is split.
func FuzzParser(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.leases")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(len(b)/2))
		// each record alone, cut in its middle
		var p Parser
		recs, _ := p.Feed(nil, b)
		for _, r := range recs {
			end := int(r.Offset) + 200
			if end > len(b) {
				end = len(b)
			}
			f.Add(b[r.Offset:end], uint16(60))
		}
	}
	f.Add([]byte("failover peer \"p\" state { my state normal at epoch 1795710240; # x\n partner state never; mclt 60; }"), uint16(10))
	f.Add([]byte("lease 1 { x \"}\\\"{\"; # }\n }\nfailover peer p state { my state recover-wait at 4 2026/11/26 17:34:05; partner state partner-down at never; }"), uint16(5))
	f.Add([]byte("lease 10.250.0.100 {\n  binding state free;\n}\nlease 10.250.0.100 { next binding state x; binding state backup; }"), uint16(30))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		whole := Parser{Bindings: mustTable(t)}
		want, _ := whole.Feed(nil, b)
		c := int(cut)
		if c > len(b) {
			c = len(b)
		}
		split := Parser{Bindings: mustTable(t)}
		got, _ := split.Feed(nil, b[:c])
		if cap(split.buf) > 2*MaxLeaseSize || len(split.parts) > maxLeaseParts {
			t.Fatalf("buffer of %d bytes", cap(split.buf))
		}
		got, _ = split.Feed(got, b[c:])
		if len(got) != len(want) {
			t.Fatalf("split at %d: %d records, whole: %d", c, len(got), len(want))
		}
		for i := range got {
			if !got[i].Same(want[i]) || got[i].Offset != want[i].Offset {
				t.Fatalf("split at %d: record %d differs: %+v vs %+v", c, i, got[i], want[i])
			}
			r := got[i]
			if !r.My.State.Valid() || !r.Partner.State.Valid() || r.Peer == "" || r.Offset < 0 || r.Offset >= int64(len(b)) {
				t.Fatalf("invalid record %+v", r)
			}
		}
		if w, g := whole.Bindings.Counts(), split.Bindings.Counts(); !slices.EqualFunc(w, g, func(a, b PoolCounts) bool {
			return a.Counts == b.Counts && (a.Pool == nil) == (b.Pool == nil)
		}) {
			t.Fatalf("split at %d: counts %v, whole: %v", c, g, w)
		}
		if n := split.Bindings.Addresses(); n > len(b)/10 {
			t.Fatalf("%d addresses from %d bytes", n, len(b))
		}
		if split.Offset() != int64(len(b)) {
			t.Fatalf("offset %d", split.Offset())
		}
	})
}

func mustTable(t testing.TB) *Table {
	tab, err := NewTable([]Pool{{Peer: "fo-lab", Ranges: []Range{mustRange(t, "10.250.0.100-10.250.0.199")}}})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}
