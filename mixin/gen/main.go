// Command gen renders the monitoring mixin: each rule group to
// <alerts dir>/<group name>.rules.yml and, with -dashboards, each dashboard
// to that directory. Run from the repository root:
//
//	go run ./mixin/gen                                  # the committed alerts/*.rules.yml
//	go run ./mixin/gen -mixin site.jsonnet -alerts out/ # a site's overrides
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dhcpfailover/dhcp_failover_exporter/mixin"
)

func main() {
	entry := flag.String("mixin", "mixin/mixin.libsonnet", "mixin entry point (.libsonnet or .jsonnet)")
	alertsDir := flag.String("alerts", "alerts", "directory for the rule files (empty: none)")
	dashDir := flag.String("dashboards", "", "directory for the dashboards (empty: none)")
	flag.Parse()
	if err := run(*entry, *alertsDir, *dashDir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(entry, alertsDir, dashDir string) error {
	if alertsDir != "" {
		files, err := mixin.RuleFiles(entry)
		if err != nil {
			return err
		}
		if err := write(alertsDir, files); err != nil {
			return err
		}
	}
	if dashDir != "" {
		files, err := mixin.Dashboards(entry)
		if err != nil {
			return err
		}
		if err := write(dashDir, files); err != nil {
			return err
		}
	}
	return nil
}

func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range mixin.Names(files) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	return nil
}
