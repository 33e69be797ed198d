// Package collector turns DHCP servers into failover observations and
// observations into the metric contract: one file per source, the agent that
// polls the sources, and the Prometheus collector that renders the latest
// snapshot without ever waiting on a server.
package collector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"runtime"
	"slices"
	"syscall"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// Source polls one server for the failover relationships it knows.
// Poll must honour ctx's deadline; it is never called concurrently for one
// Source.
type Source interface {
	Poll(ctx context.Context) ([]failover.Relationship, error)
}

// Closer is implemented by sources that hold resources (a kept connection,
// an open file) to release when their target is removed or reconfigured.
type Closer interface {
	Close() error
}

// Watcher is implemented by event-driven sources (leases file, peer tap):
// Run reports observations as they happen through push, until ctx ends.
// The agent still calls Poll on the interval for sources that also
// implement it meaningfully; a Watcher's Poll may return its latest view.
type Watcher interface {
	Run(ctx context.Context, push func([]failover.Relationship, error))
}

// Follower marks a polled source that builds its view over time (it
// follows a file as it grows): /probe serves its running view rather than
// building a fresh source that would start from nothing.
type Follower interface {
	Follows()
}

// Factory builds a Source for a target from its validated configuration.
type Factory func(t config.Target, logger log.Logger) (Source, error)

var factories = map[string]Factory{}

// registerSource makes a source kind available; each source file calls it
// from init, next to config.RegisterSource for its settings.
func registerSource(name string, f Factory) {
	if _, dup := factories[name]; dup {
		panic("collector: source registered twice: " + name)
	}
	factories[name] = f
}

// relationshipFilter turns a target's `relationships` list into a set and
// its sorted, duplicate-free names; an empty list selects everything (an
// empty set).
func relationshipFilter(relationships []string) (map[string]bool, []string) {
	want := make(map[string]bool, len(relationships))
	for _, n := range relationships {
		want[n] = true
	}
	return want, slices.Sorted(maps.Keys(want))
}

// CheckBuilt reports the first target whose source is not built into this
// binary (the Windows source outside Windows builds), so that a config
// check does not call valid a file the exporter would refuse to run.
func CheckBuilt(cfg *config.Config) error {
	for _, t := range cfg.Targets {
		if _, ok := factories[t.Source]; !ok {
			return fmt.Errorf("target %q: source %q is not built into this binary (%s/%s)", t.Name, t.Source, runtime.GOOS, runtime.GOARCH)
		}
	}
	return nil
}

// NewSource builds the source of a validated target.
func NewSource(t config.Target, logger log.Logger) (Source, error) {
	f, ok := factories[t.Source]
	if !ok {
		return nil, fmt.Errorf("target %q: source %q is not built into this binary", t.Name, t.Source)
	}
	s, err := f(t, log.With(logger, "target", t.Name, "source", t.Source))
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name, err)
	}
	return s, nil
}

// Reason classifies a failed poll; it is the `reason` label of
// dhcp_failover_poll_errors_total, from a small fixed set.
type Reason string

// Reasons.
const (
	ReasonTimeout  Reason = "timeout"
	ReasonConnect  Reason = "connect"
	ReasonAuth     Reason = "auth"
	ReasonProtocol Reason = "protocol"
	ReasonNotFound Reason = "not_found"
	ReasonOther    Reason = "other"
)

// Reasons lists every reason, so that each counter series exists from the
// first scrape.
var Reasons = []Reason{ReasonTimeout, ReasonConnect, ReasonAuth, ReasonProtocol, ReasonNotFound, ReasonOther}

// PollError is a poll failure with its reason.
type PollError struct {
	Reason Reason
	Err    error
}

// Error is the failure's own text: the reason is a label or a field of
// its own wherever the error is shown, and is not repeated in it.
func (e *PollError) Error() string { return e.Err.Error() }
func (e *PollError) Unwrap() error { return e.Err }

// Classified wraps err with a reason; sources use it where the protocol
// package's error says more than the network does (a bad key, a missing
// relationship).
func Classified(reason Reason, err error) error {
	if err == nil {
		return nil
	}
	return &PollError{Reason: reason, Err: err}
}

// Classify tells the reason of a poll error: the one a source gave, else
// what the network error says, else other.
func Classify(err error) Reason {
	var pe *PollError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return pe.Reason
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return ReasonConnect
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EPIPE) {
		return ReasonConnect
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return ReasonConnect
	}
	return ReasonOther
}
