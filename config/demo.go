package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// DemoConfig is the configuration of --demo: two simulated pairs, demo-1
// and demo-2, half a cycle apart, i.e. four targets (demo-1-a, demo-1-b,
// demo-2-a, demo-2-b) polled every second. A cycle shorter than
// MinSimulatedCycle is raised to it, so that the result always validates.
func DemoConfig(cycle time.Duration) *Config {
	if cycle == 0 {
		cycle = DefaultSimulatedCycle
	}
	cycle = max(cycle, MinSimulatedCycle)
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
					Offset: model.Duration(time.Duration(i) * cycle / 2),
				},
			})
		}
	}
	if err := c.Validate(); err != nil {
		// Only a change to this function can get here.
		panic(fmt.Sprintf("config: demo configuration is invalid: %v", err))
	}
	return c
}
