package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
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

// genSource is a GenerationalMetricsSource whose value, generation and
// cacheability the test sets; renders counts its WriteMetrics calls.
type genSource struct {
	value     float64
	gen       uint64
	cacheable bool
	renders   int
}

func (g *genSource) Poll(context.Context) ([]failover.Relationship, error) { return nil, nil }
func (g *genSource) WriteMetrics(w *MetricWriter) {
	g.renders++
	_ = w.Counter(testExtraCounter, g.value, "k")
}
func (g *genSource) MetricsGeneration() (uint64, bool) { return g.gen, g.cacheable }

// A scrape of the text formats copies a generational source's bytes while
// its generation stands, and renders them again once it changes or while
// the source says its render depends on the scrape's time.
func TestGenerationalSourceEncodedOnce(t *testing.T) {
	g := &genSource{value: 1, gen: 1, cacheable: true}
	setFakeFunc(t, "generational", func() Source { return g })
	a := NewAgent(log.NewNopLogger())
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{fakeTarget("g", "generational", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	scrape := func() string {
		t.Helper()
		var b strings.Builder
		if _, err := a.WriteText(&b, FormatText); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	series := func(v string) string { return `dhcp_failover_test_extra_total{kind="k",target="g"} ` + v + "\n" }
	step := func(what, want string, renders int) {
		t.Helper()
		if got := scrape(); !strings.Contains(got, series(want)) {
			t.Errorf("%s: scrape lacks %q:\n%s", what, series(want), got)
		}
		if g.renders != renders {
			t.Errorf("%s: %d renders, want %d", what, g.renders, renders)
		}
	}
	step("first scrape", "1", 1)
	g.value = 2 // unchanged generation: the bytes of the first scrape
	step("same generation", "1", 1)
	g.gen = 2
	step("new generation", "2", 2)
	step("new generation again", "2", 2)
	g.cacheable, g.value = false, 3
	step("ticking", "3", 3)
	g.value = 4
	step("ticking again", "4", 4)
	// OpenMetrics is encoded and kept on its own.
	var om strings.Builder
	if _, err := a.WriteText(&om, FormatOpenMetrics); err != nil || g.renders != 5 {
		t.Errorf("OpenMetrics: %v, %d renders", err, g.renders)
	}
}

// benchExtras is a source with its own metrics, as many series as a peer
// tap with two relationships, that never change
// (GenerationalMetricsSource); benchExtrasUncached renders them on every
// scrape, as a source does while its metrics count to the scrape's now.
type benchExtras struct{}

func (benchExtras) MetricsGeneration() (uint64, bool) { return 1, true }

type benchExtrasUncached struct{ benchExtras }

func (benchExtrasUncached) MetricsGeneration() (uint64, bool) { return 0, false }

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
// targets whose sources have metrics of their own: unchanged between
// scrapes (their encoded bytes copied), and rendered on every scrape.
func BenchmarkScrape500TargetsExtras(b *testing.B) {
	for _, bc := range []struct {
		name string
		src  Source
	}{{"unchanged", benchExtras{}}, {"rendered", benchExtrasUncached{}}} {
		b.Run(bc.name, func(b *testing.B) {
			setFakeFunc(b, "extras", func() Source { return bc.src })
			c := scaleConfig(benchInterval)
			for i := 0; i < 500; i++ {
				c.Targets = append(c.Targets, fakeTarget(fmt.Sprintf("x-%03d", i), "extras", benchInterval))
			}
			benchScrape(b, startAgent(b, c), nil)
		})
	}
}
