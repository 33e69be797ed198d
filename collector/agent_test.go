package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A target whose poll never returns (it even ignores its context) must not
// delay a scrape, nor the other targets' polls.
func TestHungSourceDoesNotDelayScrape(t *testing.T) {
	hung := &fakeSource{hang: true, release: make(chan struct{})}
	setFake(t, "hung", hung)
	good := &fakeSource{results: []fakeResult{{rels: []failover.Relationship{rel("fo", failover.Normal, failover.Normal, t0, t0)}}}}
	setFake(t, "good", good)
	a := NewAgent(log.NewNopLogger())
	cfg := &config.Config{Targets: []config.Target{
		fakeTarget("hung", "hung", time.Second),
		fakeTarget("good", "good", time.Second),
	}}
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	defer func() { close(hung.release); a.Stop() }()
	waitFor(t, "first good poll", 2*time.Second, func() bool {
		good.mu.Lock()
		defer good.mu.Unlock()
		return good.polls > 0
	})
	for i := 0; i < 5; i++ {
		start := time.Now()
		n, err := testutil.GatherAndCount(a, "dhcp_failover_up")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("scrape took %v with a hung target", took)
		}
		if n != 2 {
			t.Fatalf("dhcp_failover_up series = %d, want 2", n)
		}
	}
	// The good target keeps being polled on its interval.
	waitFor(t, "second good poll", 3*time.Second, func() bool {
		good.mu.Lock()
		defer good.mu.Unlock()
		return good.polls > 1
	})
}

// A poll that overruns its timeout counts as a timeout.
func TestTimeoutClassified(t *testing.T) {
	slow := &fakeSource{hang: true, release: make(chan struct{})}
	setFake(t, "slow", slow)
	a := NewAgent(log.NewNopLogger())
	tg := fakeTarget("slow", "slow", time.Second)
	tg.Timeout = 50 * time.Millisecond
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{tg}}); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(200 * time.Millisecond); close(slow.release) }()
	defer a.Stop()
	// At least one: on a loaded machine the hung poll may overrun twice
	// before the release (the margin is only ~90 ms).
	waitFor(t, "timeout counted", 3*time.Second, func() bool {
		v, _ := seriesValue(t, a, "dhcp_failover_poll_errors_total", `reason="timeout"`)
		return v >= 1
	})
}

// seriesValue returns the value of the first series of a family whose
// labels contain match.
func seriesValue(t *testing.T, g prometheus.Gatherer, name, match string) (float64, bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			var b strings.Builder
			for _, l := range m.Label {
				fmt.Fprintf(&b, "%s=%q,", l.GetName(), l.GetValue())
			}
			if strings.Contains(b.String(), match) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue(), true
				case m.Gauge != nil:
					return m.Gauge.GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// Reloading 100 times leaves no goroutine behind, and a target that keeps
// its configuration keeps its source.
func TestReloadLeaksNothing(t *testing.T) {
	a := NewAgent(log.NewNopLogger())
	base := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		cfg := &config.Config{Targets: []config.Target{
			fakeTarget("stable", "stable", time.Second),
			fakeTarget(fmt.Sprintf("churn-%d", i%3), "churn", time.Second),
		}}
		if err := a.ApplyConfig(cfg); err != nil {
			t.Fatal(err)
		}
	}
	a.Stop()
	waitFor(t, "goroutines to end", 5*time.Second, func() bool {
		return runtime.NumGoroutine() <= base
	})
}

func TestApplyConfigKeepsStateOnBadSource(t *testing.T) {
	a := NewAgent(log.NewNopLogger())
	defer a.Stop()
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{fakeTarget("x", "x", time.Second)}}); err != nil {
		t.Fatal(err)
	}
	bad := config.Target{Name: "y", Source: "no-such-source", PollInterval: time.Second, Timeout: time.Second}
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{bad}}); err == nil {
		t.Fatal("want an error for an unknown source")
	}
	if _, ok := a.Target("x"); !ok {
		t.Fatal("target x was dropped by a failed reload")
	}
}

// watchSource is an event-driven fake: it pushes one observation and then
// waits for its context.
type watchSource struct{ fakeSource }

func (w *watchSource) Run(ctx context.Context, push func([]failover.Relationship, error)) {
	push(w.view(), nil)
	<-ctx.Done()
}

// Poll returns the latest view, as the peer tap does.
func (w *watchSource) Poll(context.Context) ([]failover.Relationship, error) { return w.view(), nil }

