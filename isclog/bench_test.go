package isclog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// generatedSyslog builds about size bytes of a busy dhcpd's syslog: the
// DORA of many clients, one refusal line in ten.
func generatedSyslog(size int) ([]byte, int) {
	var b bytes.Buffer
	b.Grow(size + 4096)
	refusals := 0
	for n := 0; b.Len() < size; n++ {
		mac := fmt.Sprintf("02:fa:%02x:%02x:%02x:%02x", n>>24&255, n>>16&255, n>>8&255, n&255)
		ts := fmt.Sprintf("Nov 26 17:%02d:%02d lab-a dhcpd[2211]: ", n/60%60, n%60)
		switch n % 10 {
		case 0:
			fmt.Fprintf(&b, "%sDHCPDISCOVER from %s via eth0: network 10.250.0.0/24: no free leases\n", ts, mac)
			refusals++
		case 5:
			fmt.Fprintf(&b, "%sDHCPNAK on 10.20.2.%d to %s via 10.20.1.1\n", ts, n%250, mac)
			refusals++
		default:
			fmt.Fprintf(&b, "%sDHCPDISCOVER from %s via eth0\n%sDHCPOFFER on 10.250.0.%d to %s via eth0\n", ts, mac, ts, n%250, mac)
			fmt.Fprintf(&b, "%sDHCPREQUEST for 10.250.0.%d (10.250.0.1) from %s via eth0\n%sDHCPACK on 10.250.0.%d to %s via eth0\n", ts, n%250, mac, ts, n%250, mac)
		}
	}
	return b.Bytes(), refusals
}

type countHandler struct{ c *Counter }

func (h countHandler) Line(b []byte)   { h.c.Line(b) }
func (h countHandler) Restart(Restart) {}

// BenchmarkFollow100MB follows a 100 MB syslog appended after the start,
// counting its refusals: MB/s, and the heap in use after (bounded by the
// read buffer and one line, never by the file).
func BenchmarkFollow100MB(b *testing.B) {
	data, want := generatedSyslog(100 << 20)
	path := filepath.Join(b.TempDir(), "syslog")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	nets := testNetworks(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	b.ReportAllocs()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var heap uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := fh.Truncate(0); err != nil {
			b.Fatal(err)
		}
		f := NewFollower(path)
		c := NewCounter(nets)
		if err := f.Follow(context.Background(), time.Time{}, countHandler{c}); err != nil {
			b.Fatal(err)
		}
		if _, err := fh.Write(data); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := f.Follow(context.Background(), time.Time{}, countHandler{c}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var sum float64
		for _, r := range c.Refusals() {
			sum += r.Count
		}
		if int(sum) != want {
			b.Fatalf("%v refusals, want %d", sum, want)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > base.HeapInuse {
			heap = max(heap, ms.HeapInuse-base.HeapInuse)
		}
		f.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<10), "heap-growth-KiB")
}
