package alerts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const rulesFile = "dhcp-failover.rules.yml"

// ruleFiles are every rule file: rulesFile and the topic files beside it
// (peer.rules.yml).
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.rules.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("rule files: %v %v", files, err)
	}
	return files
}

// runbookBase is where runbook_url points; the anchors are the alert names
// as GitHub spells heading anchors.
const runbookBase = "https://github.com/dhcpfailover/dhcp_failover_exporter/blob/main/docs/runbook.md#"

// wantAlerts are the alerts the project ships and their severities.
var wantAlerts = map[string]string{
	"DHCPFailoverPartnerDown":                     "critical",
	"DHCPFailoverCommunicationInterrupted":        "warning",
	"DHCPFailoverCommunicationInterruptedTooLong": "critical",
	"DHCPFailoverSplitBrain":                      "critical",
	"DHCPFailoverStateFlapping":                   "warning",
	"DHCPFailoverStuck":                           "warning",
	"DHCPFailoverShutdown":                        "warning",
	"DHCPFailoverPartnerViewMismatch":             "warning",
	"DHCPFailoverTargetDown":                      "warning",
	"DHCPFailoverUnackedUpdatesHigh":              "warning",
	"DHCPFailoverPartnerNotAnswering":             "warning", // peer.rules.yml
	"DHCPFailoverFreeShareRunningOut":             "warning", // leases.rules.yml
	"DHCPFailoverFreeShareExhausted":              "critical",
	"DHCPFailoverPoolNearlyFull":                  "warning",
}

// jobSelector is the mixin's default dhcpFailoverSelector; every selector
// of an exporter metric in an expression starts with it.
const jobSelector = `job="dhcp_failover"`

// metricRef finds an exporter metric in an expression and the matchers
// that follow it, if any.
var metricRef = regexp.MustCompile(`\b(dhcp_failover_[a-z_]+)(?:\{([^}]*)\})?`)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// promtool returns the path of promtool, skipping the test where it is not
// installed, unless CI requires the integration tests to run.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("DFE_REQUIRE_INTEGRATION") != "" {
			t.Fatal("promtool is not on PATH but DFE_REQUIRE_INTEGRATION is set (install the Debian package prometheus)")
		}
		t.Skip("skipped: promtool is not on PATH (install the Debian package prometheus)")
	}
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
}

// Every rule file in alerts/ (the mixin's output, and groups not yet
// folded into it) passes promtool check rules.
func TestPromtoolCheckRules(t *testing.T) {
	run(t, promtool(t), append([]string{"check", "rules"}, ruleFiles(t)...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	p := promtool(t)
	files, err := filepath.Glob("tests/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule tests under tests/: %v", err)
	}
	run(t, p, append([]string{"test", "rules"}, files...)...)
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var rules []rule
	for _, name := range ruleFiles(t) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var f ruleFile
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Groups {
			rules = append(rules, g.Rules...)
		}
	}
	return rules
}

// Every shipped alert, each with its severity, summary, description
// and a runbook_url whose anchor exists in docs/runbook.md.
func TestRuleConventions(t *testing.T) {
	runbook, err := os.ReadFile("../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, line := range strings.Split(string(runbook), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			t.Errorf("recording rule in the alert file: %+v", r)
			continue
		}
		seen[r.Alert] = true
		want, ok := wantAlerts[r.Alert]
		if !ok {
			t.Errorf("%s: not a known alert (add it to wantAlerts)", r.Alert)
		}
		if r.Labels["severity"] != want {
			t.Errorf("%s: severity %q, want %q", r.Alert, r.Labels["severity"], want)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: annotation %s missing", r.Alert, a)
			}
		}
		if !strings.Contains(r.Annotations["description"], "$labels.target") && r.Alert != "DHCPFailoverSplitBrain" {
			t.Errorf("%s: description does not name the target", r.Alert)
		}
		anchor := strings.ToLower(r.Alert)
		if got := r.Annotations["runbook_url"]; got != runbookBase+anchor {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, got, runbookBase+anchor)
		}
		for _, m := range metricRef.FindAllStringSubmatchIndex(r.Expr, -1) {
			name := r.Expr[m[2]:m[3]]
			if m[4] < 0 || !strings.HasPrefix(r.Expr[m[4]:m[5]], jobSelector) {
				t.Errorf("%s: %s is not selected with %s (the mixin's dhcpFailoverSelector)", r.Alert, name, jobSelector)
			}
		}
		if !headings[anchor] {
			t.Errorf("%s: docs/runbook.md has no section \"## %s\"", r.Alert, r.Alert)
		}
	}
	for a := range wantAlerts {
		if !seen[a] {
			t.Errorf("alert %s missing", a)
		}
	}
}

// The two communication-interrupted alerts differ only in for:, severity
// and wording; their expressions are written out twice (Prometheus reads
// a YAML alias as the anchor's name), so they must stay equal.
func TestCommunicationInterruptedExprsEqual(t *testing.T) {
	exprs := map[string]string{}
	for _, r := range loadRules(t) {
		exprs[r.Alert] = r.Expr
	}
	a, b := exprs["DHCPFailoverCommunicationInterrupted"], exprs["DHCPFailoverCommunicationInterruptedTooLong"]
	if a == "" || a != b {
		t.Errorf("expressions differ:\n%s\n---\n%s", a, b)
	}
}

// Every alert has a unit test in which it fires and one in which it does
// not.
func TestEveryAlertIsTested(t *testing.T) {
	files, _ := filepath.Glob("tests/*.yml")
	var all bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for a := range wantAlerts {
		fires := regexp.MustCompile(`alertname: ` + a + `\n\s+exp_alerts:\n\s+- exp_labels:`)
		if !fires.Match(all.Bytes()) {
			t.Errorf("%s: no unit test in tests/ expects it to fire", a)
		}
		absent := regexp.MustCompile(`alertname: ` + a + `\n\s+exp_alerts: \[\]`)
		if !absent.Match(all.Bytes()) {
			t.Errorf("%s: no unit test in tests/ expects it absent", a)
		}
	}
}