func (w *watchSource) view() []failover.Relationship {
	return []failover.Relationship{rel("pushed", failover.PartnerDown, failover.NoState, t0, t0)}
}

// A probe of an event-driven target serves what the running source has
// seen; other targets are not served from the running state.
func TestRunningServesWatchers(t *testing.T) {
	setFakeFunc(t, "watch", func() Source { return &watchSource{} })
	setFakeFunc(t, "plain", func() Source { return &fakeSource{} })
	a := NewAgent(log.NewNopLogger())
	defer a.Stop()
	cfg := &config.Config{Targets: []config.Target{fakeTarget("w", "watch", time.Second), fakeTarget("p", "plain", time.Second)}}
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Running("p"); ok {
		t.Fatal("a polled target must be probed afresh")
	}
	waitFor(t, "pushed observation", 2*time.Second, func() bool {
		g, ok := a.Running("w")
		if !ok {
			t.Fatal("no running view of the watcher")
		}
		v, _ := seriesValue(t, g, "dhcp_failover_state_code", `relationship="pushed"`)
		return v == float64(failover.PartnerDown)
	})
	// A push is not a poll: the poll duration stays that of the last poll.
	st := a.states["w"]
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.duration < 0 {
		t.Fatalf("duration = %v after a push", st.duration)
	}
}

// The default log says when a target goes down and when it is back;
// repeated failures and changes of reason meanwhile stay at debug.
func TestLogHealth(t *testing.T) {
	var lines []string
	logger := log.LoggerFunc(func(kv ...any) error {
		lines = append(lines, fmt.Sprint(kv...))
		return nil
	})
	a := NewAgent(logger)
	r := &runner{cfg: fakeTarget("x", "x", time.Second), state: newTargetState("x", t0)}
	connErr := Classified(ReasonConnect, errors.New("refused"))
	for _, err := range []error{connErr, connErr, connErr, Classified(ReasonAuth, errors.New("bad key")), nil, nil, connErr} {
		a.logHealth(r, err)
		r.state.observe(t0, time.Millisecond, nil, err)
	}
	var got []string
	for _, l := range lines {
		for _, m := range []string{"Target cannot be polled", "Target polled again", "Poll failed", "Target still down, for another reason"} {
			if strings.Contains(l, m) {
				got = append(got, m)
			}
		}
	}
	want := []string{"Target cannot be polled", "Poll failed", "Poll failed", "Target still down, for another reason", "Target polled again", "Target cannot be polled"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("log lines:\n%s\nwant %v", strings.Join(lines, "\n"), want)
	}
}

// panicWatcher panics in Run, as a source reading hostile input might.
type panicWatcher struct{ fakeSource }

func (p *panicWatcher) Run(context.Context, func([]failover.Relationship, error)) {
	panic("hostile packet")
}

// A panic in a source, polled or event-driven, is logged with its stack
// and makes the target down; the exporter and the other targets go on.
func TestSourcePanicsAreContained(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	logger := log.LoggerFunc(func(kv ...any) error {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprint(kv...))
		return nil
	})
	setFakeFunc(t, "panic-watch", func() Source {
		return &panicWatcher{fakeSource{results: []fakeResult{{rels: []failover.Relationship{rel("fo", failover.Normal, failover.Normal, t0, t0)}}}}}
	})
	a := NewAgent(logger)
	defer a.Stop()
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{fakeTarget("w", "panic-watch", time.Second)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the panic logged", 3*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logged {
			if strings.Contains(l, "Source panicked") && strings.Contains(l, "hostile packet") && strings.Contains(l, "goroutine") {
				return true
			}
		}
		return false
	})
	// The poll loop goes on: the next poll brings the target back up.
	waitFor(t, "the target polled again", 3*time.Second, func() bool {
		v, _ := seriesValue(t, a, "dhcp_failover_up", `target="w"`)
		return v == 1
	})
	if v, _ := seriesValue(t, a, "dhcp_failover_poll_errors_total", `reason="other"`); v < 1 {
		t.Errorf("the panic was not counted as a failed poll (other = %v)", v)
	}

	_, err := pollSafely(context.Background(), panicSource{}, func(p any) error { return logPanic(logger, "x", p) })
	if Classify(err) != ReasonOther || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("pollSafely = %v", err)
	}
}

type panicSource struct{}

func (panicSource) Poll(context.Context) ([]failover.Relationship, error) { panic("boom") }

