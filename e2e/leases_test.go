//go:build linux

package e2e

// The pool alerts on a real Prometheus: the exporter follows a leases
// file in which a secondary out of contact hands out its BACKUP share, one
// address every two seconds. DHCPFailoverFreeShareRunningOut must fire
// while addresses of the share are left, DHCPFailoverFreeShareExhausted
// once none is.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// shortenedLeasesRules is alerts/leases.rules.yml (the mixin's output) with
// the trend window, horizon and for: scaled from hours to seconds; the
// gap-tolerant selectors stay as shipped (a change is seen at once
// through them).
func shortenedLeasesRules(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "alerts", "leases.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{
		{`dhcp_failover_pool_local_free_addresses{job="dhcp_failover"}[30m], 3600)`, `dhcp_failover_pool_local_free_addresses{job="dhcp_failover"}[20s], 60)`},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("%q not in the rule file: the test's shortening is out of date", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return regexp.MustCompile(`(?m)^(\s+for: )\S+`).ReplaceAllString(s, "${1}4s")
}

func leaseBlock(addr, state string) string {
	return fmt.Sprintf("lease %s {\n  starts 3 2026/12/02 01:00:00;\n  ends 3 2026/12/02 02:00:00;\n  binding state %s;\n  next binding state expired;\n}\n", addr, state)
}

func appendText(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFreeShareAlertsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs for about a minute")
	}
	forEachStack(t, testFreeShareAlerts)
}

func testFreeShareAlerts(t *testing.T, stack *promStack) {
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	exporterBin := netnstest.BuildExporter(t)
	dir := t.TempDir()

	// A secondary (it writes mclt) out of contact, its pool of 40
	// addresses balanced 20 FREE (the primary's) / 20 BACKUP (its own).
	leasesPath := filepath.Join(dir, "dhcpd.leases")
	var b strings.Builder
	b.WriteString("failover peer \"fo-e2e\" state {\n  my state communications-interrupted at 3 2026/12/02 01:00:00;\n" +
		"  partner state normal at 3 2026/12/02 00:00:00;\n  mclt 3600;\n}\n")
	for i := 0; i < 40; i++ {
		st := "free"
		if i%2 == 1 {
			st = "backup"
		}
		b.WriteString(leaseBlock(fmt.Sprintf("10.0.0.%d", 100+i), st))
	}
	writeFile(t, leasesPath, b.String())
	writeFile(t, filepath.Join(dir, "exporter.yml"), fmt.Sprintf(`targets:
  - name: isc-b
    source: leases
    path: %s
    pools: [{relationship: fo-e2e, ranges: [10.0.0.100-10.0.0.139]}]
    poll_interval: 1s
    timeout: 800ms
`, leasesPath))
	exporter := start(t, "exporter", exporterBin, "--config.file="+filepath.Join(dir, "exporter.yml"), "--web.listen-address=127.0.0.1:0")
	expAddr := listenAddr(t, exporter, 30*time.Second)
	waitHTTP(t, exporter, "http://"+expAddr+"/metrics", 30*time.Second)

	writeFile(t, filepath.Join(dir, "rules.yml"), shortenedLeasesRules(t, root))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: ['%s']
`, job, expAddr))
	_, promAddr := startServer(t, "prometheus", "/-/ready", 60*time.Second, func(addr string) []string {
		return stack.Argv([]string{dir}, "prometheus",
			"--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "prometheus"),
			"--web.listen-address="+addr)
	})
	api := promAPI{base: "http://" + promAddr}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	count := func(expr string) int {
		n, err := api.instantQuery(ctx, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return n
	}
	share := func(v int) string {
		return fmt.Sprintf(`dhcp_failover_pool_local_free_addresses{job=%q,target="isc-b",relationship="fo-e2e",pool="10.0.0.100-10.0.0.139"} == %d`, job, v)
	}
	firing := func(alert string) bool {
		return count(fmt.Sprintf(`ALERTS{alertname=%q,alertstate="firing",target="isc-b",pool="10.0.0.100-10.0.0.139"}`, alert)) == 1
	}
	deadline := time.Now().Add(90 * time.Second)
	for count(share(20)) == 0 {
		if time.Now().After(deadline) || exporter.exited() {
			t.Fatal("Prometheus never saw the secondary's share of 20")
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Clients take the BACKUP leases, one every two seconds.
	left, fired := 20, -1
	next := time.Now()
	for left > 0 || !firing("DHCPFailoverFreeShareExhausted") {
		if time.Now().After(deadline.Add(60 * time.Second)) {
			t.Fatalf("after %d addresses taken: running out fired with %d left (-1: never), exhausted never fired", 20-left, fired)
		}
		if left > 0 && time.Now().After(next) {
			left--
			appendText(t, leasesPath, leaseBlock(fmt.Sprintf("10.0.0.%d", 101+2*left), "active"))
			next = next.Add(2 * time.Second)
		}
		if fired < 0 && firing("DHCPFailoverFreeShareRunningOut") {
			// The share Prometheus holds at the moment the alert fires.
			for v := 0; v <= 20; v++ {
				if count(share(v)) == 1 {
					fired = v
					break
				}
			}
			t.Logf("DHCPFailoverFreeShareRunningOut fired with %d of 20 addresses left (file: %d)", fired, left)
			if fired <= 0 {
				t.Fatalf("DHCPFailoverFreeShareRunningOut fired only with the share at %d", fired)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if fired < 0 {
		t.Fatal("DHCPFailoverFreeShareRunningOut never fired before the share was empty")
	}
	if count(share(0)) != 1 {
		t.Fatal("exhausted fired, but the share is not 0")
	}
	t.Logf("DHCPFailoverFreeShareExhausted fired with the share at 0")
}
