package collector

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Unix(1795714425, 0)

// stateGatherer exposes one target state as a gatherer.
func stateGatherer(ts *targetState) prometheus.Gatherer { return staticGatherer(ts.snapshot()) }

func transitions(t *testing.T, ts *targetState) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, rs := range ts.rels {
		for k, v := range rs.transitions {
			side := "local"
			if k.partner {
				side = "partner"
			}
			out[side+":"+k.from.String()+">"+k.to.String()] = v
		}
	}
	return out
}

func TestTransitionsByDiff(t *testing.T) {
	ts := newTargetState("a", t0)
	steps := []failover.Relationship{
		rel("fo", failover.Normal, failover.Normal, t0, t0),
		rel("fo", failover.Normal, failover.Normal, t0, t0), // unchanged: nothing
		rel("fo", failover.CommunicationInt, failover.Normal, t0.Add(10*time.Second), t0),
		rel("fo", failover.PartnerDown, failover.Normal, t0.Add(20*time.Second), t0),
		// left PARTNER_DOWN and re-entered between polls: newer start time
		rel("fo", failover.PartnerDown, failover.Normal, t0.Add(30*time.Second), t0),
		rel("fo", failover.Normal, failover.Normal, t0.Add(40*time.Second), t0.Add(40*time.Second)),
	}
	for i, r := range steps {
		ts.observe(t0.Add(time.Duration(i)*time.Second), time.Millisecond, []failover.Relationship{r}, nil)
	}
	got := transitions(t, ts)
	want := map[string]float64{
		"local:NORMAL>COMMUNICATION_INT":       1,
		"local:COMMUNICATION_INT>PARTNER_DOWN": 1,
		"local:PARTNER_DOWN>PARTNER_DOWN":      1,
		"local:PARTNER_DOWN>NORMAL":            1,
		"partner:NORMAL>NORMAL":                1,
	}
	if len(got) != len(want) {
		t.Fatalf("transitions = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestTransitionsFromHistory(t *testing.T) {
	ts := newTargetState("a", t0)
	r := rel("fo", failover.Normal, failover.Normal, t0, t0)
	r.HasHistory = true
	ts.observe(t0, 0, []failover.Relationship{r}, nil)
	// The source saw NORMAL → COMMUNICATION_INT → NORMAL between two polls:
	// the states are equal, but its history counts both changes, once.
	r.Transitions = []failover.Transition{
		{From: failover.Normal, To: failover.CommunicationInt, At: t0.Add(time.Second)},
		{From: failover.CommunicationInt, To: failover.Normal, At: t0.Add(2 * time.Second)},
	}
	ts.observe(t0.Add(3*time.Second), 0, []failover.Relationship{r}, nil)
	r.Transitions = nil
	ts.observe(t0.Add(4*time.Second), 0, []failover.Relationship{r}, nil)
	got := transitions(t, ts)
	if got["local:NORMAL>COMMUNICATION_INT"] != 1 || got["local:COMMUNICATION_INT>NORMAL"] != 1 || len(got) != 2 {
		t.Fatalf("transitions = %v", got)
	}
}

func TestFailedPollsAndDownTarget(t *testing.T) {
	ts := newTargetState("a", t0)
	ts.observe(t0, time.Millisecond, []failover.Relationship{rel("fo", failover.Normal, failover.Normal, t0, t0)}, nil)
	ts.observe(t0.Add(time.Second), time.Millisecond, nil, Classified(ReasonConnect, errors.New("refused")))
	ts.observe(t0.Add(2*time.Second), time.Millisecond, nil, Classified(ReasonConnect, errors.New("refused")))
	if ts.errors[ReasonConnect] != 2 || ts.up {
		t.Fatalf("errors = %v up = %v", ts.errors, ts.up)
	}
	// While down, no state series: a stale state must not keep an alert firing.
	n, err := testutil.GatherAndCount(stateGatherer(ts), "dhcp_failover_state")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("state series while down = %d, want 0", n)
	}
}

func TestUnknownStateIsNoState(t *testing.T) {
	ts := newTargetState("a", t0)
	var logged []string
	ts.onUnknown = func(_ string, native string) { logged = append(logged, native) }
	for i := 0; i < 3; i++ {
		ts.observe(t0, 0, []failover.Relationship{rel("fo", failover.State(77), failover.Normal, t0, t0)}, nil)
	}
	if ts.rels["fo"].obs.Local.State != failover.NoState {
		t.Fatalf("local = %v", ts.rels["fo"].obs.Local.State)
	}
	if len(logged) != 1 || logged[0] != "unknown (77)" {
		t.Fatalf("logged %v, want once", logged)
	}
	// A server inventing a new, huge name on every poll: each is cut, and
	// only maxUnknownStates of them are logged and remembered.
	for i := 0; i < 100; i++ {
		r := rel("fo", failover.UnknownState, failover.Normal, t0, t0)
		r.Local.Native = fmt.Sprintf("%03d", i) + strings.Repeat("x", 1<<16)
		ts.observe(t0, 0, []failover.Relationship{r}, nil)
	}
	if len(logged) != maxUnknownStates || len(ts.unknown) != maxUnknownStates {
		t.Fatalf("logged %d, remembered %d, want %d", len(logged), len(ts.unknown), maxUnknownStates)
	}
	for _, n := range logged {
		if len(n) > failover.MaxStateNameLen {
			t.Fatalf("logged a name of %d bytes", len(n))
		}
	}
	if n := len(ts.rels["fo"].obs.Local.Native); n > failover.MaxStateNameLen {
		t.Fatalf("kept a name of %d bytes", n)
	}
}

// TestGolden compares the exposition of representative snapshots with the
// files in testdata/ (go test ./collector -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	cases := map[string]func(ts *targetState){
		"isc-normal": func(ts *targetState) {
			r := rel("fo-lab", failover.Normal, failover.Normal, t0, t0.Add(-5*time.Second))
			r.Local.Native, r.Partner.Native = "normal", "normal"
			r.MCLT = failover.Some(60 * time.Second)
			r.MaxResponseDelay = failover.Some(5 * time.Second)
			r.UnackedUpdates = failover.Some(0)
			r.MaxUnackedUpdates = failover.Some(10)
			ts.observe(t0, 1500*time.Microsecond, []failover.Relationship{r}, nil)
		},
		"kea-partner-down-after-transition": func(ts *targetState) {
			r := failover.Relationship{Name: "kea-pair", Vendor: failover.VendorKea, Role: failover.RolePrimary, Mode: failover.ModeHotStandby,
				Local:                    failover.Side{Reported: true, State: failover.Normal, Native: "hot-standby"},
				Partner:                  failover.Side{Reported: true, State: failover.Normal, Native: "hot-standby"},
				CommunicationInterrupted: failover.Some(false), PartnerLastContact: failover.Some(t0.Add(-time.Second))}
			ts.observe(t0, time.Millisecond, []failover.Relationship{r}, nil)
			r.Local = failover.Side{Reported: true, State: failover.PartnerDown, Native: "partner-down"}
			r.Partner = failover.Side{Reported: true, State: failover.NoState, Native: "unavailable"}
			r.CommunicationInterrupted = failover.Some(true)
			ts.observe(t0.Add(10*time.Second), time.Millisecond, []failover.Relationship{r}, nil)
		},
		"windows-partner-not-reported": func(ts *targetState) {
			r := failover.Relationship{Name: "win-fo", Vendor: failover.VendorWindows, Role: failover.RoleSecondary, Mode: failover.ModeHotStandby,
				Local:       failover.Side{Reported: true, State: failover.CommunicationInt, Native: "CommunicationInterrupted"},
				PartnerName: "dhcp-b.example.net", PartnerAddress: "192.0.2.2"}
			ts.observe(t0, time.Millisecond, []failover.Relationship{r}, nil)
		},
		"down-never-up": func(ts *targetState) {
			ts.observe(t0, 5*time.Second, nil, Classified(ReasonTimeout, errors.New("deadline")))
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			ts := newTargetState("dhcp-a", t0)
			setup(ts)
			path := filepath.Join("testdata", name+".prom")
			if *update {
				var sb strings.Builder
				for _, mf := range ts.snapshot() {
					if err := writeText(&sb, mf); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := testutil.GatherAndCompare(stateGatherer(ts), f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The families are built by hand, so check what a registry would: every
// series unique within its family, names and help that lint clean.
func TestRenderedFamiliesValid(t *testing.T) {
	ts := newTargetState("dhcp-a", t0)
	r1 := rel("fo-1", failover.Normal, failover.Normal, t0, t0)
	r1.Local.Native = "normal"
	r1.MCLT = failover.Some(time.Minute)
	r2 := rel("fo-2", failover.Normal, failover.Normal, t0, t0)
	ts.observe(t0, time.Millisecond, []failover.Relationship{r1, r2}, nil)
	r2.Local.State = failover.PartnerDown
	ts.observe(t0.Add(time.Second), time.Millisecond, []failover.Relationship{r1, r2}, nil)
	for _, mf := range ts.snapshot() {
		seen := map[string]bool{}
		for _, m := range mf.Metric {
			var b strings.Builder
			for _, l := range m.Label {
				b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
			}
			if seen[b.String()] {
				t.Errorf("%s: duplicate series %s", mf.GetName(), b.String())
			}
			seen[b.String()] = true
		}
	}
	problems, err := testutil.GatherAndLint(stateGatherer(ts))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// A relationship name that is not UTF-8 (it can come from the wire) must
// not make the exposition invalid: it is repaired, and the scrape works.
func TestInvalidUTF8Labels(t *testing.T) {
	ts := newTargetState("dhcp-a", t0)
	r := rel("fo-l\xffb", failover.Normal, failover.Normal, t0, t0)
	r.Local.Native = "nor\xc3mal"
	r.PartnerName = strings.Repeat("é", failover.MaxNameLen)
	ts.observe(t0, time.Millisecond, []failover.Relationship{r}, nil)
	reg := prometheus.NewPedanticRegistry()
	if _, err := testutil.GatherAndCount(prometheus.Gatherers{reg, stateGatherer(ts)}); err != nil {
		t.Fatal(err)
	}
	for _, mf := range ts.snapshot() {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if !utf8.ValidString(l.GetValue()) || len(l.GetValue()) > failover.MaxNameLen {
					t.Fatalf("%s: label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if _, ok := ts.rels["fo-l\uFFFDb"]; !ok {
		t.Fatalf("relationship not kept under its repaired name: %v", ts.relOrder)
	}
}
