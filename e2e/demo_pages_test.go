//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// pagesBudget bounds the wait for both pages after Prometheus is ready.
// Expected: DHCPFailoverPartnerDown about 1.5 min after the exporter
// starts (demo-2-a is in PARTNER_DOWN from the start, for: 1m), and
// DHCPFailoverCommunicationInterrupted about 2.5 min after (demo-1-a
// loses contact 6 s after the start, for: 2m), each plus up to two 15 s
// intervals (docs/simulated.md).
const pagesBudget = 5 * time.Minute

// TestDemoPagesWithShippedRules is what README promises a newcomer: the
// default demo (`--demo`, no other flag), scraped by a real Prometheus with
// the shipped rule files loaded byte for byte and the example
// configuration's intervals (examples/prometheus.yml: 15 s), pages
// DHCPFailoverPartnerDown and DHCPFailoverCommunicationInterrupted through
// a real Alertmanager, and DHCPFailoverClientsRefusedOutOfContact for the
// survivor whose shared network ran dry (demo-2-a refuses from the start). Both stacks run at once: the wait is the rules'
// for:, not the machine.
func TestDemoPagesWithShippedRules(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: waits for the shipped for: durations, about three minutes")
	}
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ruleFiles, err := filepath.Glob(filepath.Join(root, "alerts", "*.rules.yml"))
	if err != nil || len(ruleFiles) < 2 {
		t.Fatalf("shipped rule files: %v %v", ruleFiles, err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	intervals := regexp.MustCompile(`(?m)^  (scrape_interval|evaluation_interval): \S+$`).FindAllString(string(example), -1)
	if len(intervals) != 2 {
		t.Fatalf("examples/prometheus.yml: found %q, want its scrape_interval and evaluation_interval", intervals)
	}
	exporterBin := netnstest.BuildExporter(t)
	for _, s := range promStacks {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			s := s
			s.prepare(t)
			t.Logf("%s: prometheus %s, alertmanager %s", s.Name, s.Prometheus, s.Alertmanager)
			testDemoPages(t, &s, exporterBin, ruleFiles, intervals)
		})
	}
}

func testDemoPages(t *testing.T, stack *promStack, exporterBin string, ruleFiles, intervals []string) {
	dir := t.TempDir()
	hook := newWebhook(t)
	exporter := start(t, "exporter", exporterBin, "--demo", "--web.listen-address=127.0.0.1:0")
	expAddr := listenAddr(t, exporter, 30*time.Second)
	waitHTTP(t, exporter, "http://"+expAddr+"/metrics", 30*time.Second)

	amAddr := startAlertmanager(t, stack, dir, hook)
	var names []string
	for _, f := range ruleFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(f))
		writeFile(t, filepath.Join(dir, filepath.Base(f)), string(b))
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
%s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['%s']
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['%s']
`, strings.Join(intervals, "\n"), strings.Join(names, ", "), amAddr, job, expAddr))
	startServer(t, "prometheus", "/-/ready", 60*time.Second, func(addr string) []string {
		return stack.Argv([]string{dir}, "prometheus",
			"--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "prometheus"),
			"--web.listen-address="+addr)
	})

	began := time.Now()
	for {
		commInt, err := hook.firedSeen("DHCPFailoverCommunicationInterrupted", wantCommInt(expAddr))
		if err != nil {
			t.Fatal(err)
		}
		partnerDown, err := hook.firedSeen("DHCPFailoverPartnerDown", wantPartnerDown(expAddr))
		if err != nil {
			t.Fatal(err)
		}
		refused, err := hook.firedSeen("DHCPFailoverClientsRefusedOutOfContact", wantRefusedOutOfContact)
		if err != nil {
			t.Fatal(err)
		}
		if commInt != "" && partnerDown != "" && refused != "" {
			t.Logf("paged by the shipped rules: PartnerDown %s, ClientsRefusedOutOfContact %s, CommunicationInterrupted %s after the exporter started", partnerDown, refused, commInt)
			break
		}
		if time.Since(began) > pagesBudget {
			t.Logf("webhook notifications:\n%s", hook.timeline())
			t.Fatalf("in %s: DHCPFailoverPartnerDown fired %t, DHCPFailoverCommunicationInterrupted fired %t, DHCPFailoverClientsRefusedOutOfContact fired %t (for server a of a demo pair)",
				pagesBudget, partnerDown != "", commInt != "", refused != "")
		}
		time.Sleep(time.Second)
	}
	t.Logf("webhook notifications:\n%s", hook.timeline())
}

// wantRefusedOutOfContact: the survivor (a) of a demo pair refuses the
// clients of a dry shared network while out of contact, as critical.
func wantRefusedOutOfContact(l, _ map[string]string) error {
	server, err := pairOf(l)
	switch {
	case err != nil:
		return err
	case server != "a":
		return fmt.Errorf("target %q refused clients; only the demo's survivor, server a, does", l["target"])
	case l["severity"] != "critical" || l["shared_network"] == "":
		return fmt.Errorf("severity %q, shared_network %q: want critical and a network", l["severity"], l["shared_network"])
	}
	return nil
}

// firedSeen returns, for the first notification of alertname firing with
// labels and annotations that pass check, when it reached the webhook
// ("" if none did yet); an alert of that name that fails the check is an
// error.
func (h *webhook) firedSeen(alertname string, check labelCheck) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e.labels["alertname"] != alertname || e.status != "firing" {
			continue
		}
		if err := check(e.labels, e.annotations); err == nil {
			return e.at.Round(time.Second).String(), nil
		} else if err != errNotCounted {
			return "", fmt.Errorf("%s notified with unexpected labels %v: %w", alertname, e.labels, err)
		}
	}
	return "", nil
}
