package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
)

// replayMessages is the size of the benchmarks' replay: about two
// million messages over some 27 000 connections (docs/peer.md reports
// the timings).
const replayMessages = 2_000_000

var replayCapture struct {
	once sync.Once
	dir  string
	msgs uint64
	err  error
}

// replayFile writes, once per test binary, a replay of the real captures
// of peer/testdata (peertest.Replay) and returns its path and messages.
func replayFile(b *testing.B) (string, uint64) {
	replayCapture.once.Do(func() {
		c := &replayCapture
		var r *peertest.Replay
		files, err := peertest.Fixtures("peer/testdata")
		if err == nil {
			r, err = peertest.LoadReplay(files...)
		}
		if err == nil {
			c.dir, err = os.MkdirTemp("", "dfe-analyze-replay-")
		}
		var f *os.File
		if err == nil {
			f, err = os.Create(filepath.Join(c.dir, "replay.pcap"))
		}
		if err == nil {
			bw := bufio.NewWriterSize(f, 1<<20)
			var st peertest.ReplayStats
			st, err = r.Write(bw, peertest.ReplayOptions{Sets: r.SetsFor(replayMessages)})
			c.msgs = st.Messages()
			if err == nil {
				err = bw.Flush()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		c.err = err
	})
	if replayCapture.err != nil {
		b.Fatal(replayCapture.err)
	}
	return filepath.Join(replayCapture.dir, "replay.pcap"), replayCapture.msgs
}

// TestMain removes the benchmarks' replay.
func TestMain(m *testing.M) {
	code := m.Run()
	if replayCapture.dir != "" {
		os.RemoveAll(replayCapture.dir)
	}
	os.Exit(code)
}

// countingDiscard is io.Discard that remembers the last bytes written.
type countingDiscard struct {
	n    int64
	tail []byte
}

func (w *countingDiscard) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.tail = append(w.tail[:0], p[max(0, len(p)-256):]...)
	return len(p), nil
}

func benchmarkAnalyzeReplay(b *testing.B, format string) {
	path, want := replayFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	var out countingDiscard
	for i := 0; i < b.N; i++ {
		out = countingDiscard{}
		var stderr strings.Builder
		if code := runAnalyze(path, format, nil, true, &out, &stderr); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	b.StopTimer()
	// The summary line (text) or the report's end (JSON) says how many
	// messages were decoded: all of them, or the figure is meaningless.
	if format == "text" && !strings.Contains(string(out.tail), " "+strconv.FormatUint(want, 10)+" messages,") {
		b.Fatalf("output ends %q, want %d messages", out.tail, want)
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(out.n), "out-bytes/op")
}

// BenchmarkAnalyzeReplayText: `analyze FILE` (the text timeline and the
// summaries) on the replay, output discarded; one op is the whole file.
func BenchmarkAnalyzeReplayText(b *testing.B) { benchmarkAnalyzeReplay(b, "text") }

// BenchmarkAnalyzeReplayJSON: `analyze --format=json FILE` on the replay.
func BenchmarkAnalyzeReplayJSON(b *testing.B) { benchmarkAnalyzeReplay(b, "json") }
