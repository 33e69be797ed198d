package collector

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// syncBuffer is a log sink the agent's goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A hostile Kea answers status-get with a 1 MiB state name that changes
// on every poll. Through the real source and agent, the exporter must
// neither log it (64 lines of 1 MiB each, once) nor keep it (the heap
// stayed 75 MiB above its start after the server went away): every string
// from the server is cut before it is logged, kept or labelled.
func TestKeaHostileStateNames(t *testing.T) {
	const nameSize = 1 << 20
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		name := fmt.Sprintf("%08d", n) + strings.Repeat("s", nameSize)
		fmt.Fprintf(w, `[{"result":0,"arguments":{"high-availability":[{"ha-mode":"hot-standby","ha-servers":{"local":{"role":"primary","state":%q,"server-name":"a"},"remote":{"last-state":"hot-standby","role":"standby","server-name":"b"}}}]}}]`,
			name)
	}))
	before := heapInUse()

	var logs syncBuffer
	// The exporter's default level: info.
	a := NewAgent(level.NewFilter(log.NewLogfmtLogger(&logs), level.AllowInfo()))
	cfg, err := config.Parse([]byte("targets:\n- {name: hostile, source: kea, url: '" + srv.URL + "', relationship: pair}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Polls far faster than config allows, to see many names.
	cfg.Targets[0].PollInterval, cfg.Targets[0].Timeout = 20*time.Millisecond, 5*time.Second
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for polls.Load() < maxUnknownStates+4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if polls.Load() < maxUnknownStates+4 {
		t.Fatalf("only %d polls in a minute", polls.Load())
	}
	if _, err := a.Gather(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // the server goes away; the exporter keeps running
	time.Sleep(100 * time.Millisecond)

	if !strings.Contains(logs.String(), "Unknown failover state reported") {
		t.Errorf("unknown state not logged:\n%s", logs.String())
	}
	// At most maxUnknownStates warnings of a cut name, each a short line.
	if n := logs.Len(); n > maxUnknownStates*512 {
		t.Errorf("%d bytes of log for %d polls", n, polls.Load())
	}
	after := heapInUse()
	if after > before+8<<20 {
		t.Errorf("heap in use %d MiB after the hostile server went away, %d MiB before", after>>20, before>>20)
	}
	t.Logf("%d polls, %d bytes of log, heap in use %d -> %d KiB", polls.Load(), logs.Len(), before>>10, after>>10)
	a.Stop()
}
