package mixin

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

const entry = "mixin.libsonnet"

// The committed rule files are what the mixin renders: a change to
// mixin/ without `go run ./mixin/gen` (or an edit of the output) fails here.
func TestCommittedRulesUpToDate(t *testing.T) {
	files, err := RuleFiles(entry)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the mixin renders no rule group")
	}
	for _, name := range Names(files) {
		committed, err := os.ReadFile(filepath.Join("..", "alerts", name))
		if err != nil {
			t.Errorf("%s: %v (run `go run ./mixin/gen` from the repository root)", name, err)
			continue
		}
		if !bytes.Equal(committed, files[name]) {
			t.Errorf("alerts/%s is stale: run `go run ./mixin/gen` from the repository root and commit the result", name)
		}
	}
	// The mixin is the one source of the shipped rules: no rule file
	// beside its output.
	onDisk, _ := filepath.Glob(filepath.Join("..", "alerts", "*.rules.yml"))
	for _, p := range onDisk {
		if _, ok := files[filepath.Base(p)]; !ok {
			t.Errorf("alerts/%s is not rendered by the mixin: fold its group into mixin/alerts/ (mixin/README.md)", filepath.Base(p))
		}
	}
}

// The mixin's dashboards are the committed (Go-generated) dashboards, with
// the default UID prefix unchanged.
func TestDashboardsAreTheCommittedOnes(t *testing.T) {
	ds, err := Dashboards(entry)
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob("../dashboards/*.json")
	if len(ds) != len(committed) {
		t.Fatalf("mixin serves %d dashboards, dashboards/ has %d: add the new one to mixin/dashboards/dashboards.libsonnet", len(ds), len(committed))
	}
	for _, name := range Names(ds) {
		raw, err := os.ReadFile(filepath.Join("..", "dashboards", name))
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ds[name], &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: the mixin's dashboard differs from dashboards/%s", name, name)
		}
	}
}

// A site's overrides of _config reach every place the setting is used,
// as docs/alerts.md shows them.
func TestConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(entry)
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.jsonnet")
	src := `(import '` + abs + `') + {
  _config+:: {
    dhcpFailoverSelector: 'job="dhcp", env="prod"',
    scrapeGapTolerance: '',
    keepFiringFor: '5m',
    forDurations+:: { targetDown: '3m', communicationInterruptedTooLong: '1h', poolNearlyFull: '45m', partnerNotAnswering: '7m' },
    thresholds+:: {
      stuckSeconds: 7200, flappingWindow: '1h', flappingChanges: 8,
      notAnsweringResponseDelays: 3, notAnsweringFallbackSeconds: 300,
      freeShareWindow: '1h', freeShareHorizon: '2h', poolFullRatio: 0.95,
    },
    runbookURLBase: 'https://wiki.example.net/dhcp#',
    dashboardUIDPrefix: 'site-dhcp-',
  },
}
`
	if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := RuleFiles(site)
	if err != nil {
		t.Fatal(err)
	}
	out := string(files["dhcp-failover.rules.yml"])
	for _, want := range []string{
		`dhcp_failover_up{job="dhcp", env="prod"} == 0`,
		"for: 3m",
		"for: 1h",
		"> 7200",
		`changes(dhcp_failover_state_code{job="dhcp", env="prod"}[1h]) > 8`,
		"in the last 1 hour.",
		"for at least 3 minutes",
		"https://wiki.example.net/dhcp#dhcpfailovertargetdown",
		"keep_firing_for: 5m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q", want)
		}
	}
	for _, unwanted := range []string{"last_over_time(dhcp_failover_state{", `job="dhcp_failover"`, "for: 30m"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("rendered rules still contain %q", unwanted)
		}
	}
	if n := strings.Count(out, "keep_firing_for: 5m"); n != 3 {
		t.Errorf("keep_firing_for on %d alerts, want the 3 critical ones", n)
	}
	// The groups folded in from hand-written files take the same settings.
	for name, wants := range map[string][]string{
		"peer.rules.yml": {
			`dhcp_failover_peer_unanswered_seconds{job="dhcp", env="prod"} > 300`,
			"(3 * dhcp_failover_max_response_delay_seconds", "for: 7m",
		},
		"leases.rules.yml": {
			`predict_linear(dhcp_failover_pool_local_free_addresses{job="dhcp", env="prod"}[1h], 7200) <= 0`,
			`(dhcp_failover_pool_local_free_addresses{job="dhcp", env="prod"} == 0)`,
			"> 0.95", "for: 45m", "keep_firing_for: 5m",
			"within 2 hours.", "at the rate of the last 1 hour",
		},
	} {
		got := string(files[name])
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s: rendered rules lack %q", name, want)
			}
		}
		for _, unwanted := range []string{"last_over_time(", `job="dhcp_failover"`} {
			if strings.Contains(got, unwanted) {
				t.Errorf("%s: rendered rules still contain %q", name, unwanted)
			}
		}
	}
	ds, err := Dashboards(site)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range ds {
		var v struct{ UID string }
		if err := json.Unmarshal(d, &v); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v.UID, "site-dhcp-") {
			t.Errorf("%s: uid %q without the prefix", name, v.UID)
		}
	}
}

