package config

import (
	"strings"
	"testing"
	"time"
)

func TestSimulatedParse(t *testing.T) {
	c, err := Parse([]byte(`
targets:
  - name: sim-a
    source: simulated
    pair: lab
    server: a
  - name: sim-b
    source: simulated
    pair: lab
    server: b
    cycle: 30s
    offset: 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Targets[0].Settings.(*Simulated)
	if a.Pair != "lab" || a.Server != "a" || time.Duration(a.Cycle) != DefaultSimulatedCycle || a.Offset != 0 {
		t.Errorf("a: %+v", a)
	}
	b := c.Targets[1].Settings.(*Simulated)
	if time.Duration(b.Cycle) != 30*time.Second || time.Duration(b.Offset) != 5*time.Second {
		t.Errorf("b: %+v", b)
	}
}

func TestSimulatedInvalid(t *testing.T) {
	for _, tc := range []struct{ keys, want string }{
		{"server: a", `target "s": field pair is required`},
		{"pair: lab", `target "s": field server: must be "a" or "b"`},
		{"pair: lab\n    server: c", `target "s": field server: must be "a" or "b"`},
		{"pair: lab\n    server: A", `target "s": field server: must be "a" or "b"`},
		{"pair: 'two words'\n    server: a", `target "s": field pair: must be printable ASCII without spaces`},
		{"pair: lab\n    server: a\n    cycle: 19s", `target "s": field cycle: must be at least 20s`},
		{"pair: lab\n    server: a\n    offset: -1s", `not a valid duration string: "-1s"`},
		{"pair: lab\n    server: a\n    cycle: soon", `not a valid duration string: "soon"`},
		{"pair: lab\n    server: a\n    mclt: 1s", `unknown field "mclt" (source simulated)`},
		{"pair: lab\n    server: a\n    emulate: isc", `target "s": field emulate: must be one of kea, windows, peer, or absent`},
	} {
		_, err := Parse([]byte("targets:\n  - name: s\n    source: simulated\n    " + tc.keys + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.keys, err, tc.want)
		}
	}
}

// Settings built in code (DemoConfig, /probe) are checked the same way.
func TestSimulatedValidateInCode(t *testing.T) {
	s := &Simulated{Pair: "lab", Server: "a", Offset: -1}
	s.SetDefaults()
	if err := s.Validate(); err == nil || err.Error() != "field offset: must not be negative" {
		t.Errorf("error %v", err)
	}
	s = &Simulated{Pair: "lab", Server: "b", Cycle: -1}
	if err := s.Validate(); err == nil || err.Error() != "field cycle: must be at least 20s" {
		t.Errorf("error %v", err)
	}
}

func TestDemoConfig(t *testing.T) {
	c := DemoConfig(20 * time.Second)
	var names []string
	for _, tg := range c.Targets {
		names = append(names, tg.Name)
		if tg.Source != "simulated" || tg.PollInterval != time.Second || tg.Timeout != time.Second {
			t.Errorf("%s: %+v", tg.Name, tg)
		}
		if err := tg.Validate(); err != nil {
			t.Error(err)
		}
	}
	if got := strings.Join(names, " "); got != "demo-1-a demo-1-b demo-2-a demo-2-b demo-kea-a demo-kea-b demo-win-a demo-win-b demo-tap-a" {
		t.Errorf("targets %s", got)
	}
	s1, s2 := c.Targets[0].Settings.(*Simulated), c.Targets[2].Settings.(*Simulated)
	if s1.Pair != "demo-1" || s2.Pair != "demo-2" || s1.Offset == s2.Offset || time.Duration(s2.Offset) != 10*time.Second {
		t.Errorf("pairs not de-phased: %+v %+v", s1, s2)
	}
	if c.Targets[1].Settings.(*Simulated).Server != "b" {
		t.Error("second target is not server b")
	}
	// Defaults and bounds: 0 is the default cycle, anything shorter than
	// the minimum is raised to it.
	if got := time.Duration(DemoConfig(0).Targets[0].Settings.(*Simulated).Cycle); got != DefaultSimulatedCycle {
		t.Errorf("cycle 0 -> %v", got)
	}
	if got := time.Duration(DemoConfig(time.Second).Targets[0].Settings.(*Simulated).Cycle); got != MinSimulatedCycle {
		t.Errorf("cycle 1s -> %v", got)
	}
}

// Anchored at a start time, each demo pair is at its start phase then,
// whatever the start; a zero start keeps the epoch-based offsets.
func TestDemoConfigFrom(t *testing.T) {
	const cycle = 10 * time.Minute
	for _, start := range []time.Time{time.Unix(0, 0), time.Unix(1_795_713_600, 0), time.Date(2026, 12, 6, 11, 59, 7, 123, time.UTC)} {
		c := DemoConfigFrom(cycle, start)
		for i, tg := range []Target{c.Targets[0], c.Targets[2]} {
			s := tg.Settings.(*Simulated)
			if s.Offset < 0 || time.Duration(s.Offset) >= cycle {
				t.Errorf("%v: %s offset %v out of [0, cycle)", start, tg.Name, s.Offset)
			}
			// The phase at start, as collector/simulated.go counts cycles.
			since := start.Sub(time.Unix(0, 0)) - time.Duration(s.Offset)
			phase := float64(((since%cycle)+cycle)%cycle) / float64(cycle)
			if d := phase - DemoStartPhases[i]; d < -1e-6 || d > 1e-6 {
				t.Errorf("%v: %s at phase %.6f, want %.2f", start, tg.Name, phase, DemoStartPhases[i])
			}
		}
	}
	if a, b := DemoConfigFrom(cycle, time.Time{}), DemoConfig(cycle); a.Targets[2].Settings.(*Simulated).Offset != b.Targets[2].Settings.(*Simulated).Offset {
		t.Error("a zero start is not the epoch anchoring")
	}
}
