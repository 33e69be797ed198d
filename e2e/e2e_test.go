//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/dashboards"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

const (
	// demoCycle is the demo's whole fault cycle. At 40 s, server a of each
	// pair is in COMMUNICATION_INT for 14 s and in PARTNER_DOWN for about
	// 12 s (docs/simulated.md). This test shortens the rules' for: to see
	// whole fire-and-resolve cycles quickly; demo_pages_test.go runs the
	// default demo with the rules as shipped.
	demoCycle = "40s"
	// job is the scrape job's name, the `job` label of every series.
	job = "dhcp_failover"
	// shortFor replaces every `for:` of the rule file in the test's copy:
	// the shipped durations (1m, 2m...) are longer than the demo's phases.
	shortFor = "2s"
	// shortGap replaces the rules' gap tolerance (the window of their
	// last_over_time selectors, the mixin's scrapeGapTolerance, 2m): the
	// tests' phases and graces are shorter. Still several scrape intervals.
	shortGap = "5s"
	// budget bounds the whole wait for data and notifications: about
	// 30 s typically, at worst one demo cycle plus its fault phase and the
	// rules' for: (about 65 s); three times that for a loaded machine.
	budget = 200 * time.Second
)

// TestDemoEndToEnd runs the exporter's demo, a real Prometheus with the
// rule file (for: shortened) and a real Alertmanager with a webhook run by
// the test, all on 127.0.0.1 without root. It checks that every dashboard
// query is accepted and returns data, and that the fault cycle pages
// DHCPFailoverCommunicationInterrupted and DHCPFailoverPartnerDown, which
// then resolve.
//
// It runs on every stack of promStacks (Prometheus 2 and 3).
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs for about two minutes")
	}
	forEachStack(t, testDemoEndToEnd)
}

