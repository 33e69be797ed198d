package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// prometheus is a real Prometheus (the Debian package) scraping one
// exporter every second in the exporter's namespace, with shipped rule
// files of alerts/ loaded as they are (the end-to-end tests in e2e/ run
// the Alertmanager side).
type prometheus struct {
	host *netnstest.Host
	url  string
}

const prometheusPort = 19090

func startPrometheus(t *testing.T, h *netnstest.Host, e *exporter, ruleFiles ...string) *prometheus {
	t.Helper()
	netnstest.Require(t, "prometheus")
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ruleFiles {
		b, err := os.ReadFile(filepath.Join(root, "alerts", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b), 0o644)
	}
	target := strings.TrimSuffix(strings.TrimPrefix(e.url, "http://"), "/metrics")
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: dhcp_failover
    static_configs:
      - targets: ['%s']
`, strings.Join(ruleFiles, ", "), target), 0o644)
	addr := fmt.Sprintf("%s:%d", h.Addr, prometheusPort)
	proc := h.Start(t, "prometheus", "prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	p := &prometheus{host: h, url: "http://" + addr}
	waitFor(t, 60*time.Second, "Prometheus ready", func() error {
		if proc.Exited() {
			t.Fatalf("prometheus exited:\n%s", proc.Log())
		}
		resp, err := h.HTTPClient().Get(p.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	return p
}

// firing counts the alerts named alertname that Prometheus has firing.
func (p *prometheus) firing(t *testing.T, alertname string) int {
	t.Helper()
	resp, err := p.host.HTTPClient().Get(p.url + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, al := range a.Data.Alerts {
		if al.Labels["alertname"] == alertname && al.State == "firing" {
			n++
		}
	}
	return n
}
