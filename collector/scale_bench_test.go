package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// scaleConfig is the scale case: 500 simulated servers (250
// pairs) with two relationships each, 1,000 relationships in all.
func scaleConfig(interval time.Duration) *config.Config {
	c := &config.Config{}
	for p := 0; p < 250; p++ {
		for _, s := range []string{"a", "b"} {
			c.Targets = append(c.Targets, config.Target{
				Name: fmt.Sprintf("sim-%03d-%s", p, s), Source: "simulated",
				PollInterval: interval, Timeout: time.Second,
				Settings: &config.Simulated{Pair: fmt.Sprintf("pair-%03d", p), Server: s,
					Cycle: model.Duration(2 * time.Minute), Offset: model.Duration(time.Duration(p) * time.Second)},
			})
		}
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

// BenchmarkScrape500Targets measures one whole scrape of /metrics (gather
// and text encoding) with 500 targets and 1,000 relationships.
func BenchmarkScrape500Targets(b *testing.B) {
	a := NewAgent(log.NewNopLogger())
	if err := a.ApplyConfig(scaleConfig(10 * time.Second)); err != nil {
		b.Fatal(err)
	}
	defer a.Stop()
	time.Sleep(500 * time.Millisecond) // every target's first poll
	h := promhttp.HandlerFor(a, promhttp.HandlerOpts{})
	req := httptest.NewRequest("GET", "/metrics", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b.ReportMetric(float64(w.Body.Len()), "bytes/scrape")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := &discardWriter{header: http.Header{}}
		h.ServeHTTP(rec, req)
	}
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discardWriter) WriteHeader(int)             {}
