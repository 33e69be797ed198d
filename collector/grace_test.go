package collector

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// fakeClock is an injected clock for the grace tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var errRefused = Classified(ReasonConnect, errors.New("connection refused"))

// graceState is a target state with a 2m grace on an injected clock.
func graceState(clock *fakeClock) *targetState {
	ts := newTargetState("a", t0)
	ts.setGrace(2*time.Minute, clock.Now)
	return ts
}

func localState(t *testing.T, ts *targetState, state string) (float64, bool) {
	t.Helper()
	return seriesValue(t, stateGatherer(ts), "dhcp_failover_state", `relationship="fo",side="local",state="`+state+`"`)
}

// While a target's polls fail for less than its grace, its relationship
// series stay with the values of the last successful poll and up is 0;
// from the grace's end on (even with no poll in between) they are absent.
func TestDownGraceKeepsLastSeries(t *testing.T) {
	clock := &fakeClock{now: t0}
	ts := graceState(clock)
	// No start time from the source: the exporter's first sight counts.
	ts.observe(t0, time.Millisecond, []failover.Relationship{rel("fo", failover.PartnerDown, failover.CommunicationInt, time.Time{}, time.Time{})}, nil)
	start, _ := seriesValue(t, stateGatherer(ts), "dhcp_failover_state_start_time_seconds", `side="local"`)

	down := t0.Add(10 * time.Second)
	for i := 0; i < 12; i++ { // 12 failed polls, 10 s apart: 110 s of outage
		now := down.Add(time.Duration(i) * 10 * time.Second)
		clock.Set(now)
		ts.observe(now, time.Millisecond, nil, errRefused)
		if v, _ := seriesValue(t, stateGatherer(ts), "dhcp_failover_up", ""); v != 0 {
			t.Fatalf("up = %v while polls fail", v)
		}
		if v, ok := localState(t, ts, "PARTNER_DOWN"); !ok || v != 1 {
			t.Fatalf("%s into the outage: state{PARTNER_DOWN} = %v, %v; want 1 within the grace", now.Sub(down), v, ok)
		}
		if s, _ := seriesValue(t, stateGatherer(ts), "dhcp_failover_state_start_time_seconds", `side="local"`); s != start {
			t.Fatalf("start time moved from %v to %v during the outage", start, s)
		}
	}
	clock.Set(down.Add(2*time.Minute - time.Nanosecond))
	if _, ok := localState(t, ts, "PARTNER_DOWN"); !ok {
		t.Fatal("state series gone before the grace ended")
	}
	// The grace ends between two polls: the next scrape drops them.
	clock.Set(down.Add(2 * time.Minute))
	if _, ok := localState(t, ts, "PARTNER_DOWN"); ok {
		t.Fatal("state series still shown after the grace")
	}
	for _, name := range []string{"dhcp_failover_state_code", "dhcp_failover_relationship_info", "dhcp_failover_communication_interrupted"} {
		if _, ok := seriesValue(t, stateGatherer(ts), name, `relationship="fo"`); ok {
			t.Errorf("%s still shown after the grace", name)
		}
	}
	if _, ok := seriesValue(t, stateGatherer(ts), "dhcp_failover_poll_errors_total", `reason="connect"`); !ok {
		t.Error("poll error counters must stay after the grace")
	}
	// Back after the grace in the same state: the time in state is the
	// first sight's, nothing was counted.
	back := down.Add(3 * time.Minute)
	clock.Set(back)
	ts.observe(back, time.Millisecond, []failover.Relationship{rel("fo", failover.PartnerDown, failover.CommunicationInt, time.Time{}, time.Time{})}, nil)
	if s, _ := seriesValue(t, stateGatherer(ts), "dhcp_failover_state_start_time_seconds", `side="local"`); s != start {
		t.Errorf("start time after the outage = %v, want %v", s, start)
	}
	if got := transitions(t, ts); len(got) != 0 {
		t.Errorf("transitions after an outage in one state: %v", got)
	}
}

