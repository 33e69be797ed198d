package collector

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// fakeSettings is the settings of the "fake" source used by this
// package's tests: Behaviour names an entry of fakeBehaviours.
type fakeSettings struct {
	Behaviour string `yaml:"behaviour"`
}

func (f *fakeSettings) Validate() error {
	if f.Behaviour == "" {
		return errors.New("field behaviour is required")
	}
	return nil
}

// fakeSource answers polls from a script of results, or hangs.
type fakeSource struct {
	mu      sync.Mutex
	results []fakeResult
	polls   int
	hang    bool // ignore ctx and never return (until release is closed)
	release chan struct{}
	closed  bool
}

type fakeResult struct {
	rels []failover.Relationship
	err  error
}

func (f *fakeSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	f.mu.Lock()
	hang, release := f.hang, f.release
	f.mu.Unlock()
	if hang {
		<-release
		return nil, errors.New("released")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if len(f.results) == 0 {
		return nil, nil
	}
	r := f.results[0]
	if len(f.results) > 1 {
		f.results = f.results[1:]
	}
	return r.rels, r.err
}

func (f *fakeSource) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

var (
	fakeMu sync.Mutex
	// fakeBehaviours maps a behaviour to what NewSource returns for it; a
	// behaviour not listed gets a fresh, empty fakeSource.
	fakeBehaviours = map[string]func() Source{}
)

// setFake makes every target of behaviour name use f itself, for the
// tests that script or inspect the very instance the agent polls (its
// results, its poll count, the release of a hung poll). The entry is
// removed when the test ends.
func setFake(t testing.TB, name string, f Source) {
	t.Helper()
	setFakeFunc(t, name, func() Source { return f })
}

// setFakeFunc makes each NewSource of behaviour name return a fresh
// newSource(), as the real sources do. The entry is removed when the test
// ends.
func setFakeFunc(t testing.TB, name string, newSource func() Source) {
	t.Helper()
	fakeMu.Lock()
	defer fakeMu.Unlock()
	if _, dup := fakeBehaviours[name]; dup {
		t.Fatalf("fake behaviour %q is already set", name)
	}
	fakeBehaviours[name] = newSource
	t.Cleanup(func() {
		fakeMu.Lock()
		defer fakeMu.Unlock()
		delete(fakeBehaviours, name)
	})
}

func init() {
	config.RegisterSource("fake", func() config.SourceSettings { return &fakeSettings{} })
	registerSource("fake", func(t config.Target, _ log.Logger) (Source, error) {
		fakeMu.Lock()
		defer fakeMu.Unlock()
		name := t.Settings.(*fakeSettings).Behaviour
		if newSource, ok := fakeBehaviours[name]; ok {
			return newSource(), nil
		}
		return &fakeSource{}, nil
	})
}

func fakeTarget(name, behaviour string, interval time.Duration) config.Target {
	return config.Target{Name: name, Source: "fake", PollInterval: interval, Timeout: interval, Settings: &fakeSettings{Behaviour: behaviour}}
}

// rel builds a relationship observation for tests.
func rel(name string, local, partner failover.State, localStart, partnerStart time.Time) failover.Relationship {
	return failover.Relationship{
		Name: name, Vendor: failover.VendorISC, Role: failover.RolePrimary, Mode: failover.ModeLoadBalance,
		Local:   failover.Side{Reported: true, State: local, StartTime: localStart},
		Partner: failover.Side{Reported: true, State: partner, StartTime: partnerStart},
	}
}
