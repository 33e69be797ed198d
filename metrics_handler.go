package main

import (
	"net/http"

	"github.com/dhcpfailover/dhcp_failover_exporter/collector"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// metricsHandler serves /metrics: the exporter's own registry, then the
// agent's families. For the text format and OpenMetrics 1.0 (what
// Prometheus negotiates unless it asks for protobuf) the agent's part is
// copied from the bytes each target encoded after its last render
// (collector/exposition.go); every other request (protobuf, OpenMetrics
// 2.0, a name[] filter) is promhttp's. Both write the same exposition:
// content negotiation, headers and encoding are promhttp.HandlerFor's
// (client_golang prometheus/promhttp/http.go) with EnableOpenMetrics and
// without compression, which gzipFastest adds.
func metricsHandler(logger log.Logger, registry prometheus.Gatherer, agent *collector.Agent) http.Handler {
	slow := promhttp.HandlerFor(concatGatherer{registry, agent}, promhttp.HandlerOpts{
		ErrorLog:          promLogger{logger},
		EnableOpenMetrics: true,
		// No Timeout: promhttp would buffer the whole exposition (megabytes
		// with hundreds of targets) to enforce it, and a scrape here only
		// copies families rendered earlier: it has nothing to wait on.
		DisableCompression: true, // gzipFastest compresses
	})
	accepted := expfmt.DefaultOpenMetricsAcceptedFormats()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		format := expfmt.NegotiateAccept(r.Header, accepted...)
		tf, ok := collector.TextFormatOf(format)
		if !ok || (r.URL != nil && len(r.URL.Query()["name[]"]) > 0) {
			slow.ServeHTTP(w, r)
			return
		}
		mfs, err := registry.Gather()
		if err != nil {
			level.Error(logger).Log("msg", "Metrics handler error", "err", "error gathering metrics: "+err.Error())
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Add("Vary", "Accept")
		w.Header().Set("Content-Type", string(format))
		enc := expfmt.NewEncoder(w, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				level.Error(logger).Log("msg", "Metrics handler error", "err", "error encoding and sending metric family: "+err.Error())
				return
			}
		}
		if _, err := agent.WriteText(w, tf); err != nil {
			level.Error(logger).Log("msg", "Metrics handler error", "err", "error encoding and sending metric family: "+err.Error())
			return
		}
		if c, ok := enc.(expfmt.Closer); ok {
			if err := c.Close(); err != nil {
				level.Error(logger).Log("msg", "Metrics handler error", "err", "error encoding and sending metric family: "+err.Error())
			}
		}
	})
}
