package collector

import (
	"sort"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The metric contract (docs/metrics.md), rendered straight
// into exposition families when an observation arrives. Every label pair
// and the 0 and 1 values of the state set are shared between series: with
// 1,000 relationships the state set alone is 28,000 series, and sharing
// keeps them to a few words each. Labels
// are written in name order, as client_golang writes them.

// family describes one metric family of the contract.
type family struct {
	name, help string
	typ        dto.MetricType
	// labels and order are set for a source's own families
	// (source_metrics.go): the label names after target, and the order in
	// which the pairs are written.
	labels []string
	order  []int
}

func gaugeFamily(name, help string) *family {
	return &family{name: namespace + "_" + name, help: help, typ: dto.MetricType_GAUGE}
}

func counterFamily(name, help string) *family {
	return &family{name: namespace + "_" + name, help: help, typ: dto.MetricType_COUNTER}
}

var (
	famState     = gaugeFamily("state", "Failover state set: 1 for the side's current FSM_STATE, 0 for the other 13.")
	famCode      = gaugeFamily("state_code", "Current FSM_STATE of the side as its dhcpsapi.h number (0 NO_STATE ... 13 SHUTDOWN).")
	famStart     = gaugeFamily("state_start_time_seconds", "Unix time the side entered its current state, as the server reports it or as first observed.")
	famTrans     = counterFamily("state_transitions_total", "State changes observed since the exporter started; from=to means the state was left and re-entered between two polls.")
	famInfo      = gaugeFamily("relationship_info", "Failover relationship as the target reports it (always 1).")
	famNative    = gaugeFamily("native_state_info", "The server's own name for the side's current state (always 1).")
	famMCLT      = gaugeFamily("mclt_seconds", "Maximum client lead time of the relationship.")
	famMRD       = gaugeFamily("max_response_delay_seconds", "Max response delay of the relationship.")
	famUnacked   = gaugeFamily("unacked_updates", "Binding updates sent to the partner and not yet acknowledged.")
	famMaxUnack  = gaugeFamily("max_unacked_updates", "Configured bound on unacknowledged binding updates (ISC max-outstanding-updates).")
	famCommInt   = gaugeFamily("communication_interrupted", "1 while the target has lost contact with its partner.")
	famContact   = gaugeFamily("partner_last_contact_timestamp_seconds", "Unix time of the last contact with the partner, where the source reports it.")
	famPartner   = gaugeFamily("partner_info", "The partner server of the relationship as the target knows it (always 1), where the source reports it.")
	famUp        = gaugeFamily("up", "1 if the last poll of the target succeeded.")
	famDuration  = gaugeFamily("poll_duration_seconds", "Duration of the last poll of the target.")
	famLastPoll  = gaugeFamily("last_poll_timestamp_seconds", "Unix time of the last completed poll of the target.")
	famPollError = counterFamily("poll_errors_total", "Failed polls of the target by reason.")
)

// Shared, immutable pieces of series.
var (
	gaugeZero    = &dto.Gauge{Value: f64(0)}
	gaugeOne     = &dto.Gauge{Value: f64(1)}
	sideLabels   = [2]*dto.LabelPair{labelPair("side", sideLocal), labelPair("side", sidePartner)}
	stateLabels  [failover.NumStates]*dto.LabelPair
	fromLabels   [failover.NumStates]*dto.LabelPair
	toLabels     [failover.NumStates]*dto.LabelPair
	reasonLabels = map[Reason]*dto.LabelPair{}
)

func init() {
	for _, s := range failover.States() {
		stateLabels[s] = labelPair("state", s.String())
		fromLabels[s] = labelPair("from", s.String())
		toLabels[s] = labelPair("to", s.String())
	}
	for _, r := range Reasons {
		reasonLabels[r] = labelPair("reason", string(r))
	}
}

const (
	sideLocal   = "local"
	sidePartner = "partner"
)

func f64(v float64) *float64 { return &v }

func labelPair(name, value string) *dto.LabelPair { return &dto.LabelPair{Name: &name, Value: &value} }

func gaugeOf(v float64) *dto.Gauge {
	switch v {
	case 0:
		return gaugeZero
	case 1:
		return gaugeOne
	}
	return &dto.Gauge{Value: f64(v)}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// families accumulates one target's series by family.
type families struct {
	byFamily map[*family]*dto.MetricFamily
}

func (fs *families) add(f *family, m *dto.Metric) {
	mf, ok := fs.byFamily[f]
	if !ok {
		name, help, typ := f.name, f.help, f.typ
		mf = &dto.MetricFamily{Name: &name, Help: &help, Type: &typ}
		fs.byFamily[f] = mf
	}
	mf.Metric = append(mf.Metric, m)
}

func (fs *families) gauge(f *family, v float64, labels ...*dto.LabelPair) {
	fs.add(f, &dto.Metric{Label: labels, Gauge: gaugeOf(v)})
}

func (fs *families) counter(f *family, v float64, created time.Time, labels ...*dto.LabelPair) {
	fs.add(f, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: f64(v), CreatedTimestamp: timestamppb.New(created)}})
}