// Every group file under alerts/ is folded into alerts.libsonnet.
func TestEveryGroupFileImported(t *testing.T) {
	index, err := os.ReadFile("alerts/alerts.libsonnet")
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := filepath.Glob("alerts/*.libsonnet")
	for _, g := range groups {
		base := filepath.Base(g)
		if base == "alerts.libsonnet" {
			continue
		}
		if !strings.Contains(string(index), "import '"+base+"'") {
			t.Errorf("%s is not imported by alerts/alerts.libsonnet", g)
		}
	}
}

func TestWords(t *testing.T) {
	// Through the rendered rules: the defaults spell 1 minute and 10 minutes.
	files, err := RuleFiles(entry)
	if err != nil {
		t.Fatal(err)
	}
	out := string(files["dhcp-failover.rules.yml"])
	for _, want := range []string{"at least 1 minute (", "at least 10 minutes", "in the last 30 minutes."} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered rules lack %q", want)
		}
	}
}

// With a selector of several jobs (a site with one job per location), the
// pair alerts still match the servers of a relationship within one job:
// the promtool tests of alerts/tests/multi-job run on rules rendered with
// dhcpFailoverSelector: 'job=~"site1|site2"'.
func TestMultiJobSelector(t *testing.T) {
	testenv.NeedBinaries(t, "promtool")
	dir := t.TempDir()
	abs, err := filepath.Abs(entry)
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.jsonnet")
	src := `(import '` + abs + `') + { _config+:: { dhcpFailoverSelector: 'job=~"site1|site2"' } }`
	if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := RuleFiles(site)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), files["dhcp-failover.rules.yml"], 0o644); err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob("../alerts/tests/multi-job/*.yml")
	if len(tests) == 0 {
		t.Fatal("no tests in alerts/tests/multi-job")
	}
	args := []string{"test", "rules"}
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	out, err := exec.Command("promtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ruleFiles names the file of a group (a group folded in from a file of
// its own keeps that file's name).
func TestRuleFileNames(t *testing.T) {
	abs, err := filepath.Abs(entry)
	if err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(t.TempDir(), "site.jsonnet")
	src := `(import '` + abs + `') + { ruleFiles+:: { 'dhcp-failover': 'failover.rules.yml' } }`
	if err := os.WriteFile(site, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := RuleFiles(site)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"failover.rules.yml", "leases.rules.yml", "peer.rules.yml"}
	if got := Names(files); !reflect.DeepEqual(got, want) {
		t.Errorf("rule files %v, want %v", got, want)
	}
	bad := filepath.Join(filepath.Dir(site), "bad.jsonnet")
	os.WriteFile(bad, []byte(`(import '`+abs+`') + { ruleFiles+:: { 'dhcp-failover': '../x.yml' } }`), 0o644)
	if _, err := RuleFiles(bad); err == nil {
		t.Error("a rule file name with a directory was accepted")
	}
}
