package alerts

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The pool alerts live in their own group and file.
const leasesRulesFile = "leases.rules.yml"

var wantLeasesAlerts = map[string]string{
	"DHCPFailoverFreeShareRunningOut": "warning",
	"DHCPFailoverFreeShareExhausted":  "critical",
	"DHCPFailoverPoolNearlyFull":      "warning",
}

func TestPromtoolCheckLeasesRules(t *testing.T) {
	run(t, promtool(t), "check", "rules", leasesRulesFile)
}

// Severity, annotations, a runbook section, a test in which each fires and
// one in which it is absent, every tunable marked.
func TestLeasesRuleConventions(t *testing.T) {
	data, err := os.ReadFile(leasesRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile("../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("tests/leases.yml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			seen[r.Alert] = true
			if want, ok := wantLeasesAlerts[r.Alert]; !ok || r.Labels["severity"] != want {
				t.Errorf("%s: severity %q, want %q", r.Alert, r.Labels["severity"], want)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: annotation %s missing", r.Alert, a)
				}
			}
			if !strings.Contains(r.Annotations["description"], "$labels.target") {
				t.Errorf("%s: description does not name the target", r.Alert)
			}
			anchor := strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != runbookBase+anchor {
				t.Errorf("%s: runbook_url %q", r.Alert, r.Annotations["runbook_url"])
			}
			if !regexp.MustCompile(`(?m)^## ` + r.Alert + `$`).Match(runbook) {
				t.Errorf("%s: docs/runbook.md has no section \"## %s\"", r.Alert, r.Alert)
			}
			if !regexp.MustCompile(`alertname: ` + r.Alert + `\n\s+exp_alerts:\n\s+- exp_labels:`).Match(tests) {
				t.Errorf("%s: no test expects it to fire", r.Alert)
			}
			if !regexp.MustCompile(`alertname: ` + r.Alert + `\n\s+exp_alerts: \[\]`).Match(tests) {
				t.Errorf("%s: no test expects it absent", r.Alert)
			}
		}
	}
	for a := range wantLeasesAlerts {
		if !seen[a] {
			t.Errorf("alert %s missing", a)
		}
	}
	header, body, _ := strings.Cut(string(data), "\ngroups:")
	for _, n := range regexp.MustCompile(`(?m)^#   ([a-z-]+) {2,}`).FindAllStringSubmatch(header, -1) {
		if !regexp.MustCompile(`# tune: ([a-z-]+, )*` + n[1] + `\b`).MatchString(body) {
			t.Errorf("tunable %q is listed in the header but marked nowhere", n[1])
		}
	}
}
