package collector

import (
	"context"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// ProbeResult is one probe's metrics and how its poll went.
type ProbeResult struct {
	prometheus.Gatherer
	// Err is the poll's failure (its reason: Classify), nil if it
	// succeeded.
	Err error
	// Took is how long the poll took; zero for a running target's view.
	Took time.Duration
}

// Probe polls one target synchronously with a source of its own (never the
// running one: a target is never polled twice at once) and returns the
// result as a gatherer for the probe's response, as blackbox_exporter
// renders each probe into a fresh registry. A failed poll is not an error:
// it renders as up=0 with its reason.
func Probe(ctx context.Context, t config.Target, logger log.Logger) (*ProbeResult, error) {
	src, err := NewSource(t, logger)
	if err != nil {
		return nil, err
	}
	defer closeSource(src)
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	start := time.Now()
	st := newTargetState(t.Name, start)
	rels, pollErr := pollSafely(ctx, src, func(p any) error { return logPanic(logger, t.Name, p) })
	took := time.Since(start)
	st.observe(time.Now(), took, rels, pollErr)
	g := prometheus.Gatherers{staticGatherer(st.snapshot())}
	if ms, ok := src.(MetricsSource); ok {
		g = append(g, staticGatherer(renderSourceMetrics(logger, t.Name, ms)))
	}
	return &ProbeResult{Gatherer: g, Err: pollErr, Took: took}, nil
}

// staticGatherer serves families gathered earlier.
type staticGatherer []*dto.MetricFamily

func (s staticGatherer) Gather() ([]*dto.MetricFamily, error) { return s, nil }

// Running returns the current metrics of a running target whose source
// builds its view over time (a Watcher such as the peer tap, or a Follower
// such as the leases file), for /probe: a fresh source would have to
// capture, replay or read a whole file from scratch within one scrape, and
// would have no history. ok is false for other targets.
func (a *Agent) Running(name string) (*ProbeResult, bool) {
	a.mu.RLock()
	r, ok := a.runners[name]
	a.mu.RUnlock()
	if !ok {
		return nil, false
	}
	_, watcher := r.src.(Watcher)
	_, follower := r.src.(Follower)
	if !watcher && !follower {
		return nil, false
	}
	g := prometheus.Gatherers{staticGatherer(r.state.snapshot())}
	if ms, ok := r.src.(MetricsSource); ok {
		g = append(g, gathererFunc(func() ([]*dto.MetricFamily, error) {
			return renderSourceMetrics(a.logger, name, ms), nil
		}))
	}
	r.state.mu.Lock()
	err := r.state.lastErr
	r.state.mu.Unlock()
	return &ProbeResult{Gatherer: g, Err: err}, true
}
