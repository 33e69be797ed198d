//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// The poll-gap lab: a real dhcpd alone in PARTNER_DOWN, and the exporter,
// Prometheus, Alertmanager and the test's webhook in a second namespace.
//
//	dfegrace-sw    bridge
//	dfegrace-dhcp  dhcpd (primary, its partner never comes)  10.251.9.1, OMAPI 7911
//	dfegrace-mon   exporter :9647, Prometheus :9090, Alertmanager :9093,
//	               webhook, all on 127.0.0.1 but the exporter  10.251.9.3
const (
	gapPrefix       = "dfegrace"
	gapRelationship = "fo-gap"
	gapKeyName      = "gap_key"
	// gapSecret is a throw-away OMAPI key for a server that lives as long
	// as the test, in its own namespace.
	gapSecret = "ZTJlLXBvbGwtZ2FwLXRlc3Qta2V5LW9ubHktMzJieXQ="
	// gapOutage is how long dhcpd is stopped: much shorter than the
	// exporter's default down_grace (2m at a 1 s poll interval), much
	// longer than a scrape interval and the rules' shortened for:.
	gapOutage = 30 * time.Second
	// gapShortGrace is the down_grace of the long outage (phase 4).
	gapShortGrace = "15s"
	// gapBudget bounds each wait for a condition (dhcpd's startup into
	// PARTNER_DOWN takes about 20 s); three times that on a loaded machine.
	gapBudget = 90 * time.Second
)

var gapDHCPConf = `authoritative;
ddns-update-style none;
key ` + gapKeyName + ` { algorithm hmac-sha256; secret "` + gapSecret + `"; }
omapi-port 7911;
omapi-key ` + gapKeyName + `;
failover peer "` + gapRelationship + `" {
    primary;
    address 10.251.9.1;
    port 647;
    peer address 10.251.9.2;
    peer port 847;
    max-response-delay 5;
    max-unacked-updates 10;
    mclt 15;
    split 128;
}
subnet 10.251.9.0 netmask 255.255.255.0 {
    pool { failover peer "` + gapRelationship + `"; range 10.251.9.100 10.251.9.199; }
}
`

// gapLeases starts dhcpd in PARTNER_DOWN, as a server left by a partner
// that crashed: dhcpd goes through STARTUP back into the saved state.
const gapLeases = `failover peer "` + gapRelationship + `" state {
  my state partner-down at 2 2026/12/01 00:00:00;
  partner state communications-interrupted at 2 2026/12/01 00:00:00;
}
`

// TestPollGapKeepsPageEndToEnd: a target in PARTNER_DOWN whose polls fail
// for gapOutage (dhcpd stopped with SIGSTOP, a hung server) keeps its
// DHCPFailoverPartnerDown firing on a real Prometheus: the alert's
// activeAt does not move and Alertmanager notifies it once, not twice.
// Then an outage longer than the target's down_grace pages as
// DHCPFailoverTargetDown before DHCPFailoverPartnerDown resolves.
func TestPollGapKeepsPageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs for about a minute and a half")
	}
	forEachStack(t, pollGapScenario)
}

