package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// The scale benchmarks print figures, never assert them (a shared CI
// machine's timings are no test): ms/scrape and median-ms for one scrape
// of the agent's part of /metrics as Prometheus asks for it (OpenMetrics,
// gzip at BestSpeed as compress.go serves it), ns/series, and x-limit,
// the scrape's median over the limit: compressing the very bytes of the
// scrape alone, already encoded (limit-ms). make bench and scripts/bench.sh
// print them; README.md "Performance" quotes them.

// benchInterval is the poll interval of the benchmarks' targets: after
// the first poll none polls again while a benchmark measures, so that a
// figure is not skewed by polls that happen to fall into it. The second
// poll comes after a phase in [0, interval) (spreadPhase): with an hour,
// a dozen of 5,000 targets would poll within the first ten seconds. The
// benchmarks that poll do so deliberately, between scrapes (repoll).
const benchInterval = 10000 * time.Hour

// scaleConfig is the scale case: 500 simulated servers (250
// pairs) with two relationships each, 1,000 relationships in all.
func scaleConfig(interval time.Duration) *config.Config {
	return simulatedConfig(250, interval)
}

// simulatedConfig is pairs simulated pairs of servers with two
// relationships each: 4 x pairs relationships as the targets see them.
func simulatedConfig(pairs int, interval time.Duration) *config.Config {
	c := &config.Config{}
	for p := 0; p < pairs; p++ {
		for _, s := range []string{"a", "b"} {
			c.Targets = append(c.Targets, config.Target{
				Name: fmt.Sprintf("sim-%05d-%s", p, s), Source: "simulated",
				PollInterval: interval, Timeout: time.Second,
				Settings: &config.Simulated{Pair: fmt.Sprintf("pair-%05d", p), Server: s,
					Cycle: model.Duration(2 * time.Minute), Offset: model.Duration(time.Duration(p%120) * time.Second)},
			})
		}
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

// startAgent applies cfg and waits until every target has been polled.
func startAgent(b testing.TB, cfg *config.Config) *Agent {
	b.Helper()
	a := NewAgent(log.NewNopLogger())
	if err := a.ApplyConfig(cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Stop)
	deadline := time.Now().Add(time.Minute)
	for !allPolled(a) {
		if time.Now().After(deadline) {
			b.Fatal("targets not polled within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a
}

func allPolled(a *Agent) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, r := range a.runners {
		r.state.mu.Lock()
		polled := r.state.polled
		r.state.mu.Unlock()
		if !polled {
			return false
		}
	}
	return true
}

// repoll polls every n-th target (from first) now and records the
// result, as the poll loop does: their encoded bytes are dropped and the
// next scrape encodes them again.
func repoll(a *Agent, first, n int) {
	a.mu.RLock()
	rs := make([]*runner, 0, len(a.runners))
	for _, r := range a.runners {
		rs = append(rs, r)
	}
	a.mu.RUnlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].cfg.Name < rs[j].cfg.Name })
	for i := first; i < len(rs); i += n {
		r := rs[i]
		rels, err := r.src.Poll(context.Background())
		r.state.observeAs(r.gen, time.Now(), time.Millisecond, rels, err)
	}
}

// scraper writes the agent's OpenMetrics exposition gzip-compressed, as
// /metrics does (compress.go, metrics_handler.go).
type scraper struct {
	a  *Agent
	gz *gzip.Writer
}

func newScraper(a *Agent) *scraper {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return &scraper{a: a, gz: gz}
}

func (s *scraper) scrape(w io.Writer) error {
	s.gz.Reset(w)
	if _, err := s.a.WriteText(s.gz, FormatOpenMetrics); err != nil {
		return err
	}
	if _, err := io.WriteString(s.gz, "# EOF\n"); err != nil {
		return err
	}
	return s.gz.Close()
}

// benchScrape measures scrapes of a; between two of them, with the timer
// stopped, between(i) may change the agent (a deliberate poll).
func benchScrape(b *testing.B, a *Agent, between func(i int)) {
	s := newScraper(a)
	// The exposition as it is sent, uncompressed, for its figures and the
	// limit.
	var plain bytes.Buffer
	if _, err := a.WriteText(&plain, FormatOpenMetrics); err != nil {
		b.Fatal(err)
	}
	plain.WriteString("# EOF\n")
	series := 0
	for _, line := range bytes.Split(plain.Bytes(), []byte("\n")) {
		if len(line) > 0 && line[0] != '#' {
			series++
		}
	}
	limit := gzipLimit(plain.Bytes())
	var compressed countingWriter
	if err := s.scrape(&compressed); err != nil {
		b.Fatal(err)
	}

	times := make([]time.Duration, 0, b.N)
	var total time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if between != nil {
			b.StopTimer()
			between(i)
			b.StartTimer()
		}
		start := time.Now()
		if err := s.scrape(io.Discard); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		times = append(times, d)
		total += d
	}
	b.StopTimer()
	// Metrics are reported after the loop: b.ResetTimer drops those
	// reported before it.
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	median := times[len(times)/2]
	b.ReportMetric(0, "ns/op") // ms/scrape says it
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms/scrape")
	b.ReportMetric(float64(median.Microseconds())/1e3, "median-ms")
	b.ReportMetric(float64(median.Nanoseconds())/float64(series), "ns/series")
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(float64(plain.Len()), "bytes")
	b.ReportMetric(float64(compressed.n), "gzip-bytes")
	b.ReportMetric(float64(limit.Microseconds())/1e3, "limit-ms")
	b.ReportMetric(float64(median)/float64(limit), "x-limit")
}

