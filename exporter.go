package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/dhcpfailover/dhcp_failover_exporter/collector"
	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"
)

// exporter wires the agent, the configuration and the HTTP endpoints.
type exporter struct {
	logger      log.Logger
	load        func() (*config.Config, error)
	metricsPath string
	adhoc       bool
	agent       *collector.Agent
	registry    *prometheus.Registry

	mu            sync.Mutex // serialises reloads; guards cfg
	cfg           *config.Config
	reloadOK      prometheus.Gauge
	reloadSuccess prometheus.Gauge
}

func newExporter(logger log.Logger, load func() (*config.Config, error), metricsPath string, adhoc bool) *exporter {
	e := &exporter{
		logger:      logger,
		load:        load,
		metricsPath: metricsPath,
		adhoc:       adhoc,
		agent:       collector.NewAgent(logger),
		registry:    prometheus.NewRegistry(),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dhcp_failover_exporter_config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded.",
		}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dhcp_failover_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration reload.",
		}),
	}
	e.registry.MustRegister(
		e.reloadOK,
		e.reloadSuccess,
		versioncollector.NewCollector("dhcp_failover_exporter"), // dhcp_failover_exporter_build_info
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return e
}

// reload loads the configuration and applies it; on any error the running
// targets are kept as they were.
func (e *exporter) reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg, err := e.load()
	var ch collector.TargetChanges
	if err == nil {
		ch, err = e.agent.ApplyConfigChanges(cfg)
	}
	if err != nil {
		e.reloadOK.Set(0)
		return err
	}
	e.cfg = cfg
	e.reloadOK.Set(1)
	e.reloadSuccess.SetToCurrentTime()
	kv := []any{"msg", "Configuration loaded", "targets", len(cfg.Targets)}
	for _, c := range []struct {
		key   string
		names []string
	}{{"added", ch.Added}, {"removed", ch.Removed}, {"rebuilt", ch.Rebuilt}} {
		if len(c.names) > 0 {
			kv = append(kv, c.key, strings.Join(c.names, ","))
		}
	}
	kv = append(kv, "unchanged", ch.Unchanged)
	level.Info(e.logger).Log(kv...)
	for _, w := range cfg.Warnings() {
		level.Warn(e.logger).Log("msg", "Deprecated configuration", "detail", w)
	}
	if len(cfg.Targets) == 0 {
		level.Warn(e.logger).Log("msg", "The configuration has no targets: nothing is polled (add targets, or run with --demo)")
	}
	return nil
}

func (e *exporter) config() *config.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

func (e *exporter) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(e.metricsPath, gzipFastest(metricsHandler(e.logger, e.registry, e.agent)))
	mux.HandleFunc("/probe", e.handleProbe)
	mux.HandleFunc("/-/reload", e.handleReload)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("Healthy\n"))
	})
	// Ready once a configuration is loaded and its targets started (as
	// Prometheus's /-/ready): a load balancer or an orchestrator waits for it.
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if e.config() == nil {
			http.Error(w, "Not ready: no configuration loaded yet\n", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("/config", e.handleConfig)
	mux.HandleFunc("/", e.handleLanding)
	return mux
}

func (e *exporter) handleReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "This endpoint requires a POST request.", http.StatusMethodNotAllowed)
		return
	}
	if err := e.reload(); err != nil {
		level.Error(e.logger).Log("msg", "Reload failed; keeping the previous configuration", "err", err)
		http.Error(w, "failed to reload config: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write([]byte("Reloaded\n"))
}

// promLogger adapts go-kit to promhttp's error logger.
type promLogger struct{ l log.Logger }

func (p promLogger) Println(v ...any) {
	level.Error(p.l).Log("msg", "Metrics handler error", "err", fmt.Sprint(v...))
}

// concatGatherer serves the exporter's own registry and the agent's
// families side by side. Their metric names are disjoint, so unlike
// prometheus.Gatherers it need not re-check every series on every scrape.
type concatGatherer []prometheus.Gatherer

func (c concatGatherer) Gather() ([]*dto.MetricFamily, error) {
	var out []*dto.MetricFamily
	for _, g := range c {
		mfs, err := g.Gather()
		if err != nil {
			return nil, err
		}
		out = append(out, mfs...)
	}
	return out, nil
}