// pollGapScenario runs the poll-gap scenario on one Prometheus and
// Alertmanager stack (promStacks).
func pollGapScenario(t *testing.T, stack *promStack) {
	netnstest.Require(t, "dhcpd")
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	exporterBin := netnstest.BuildExporter(t)
	lab := netnstest.NewLab(t, gapPrefix)
	dhcpHost := lab.AddHost("dhcp", "10.251.9.1/24")
	mon := lab.AddHost("mon", "10.251.9.3/24")
	dir := t.TempDir()

	writeFile(t, filepath.Join(dir, "dhcpd.conf"), gapDHCPConf)
	writeFile(t, filepath.Join(dir, "dhcpd.leases"), gapLeases)
	dhcpd := dhcpHost.Start(t, "dhcpd", "dhcpd", "-4", "-f", "-d", "-cf", filepath.Join(dir, "dhcpd.conf"),
		"-lf", filepath.Join(dir, "dhcpd.leases"), "-pf", filepath.Join(dir, "dhcpd.pid"), "eth0")

	// The exporter with the target's default down_grace.
	writeFile(t, filepath.Join(dir, "exporter.yml"), fmt.Sprintf(`targets:
  - name: isc-gap
    source: omapi
    address: 10.251.9.1
    relationships: [%s]
    key: {name: %s, algorithm: hmac-sha256, secret: %q}
    poll_interval: 1s
    timeout: 800ms
`, gapRelationship, gapKeyName, gapSecret))
	exporter := mon.Start(t, "exporter", exporterBin, "--config.file="+filepath.Join(dir, "exporter.yml"),
		"--web.listen-address=10.251.9.3:9647", "--log.level=debug")
	t.Cleanup(func() {
		if r := netnstest.RaceReport(exporter.Log()); r != "" {
			t.Errorf("the exporter reported a data race:\n%s", r)
		}
	})

	hook := newNSWebhook(t, mon)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), hook.alertmanagerConfig())
	am := mon.Start(t, "alertmanager", stack.Argv([]string{dir}, "prometheus-alertmanager", "--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "alertmanager"), "--web.listen-address=127.0.0.1:9093",
		"--cluster.listen-address=")...)
	writeFile(t, filepath.Join(dir, "rules.yml"), shortenedRules(t, root))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:9093']
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['10.251.9.3:9647']
`, job))
	prom := mon.Start(t, "prometheus", stack.Argv([]string{dir}, "prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus"), "--web.listen-address=127.0.0.1:9090",
		"--rules.alert.resend-delay=2s")...)
	api := nsPromAPI{client: mon.HTTPClient(), base: "http://127.0.0.1:9090"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*gapBudget)
	defer cancel()
	procs := []*netnstest.Proc{dhcpd, exporter, am, prom}

	// 1. DHCPFailoverPartnerDown fires and is notified once.
	var before gapAlert
	gapWait(t, procs, gapBudget, "DHCPFailoverPartnerDown firing and notified", func() error {
		a, err := api.partnerDown(ctx)
		if err != nil {
			return err
		}
		if a.State != "firing" {
			return fmt.Errorf("alert state %q", a.State)
		}
		if n := hook.count("DHCPFailoverPartnerDown", "firing"); n == 0 {
			return fmt.Errorf("not notified yet")
		}
		before = a
		return nil
	})
	t.Logf("DHCPFailoverPartnerDown firing since %s", before.ActiveAt)

	// 2. dhcpd hangs for gapOutage: every poll of the target times out.
	if err := dhcpd.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := dhcpd.Signal(syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	defer resume()
	sawDown := false
	for time.Since(stopped) < gapOutage {
		if up, err := api.scalar(ctx, `dhcp_failover_up{target="isc-gap"}`); err == nil && up == 0 {
			sawDown = true
		}
		a, err := api.partnerDown(ctx)
		if err != nil {
			t.Fatalf("%s into the outage: %v", time.Since(stopped).Round(time.Second), err)
		}
		if a.State != "firing" || a.ActiveAt != before.ActiveAt {
			t.Fatalf("%s into the outage: DHCPFailoverPartnerDown %s since %s, want firing since %s",
				time.Since(stopped).Round(time.Second), a.State, a.ActiveAt, before.ActiveAt)
		}
		time.Sleep(time.Second)
	}
	if !sawDown {
		t.Fatalf("Prometheus never saw dhcp_failover_up 0 in %s of outage: the outage did not happen", gapOutage)
	}
	resume()

	// 3. Back: polled again, the alert still the same, one notification.
	gapWait(t, procs, gapBudget, "the target polled again", func() error {
		up, err := api.scalar(ctx, `dhcp_failover_up{target="isc-gap"}`)
		if err != nil {
			return err
		}
		if up != 1 {
			return fmt.Errorf("up = %v", up)
		}
		return nil
	})
	// Long enough for a resolve and a re-fire (for: 2s) to reach the
	// webhook through group_interval 1s, had they happened.
	time.Sleep(10 * time.Second)
	a, err := api.partnerDown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != "firing" || a.ActiveAt != before.ActiveAt {
		t.Errorf("after the outage: DHCPFailoverPartnerDown %s since %s, want firing since %s", a.State, a.ActiveAt, before.ActiveAt)
	}
	if f, r := hook.count("DHCPFailoverPartnerDown", "firing"), hook.count("DHCPFailoverPartnerDown", "resolved"); f != 1 || r != 0 {
		t.Errorf("Alertmanager notified DHCPFailoverPartnerDown firing %d times and resolved %d times, want once and never", f, r)
	}
	if t.Failed() {
		t.Logf("webhook notifications:\n%s", hook.timeline())
		return
	}

	// 4. An outage longer than the grace: the target pages as
	// DHCPFailoverTargetDown, and only then, once the grace is over, does
	// DHCPFailoverPartnerDown resolve. A short grace keeps the test short.
	writeFile(t, filepath.Join(dir, "exporter.yml"), fmt.Sprintf(`targets:
  - name: isc-gap
    source: omapi
    address: 10.251.9.1
    relationships: [%s]
    key: {name: %s, algorithm: hmac-sha256, secret: %q}
    poll_interval: 1s
    timeout: 800ms
    down_grace: %s
