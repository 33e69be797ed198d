package peer

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
)

// writeReplay writes a replay of the real captures (peertest.Replay)
// with sets copies of each into dir.
func writeReplay(tb testing.TB, dir string, sets, lanes int) (string, peertest.ReplayStats) {
	tb.Helper()
	files, err := peertest.Fixtures("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	r, err := peertest.LoadReplay(files...)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "replay.pcap")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := r.Write(bw, peertest.ReplayOptions{Sets: sets, Lanes: lanes})
	if err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	return path, st
}

func dirCountsEqual(tb testing.TB, what string, got, want map[string]map[string]uint64) {
	tb.Helper()
	bad := 0
	for dir, w := range want {
		if g := got[dir]; !mapsEqual(g, w) && bad < 10 {
			bad++
			tb.Errorf("%s: %s: counts %v, want %v", what, dir, g, w)
		}
	}
	for dir, g := range got {
		if _, ok := want[dir]; !ok && bad < 10 {
			bad++
			tb.Errorf("%s: %s: unexpected messages %v", what, dir, g)
		}
	}
}

// TestReplayCounts: a replay of the real captures, with more connections
// than the tracker's table holds, decodes to the counts of its fixtures
// per direction and type (tshark's), without a hole or a refused
// message (open connections a copy left behind are evicted: they see
// no packet again); and tshark, when installed, counts the same on the file.
func TestReplayCounts(t *testing.T) {
	path, st := writeReplay(t, t.TempDir(), 60, 32)
	if st.Conns <= DefaultMaxConns {
		t.Fatalf("only %d connections: the table is never full", st.Conns)
	}
	got := map[string]map[string]uint64{}
	tr, err := ReadFile(path, Options{MaxHistory: -1, OnMessage: func(c *Conn, from int, ts time.Time, m *failover.Message) {
		dir := c.Ends[from].String() + "->" + c.Ends[Other(from)].String()
		if got[dir] == nil {
			got[dir] = map[string]uint64{}
		}
		got[dir][m.Type.String()]++
	}})
	if err != nil {
		t.Fatal(err)
	}
	dirCountsEqual(t, "tracker", got, st.Counts.Dirs)
	s := tr.Stats()
	if s.Messages != st.Messages() || s.BadDecodes != 0 || s.Packets != st.Packets {
		t.Errorf("stats %+v, replay %d packets, %d messages", s, st.Packets, st.Messages())
	}
	for _, c := range tr.Conns() {
		for i := range c.Ends {
			if holes, skipped := c.Gaps(i); holes != 0 || skipped != 0 {
				t.Errorf("conn %d %s: %d holes, %d bytes skipped", c.ID, c.Ends[i], holes, skipped)
			}
		}
	}
	t.Run("tshark", func(t *testing.T) {
		testenv.NeedBinaries(t, "tshark")
		ts, err := peertest.Tshark(path)
		if err != nil {
			t.Fatal(err)
		}
		dirCountsEqual(t, "tshark", ts.Dirs, st.Counts.Dirs)
	})
}

// TestAnalyzeRecycle: an analysis that reuses the connections leaving
// the table reports what one that allocates each afresh reports, on a
// replay with more connections than the table holds (ports reused
// included: the replay plays each capture many times).
func TestAnalyzeRecycle(t *testing.T) {
	path, st := writeReplay(t, t.TempDir(), 60, 32)
	if st.Conns <= DefaultMaxConns {
		t.Fatalf("only %d connections: the table is never full", st.Conns)
	}
	analyze := func(recycle bool) (*Report, []byte) {
		defer func(v bool) { analyzeRecycle = v }(analyzeRecycle)
		analyzeRecycle = recycle
		c, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var timeline []byte
		r, err := Analyze(context.Background(), c, AnalyzeOptions{Timeline: func(e *Event) { timeline = e.AppendText(timeline) }})
		if err != nil {
			t.Fatal(err)
		}
		return r, timeline
	}
	want, wantTL := analyze(false)
	got, gotTL := analyze(true)
	if want.Messages != st.Messages() || want.Connections.Len() != int(st.Conns) {
		t.Errorf("%d messages, %d connections; the replay has %d, %d", want.Messages, want.Connections.Len(), st.Messages(), st.Conns)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("the reports differ")
	}
	if !bytes.Equal(gotTL, wantTL) {
		t.Error("the timelines differ")
	}
}

// BenchmarkAnalyzeMemoryPerConn: the heap an analysis holds per
// connection of a capture (the summaries kept for the end, the table of
// open ones), measured after a collection with the report still alive:
// a replay of the real captures with some 3 000 connections, about 27 per
// set of fixtures.
func BenchmarkAnalyzeMemoryPerConn(b *testing.B) {
	path, _ := writeReplay(b, b.TempDir(), 120, 0)
	b.ReportAllocs()
	b.ResetTimer()
	var perConn float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c, err := OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Analyze(context.Background(), c, AnalyzeOptions{})
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(r.Connections.Len())
		runtime.KeepAlive(r)
	}
	b.ReportMetric(perConn, "heap-B/conn")
}
