package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/collector"
	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/version"
	"go.yaml.in/yaml/v3"
)

// adhocSlots bounds the ad-hoc probes in flight: each one opens
// connections to a server nobody configured.
var adhocSlots = make(chan struct{}, 16)

// scrapeTimeoutOffset is kept free of a probe's budget so that the answer
// reaches Prometheus before its scrape timeout (as blackbox_exporter does).
const scrapeTimeoutOffset = 500 * time.Millisecond

// handleProbe polls one server synchronously into a fresh registry:
// ?target=NAME for a configured target, or ?source=KIND&key=value... for an
// ad-hoc server with the keys of a target that fit in a query.
func (e *exporter) handleProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	debug := q.Get("debug") == "true"
	var t config.Target
	switch {
	case q.Get("target") != "":
		if res, ok := e.agent.Running(q.Get("target")); ok {
			e.serveProbe(w, r, q.Get("target"), res, debug)
			return
		}
		ct, ok := e.agent.Target(q.Get("target"))
		if !ok {
			http.Error(w, fmt.Sprintf("unknown target %q", q.Get("target")), http.StatusNotFound)
			return
		}
		t = ct
	case q.Get("source") != "":
		if !e.adhoc {
			http.Error(w, "ad-hoc probes are disabled (start the exporter with --web.probe-adhoc)", http.StatusForbidden)
			return
		}
		select {
		case adhocSlots <- struct{}{}:
			defer func() { <-adhocSlots }()
		default:
			http.Error(w, fmt.Sprintf("too many ad-hoc probes at once (at most %d)", cap(adhocSlots)), http.StatusServiceUnavailable)
			return
		}
		params := map[string][]string{}
		for k, v := range q {
			if k != "source" && k != "debug" {
				params[k] = v
			}
		}
		var err error
		t, err = config.TargetFromParams(q.Get("source"), params)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "target or source parameter is missing", http.StatusBadRequest)
		return
	}
	if v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs <= 0 {
			http.Error(w, "invalid X-Prometheus-Scrape-Timeout-Seconds", http.StatusBadRequest)
			return
		}
		budget := time.Duration(secs*float64(time.Second)) - scrapeTimeoutOffset
		if budget < 100*time.Millisecond {
			budget = 100 * time.Millisecond
		}
		if budget < t.Timeout {
			t.Timeout = budget
		}
	}
	res, err := collector.Probe(r.Context(), t, e.logger)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		level.Debug(e.logger).Log("msg", "Probe cannot start", "target", t.Name, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.serveProbe(w, r, t.Name, res, debug)
}