// gzipLimit is the median time to compress p alone at BestSpeed, written
// at once into a reused writer: what a scrape of these bytes cannot beat.
func gzipLimit(p []byte) time.Duration {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	times := make([]time.Duration, 9)
	for i := range times {
		start := time.Now()
		gz.Reset(io.Discard)
		gz.Write(p)
		gz.Close()
		times[i] = time.Since(start)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2]
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// BenchmarkScrape500Targets: 500 targets, 1,000 relationships, no poll
// between scrapes (every scrape copies encoded bytes).
func BenchmarkScrape500Targets(b *testing.B) {
	benchScrape(b, startAgent(b, simulatedConfig(250, benchInterval)), nil)
}

// BenchmarkScrape500TargetsPolling is BenchmarkScrape500Targets with half
// the targets polled again before each scrape, as between two scrapes 5 s
// apart of targets polled every 10 s (scripts/scale.sh): every scrape
// encodes 250 targets again.
func BenchmarkScrape500TargetsPolling(b *testing.B) {
	a := startAgent(b, simulatedConfig(250, benchInterval))
	benchScrape(b, a, func(i int) { repoll(a, i%2, 2) })
}

// BenchmarkScrape5000Targets: 5,000 targets, 10,000 relationships.
func BenchmarkScrape5000Targets(b *testing.B) {
	benchScrape(b, startAgent(b, simulatedConfig(2500, benchInterval)), nil)
}

// BenchmarkScrape5000TargetsPolling polls half the targets before each
// scrape, as BenchmarkScrape500TargetsPolling.
func BenchmarkScrape5000TargetsPolling(b *testing.B) {
	a := startAgent(b, simulatedConfig(2500, benchInterval))
	benchScrape(b, a, func(i int) { repoll(a, i%2, 2) })
}

// poolSource is a server with two relationships of poolsPerRel pools
// each, in poolsPerRel/10 shared networks, with ISC's binding states.
type poolSource struct{ name string }

const poolsPerRel = 50

func (p poolSource) Poll(context.Context) ([]failover.Relationship, error) {
	now := time.Unix(1767225600, 0)
	var rels []failover.Relationship
	for _, rn := range []string{"lb", "hs"} {
		r := rel(p.name+"-"+rn, failover.Normal, failover.Normal, now, now)
		for i := 0; i < poolsPerRel; i++ {
			r.Pools = append(r.Pools, failover.Pool{
				Name:          fmt.Sprintf("10.%d.%d.10-10.%d.%d.250", i/250, i%250, i/250, i%250),
				Subnet:        fmt.Sprintf("10.%d.%d.0/24", i/250, i%250),
				SharedNetwork: fmt.Sprintf("net-%d", i/10),
				Size:          failover.Some(241),
				LocalFree:     failover.Some(60),
				Addresses:     []failover.PoolAddresses{{State: "active", Count: 100}, {State: "backup", Count: 60}, {State: "free", Count: 81}},
			})
		}
		rels = append(rels, r)
	}
	return rels, nil
}

// BenchmarkScrape50000Pools: 500 targets with two relationships of 50
// pools each, 50,000 pools in all.
func BenchmarkScrape50000Pools(b *testing.B) {
	setFakeFunc(b, "pools", func() Source { return poolSource{name: "srv"} })
	c := &config.Config{}
	for i := 0; i < 500; i++ {
		c.Targets = append(c.Targets, fakeTarget(fmt.Sprintf("pools-%03d", i), "pools", benchInterval))
	}
	benchScrape(b, startAgent(b, c), nil)
}

// BenchmarkGather500Targets is the path of the formats not served from
// encoded bytes (protobuf, OpenMetrics 2.0): Gather and promhttp's
// encoding, OpenMetrics here for comparison with BenchmarkScrape500Targets,
// without compression.
func BenchmarkGather500Targets(b *testing.B) {
	a := startAgent(b, simulatedConfig(250, benchInterval))
	h := promhttp.HandlerFor(a, promhttp.HandlerOpts{EnableOpenMetrics: true})
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(&discardWriter{header: http.Header{}}, req)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/scrape")
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discardWriter) WriteHeader(int)             {}
