package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// sourceGatherer renders a source's own metrics for target through
// prometheus.Gatherers, which checks every series as a scrape would.
func sourceGatherer(target string, ms MetricsSource) prometheus.Gatherer {
	return prometheus.Gatherers{gathererFunc(func() ([]*dto.MetricFamily, error) {
		return renderSourceMetrics(log.NewNopLogger(), target, ms), nil
	})}
}

var (
	testExtraGauge   = sourceGauge("test_extra", "A test family.", "zone", "direction")
	testExtraCounter = sourceCounter("test_extra_total", "A test counter.", "kind")
)

// writerFunc is a MetricsSource made of a function.
type writerFunc func(w *MetricWriter)

func (f writerFunc) WriteMetrics(w *MetricWriter) { f(w) }

func TestMetricWriter(t *testing.T) {
	var errs []error
	ms := writerFunc(func(w *MetricWriter) {
		errs = append(errs,
			w.Gauge(testExtraGauge, 2, "b", "sent"),
			w.Gauge(testExtraGauge, 1, "a", "received"),
			w.Counter(testExtraCounter, 7, "x"),
			w.Gauge(testExtraGauge, 1, "too few"),           // left out
			w.Gauge(testExtraGauge, 1, "\xff", "sent"),      // left out
			w.Counter(testExtraGauge, 1, "a", "wrong type"), // left out
		)
	})
	want := `
# HELP dhcp_failover_test_extra A test family.
# TYPE dhcp_failover_test_extra gauge
dhcp_failover_test_extra{direction="received",target="t1",zone="a"} 1
dhcp_failover_test_extra{direction="sent",target="t1",zone="b"} 2
# HELP dhcp_failover_test_extra_total A test counter.
# TYPE dhcp_failover_test_extra_total counter
dhcp_failover_test_extra_total{kind="x",target="t1"} 7
`
	if err := testutil.GatherAndCompare(sourceGatherer("t1", ms), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	for i, err := range errs[len(errs)-6:] {
		if bad := i >= 3; bad != errors.Is(err, errBadSeries) {
			t.Errorf("series %d: %v", i, err)
		}
	}
	// Label pairs come out sorted by name, target included, as
	// client_golang writes them.
	for _, mf := range renderSourceMetrics(log.NewNopLogger(), "t1", ms) {
		for _, m := range mf.Metric {
			for i := 1; i < len(m.Label); i++ {
				if m.Label[i-1].GetName() >= m.Label[i].GetName() {
					t.Errorf("%s: labels out of order: %v", mf.GetName(), m.Label)
				}
			}
		}
	}
}

// A source whose WriteMetrics panics loses its own series for the scrape;
// the scrape and the other targets go on.
func TestMetricWriterPanic(t *testing.T) {
	ms := writerFunc(func(w *MetricWriter) {
		_ = w.Gauge(testExtraGauge, 1, "a", "b")
		panic("bad source")
	})
	if mfs := renderSourceMetrics(log.NewNopLogger(), "t1", ms); len(mfs) != 0 {
		t.Errorf("families of a panicking source: %v", mfs)
	}
}

// benchExtras is a source with its own metrics, as many series as a peer
// tap with two relationships.
type benchExtras struct{}

func (benchExtras) Poll(context.Context) ([]failover.Relationship, error) { return nil, nil }
func (benchExtras) WriteMetrics(w *MetricWriter) {
	for _, r := range []string{"r1", "r2"} {
		for _, d := range []string{"sent", "received"} {
			for _, m := range failover.MessageTypes() {
				_ = w.Counter(benchExtraFamily, 3, r, d, m.String())
			}
		}
	}
}

var benchExtraFamily = sourceCounter("bench_messages_total", "Bench.", "relationship", "direction", "message")

// BenchmarkScrape500TargetsExtras is BenchmarkScrape500Targets plus 500
// targets whose sources render metrics of their own.
func BenchmarkScrape500TargetsExtras(b *testing.B) {
	setFakeFunc(b, "extras", func() Source { return benchExtras{} })
	c := scaleConfig(benchInterval)
	for i := 0; i < 500; i++ {
		c.Targets = append(c.Targets, fakeTarget(fmt.Sprintf("x-%03d", i), "extras", benchInterval))
	}
	benchScrape(b, startAgent(b, c), nil)
}
