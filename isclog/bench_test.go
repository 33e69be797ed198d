package isclog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

// benchSyslogSize is the syslog BenchmarkFollowSyslog follows: 100 MiB,
// or DFE_BENCH_SYSLOG_SIZE bytes (scripts/bench.d/syslog.sh: 1 GiB).
func benchSyslogSize(b *testing.B) int64 {
	v := os.Getenv("DFE_BENCH_SYSLOG_SIZE")
	if v == "" {
		return 100 << 20
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("DFE_BENCH_SYSLOG_SIZE=%q: not a size in bytes", v)
	}
	return n
}

// BenchmarkFollowSyslog follows a syslog appended after the start (100
// MiB, or DFE_BENCH_SYSLOG_SIZE), counting its refusals: MB/s beside the
// limit (reading the same file from the page cache, 64 KiB at a time,
// nothing parsed), and the heap in use after (bounded by the read buffer
// and one line, never by the file). The file is written in chunks of 16
// MiB, so that 1 GiB needs no gigabyte of memory.
func BenchmarkFollowSyslog(b *testing.B) {
	size := benchSyslogSize(b)
	chunk, per := generatedSyslog(16 << 20)
	chunks := max(1, int((size+int64(len(chunk))-1)/int64(len(chunk))))
	total := int64(chunks) * int64(len(chunk))
	want := chunks * per
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
	b.SetBytes(total)
	b.ResetTimer()
	b.ReportAllocs()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var heap uint64
	var limit time.Duration
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
		for range chunks {
			if _, err := fh.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if d := readLimit(b, path); limit == 0 || d < limit {
			limit = d
		}
		b.StartTimer()
		// A large append is read over several polls (docs/isc-log.md):
		// follow until the end of the file.
		for f.Offset() < total {
			off := f.Offset()
			if err := f.Follow(context.Background(), time.Time{}, countHandler{c}); err != nil {
				b.Fatal(err)
			}
			if f.Offset() == off {
				b.Fatalf("the follower stopped at %d of %d bytes", off, total)
			}
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
	b.StopTimer()
	b.ReportMetric(float64(total)/(1<<20), "file-MiB")
	b.ReportMetric(float64(total)/1e6/limit.Seconds(), "limit-MB/s")
	b.ReportMetric(float64(heap)/(1<<10), "heap-growth-KiB")
}

// readLimit is the time to read path from the page cache, 64 KiB at a
// time, with nothing done with the bytes.
func readLimit(b *testing.B, path string) time.Duration {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	start := time.Now()
	for {
		if _, err := f.Read(buf); err != nil {
			break
		}
	}
	return time.Since(start)
}
