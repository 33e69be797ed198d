package leases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/leases/leasestest"
)

// BenchmarkFollowFile reads a whole leases file as the leases source
// does when it starts (NewFollower, Follow to the end, the counts per
// pool of the dhcpd.conf). DFE_LEASES_DIR names a directory with the
// dhcpd.conf and dhcpd.leases of internal/leasesgen (scripts/bench.d/
// leases.sh writes 1 GiB and compares with dhcpd-pools on the same two
// files); without it, a 16 MiB pair is generated. It reports the heap
// left after the read: it grows with the addresses, not the records.
func BenchmarkFollowFile(b *testing.B) {
	dir := os.Getenv("DFE_LEASES_DIR")
	if dir == "" {
		dir = b.TempDir()
		o := leasestest.Options{Subnets: 64, Size: 16 << 20}
		writePair(b, dir, o)
	}
	pools, err := ReadDHCPDConf(filepath.Join(dir, "dhcpd.conf"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "dhcpd.leases")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var heap uint64
	var addresses int
	for b.Loop() {
		f, err := NewFollower(path, pools)
		if err != nil {
			b.Fatal(err)
		}
		var h countingHandler
		if err := f.Follow(context.Background(), time.Time{}, &h); err != nil {
			b.Fatal(err)
		}
		counts, _, ok := f.Pools()
		if !ok || h.damaged != 0 {
			b.Fatalf("read to the end %v, %d damaged statements", ok, h.damaged)
		}
		addresses = 0
		for _, c := range counts {
			for _, n := range c.Counts {
				addresses += n
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
		runtime.KeepAlive(f)
		f.Close()
	}
	b.ReportMetric(float64(addresses), "addresses")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

// writePair writes the pair of o into dir and returns its rounds.
func writePair(tb testing.TB, dir string, o leasestest.Options) int {
	tb.Helper()
	conf, err := os.Create(filepath.Join(dir, "dhcpd.conf"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := leasestest.Conf(conf, o); err != nil {
		tb.Fatal(err)
	}
	conf.Close()
	f, err := os.Create(filepath.Join(dir, "dhcpd.leases"))
	if err != nil {
		tb.Fatal(err)
	}
	n, err := leasestest.Leases(f, o)
	if err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return n
}

type countingHandler struct{ damaged int }

func (h *countingHandler) Restart(Restart) {}
func (h *countingHandler) Record(Record)   {}
func (h *countingHandler) Damaged(error)   { h.damaged++ }
func (h *countingHandler) End()            {}

// The generated pair reads back as written: every address of every pool
// in the newest record's state.
func TestGeneratedPair(t *testing.T) {
	dir := t.TempDir()
	o := leasestest.Options{Subnets: 3, Size: 1 << 20}
	rounds := writePair(t, dir, o)
	pools, err := ReadDHCPDConf(filepath.Join(dir, "dhcpd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 3 {
		t.Fatalf("%d pools, want 3", len(pools))
	}
	f, err := NewFollower(filepath.Join(dir, "dhcpd.leases"), pools)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h countingHandler
	if err := f.Follow(context.Background(), time.Time{}, &h); err != nil {
		t.Fatal(err)
	}
	counts, dropped, ok := f.Pools()
	if !ok || dropped != 0 || h.damaged != 0 {
		t.Fatalf("ok %v, dropped %d, damaged %d", ok, dropped, h.damaged)
	}
	want := map[string]int{}
	for h := 20; h < 220; h++ {
		want[leasestest.Newest(rounds, h)]++
	}
	for _, c := range counts {
		if c.Pool == nil {
			t.Errorf("addresses outside every pool: %v", c.Counts)
			continue
		}
		got := map[string]int{}
		for st, n := range c.Counts {
			if n > 0 {
				got[BindingState(st).String()] = n
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pool %s after %d rounds: %v, want %v", c.Pool.Name(), rounds, got, want)
		}
	}
}