// A replaced runner's late result must not land in the state its
// successor now owns.
func TestStaleGenerationDropped(t *testing.T) {
	ts := newTargetState("x", t0)
	old := ts.nextGeneration()
	cur := ts.nextGeneration()
	ts.observeAs(old, t0, time.Millisecond, []failover.Relationship{rel("fo", failover.PartnerDown, failover.Normal, t0, t0)}, nil)
	if len(ts.rels) != 0 || ts.polled {
		t.Fatal("a stale generation's result was recorded")
	}
	ts.observeAs(cur, t0, time.Millisecond, []failover.Relationship{rel("fo", failover.Normal, failover.Normal, t0, t0)}, nil)
	if len(ts.rels) != 1 {
		t.Fatal("the current generation's result was dropped")
	}
}

// A rotated secret file rebuilds the target on reload, though the
// configuration text is the same; an untouched one does not.
func TestReloadRebuildsOnRotatedSecretFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "omapi.key")
	if err := os.WriteFile(secret, []byte("c2VjcmV0LTE=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`targets:
  - name: isc
    source: omapi
    address: 127.0.0.1:1
    relationships: [fo]
    key: {name: k, algorithm: hmac-md5, secret_file: ` + secret + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAgent(log.NewNopLogger())
	defer a.Stop()
	src := func() Source {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.runners["isc"].src
	}
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	first := src()
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if src() != first {
		t.Fatal("an unchanged target was rebuilt")
	}
	if err := os.WriteFile(secret, []byte("c2VjcmV0LTI=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if src() == first {
		t.Fatal("a rotated secret file did not rebuild the target")
	}
}

// flapSource fails every poll, alternating the two errors of a host that
// is off the local segment: "i/o timeout" and "no route to host".
type flapSource struct {
	mu sync.Mutex
	n  int
}

func (f *flapSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n%2 == 1 {
		return nil, Classified(ReasonTimeout, errors.New("dial tcp 192.0.2.7:7911: i/o timeout"))
	}
	return nil, Classified(ReasonConnect, errors.New("dial tcp 192.0.2.7:7911: connect: no route to host"))
}

// A dead target does not flood the log: 20 minutes of polls at 1 s that
// alternate timeout and no route give one warning at the default level,
// and its return one info line.
func TestDeadTargetDoesNotFloodLog(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	sink := log.LoggerFunc(func(kv ...any) error {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprint(kv...))
		return nil
	})
	a := NewAgent(level.NewFilter(sink, level.AllowInfo()))
	src := &flapSource{}
	r := &runner{cfg: fakeTarget("dead", "dead", time.Second), src: src, state: newTargetState("dead", t0)}
	r.gen = r.state.nextGeneration()
	ctx := context.Background()
	for i := 0; i < 20*60; i++ {
		a.pollOnce(ctx, r)
	}
	mu.Lock()
	got := append([]string(nil), lines...)
	mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], "Target cannot be polled") {
		t.Fatalf("%d lines at info and above for 1200 failed polls, want 1 warning:\n%s", len(got), strings.Join(got[:min(len(got), 10)], "\n"))
	}
	if v := r.state.errors[ReasonTimeout] + r.state.errors[ReasonConnect]; v != 1200 {
		t.Fatalf("poll errors counted %v, want 1200", v)
	}
	a.logHealth(r, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || !strings.Contains(lines[1], "Target polled again") {
		t.Fatalf("after the return: %v", lines)
	}
}

// A poll error's text is its own, once: the reason is a field of its own
// in the log line and a label in the metrics, never repeated in the text.
func TestPollErrorTextOnce(t *testing.T) {
	err := Classified(ReasonProtocol, errors.New("kea: protocol error: answer is not JSON"))
	if got := err.Error(); got != "kea: protocol error: answer is not JSON" {
		t.Fatalf("Error() = %q", got)
	}
	if Classify(err) != ReasonProtocol {
		t.Fatalf("reason lost: %v", Classify(err))
	}
	var buf strings.Builder
	a := NewAgent(log.NewLogfmtLogger(&buf))
	a.logHealth(&runner{cfg: fakeTarget("k", "k", time.Second), state: newTargetState("k", t0)}, err)
	if want := `reason=protocol err="kea: protocol error: answer is not JSON"`; !strings.Contains(buf.String(), want) {
		t.Fatalf("log line %q, want %q", buf.String(), want)
	}
}
