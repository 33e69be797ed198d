package collector

import (
	"context"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
)

// Probe polls one target synchronously with a source of its own (never the
// running one: a target is never polled twice at once) and returns a
// collector of the result for a fresh registry, as blackbox_exporter does.
// A failed poll is not an error: it renders as up=0 with its reason.
func Probe(ctx context.Context, t config.Target, logger log.Logger) (prometheus.Collector, error) {
	src, err := NewSource(t, logger)
	if err != nil {
		return nil, err
	}
	defer closeSource(src)
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	now := time.Now()
	st := newTargetState(t.Name, now)
	rels, err := pollSafely(ctx, src)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	st.observe(time.Now(), time.Since(now), rels, err)
	pc := &probeCollector{metrics: st.snapshot()}
	if ms, ok := src.(MetricsSource); ok {
		ch := make(chan prometheus.Metric, 64)
		go func() { ms.CollectMetrics(t.Name, ch); close(ch) }()
		for m := range ch {
			pc.metrics = append(pc.metrics, m)
		}
	}
	return pc, nil
}

type probeCollector struct{ metrics []prometheus.Metric }

func (p *probeCollector) Describe(chan<- *prometheus.Desc) {}
func (p *probeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p.metrics {
		ch <- m
	}
}