`, gapRelationship, gapKeyName, gapSecret, gapShortGrace))
	if err := exporter.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	gapWait(t, procs, gapBudget, "the exporter's reload with down_grace "+gapShortGrace, func() error {
		if !strings.Contains(exporter.Log(), "rebuilt=isc-gap") {
			return fmt.Errorf("no reload logged yet")
		}
		return nil
	})
	resumed = false
	if err := dhcpd.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	gapWait(t, procs, gapBudget, "DHCPFailoverPartnerDown resolved after the grace", func() error {
		if n := hook.count("DHCPFailoverPartnerDown", "resolved"); n == 0 {
			return fmt.Errorf("not resolved yet")
		}
		return nil
	})
	resume()
	targetDown, partnerDownResolved := hook.first("DHCPFailoverTargetDown", "firing"), hook.first("DHCPFailoverPartnerDown", "resolved")
	if targetDown < 0 || targetDown > partnerDownResolved {
		t.Errorf("DHCPFailoverTargetDown notified at %s, DHCPFailoverPartnerDown resolved at %s: a target down longer than its grace must page as down before its state alerts resolve", targetDown, partnerDownResolved)
	}
	t.Logf("webhook notifications:\n%s", hook.timeline())
}

// gapWait polls f until it succeeds, failing the test after timeout or as
// soon as one of procs exits.
func gapWait(t *testing.T, procs []*netnstest.Proc, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		for _, p := range procs {
			if p.Exited() {
				t.Fatalf("%s exited while waiting for %s", p.Name, what)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: %v", timeout, what, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// gapAlert is one alert of Prometheus's /api/v1/alerts.
type gapAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt string            `json:"activeAt"`
}

// nsPromAPI queries Prometheus inside a lab namespace.
type nsPromAPI struct {
	client *http.Client
	base   string
}

func (p nsPromAPI) get(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

// partnerDown returns the one DHCPFailoverPartnerDown alert of isc-gap.
func (p nsPromAPI) partnerDown(ctx context.Context) (gapAlert, error) {
	var data struct {
		Alerts []gapAlert `json:"alerts"`
	}
	if err := p.get(ctx, "/api/v1/alerts", nil, &data); err != nil {
		return gapAlert{}, err
	}
	var found []gapAlert
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == "DHCPFailoverPartnerDown" && a.Labels["target"] == "isc-gap" {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		return gapAlert{}, fmt.Errorf("%d DHCPFailoverPartnerDown alerts for isc-gap, want 1", len(found))
	}
	return found[0], nil
}

// scalar returns the value of the one series expr gives.
func (p nsPromAPI) scalar(ctx context.Context, expr string) (float64, error) {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return 0, err
	}
	if len(data.Result) != 1 {
		return 0, fmt.Errorf("%s: %d series", expr, len(data.Result))
	}
	var v float64
	s, _ := data.Result[0].Value[1].(string)
	_, err := fmt.Sscan(s, &v)
	return v, err
}

// newNSWebhook is the Alertmanager receiver (webhook) listening inside a
// lab namespace.
func newNSWebhook(t *testing.T, h *netnstest.Host) *webhook {
	t.Helper()
	ln, err := h.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveWebhook(t, ln)
}

func (w *webhook) count(alertname, status string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.events {
		if e.labels["alertname"] == alertname && e.status == status {
			n++
		}
	}
	return n
}

// first returns when the first notification of alertname with status
// arrived (since the webhook started), -1 if none did.
func (w *webhook) first(alertname, status string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.labels["alertname"] == alertname && e.status == status {
			return e.at
		}
	}
	return -1
}