func (fs *families) sorted() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(fs.byFamily))
	for _, mf := range fs.byFamily {
		// Series in label order, as a registry would sort them.
		sort.Slice(mf.Metric, func(i, j int) bool { return labelsLess(mf.Metric[i].Label, mf.Metric[j].Label) })
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// render builds the target's families; ts.mu is held.
func (ts *targetState) render() []*dto.MetricFamily {
	fs := &families{byFamily: map[*family]*dto.MetricFamily{}}
	tl := labelPair("target", ts.name)
	fs.gauge(famUp, boolFloat(ts.up), tl)
	if ts.polled {
		fs.gauge(famDuration, ts.duration.Seconds(), tl)
		fs.gauge(famLastPoll, unixSeconds(ts.lastPoll), tl)
	}
	for _, r := range Reasons {
		fs.counter(famPollError, ts.errors[r], ts.createdAt, reasonLabels[r], tl)
	}
	for _, name := range ts.relOrder {
		rs := ts.rels[name]
		rl := labelPair("relationship", name)
		if rs.present && ts.shown {
			renderRelationship(fs, tl, rl, &rs.obs, rs, ts.createdAt)
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
			side := sideLabels[0]
			if k.partner {
				side = sideLabels[1]
			}
			fs.counter(famTrans, rs.transitions[k], rs.created[k], fromLabels[k.from], rl, side, tl, toLabels[k.to])
		}
	}
	return fs.sorted()
}

func renderRelationship(fs *families, tl, rl *dto.LabelPair, r *failover.Relationship, rs *relState, created time.Time) {
	fs.gauge(famInfo, 1, labelPair("mode", string(r.Mode)), rl, labelPair("role", string(r.Role)), tl, labelPair("vendor", string(r.Vendor)))
	sides := []struct {
		label *dto.LabelPair
		side  *failover.Side
		mem   *sideMemory
	}{{sideLabels[0], &r.Local, &rs.local}, {sideLabels[1], &r.Partner, &rs.partner}}
	for _, s := range sides {
		if !s.side.Reported {
			continue
		}
		for _, st := range failover.States() {
			fs.gauge(famState, boolFloat(st == s.side.State), rl, s.label, stateLabels[st], tl)
		}
		fs.gauge(famCode, float64(s.side.State), rl, s.label, tl)
		if start := s.mem.startTime(); !start.IsZero() {
			fs.gauge(famStart, unixSeconds(start), rl, s.label, tl)
		}
		if s.side.Native != "" {
			fs.gauge(famNative, 1, rl, s.label, labelPair("state", s.side.Native), tl)
		}
	}
	if v, ok := r.MCLT.Get(); ok {
		fs.gauge(famMCLT, v.Seconds(), rl, tl)
	}
	if v, ok := r.MaxResponseDelay.Get(); ok {
		fs.gauge(famMRD, v.Seconds(), rl, tl)
	}
	if v, ok := r.UnackedUpdates.Get(); ok {
		fs.gauge(famUnacked, float64(v), rl, tl)
	}
	if v, ok := r.MaxUnackedUpdates.Get(); ok {
		fs.gauge(famMaxUnack, float64(v), rl, tl)
	}
	if v, ok := r.CommunicationInterrupted.Get(); ok {
		fs.gauge(famCommInt, boolFloat(v), rl, tl)
	} else if r.Local.Reported {
		fs.gauge(famCommInt, boolFloat(failover.CommunicationInterruptedFromState(r.Local.State)), rl, tl)
	}
	if v, ok := r.PartnerLastContact.Get(); ok {
		fs.gauge(famContact, unixSeconds(v), rl, tl)
	}
	if r.PartnerName != "" || r.PartnerAddress != "" {
		fs.gauge(famPartner, 1, labelPair("partner_address", r.PartnerAddress), labelPair("partner_name", r.PartnerName), rl, tl)
	}
	for _, g := range r.Gauges {
		if f, ok := gaugeDesc(g.Name); ok {
			fs.gauge(f, g.Value, rl, tl)
		}
	}
	renderPools(fs, tl, rl, r.Pools)
	renderRefusals(fs, tl, rl, r.Refusals, created)
	renderTakeover(fs, tl, rl, r, rs.local.startTime())
}

func labelsLess(a, b []*dto.LabelPair) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].GetName() != b[i].GetName() {
			return a[i].GetName() < b[i].GetName()
		}
		if a[i].GetValue() != b[i].GetValue() {
			return a[i].GetValue() < b[i].GetValue()
		}
	}
	return len(a) < len(b)
}
