package collector

import (
	"sort"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The metric contract (docs/metrics.md of the design). Descriptors are
// package-level and metrics are const metrics built from observations.
var (
	relLabels   = []string{"target", "relationship"}
	sideLabels  = []string{"target", "relationship", "side"}
	stateDesc   = prometheus.NewDesc(namespace+"_state", "Failover state set: 1 for the side's current FSM_STATE, 0 for the other 13.", []string{"target", "relationship", "side", "state"}, nil)
	codeDesc    = prometheus.NewDesc(namespace+"_state_code", "Current FSM_STATE of the side as its dhcpsapi.h number (0 NO_STATE ... 13 SHUTDOWN).", sideLabels, nil)
	startDesc   = prometheus.NewDesc(namespace+"_state_start_time_seconds", "Unix time the side entered its current state, as the server reports it or as first observed.", sideLabels, nil)
	transDesc   = prometheus.NewDesc(namespace+"_state_transitions_total", "State changes observed since the exporter started; from=to means the state was left and re-entered between two polls.", []string{"target", "relationship", "side", "from", "to"}, nil)
	infoDesc    = prometheus.NewDesc(namespace+"_relationship_info", "Failover relationship as the target reports it (always 1).", []string{"target", "relationship", "vendor", "role", "mode"}, nil)
	nativeDesc  = prometheus.NewDesc(namespace+"_native_state_info", "The server's own name for the side's current state (always 1).", []string{"target", "relationship", "side", "state"}, nil)
	mcltDesc    = prometheus.NewDesc(namespace+"_mclt_seconds", "Maximum client lead time of the relationship.", relLabels, nil)
	mrdDesc     = prometheus.NewDesc(namespace+"_max_response_delay_seconds", "Max response delay of the relationship.", relLabels, nil)
	unackedDesc = prometheus.NewDesc(namespace+"_unacked_updates", "Binding updates sent to the partner and not yet acknowledged.", relLabels, nil)
	maxUnacked  = prometheus.NewDesc(namespace+"_max_unacked_updates", "Configured bound on unacknowledged binding updates (ISC max-outstanding-updates).", relLabels, nil)
	commIntDesc = prometheus.NewDesc(namespace+"_communication_interrupted", "1 while the target has lost contact with its partner.", relLabels, nil)
	contactDesc = prometheus.NewDesc(namespace+"_partner_last_contact_timestamp_seconds", "Unix time of the last contact with the partner, where the source reports it.", relLabels, nil)

	upDesc        = prometheus.NewDesc(namespace+"_up", "1 if the last poll of the target succeeded.", []string{"target"}, nil)
	durationDesc  = prometheus.NewDesc(namespace+"_poll_duration_seconds", "Duration of the last poll of the target.", []string{"target"}, nil)
	lastPollDesc  = prometheus.NewDesc(namespace+"_last_poll_timestamp_seconds", "Unix time of the last completed poll of the target.", []string{"target"}, nil)
	pollErrorDesc = prometheus.NewDesc(namespace+"_poll_errors_total", "Failed polls of the target by reason.", []string{"target", "reason"}, nil)
)

const (
	sideLocal   = "local"
	sidePartner = "partner"
)

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// render builds the target's metrics; ts.mu is held.
func (ts *targetState) render() []prometheus.Metric {
	t := ts.name
	ms := make([]prometheus.Metric, 0, 8+len(ts.rels)*48)
	add := func(m prometheus.Metric, err error) {
		if err == nil {
			ms = append(ms, m)
		}
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		add(prometheus.NewConstMetric(d, prometheus.GaugeValue, v, lv...))
	}
	gauge(upDesc, boolFloat(ts.up), t)
	if ts.polled {
		gauge(durationDesc, ts.duration.Seconds(), t)
		gauge(lastPollDesc, unixSeconds(ts.lastPoll), t)
	}
	for _, r := range Reasons {
		add(prometheus.NewConstMetricWithCreatedTimestamp(pollErrorDesc, prometheus.CounterValue, ts.errors[r], ts.createdAt, t, string(r)))
	}
	for _, name := range ts.relOrder {
		rs := ts.rels[name]
		if rs.present && ts.up {
			ms = renderRelationship(ms, t, &rs.obs, rs)
		}
		keys := make([]transitionKey, 0, len(rs.transitions))
		for k := range rs.transitions {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.partner != b.partner {
				return !a.partner
			}
			if a.from != b.from {
				return a.from < b.from
			}
			return a.to < b.to
		})
		for _, k := range keys {
			side := sideLocal
			if k.partner {
				side = sidePartner
			}
			add(prometheus.NewConstMetricWithCreatedTimestamp(transDesc, prometheus.CounterValue, rs.transitions[k], rs.created[k], t, name, side, k.from.String(), k.to.String()))
		}
	}
	return ms
}