func testDemoEndToEnd(t *testing.T, stack *promStack) {
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	exporterBin := netnstest.BuildExporter(t)
	dir := t.TempDir()
	hook := newWebhook(t)

	// The exporter binds 127.0.0.1:0 and logs the port it got; the
	// others take a port chosen just before (startServer).
	exporter := start(t, "exporter", exporterBin, "--demo", "--demo.cycle="+demoCycle, "--web.listen-address=127.0.0.1:0")
	expAddr := listenAddr(t, exporter, 30*time.Second)
	waitHTTP(t, exporter, "http://"+expAddr+"/metrics", 30*time.Second)

	amAddr := startAlertmanager(t, stack, dir, hook)

	writeFile(t, filepath.Join(dir, "rules.yml"), shortenedRules(t, root))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['%s']
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['%s']
`, amAddr, job, expAddr))
	_, promAddr := startServer(t, "prometheus", "/-/ready", 60*time.Second, func(addr string) []string {
		return stack.Argv([]string{dir}, "prometheus",
			"--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "prometheus"),
			"--web.listen-address="+addr,
			"--rules.alert.resend-delay=2s")
	})
	api := promAPI{base: "http://" + promAddr}

	queries := panelQueries(t)
	ctx, cancel := context.WithTimeout(context.Background(), budget+30*time.Second)
	defer cancel()
	deadline := time.Now().Add(budget)
	for {
		pendingQueries := 0
		for _, q := range queries {
			if q.hadData {
				continue
			}
			for _, expr := range q.exprs {
				n, err := api.instantQuery(ctx, expr)
				if err != nil {
					t.Fatalf("%s: Prometheus rejects the query: %v\n\t%s", q, err, expr)
				}
				if n > 0 {
					q.hadData = true
				}
			}
			if !q.hadData {
				pendingQueries++
			}
		}
		commInt, err := hook.cycleSeen("DHCPFailoverCommunicationInterrupted", wantCommInt(expAddr))
		if err != nil {
			t.Fatal(err)
		}
		partnerDown, err := hook.cycleSeen("DHCPFailoverPartnerDown", wantPartnerDown(expAddr))
		if err != nil {
			t.Fatal(err)
		}
		if pendingQueries == 0 && commInt && partnerDown {
			break
		}
		if time.Now().After(deadline) {
			for _, q := range queries {
				if !q.hadData {
					t.Errorf("%s returned no data in %s:\n\t%s", q, budget, strings.Join(q.exprs, "\n\t"))
				}
			}
			if !commInt {
				t.Errorf("no DHCPFailoverCommunicationInterrupted fired and resolved with the expected labels")
			}
			if !partnerDown {
				t.Errorf("no DHCPFailoverPartnerDown fired and resolved with the expected labels")
			}
			t.Logf("webhook notifications:\n%s", hook.timeline())
			t.FailNow()
		}
		time.Sleep(time.Second)
	}
	checkVariables(ctx, t, api)
	t.Logf("webhook notifications:\n%s", hook.timeline())
	checkMetricsWith(t, stack, dir, "http://"+expAddr+"/metrics")
}

// startAlertmanager runs the stack's Alertmanager on a loopback port,
// routing every alert to hook, and returns its address.
func startAlertmanager(t *testing.T, stack *promStack, dir string, hook *webhook) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), hook.alertmanagerConfig())
	_, addr := startServer(t, "alertmanager", "/-/ready", 30*time.Second, func(addr string) []string {
		return stack.Argv([]string{dir}, "prometheus-alertmanager",
			"--config.file="+filepath.Join(dir, "alertmanager.yml"),
			"--storage.path="+filepath.Join(dir, "alertmanager"),
			"--web.listen-address="+addr,
			"--cluster.listen-address=") // no clustering: nothing listens beyond the web port
	})
	return addr
}

// checkMetricsWith runs the stack's own `promtool check metrics` on a
// scrape of the exporter: Prometheus 3's linter is not 2's.
func checkMetricsWith(t *testing.T, stack *promStack, dir, url string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "scrape.prom")
	writeFile(t, path, string(b))
	out, err := stack.Run([]string{dir}, "sh", "-c", "promtool check metrics < "+path)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("promtool (%s) check metrics on the exporter's /metrics: %v\n%s", stack.Name, err, out)
	}
}

// shortenedRules returns the shipped rule file with every `for:` set to
// shortFor and the window of every gap-tolerant selector
// (last_over_time(dhcp_failover_…{…}[2m])) set to shortGap; the expressions
// are otherwise the shipped ones.
func shortenedRules(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "alerts", "dhcp-failover.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	forLine := regexp.MustCompile(`(?m)^(\s+for: )\S+`)
	if n := len(forLine.FindAllIndex(data, -1)); n < 8 {
		t.Fatalf("found %d for: lines in the rule file, expected at least 8: the test's shortening is out of date", n)
	}
	gapWindow := regexp.MustCompile(`(last_over_time\(dhcp_failover_\w+\{[^}]*\}\[)[^\]]+(\]\))`)
	if n := len(gapWindow.FindAllIndex(data, -1)); n < 10 {
		t.Fatalf("found %d gap-tolerant selectors in the rule file, expected at least 10: the test's shortening is out of date", n)
	}
	shortened := gapWindow.ReplaceAllString(string(data), "${1}"+shortGap+"${2}")
	return forLine.ReplaceAllString(shortened, "${1}"+shortFor)
}

// query is one panel query with the dashboard variables substituted, once
// for each selection of the dashboard's variables (panelSelections): the
// panel has data if any of them returns some.
type query struct {
	dashboard, panel, refID string
	exprs                   []string
	hadData                 bool
}

func (q *query) String() string {
	return fmt.Sprintf("%s / %q query %s", q.dashboard, q.panel, q.refID)
}

// variableValues are what Grafana would substitute: the overview as opened
// (every variable at All), the relationship dashboard for demo-1-lb and
// both its servers. $__rate_interval is four scrape intervals, as Grafana
// computes it for a 1 s scrape.
var variableValues = map[string]map[string]string{
	"dhcp-failover-overview.json":     {"job": ".+", "relationship": ".+"},
	"dhcp-failover-relationship.json": {"job": job, "relationship": "demo-1-lb", "target": "(demo-1-a|demo-1-b)"},
}

// panelSelections are further selections under which a panel may show
// its data: the relationship dashboard opened on the emulated Kea pair
// and on the emulated peer tap, whose panels only they feed
// (docs/simulated.md, "Emulated sources").
var panelSelections = map[string][]map[string]string{
	"dhcp-failover-relationship.json": {
		{"job": job, "relationship": "demo-kea-lb", "target": "(demo-kea-a|demo-kea-b)"},
		{"job": job, "relationship": "demo-tap", "target": "demo-tap-a"},
	},
}

var varRef = regexp.MustCompile(`\$\{?(\w+)\}?`)

func substitute(t *testing.T, expr string, values map[string]string) string {
	t.Helper()
	builtin := map[string]string{"__rate_interval": "4s", "__interval": "1s"}
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		name := varRef.FindStringSubmatch(ref)[1]
		if v, ok := builtin[name]; ok {
			return v
		}
		if v, ok := values[name]; ok {
			return v
		}
		t.Fatalf("no value for variable $%s in %s", name, expr)
		return ""
	})
}

func panelQueries(t *testing.T) []*query {
	t.Helper()
	var out []*query
	for _, name := range dashboards.Names() {
		d, err := dashboards.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		values, ok := variableValues[name]
		if !ok {
			t.Fatalf("no variable values for dashboard %s", name)
		}
		selections := append([]map[string]string{values}, panelSelections[name]...)
		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				q := &query{dashboard: name, panel: p.Title, refID: tg.RefID}
				for _, sel := range selections {
					q.exprs = append(q.exprs, substitute(t, tg.Expr, sel))
				}
				out = append(out, q)
			}
		}
	}
	return out
}

// checkVariables runs the dashboards' label_values() variable queries.
func checkVariables(ctx context.Context, t *testing.T, api promAPI) {
	t.Helper()
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	want := map[string]string{"job": job, "relationship": "demo-1-lb", "target": "demo-1-a"}
	for _, name := range dashboards.Names() {
		d, err := dashboards.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("%s: variable %s: %q is not label_values(selector, label)", name, v.Name, v.Definition)
				continue
			}
			got, err := api.labelValues(ctx, substitute(t, m[1], variableValues[name]), m[2])
			if err != nil {
				t.Errorf("%s: variable %s: %v", name, v.Name, err)
				continue
			}
			if !slices.Contains(got, want[v.Name]) {
				t.Errorf("%s: variable %s gives %v, want %q among them", name, v.Name, got, want[v.Name])
			}
		}
	}
}

// labelCheck validates the labels and annotations of one notified alert.
type labelCheck func(labels, annotations map[string]string) error

var demoTarget = regexp.MustCompile(`^demo-([12])-([ab])$`)

// pairOf checks that target and relationship belong to the same demo pair
// and returns the target's server letter.
func pairOf(l map[string]string) (string, error) {
	m := demoTarget.FindStringSubmatch(l["target"])
	if m == nil {
		return "", fmt.Errorf("target %q is not a demo target", l["target"])
	}
	if r := l["relationship"]; r != "demo-"+m[1]+"-lb" && r != "demo-"+m[1]+"-hs" {
		return "", fmt.Errorf("relationship %q is not one of %s's", r, l["target"])
	}
	return m[2], nil
}

func checkCommon(l, a map[string]string, keys []string, severity, instance string) error {
	var got []string
	for k := range l {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if !slices.Equal(got, keys) {
		return fmt.Errorf("label names %v, want %v", got, keys)
	}
	if l["severity"] != severity || l["job"] != job || l["instance"] != instance {
		return fmt.Errorf("severity/job/instance %q/%q/%q, want %q/%q/%q", l["severity"], l["job"], l["instance"], severity, job, instance)
	}
	if !strings.Contains(a["description"], l["target"]) || !strings.Contains(a["description"], l["relationship"]) {
		return fmt.Errorf("description %q does not name target and relationship", a["description"])
	}
	if want := "docs/runbook.md#" + strings.ToLower(l["alertname"]); !strings.HasSuffix(a["runbook_url"], want) {
		return fmt.Errorf("runbook_url %q, want …%s", a["runbook_url"], want)
	}
	return nil
}

// wantCommInt accepts both servers' alerts, but only the survivor's (a)
// counts: it loses contact, fires, and resolves when it takes over in
// PARTNER_DOWN (b's resolves because b crashes and is no longer polled).
func wantCommInt(instance string) labelCheck {
	return func(l, a map[string]string) error {
		if err := checkCommon(l, a, []string{"alertname", "severity", "job", "instance", "target", "relationship"}, "warning", instance); err != nil {
			return err
		}
		server, err := pairOf(l)
		if err == nil && server != "a" {
			err = errNotCounted
		}
		return err
	}
}

// errNotCounted marks a notification that is valid but not the one a
// check waits for.
var errNotCounted = errors.New("valid, not counted")

func wantPartnerDown(instance string) labelCheck {
	return func(l, a map[string]string) error {
		if err := checkCommon(l, a, []string{"alertname", "severity", "job", "instance", "target", "relationship", "side", "state"}, "critical", instance); err != nil {
			return err
		}
		if l["side"] != "local" || l["state"] != "PARTNER_DOWN" {
			return fmt.Errorf("side/state %q/%q, want local/PARTNER_DOWN", l["side"], l["state"])
		}
		// In the demo server b fails and a survives: only a takes over.
		server, err := pairOf(l)
		if err == nil && server != "a" {
			err = fmt.Errorf("target %q went to PARTNER_DOWN; the demo's survivor is server a", l["target"])
		}
		return err
	}
}

// webhook is the Alertmanager receiver: it records every notified alert.
type webhook struct {
	url    string
	t0     time.Time
	mu     sync.Mutex
	events []event
}

type event struct {
	at          time.Duration
	status      string
	labels      map[string]string
	annotations map[string]string
}

func newWebhook(t *testing.T) *webhook { return serveWebhook(t, nil) }

// alertmanagerConfig routes every alert, one group per label set and with
// the shortest waits, to the webhook, resolutions included.
func (h *webhook) alertmanagerConfig() string {
	return fmt.Sprintf(`route:
  receiver: hook
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, h.url)
}

