package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// The example configuration in the tarball passes the shipped binary's
// --config.check. The check reads the secret files the example names, so
// they are created (under a temporary directory standing in for
// /etc/dhcp_failover_exporter) as a user would.
func TestExampleExporterConfig(t *testing.T) {
	dir := releaseDir(t)
	shipped, err := os.ReadFile(filepath.Join(dir, "dhcp_failover_exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "dhcp_failover_exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(shipped) != string(example) {
		t.Fatal("the tarball's dhcp_failover_exporter.yml is not examples/dhcp_failover_exporter.yml: run make tarball")
	}
	etc := t.TempDir()
	for name, content := range map[string]string{
		"omapi.key":    "c2VjcmV0LW9mLXRoZS1leGFtcGxl\n",
		"kea-password": "example\n",
		"kea-ca.pem":   "",
	} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.ReplaceAll(string(example), "/etc/dhcp_failover_exporter/", etc+"/")
	path := filepath.Join(etc, "dhcp_failover_exporter.yml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, filepath.Join(dir, binary), "--config.check", "--config.file="+path)
	if !strings.Contains(out, "is valid") {
		t.Errorf("--config.check: %s", out)
	}

	// The Windows target, uncommented, is valid configuration too (the Linux
	// binary refuses the source, as the example says).
	const beginMark = "  # BEGIN windows\n"
	begin, end := strings.Index(text, beginMark), strings.Index(text, "  # END windows")
	if begin < 0 || end < begin {
		t.Fatal("the example has no BEGIN/END windows block")
	}
	block := regexp.MustCompile(`(?m)^  # ?`).ReplaceAllString(text[begin+len(beginMark):end], "  ")
	withWindows := text[:begin] + block
	cfg, err := config.Parse([]byte(withWindows))
	if err != nil {
		t.Fatalf("example with the Windows target: %v", err)
	}
	sources := map[string]bool{}
	for _, tg := range cfg.Targets {
		sources[tg.Source] = true
	}
	for _, s := range []string{"omapi", "leases", "kea", "peer", "simulated", "windows"} {
		if !sources[s] {
			t.Errorf("the example has no %s target", s)
		}
	}
	winPath := filepath.Join(etc, "with-windows.yml")
	if err := os.WriteFile(winPath, []byte(withWindows), 0o644); err != nil {
		t.Fatal(err)
	}
	out2, err := exec.Command(filepath.Join(dir, binary), "--config.check", "--config.file="+winPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out2), `source "windows" is not built into this binary`) {
		t.Errorf("the Linux binary accepted the Windows target: %v %s", err, out2)
	}
}

// promtool accepts the example Prometheus configurations, their
// rule_files load every rule file of the mixin, and the one job the alert
// rules select (the mixin's default job="dhcp_failover") is the /metrics
// job.
func TestExamplePrometheusConfigs(t *testing.T) {
	testenv.NeedBinaries(t, "promtool")
	ruleFiles, _ := filepath.Glob(filepath.Join(root, "alerts", "*.rules.yml"))
	if len(ruleFiles) == 0 {
		t.Fatal("no alerts/*.rules.yml")
	}
	for _, f := range []string{"prometheus.yml", "prometheus-shard.yml"} {
		path := filepath.Join(root, "examples", f)
		t.Logf("%s", runOK(t, "promtool", "check", "config", path))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var rc struct {
			RuleFiles []string `yaml:"rule_files"`
		}
		if err := yaml.Unmarshal(b, &rc); err != nil {
			t.Fatal(err)
		}
		for _, rf := range ruleFiles {
			loaded := false
			for _, pattern := range rc.RuleFiles {
				if ok, _ := filepath.Match(filepath.Base(pattern), filepath.Base(rf)); ok {
					loaded = true
				}
			}
			if !loaded {
				t.Errorf("%s: rule_files %v do not load %s", f, rc.RuleFiles, filepath.Base(rf))
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName     string `yaml:"job_name"`
			MetricsPath string `yaml:"metrics_path"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	selected := 0
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == "dhcp_failover" {
			selected++
			if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
				t.Errorf("job dhcp_failover scrapes %s, want /metrics", sc.MetricsPath)
			}
		}
	}
	if selected != 1 {
		t.Errorf("%d jobs named dhcp_failover, want exactly one (the job the alerts select)", selected)
	}
}