func renderRelationship(ms []prometheus.Metric, t string, r *failover.Relationship, rs *relState) []prometheus.Metric {
	name := r.Name
	add := func(m prometheus.Metric, err error) {
		if err == nil {
			ms = append(ms, m)
		}
	}
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		add(prometheus.NewConstMetric(d, prometheus.GaugeValue, v, lv...))
	}
	gauge(infoDesc, 1, t, name, string(r.Vendor), string(r.Role), string(r.Mode))
	sides := []struct {
		label string
		side  *failover.Side
		mem   *sideMemory
	}{{sideLocal, &r.Local, &rs.local}, {sidePartner, &r.Partner, &rs.partner}}
	for _, s := range sides {
		if !s.side.Reported {
			continue
		}
		for _, st := range failover.States() {
			gauge(stateDesc, boolFloat(st == s.side.State), t, name, s.label, st.String())
		}
		gauge(codeDesc, float64(s.side.State), t, name, s.label)
		if start := s.mem.startTime(); !start.IsZero() {
			gauge(startDesc, unixSeconds(start), t, name, s.label)
		}
		if s.side.Native != "" {
			gauge(nativeDesc, 1, t, name, s.label, s.side.Native)
		}
	}
	if v, ok := r.MCLT.Get(); ok {
		gauge(mcltDesc, v.Seconds(), t, name)
	}
	if v, ok := r.MaxResponseDelay.Get(); ok {
		gauge(mrdDesc, v.Seconds(), t, name)
	}
	if v, ok := r.UnackedUpdates.Get(); ok {
		gauge(unackedDesc, float64(v), t, name)
	}
	if v, ok := r.MaxUnackedUpdates.Get(); ok {
		gauge(maxUnacked, float64(v), t, name)
	}
	if v, ok := r.CommunicationInterrupted.Get(); ok {
		gauge(commIntDesc, boolFloat(v), t, name)
	} else if r.Local.Reported {
		gauge(commIntDesc, boolFloat(failover.CommunicationInterruptedFromState(r.Local.State)), t, name)
	}
	if v, ok := r.PartnerLastContact.Get(); ok {
		gauge(contactDesc, unixSeconds(v), t, name)
	}
	for _, g := range r.Gauges {
		if d, ok := gaugeDesc(g.Name); ok {
			gauge(d, g.Value, t, name)
		}
	}
	return ms
}

// gatherFamilies validates and groups a target's metrics into families
// once, when they are rendered, rather than on every scrape.
func gatherFamilies(ms []prometheus.Metric) []*dto.MetricFamily {
	reg := prometheus.NewRegistry()
	reg.MustRegister(constCollector(ms))
	// Only a bug in render can make the metrics inconsistent; Gather then
	// still returns the valid ones, which are served rather than nothing.
	mfs, _ := reg.Gather()
	return mfs
}

type constCollector []prometheus.Metric

func (c constCollector) Describe(chan<- *prometheus.Desc) {}
func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
