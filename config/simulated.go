package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Simulated source defaults and bounds (docs/simulated.md).
const (
	// DefaultSimulatedCycle is the length of one whole fault cycle: long
	// enough that the survivor stays in COMMUNICATION_INT (3.5 min) and
	// in PARTNER_DOWN (3 min) beyond the shipped alerts' for: (2m and 1m),
	// so that the default demo pages as a real fault would.
	DefaultSimulatedCycle = 10 * time.Minute
	// MinSimulatedCycle keeps every phase of the cycle (at least 5% of
	// it) long enough for a 1 s poll to see it.
	MinSimulatedCycle = 20 * time.Second
)

// Simulated is one server of an in-process failover pair that plays a
// fault script (source: simulated). The two servers of a pair are two
// targets with the same pair, cycle and offset, and server a and b.
type Simulated struct {
	// Pair names the simulated pair; relationships are "<pair>-lb" and
	// "<pair>-hs".
	Pair string `yaml:"pair"`
	// Server is which end of the pair this target is: "a" or "b".
	Server string `yaml:"server"`
	// Cycle is the length of one whole fault cycle (default 10m, at least 20s).
	Cycle model.Duration `yaml:"cycle"`
	// Offset shifts the pair's cycle, so that several pairs are not in
	// the same phase at once.
	Offset model.Duration `yaml:"offset"`
	// Emulate is the source whose code the simulated server's answers go
	// through (docs/simulated.md, "Emulated sources"): empty for the
	// fault-playing pair, else one of SimulatedEmulations. An emulated
	// server plays no fault: both ends stay in contact.
	Emulate string `yaml:"emulate,omitempty"`
}

// SimulatedEmulations are the values of Simulated.Emulate: the Kea
// source fed simulated control-channel answers, the Windows source fed a
// simulated dhcpsapi.dll, and the peer tap fed a simulated failover
// conversation.
var SimulatedEmulations = []string{"kea", "windows", "peer"}

func init() {
	RegisterSource("simulated", func() SourceSettings { return &Simulated{} })
}

// SetDefaults implements SourceSettingsDefaulter.
func (s *Simulated) SetDefaults() {
	if s.Cycle == 0 {
		s.Cycle = model.Duration(DefaultSimulatedCycle)
	}
}

// Validate implements SourceSettings.
func (s *Simulated) Validate() error {
	switch {
	case s.Pair == "":
		return errors.New("field pair is required")
	case !validLabelValue(s.Pair):
		return errors.New("field pair: must be printable ASCII without spaces")
	case s.Server != "a" && s.Server != "b":
		return errors.New(`field server: must be "a" or "b"`)
	case time.Duration(s.Cycle) < MinSimulatedCycle:
		return fmt.Errorf("field cycle: must be at least %s", model.Duration(MinSimulatedCycle))
	case s.Offset < 0:
		return errors.New("field offset: must not be negative")
	case s.Emulate != "" && !slices.Contains(SimulatedEmulations, s.Emulate):
		return fmt.Errorf("field emulate: must be one of %s, or absent", strings.Join(SimulatedEmulations, ", "))
	}
	return nil
}