// serveWebhook starts the receiver on ln, or on a loopback port of its own
// when ln is nil.
func serveWebhook(t *testing.T, ln net.Listener) *webhook {
	t.Helper()
	h := &webhook{t0: time.Now()}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []struct {
				Status      string            `json:"status"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		for _, a := range msg.Alerts {
			h.events = append(h.events, event{at: time.Since(h.t0), status: a.Status, labels: a.Labels, annotations: a.Annotations})
		}
		h.mu.Unlock()
	}))
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hook"
	return h
}

// cycleSeen reports whether an alert named alertname was notified firing
// and later resolved, with labels and annotations that pass check; an
// alert of that name that fails the check is an error.
func (h *webhook) cycleSeen(alertname string, check labelCheck) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	firing := map[string]bool{}
	for _, e := range h.events {
		if e.labels["alertname"] != alertname {
			continue
		}
		if err := check(e.labels, e.annotations); errors.Is(err, errNotCounted) {
			continue
		} else if err != nil {
			return false, fmt.Errorf("%s notified with unexpected labels %v: %w", alertname, e.labels, err)
		}
		key := fmt.Sprint(e.labels)
		switch e.status {
		case "firing":
			firing[key] = true
		case "resolved":
			if firing[key] {
				return true, nil
			}
		}
	}
	return false, nil
}

func (h *webhook) timeline() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, e := range h.events {
		fmt.Fprintf(&b, "\t%6.1fs %-8s %s %s %s\n", e.at.Seconds(), e.status, e.labels["alertname"], e.labels["target"], e.labels["relationship"])
	}
	return b.String()
}
