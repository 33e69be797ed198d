package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestCreatedTimestamps: the exporter's counters carry created timestamps
// in the protobuf exposition, which Prometheus 3 asks for first with
// --enable-feature=created-timestamp-zero-ingestion; the OpenMetrics text
// has no `_created` lines (docs/metrics.md says why).
func TestCreatedTimestamps(t *testing.T) {
	_, srv := demoServer(t, 20*time.Second)
	get := func(accept string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		req.Header.Set("Accept", accept)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := get(`application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
		if got := resp.Header.Get("Content-Type"); !strings.Contains(got, "protobuf") {
			t.Fatalf("content type %q, want protobuf", got)
		}
		dec := expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
		counters, withCreated := 0, 0
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				break
			}
			if !strings.HasPrefix(mf.GetName(), "dhcp_failover_") {
				continue
			}
			for _, m := range mf.GetMetric() {
				if c := m.GetCounter(); c != nil {
					counters++
					if c.GetCreatedTimestamp() != nil && c.GetCreatedTimestamp().AsTime().After(time.Unix(0, 0)) {
						withCreated++
					}
				}
			}
		}
		if counters > 0 && counters == withCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d dhcp_failover_ counters carry a created timestamp", withCreated, counters)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp := get(`application/openmetrics-text;version=1.0.0`)
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "openmetrics") {
		t.Fatalf("content type %q, want OpenMetrics", resp.Header.Get("Content-Type"))
	}
	if strings.Contains(b.String(), "_created") {
		t.Errorf("the OpenMetrics output carries _created lines")
	}
}