// A target back within its grace continues as if the gap had not been:
// same series, same start time, no transition; a state changed meanwhile
// counts once, from the last state seen.
func TestDownGraceSeamlessReturn(t *testing.T) {
	clock := &fakeClock{now: t0}
	ts := graceState(clock)
	pd := rel("fo", failover.PartnerDown, failover.CommunicationInt, t0.Add(-time.Hour), t0.Add(-time.Hour))
	ts.observe(t0, time.Millisecond, []failover.Relationship{pd}, nil)
	for i := 1; i <= 3; i++ {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		clock.Set(now)
		ts.observe(now, time.Millisecond, nil, errRefused)
	}
	now := t0.Add(40 * time.Second)
	clock.Set(now)
	ts.observe(now, time.Millisecond, []failover.Relationship{pd}, nil)
	if v, _ := seriesValue(t, stateGatherer(ts), "dhcp_failover_up", ""); v != 1 {
		t.Fatalf("up = %v after a successful poll", v)
	}
	if v, ok := localState(t, ts, "PARTNER_DOWN"); !ok || v != 1 {
		t.Fatalf("state{PARTNER_DOWN} = %v, %v after the return", v, ok)
	}
	if got := transitions(t, ts); len(got) != 0 {
		t.Fatalf("transitions counted by a poll gap: %v", got)
	}
	// A second outage starts a new grace: it is measured from its own start.
	for i := 1; i <= 11; i++ {
		now := t0.Add(40*time.Second + time.Duration(i)*10*time.Second)
		clock.Set(now)
		ts.observe(now, time.Millisecond, nil, errRefused)
	}
	if _, ok := localState(t, ts, "PARTNER_DOWN"); !ok {
		t.Fatal("second outage: series dropped within its own grace (measured from the first outage?)")
	}
	normal := rel("fo", failover.Normal, failover.Normal, t0.Add(3*time.Minute), t0.Add(3*time.Minute))
	now = t0.Add(3 * time.Minute)
	clock.Set(now)
	ts.observe(now, time.Millisecond, []failover.Relationship{normal}, nil)
	got := transitions(t, ts)
	if len(got) != 2 || got["local:PARTNER_DOWN>NORMAL"] != 1 || got["partner:COMMUNICATION_INT>NORMAL"] != 1 {
		t.Fatalf("transitions = %v, want one PARTNER_DOWN>NORMAL (local) and COMMUNICATION_INT>NORMAL (partner)", got)
	}
}

// A target that never answered has nothing to keep; a zero grace keeps
// nothing either (targets built in code without one).
func TestDownGraceNothingToKeep(t *testing.T) {
	clock := &fakeClock{now: t0}
	ts := graceState(clock)
	ts.observe(t0, time.Millisecond, nil, errRefused)
	if _, ok := seriesValue(t, stateGatherer(ts), "dhcp_failover_state", ""); ok {
		t.Fatal("state series for a target never polled successfully")
	}
	ts = newTargetState("a", t0)
	ts.observe(t0, time.Millisecond, []failover.Relationship{rel("fo", failover.Normal, failover.Normal, t0, t0)}, nil)
	ts.observe(t0.Add(time.Second), time.Millisecond, nil, errRefused)
	if _, ok := localState(t, ts, "NORMAL"); ok {
		t.Fatal("state series kept with no grace")
	}
}

// The agent gives each target its configured down_grace and measures it
// on its own clock.
func TestAgentAppliesDownGrace(t *testing.T) {
	clock := &fakeClock{now: t0}
	src := &fakeSource{results: []fakeResult{
		{rels: []failover.Relationship{rel("fo", failover.PartnerDown, failover.CommunicationInt, t0, t0)}},
		{err: errRefused},
	}}
	setFake(t, "grace", src)
	a := NewAgent(log.NewNopLogger())
	a.now = clock.Now
	tg := fakeTarget("g", "grace", time.Second)
	tg.DownGrace = 30 * time.Second
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{tg}}); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	waitFor(t, "a failed poll after the first", 5*time.Second, func() bool {
		v, _ := seriesValue(t, a, "dhcp_failover_poll_errors_total", `reason="connect"`)
		return v >= 1
	})
	if v, ok := seriesValue(t, a, "dhcp_failover_state", `side="local",state="PARTNER_DOWN"`); !ok || v != 1 {
		t.Fatalf("state{PARTNER_DOWN} = %v, %v within the grace", v, ok)
	}
	clock.Set(t0.Add(30 * time.Second))
	if _, ok := seriesValue(t, a, "dhcp_failover_state", `side="local",state="PARTNER_DOWN"`); ok {
		t.Fatal("state series still shown 30 s (the target's down_grace) after it went down")
	}
}

// The landing page's view: during the grace the last states, marked kept;
// after it none (the page shows the configured relationships instead).
func TestDownGraceStatus(t *testing.T) {
	clock := &fakeClock{now: t0}
	ts := graceState(clock)
	ts.observe(t0, time.Millisecond, []failover.Relationship{rel("fo", failover.PartnerDown, failover.CommunicationInt, t0, t0)}, nil)
	if st := ts.status("fake"); st.Kept || len(st.Relationships) != 1 || st.Relationships[0].LocalSeverity != SeverityCritical {
		t.Fatalf("up: %+v", st)
	}
	down := t0.Add(time.Second)
	clock.Set(down)
	ts.observe(down, time.Millisecond, nil, errRefused)
	st := ts.status("fake")
	if !st.Kept || len(st.Relationships) != 1 || st.Relationships[0].Local != "PARTNER_DOWN" || st.LastReason != ReasonConnect || !st.DownSince.Equal(down) {
		t.Fatalf("within the grace: %+v", st)
	}
	clock.Set(down.Add(2 * time.Minute))
	if st := ts.status("fake"); st.Kept || len(st.Relationships) != 0 || st.LastError != "connection refused" {
		t.Fatalf("after the grace: %+v", st)
	}
}
