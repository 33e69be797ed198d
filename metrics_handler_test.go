package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/collector"
	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// TestMetricsHandlerIsPromhttp: /metrics from the agent's encoded bytes
// is, header for header and byte for byte, what promhttp.HandlerFor
// serves for the same gatherers, in every format Prometheus asks for,
// compressed or not. The demo's targets poll once (an hour apart), so the
// two scrapes see the same observations.
func TestMetricsHandlerIsPromhttp(t *testing.T) {
	cfg := config.DemoConfig(time.Minute)
	for i := range cfg.Targets {
		cfg.Targets[i].PollInterval = time.Hour
	}
	agent := collector.NewAgent(log.NewNopLogger())
	if err := agent.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(agent.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for polled := false; !polled; {
		polled = true
		for _, st := range agent.Status() {
			polled = polled && st.Polled
		}
		if time.Now().After(deadline) {
			t.Fatal("demo targets not polled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "dhcp_failover_exporter_config_last_reload_successful", Help: "Whether the last configuration reload succeeded."})
	g.Set(1)
	reg.MustRegister(g)
	fast := gzipFastest(metricsHandler(log.NewNopLogger(), reg, agent))
	slow := gzipFastest(promhttp.HandlerFor(concatGatherer{reg, agent}, promhttp.HandlerOpts{EnableOpenMetrics: true, DisableCompression: true}))
	for _, accept := range []string{
		"application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", // Prometheus 2 and 3
		"application/openmetrics-text;version=0.0.1",
		"text/plain;version=0.0.4",
		"text/plain; version=0.0.4; escaping=underscores",
		"",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	} {
		for _, gz := range []bool{false, true} {
			serve := func(h http.Handler) (http.Header, []byte) {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				if gz {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				body := rec.Body.Bytes()
				if gz {
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				return rec.Header(), body
			}
			fh, fb := serve(fast)
			sh, sb := serve(slow)
			for _, k := range []string{"Content-Type", "Content-Encoding", "Vary"} {
				if f, s := fh.Values(k), sh.Values(k); !equalStrings(f, s) {
					t.Errorf("Accept %q, gzip %v: %s %q, promhttp's %q", accept, gz, k, f, s)
				}
			}
			if !bytes.Equal(fb, sb) {
				t.Errorf("Accept %q, gzip %v: body differs from promhttp's (%d bytes against %d)", accept, gz, len(fb), len(sb))
			}
			if !bytes.Contains(fb, []byte("dhcp_failover_state_code")) {
				t.Errorf("Accept %q: no state series", accept)
			}
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
