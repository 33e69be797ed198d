package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// DemoStartPhases are where in their cycles pairs demo-1 and demo-2 are
// when the exporter starts (DemoConfigFrom): demo-1 just before its
// network fails, so that the first scrapes see NORMAL and the shipped
// alerts' for: clocks start with the fault; demo-2 just after its
// survivor took over, in PARTNER_DOWN for the next three minutes
// (collector/simulated.go has the script).
var DemoStartPhases = [2]float64{0.04, 0.42}

// demoEmulated are the demo's emulated servers, after the four of the
// fault-playing pairs: they make the Kea, Windows and peer-tap families
// of docs/metrics.md appear in the demo.
var demoEmulated = []struct{ pair, server, emulate string }{
	{"demo-kea", "a", "kea"}, {"demo-kea", "b", "kea"},
	{"demo-win", "a", "windows"}, {"demo-win", "b", "windows"},
	{"demo-tap", "a", "peer"},
}

// DemoConfig is the configuration of --demo: two simulated pairs, demo-1
// and demo-2, i.e. four targets (demo-1-a, demo-1-b, demo-2-a, demo-2-b)
// polled every second, with cycles counted from the Unix epoch and the
// pairs half a cycle apart; then the emulated servers of demoEmulated. A cycle shorter than MinSimulatedCycle is
// raised to it, so that the result always validates.
func DemoConfig(cycle time.Duration) *Config { return DemoConfigFrom(cycle, time.Time{}) }

// DemoConfigFrom is DemoConfig with the cycles anchored at start: demo-1
// and demo-2 are at DemoStartPhases of their cycles at start (a zero
// start keeps the epoch). --demo anchors them at the exporter's start, so that a newcomer sees
// the alerts fire within minutes (docs/simulated.md), not after up to a
// whole cycle of waiting for the fault.
func DemoConfigFrom(cycle time.Duration, start time.Time) *Config {
	if cycle == 0 {
		cycle = DefaultSimulatedCycle
	}
	cycle = max(cycle, MinSimulatedCycle)
	// Counted from the epoch, the pairs are half a cycle apart.
	offsets := [2]time.Duration{0, cycle / 2}
	if !start.IsZero() {
		for i, phase := range DemoStartPhases {
			// The offset that puts start at phase of a cycle counted
			// from the epoch plus offset (collector/simulated.go).
			since := start.Sub(time.Unix(0, 0)) - time.Duration(phase*float64(cycle))
			offsets[i] = ((since % cycle) + cycle) % cycle
		}
	}
	c := &Config{}
	for i, pair := range []string{"demo-1", "demo-2"} {
		for _, server := range []string{"a", "b"} {
			c.Targets = append(c.Targets, Target{
				Name:         pair + "-" + server,
				Source:       "simulated",
				PollInterval: time.Second,
				Timeout:      time.Second,
				Settings: &Simulated{
					Pair:   pair,
					Server: server,
					Cycle:  model.Duration(cycle),
					Offset: model.Duration(offsets[i]),
				},
			})
		}
	}
	// The emulated servers (docs/simulated.md, "Emulated sources"): a
	// Kea pair, a Windows pair and a peer tap, in contact all along.
	for _, e := range demoEmulated {
		c.Targets = append(c.Targets, Target{
			Name:         e.pair + "-" + e.server,
			Source:       "simulated",
			PollInterval: time.Second,
			Timeout:      time.Second,
			Settings: &Simulated{
				Pair:    e.pair,
				Server:  e.server,
				Cycle:   model.Duration(cycle),
				Emulate: e.emulate,
			},
		})
	}
	if err := c.Validate(); err != nil {
		// Only a change to this function can get here.
		panic(fmt.Sprintf("config: demo configuration is invalid: %v", err))
	}
	return c
}
