package collector

import (
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A source's own metrics (the peer tap's per-connection counters, the
// Windows server clock) are rendered like the contract: straight into
// exposition families, without a registry. A registry per scrape would
// hash, check and sort every series again on every scrape, several times
// the cost of the scrape itself with a few hundred such targets
// (BenchmarkScrape500TargetsExtras).

// MetricsSource is implemented by sources with metrics of their own beyond
// the relationship contract. WriteMetrics renders what the source already
// holds into w and must not block; it is called on every scrape of
// /metrics and for /probe.
type MetricsSource interface {
	WriteMetrics(w *MetricWriter)
}

// GenerationalMetricsSource is a MetricsSource that says when its metrics
// change, so that a scrape of the text formats copies the bytes encoded
// by an earlier scrape instead of rendering and encoding them again, as
// the contract's series are (exposition.go). MetricsGeneration returns a
// number that changes whenever what WriteMetrics would render changes,
// and false while that render depends on the time of the scrape itself
// (a gauge counted to now): then every scrape renders.
type GenerationalMetricsSource interface {
	MetricsSource
	MetricsGeneration() (gen uint64, cacheable bool)
}

// CreatedMetricsSource is a MetricsSource whose counters count from a
// known time: they carry it as their created timestamp in the protobuf
// exposition, as the contract's counters do (docs/metrics.md, "Created
// timestamps").
type CreatedMetricsSource interface {
	MetricsSource
	CountersCreated() time.Time
}

// sourceGauge and sourceCounter declare a family of a source's own
// metrics, dhcp_failover_<name>, with its label names; the target label is
// added by the writer and is not listed. Declare them once, at package
// level, as a prometheus.Desc would be.
func sourceGauge(name, help string, labels ...string) *family {
	return withLabels(gaugeFamily(name, help), labels)
}

func sourceCounter(name, help string, labels ...string) *family {
	return withLabels(counterFamily(name, help), labels)
}

// withLabels records the label names of f and the order in which a
// series' label pairs are written: sorted by name, target included, as
// client_golang writes them.
func withLabels(f *family, labels []string) *family {
	all := append([]string{"target"}, labels...)
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return all[idx[i]] < all[idx[j]] })
	for i := 1; i < len(idx); i++ {
		if all[idx[i]] == all[idx[i-1]] {
			panic("collector: label declared twice in " + f.name + ": " + all[idx[i]])
		}
	}
	f.labels = labels
	f.order = idx
	return f
}

// errBadSeries is what Gauge and Counter return for a series they leave
// out.
var errBadSeries = errors.New("series left out")

// MetricWriter collects one target's own metrics during a scrape.
type MetricWriter struct {
	target *dto.LabelPair
	fs     families
	// pairs shares the label pairs of one target's series: a peer tap
	// writes the same relationship, direction and message pairs dozens of
	// times per scrape.
	pairs map[[2]string]*dto.LabelPair
	// created is the counters' created timestamp (CreatedMetricsSource).
	created *timestamppb.Timestamp
}

func newMetricWriter(target string) *MetricWriter {
	return &MetricWriter{target: labelPair("target", target), fs: families{byFamily: map[*family]*dto.MetricFamily{}}, pairs: map[[2]string]*dto.LabelPair{}}
}

// Gauge writes one series of a family declared with sourceGauge, its label
// values in the order the family names them.
func (w *MetricWriter) Gauge(f *family, v float64, labelValues ...string) error {
	return w.write(f, dto.MetricType_GAUGE, v, labelValues)
}

// Counter writes one series of a family declared with sourceCounter.
func (w *MetricWriter) Counter(f *family, v float64, labelValues ...string) error {
	return w.write(f, dto.MetricType_COUNTER, v, labelValues)
}

// write leaves out, and reports, a series that would make the exposition
// invalid: a panic here would fail every scrape for as long as the bad
// value stays.
func (w *MetricWriter) write(f *family, typ dto.MetricType, v float64, values []string) error {
	if f.typ != typ || len(values) != len(f.labels) || f.order == nil {
		return fmt.Errorf("%w: %s takes %d label values, got %d", errBadSeries, f.name, len(f.labels), len(values))
	}
	pairs := make([]*dto.LabelPair, len(f.order))
	for i, j := range f.order {
		if j == 0 {
			pairs[i] = w.target
			continue
		}
		if !utf8.ValidString(values[j-1]) {
			return fmt.Errorf("%w: %s: label %s is not valid UTF-8", errBadSeries, f.name, f.labels[j-1])
		}
		pairs[i] = w.pair(f.labels[j-1], values[j-1])
	}
	m := &dto.Metric{Label: pairs}
	if typ == dto.MetricType_COUNTER {
		m.Counter = &dto.Counter{Value: f64(v), CreatedTimestamp: w.created}
	} else {
		m.Gauge = gaugeOf(v)
	}
	w.fs.add(f, m)
	return nil
}

func (w *MetricWriter) pair(name, value string) *dto.LabelPair {
	k := [2]string{name, value}
	p, ok := w.pairs[k]
	if !ok {
		p = labelPair(name, value)
		w.pairs[k] = p
	}
	return p
}

// renderSourceMetrics renders a source's own metrics for target. A source
// that panics loses its own series for this scrape and is logged; the
// scrape goes on.
func renderSourceMetrics(logger log.Logger, target string, ms MetricsSource) (out []*dto.MetricFamily) {
	w := newMetricWriter(target)
	if cs, ok := ms.(CreatedMetricsSource); ok {
		w.created = timestamppb.New(cs.CountersCreated())
	}
	defer func() {
		if p := recover(); p != nil {
			_ = logPanic(logger, target, p)
			out = nil
		}
	}()
	ms.WriteMetrics(w)
	return w.fs.sorted()
}

// gathererFunc is a prometheus.Gatherer rendered when gathered.
type gathererFunc func() ([]*dto.MetricFamily, error)

func (g gathererFunc) Gather() ([]*dto.MetricFamily, error) { return g() }