// serveProbe answers a probe: its metrics, or with debug=true (as
// blackbox_exporter's) a page that says how the poll went, its reason and
// error, and then the metrics. A failed poll is logged at debug.
func (e *exporter) serveProbe(w http.ResponseWriter, r *http.Request, target string, res *collector.ProbeResult, debug bool) {
	if res.Err != nil {
		level.Debug(e.logger).Log("msg", "Probe failed", "target", target, "reason", collector.Classify(res.Err), "err", res.Err)
	}
	if !debug {
		promhttp.HandlerFor(res, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if res.Err != nil {
		fmt.Fprintf(w, "Probe of target %q failed\nreason: %s\nerror: %s\n", target, collector.Classify(res.Err), res.Err)
	} else {
		fmt.Fprintf(w, "Probe of target %q succeeded\n", target)
	}
	if res.Took > 0 {
		fmt.Fprintf(w, "duration: %s\n", res.Took.Round(time.Microsecond))
	}
	fmt.Fprint(w, "\nMetrics that would have been returned:\n")
	mfs, err := res.Gather()
	if err != nil {
		fmt.Fprintf(w, "error gathering them: %v\n", err)
		return
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			fmt.Fprintf(w, "error encoding %s: %v\n", mf.GetName(), err)
			return
		}
	}
}

// handleConfig shows the running configuration; secrets print as <secret>.
func (e *exporter) handleConfig(w http.ResponseWriter, _ *http.Request) {
	cfg := e.config()
	b, err := yaml.Marshal(cfg)
	if err != nil {
		http.Error(w, "cannot render the configuration: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
}

var landingTemplate = template.Must(template.New("landing").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DHCP Failover Exporter</title>
<style>
body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.ok{background:#c8e6c9} .info{background:#bbdefb} .warning{background:#fff59d} .critical{background:#ef9a9a} .unknown{background:#e0e0e0}
.down{background:#ef9a9a} .err{color:#b71c1c;font-family:monospace} .kept{font-style:italic} .version{color:#555}
</style></head><body>
<h1>DHCP Failover Exporter</h1>
<p class="version">{{.Version}}</p>
<p><a href="{{.MetricsPath}}">Metrics</a> · <a href="/config">Configuration</a> · <a href="/-/healthy">Health</a> · <a href="/-/ready">Ready</a></p>
<h2>Targets</h2>
<p>State colours: <span class="ok">ok</span> <span class="info">info</span> <span class="warning">warning</span> <span class="critical">critical</span> <span class="unknown">unknown</span>.
A target that is down keeps its last states (in italics) until its <code>down_grace</code> ends.</p>
<table><tr><th>target</th><th>source</th><th>address</th><th>up</th><th>last poll</th><th>relationship</th><th>local</th><th>partner</th><th>last error</th><th>probe</th></tr>
{{range .Targets}}{{$t := .}}
{{if .Relationships}}{{range .Relationships}}
<tr{{if $t.Kept}} class="kept"{{end}}><td>{{$t.Name}}</td><td>{{$t.Source}}</td><td>{{$t.Address}}</td><td{{if not $t.Up}} class="down"{{end}}>{{if $t.Up}}1{{else}}0{{end}}</td><td>{{ago $t.LastPoll}}</td>
<td>{{.Name}}</td><td class="{{.LocalSeverity}}">{{.Local}}{{if .LocalNative}} ({{.LocalNative}}){{end}}{{if $t.Kept}} (last seen){{end}}</td>
<td{{if not .PartnerNotReported}} class="{{.PartnerSeverity}}"{{end}}>{{if .PartnerNotReported}}not reported{{else}}{{.Partner}}{{end}}</td>
<td class="err">{{if $t.LastReason}}{{$t.LastReason}}: {{end}}{{$t.LastError}}</td><td><a href="/probe?target={{$t.Name}}">probe</a> <a href="/probe?target={{$t.Name}}&amp;debug=true">debug</a></td></tr>
{{end}}{{else if and (not .Up) .Configured}}{{range .Configured}}
<tr><td>{{$t.Name}}</td><td>{{$t.Source}}</td><td>{{$t.Address}}</td><td class="down">0</td><td>{{ago $t.LastPoll}}</td>
<td>{{.}}</td><td class="unknown" colspan="2">{{if $t.Polled}}unknown: target down{{else}}not polled yet{{end}}</td>
<td class="err">{{if $t.LastReason}}{{$t.LastReason}}: {{end}}{{$t.LastError}}</td><td><a href="/probe?target={{$t.Name}}">probe</a> <a href="/probe?target={{$t.Name}}&amp;debug=true">debug</a></td></tr>
{{end}}{{else}}
<tr><td>{{.Name}}</td><td>{{.Source}}</td><td>{{.Address}}</td><td{{if not .Up}} class="down"{{end}}>{{if .Up}}1{{else}}0{{end}}</td><td>{{ago .LastPoll}}</td>
<td colspan="3">{{if not .Polled}}not polled yet{{else if .Up}}no relationships{{else}}target down (every relationship it has){{end}}</td>
<td class="err">{{if .LastReason}}{{.LastReason}}: {{end}}{{.LastError}}</td><td><a href="/probe?target={{.Name}}">probe</a> <a href="/probe?target={{.Name}}&amp;debug=true">debug</a></td></tr>
{{end}}{{end}}
</table></body></html>
`))

// versionLine is the landing page's version: "dhcp_failover_exporter 1.2.0
// (revision 4f1c2e0, branch main), built with go1.26.0 on 20260101-10:00:00".
func versionLine() string {
	s := exporterName + " " + version.Version
	var details []string
	if version.Revision != "" {
		details = append(details, "revision "+version.Revision)
	}
	if version.Branch != "" {
		details = append(details, "branch "+version.Branch)
	}
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	s += ", built with " + version.GoVersion
	if version.BuildDate != "" {
		s += " on " + version.BuildDate
	}
	return s
}

func (e *exporter) handleLanding(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err := landingTemplate.Execute(w, struct {
		Version     string
		MetricsPath string
		Targets     []collector.TargetStatus
	}{versionLine(), e.metricsPath, e.agent.Status()})
	if err != nil {
		level.Error(e.logger).Log("msg", "Landing page failed", "err", err)
	}
}
