package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/prometheus/common/model"
)

// simBase is a cycle start for a 20 s cycle with no offset (a multiple of
// 20 s since the epoch).
var simBase = time.Unix(1_795_713_600, 0)

const simCycle = 20 * time.Second

func simAt(f float64) time.Time { return simBase.Add(time.Duration(f * float64(simCycle))) }

func newSim(t testing.TB, pair, server string, cycle, offset time.Duration, now *time.Time) *simulatedSource {
	t.Helper()
	tgt := config.Target{Name: pair + "-" + server, Source: "simulated",
		Settings: &config.Simulated{Pair: pair, Server: server}}
	s := tgt.Settings.(*config.Simulated)
	s.Cycle, s.Offset = model.Duration(cycle), model.Duration(offset)
	if err := tgt.Validate(); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(tgt, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	ss := src.(*simulatedSource)
	ss.now = func() time.Time { return *now }
	return ss
}

func byName(rels []failover.Relationship) map[string]failover.Relationship {
	m := map[string]failover.Relationship{}
	for _, r := range rels {
		m[r.Name] = r
	}
	return m
}

func TestSimulatedStatesAtChosenTimes(t *testing.T) {
	const (
		N  = failover.Normal
		CI = failover.CommunicationInt
		PD = failover.PartnerDown
		SU = failover.Startup
		R  = failover.Recover
		RW = failover.RecoverWait
		NS = failover.NoState
		X  = failover.State(255) // down: the poll fails
	)
	type view struct{ local, partner failover.State }
	tests := []struct {
		f          float64
		lbA, lbB   view
		hsA, hsB   view
		aStart     float64 // a's -lb local start time, fraction of the cycle (negative: previous cycle)
		bStart     float64
		checkStart bool
	}{
		{f: 0.03, lbA: view{N, N}, lbB: view{N, N}, hsA: view{N, N}, hsB: view{N, N}, aStart: -0.30, bStart: -0.30, checkStart: true},
		{f: 0.07, lbA: view{CI, N}, lbB: view{CI, N}, hsA: view{CI, N}, hsB: view{CI, N}, aStart: 0.05, bStart: 0.05, checkStart: true},
		{f: 0.20, lbA: view{CI, N}, lbB: view{X, X}, hsA: view{CI, N}, hsB: view{X, X}},
		{f: 0.45, lbA: view{PD, N}, lbB: view{X, X}, hsA: view{PD, N}, hsB: view{X, X}},
		// b is back with an empty lease file: STARTUP, its partner unknown.
		{f: 0.52, lbA: view{PD, N}, lbB: view{SU, NS}, hsA: view{PD, N}, hsB: view{SU, NS}, aStart: 0.40, bStart: 0.50, checkStart: true},
		{f: 0.58, lbA: view{PD, N}, lbB: view{R, NS}, hsA: view{PD, N}, hsB: view{R, NS}, aStart: 0.40, bStart: 0.50, checkStart: true},
		// connected again: b waits MCLT since its restart (STOS kept).
		{f: 0.65, lbA: view{PD, RW}, lbB: view{RW, PD}, hsA: view{PD, RW}, hsB: view{RW, PD}, aStart: 0.40, bStart: 0.50, checkStart: true},
		// -lb MCLT is 0.20 of the cycle, -hs 0.24.
		{f: 0.72, lbA: view{N, N}, lbB: view{N, N}, hsA: view{PD, RW}, hsB: view{RW, PD}, aStart: 0.70, bStart: 0.70, checkStart: true},
		{f: 0.90, lbA: view{N, N}, lbB: view{N, N}, hsA: view{N, N}, hsB: view{N, N}, aStart: 0.70, bStart: 0.70, checkStart: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.2f", tc.f), func(t *testing.T) {
			now := simAt(tc.f)
			a := newSim(t, "p", "a", simCycle, 0, &now)
			b := newSim(t, "p", "b", simCycle, 0, &now)
			check := func(src *simulatedSource, lb, hs view, start float64) {
				t.Helper()
				rels, err := src.Poll(context.Background())
				if lb.local == X {
					if Classify(err) != ReasonConnect || !errors.Is(err, errSimulatedDown) {
						t.Fatalf("server %s: err %v (reason %q), want a connect error", serverName(src.server), err, Classify(err))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				m := byName(rels)
				for name, want := range map[string]view{"p-lb": lb, "p-hs": hs} {
					r, ok := m[name]
					if !ok {
						t.Fatalf("no relationship %s in %v", name, rels)
					}
					if r.Local.State != want.local || r.Partner.State != want.partner {
						t.Errorf("server %s %s: local %v partner %v, want %v %v", serverName(src.server), name,
							r.Local.State, r.Partner.State, want.local, want.partner)
					}
				}
				if tc.checkStart {
					if got, want := m["p-lb"].Local.StartTime, simAt(start); !got.Equal(want) {
						t.Errorf("server %s p-lb local start %v, want %v", serverName(src.server), got, want)
					}
				}
			}
			check(a, tc.lbA, tc.hsA, tc.aStart)
			check(b, tc.lbB, tc.hsB, tc.bStart)
		})
	}
}

func TestSimulatedRelationshipFields(t *testing.T) {
	now := simAt(0.03)
	rels, err := newSim(t, "p", "b", simCycle, 0, &now).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byName(rels)
	lb, hs := m["p-lb"], m["p-hs"]
	if lb.Vendor != failover.VendorSimulated || lb.Role != failover.RoleSecondary || lb.Mode != failover.ModeLoadBalance {
		t.Errorf("lb: %s %s %s", lb.Vendor, lb.Role, lb.Mode)
	}
	if hs.Role != failover.RolePrimary || hs.Mode != failover.ModeHotStandby {
		t.Errorf("hs: %s %s", hs.Role, hs.Mode)
	}
	if v, _ := lb.MCLT.Get(); v != 4*time.Second {
		t.Errorf("lb MCLT %v, want 4s (0.20 of 20s)", v)
	}
	if v, _ := hs.MCLT.Get(); v != 4800*time.Millisecond {
		t.Errorf("hs MCLT %v", v)
	}
	u, _ := lb.UnackedUpdates.Get()
	mx, _ := lb.MaxUnackedUpdates.Get()
	if u < 0 || u > mx || mx != 10 {
		t.Errorf("unacked %d of %d", u, mx)
	}
	if ci, ok := lb.CommunicationInterrupted.Get(); !ok || ci {
		t.Errorf("communication interrupted %v %v", ci, ok)
	}
	if lb.Local.Native != "normal" || !lb.Partner.Reported {
		t.Errorf("local %+v partner %+v", lb.Local, lb.Partner)
	}
	if c, ok := lb.PartnerLastContact.Get(); !ok || !c.Equal(now.Truncate(time.Second)) {
		t.Errorf("last contact %v", c)
	}

	// In COMMUNICATION_INT: flag set, no unacked updates, last contact at the partition.
	now = simAt(0.08)
	rels, err = newSim(t, "p", "a", simCycle, 0, &now).Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lb = byName(rels)["p-lb"]
	if ci, _ := lb.CommunicationInterrupted.Get(); !ci {
		t.Error("communication interrupted not set in COMMUNICATION_INT")
	}
	if u, _ := lb.UnackedUpdates.Get(); u != 0 {
		t.Errorf("unacked %d while disconnected", u)
	}
	if c, _ := lb.PartnerLastContact.Get(); !c.Equal(simAt(0.05)) {
		t.Errorf("last contact %v, want the partition %v", c, simAt(0.05))
	}
}

// The two targets of a pair agree: whenever they are connected, each one's
// view of its partner is the other's own state.
func TestSimulatedTargetsAgree(t *testing.T) {
	var now time.Time
	a := newSim(t, "p", "a", simCycle, 0, &now)
	b := newSim(t, "p", "b", simCycle, 0, &now)
	for ms := 0; ms < int(2*simCycle/time.Millisecond); ms += 97 {
		now = simBase.Add(time.Duration(ms) * time.Millisecond)
		ra, errA := a.Poll(context.Background())
		rb, errB := b.Poll(context.Background())
		if errA != nil {
			t.Fatalf("%v: server a down: %v", now, errA)
		}
		if errB != nil {
			continue
		}
		ma, mb := byName(ra), byName(rb)
		for name, x := range ma {
			y := mb[name]
			if c, _ := x.CommunicationInterrupted.Get(); c {
				continue
			}
			if x.Local.State == failover.PartnerDown && y.Local.State == failover.RecoverWait ||
				x.Local.State == failover.Normal && y.Local.State == failover.Normal {
				if x.Partner.State != y.Local.State || y.Partner.State != x.Local.State {
					t.Fatalf("%v %s: a %v/%v b %v/%v", now, name, x.Local.State, x.Partner.State, y.Local.State, y.Partner.State)
				}
			}
		}
	}
}

type transition struct{ from, to failover.State }

// pollEverySecond polls like the agent does and counts local-side changes
// of one relationship, as the agent's diff does; a failed poll keeps the
// last state seen.
func pollEverySecond(t *testing.T, src *simulatedSource, now *time.Time, from time.Time, d time.Duration, rel string) map[transition]int {
	t.Helper()
	seen := map[transition]int{}
	var last failover.State
	have := false
	for at := from; !at.After(from.Add(d)); at = at.Add(time.Second) {
		*now = at
		rels, err := src.Poll(context.Background())
		if err != nil {
			continue
		}
		st := byName(rels)[rel].Local.State
		if have && st != last {
			seen[transition{last, st}]++
		}
		last, have = st, true
	}
	return seen
}

// Acceptance of --demo: with a 20 s cycle, a 1 s poller sees NORMAL ->
// COMMUNICATION_INT, COMMUNICATION_INT -> PARTNER_DOWN and a return to
// NORMAL within 50 s, whenever it starts.
func TestSimulatedDemoAcceptance(t *testing.T) {
	for _, startMs := range []int{0, 3300, 7700, 12100, 19900} {
		for _, server := range []string{"a", "b"} {
			for _, rel := range []string{"p-lb", "p-hs"} {
				var now time.Time
				src := newSim(t, "p", server, simCycle, 0, &now)
				seen := pollEverySecond(t, src, &now, simBase.Add(time.Duration(startMs)*time.Millisecond), 50*time.Second, rel)
				backToNormal := 0
				for tr, n := range seen {
					if tr.to == failover.Normal {
						backToNormal += n
					}
				}
				if seen[transition{failover.Normal, failover.CommunicationInt}] == 0 || backToNormal == 0 {
					t.Errorf("start %d ms, server %s %s: %v", startMs, server, rel, seen)
				}
				if server == "a" && seen[transition{failover.CommunicationInt, failover.PartnerDown}] == 0 {
					t.Errorf("start %d ms, server a %s: no COMMUNICATION_INT -> PARTNER_DOWN in %v", startMs, rel, seen)
				}
			}
		}
	}
}

// One whole cycle seen by a 1 s poller: exactly the script's transitions.
func TestSimulatedFullCycleTransitions(t *testing.T) {
	const (
		N  = failover.Normal
		CI = failover.CommunicationInt
		PD = failover.PartnerDown
		SU = failover.Startup
		R  = failover.Recover
		RW = failover.RecoverWait
	)
	want := map[string]map[transition]int{
		"a": {{N, CI}: 1, {CI, PD}: 1, {PD, N}: 1},
		// b: the crash is not a transition; after it, the restart.
		"b": {{N, CI}: 1, {CI, SU}: 1, {SU, R}: 1, {R, RW}: 1, {RW, N}: 1},
	}
	for server, w := range want {
		for _, rel := range []string{"p-lb", "p-hs"} {
			var now time.Time
			src := newSim(t, "p", server, simCycle, 0, &now)
			got := pollEverySecond(t, src, &now, simBase, simCycle-time.Second, rel)
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("server %s %s: %v, want %v", server, rel, got, w)
			}
		}
	}
}

// The offset de-phases pairs; the demo's two pairs are half a cycle apart.
func TestSimulatedOffset(t *testing.T) {
	now := simAt(0.40) // demo-1: a in PARTNER_DOWN
	c := config.DemoConfig(simCycle)
	states := map[string]failover.State{}
	for _, tgt := range c.Targets {
		src, err := NewSource(tgt, log.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		ss, ok := src.(*simulatedSource)
		if !ok {
			continue // an emulated server: no fault, no cycle
		}
		ss.now = func() time.Time { return now }
		rels, err := ss.Poll(context.Background())
		if err != nil {
			states[tgt.Name] = 255
			continue
		}
		states[tgt.Name] = byName(rels)[ss.pair+"-lb"].Local.State
	}
	want := map[string]failover.State{"demo-1-a": failover.PartnerDown, "demo-1-b": 255,
		"demo-2-a": failover.Normal, "demo-2-b": failover.Normal}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("%v, want %v", states, want)
	}
}

func TestSimulatedCycleStart(t *testing.T) {
	for _, tc := range []struct {
		t, want time.Time
		offset  time.Duration
	}{
		{simAt(0.5), simBase, 0},
		{simBase, simBase, 0},
		{simAt(0.5), simAt(0.25), 5 * time.Second},
		{simAt(0.1), simAt(-0.75), 5 * time.Second},
		{time.Unix(-5, 0), time.Unix(-20, 0), 0},
	} {
		if got := cycleStart(tc.t, simCycle, tc.offset); !got.Equal(tc.want) {
			t.Errorf("cycleStart(%v, +%v) = %v, want %v", tc.t, tc.offset, got, tc.want)
		}
	}
}

func TestSimulatedCancelledContext(t *testing.T) {
	now := simAt(0.1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newSim(t, "p", "a", simCycle, 0, &now).Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

func TestSimulatedFactoryRejectsBadSettings(t *testing.T) {
	_, err := NewSource(config.Target{Name: "x", Source: "simulated", Settings: &config.Simulated{Pair: "p", Server: "a"}}, log.NewNopLogger())
	if err == nil {
		t.Error("a cycle of 0 (no defaults applied) was accepted")
	}
}

func BenchmarkSimulatedPoll(b *testing.B) {
	now := simAt(0.66)
	src := newSim(b, "p", "a", simCycle, 0, &now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// The default demo, anchored at the exporter's start, pages with the
// shipped rules: the survivor stays in COMMUNICATION_INT and PARTNER_DOWN,
// from the first poll on, longer than those alerts' for: plus a margin for
// scrape and rule evaluation intervals (e2e/e2e_test.go runs the real
// thing). The for: durations are read from the shipped rule file.
func TestDemoOutlastsShippedFor(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join("..", "alerts", "dhcp-failover.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	forOf := func(alert string) time.Duration {
		m := regexp.MustCompile(`(?s)- alert: ` + alert + `\n.*?\n\s+for: (\S+)`).FindSubmatch(rules)
		if m == nil {
			t.Fatalf("no for: for %s in the rule file", alert)
		}
		d, err := model.ParseDuration(string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(d)
	}
	const margin = 45 * time.Second // two 15 s scrapes and an evaluation
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	c := config.DemoConfigFrom(0, start)
	sources := map[string]*simulatedSource{}
	now := start
	for _, tgt := range c.Targets {
		src, err := NewSource(tgt, log.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		ss, ok := src.(*simulatedSource)
		if !ok {
			continue // an emulated server: no fault, no cycle
		}
		ss.now = func() time.Time { return now }
		sources[tgt.Name] = ss
	}
	// longest is the longest run of the state on target's -lb and -hs
	// relationships within the first cycle, polled every second.
	longest := func(target string, st failover.State) (first time.Duration, run time.Duration) {
		var cur time.Duration
		first = -1
		for d := time.Duration(0); d < config.DefaultSimulatedCycle; d += time.Second {
			now = start.Add(d)
			rels, err := sources[target].Poll(context.Background())
			in := err == nil
			for _, r := range rels {
				in = in && r.Local.State == st
			}
			if !in {
				cur = 0
				continue
			}
			if first < 0 {
				first = d
			}
			cur += time.Second
			run = max(run, cur)
		}
		return first, run
	}
	if first, run := longest("demo-1-a", failover.CommunicationInt); first > 10*time.Second || run < forOf("DHCPFailoverCommunicationInterrupted")+margin {
		t.Errorf("demo-1-a: COMMUNICATION_INT from %s after start for %s; want within 10 s, for longer than the alert's for: + %s", first, run, margin)
	}
	if first, run := longest("demo-2-a", failover.PartnerDown); first != 0 || run < forOf("DHCPFailoverPartnerDown")+margin {
		t.Errorf("demo-2-a: PARTNER_DOWN from %s after start for %s; want at start, for longer than the alert's for: + %s", first, run, margin)
	}
	if first, _ := longest("demo-1-a", failover.Normal); first != 0 {
		t.Errorf("demo-1-a is not NORMAL at start (first NORMAL poll %s after start)", first)
	}
}
