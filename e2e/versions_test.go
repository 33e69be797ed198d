//go:build linux

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/rootfs"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// promStack is one Prometheus + Alertmanager (+ promtool) pair the
// end-to-end tests run against: Debian 12's packages on this machine
// (Prometheus 2.42, Alertmanager 0.25), or sid's from an internal/rootfs
// root (Prometheus 3.5, Alertmanager 0.33). Every program runs in the
// host's network namespace (all on 127.0.0.1); a rootfs program sees the
// directories given to Argv at the same paths.
type promStack struct {
	Name  string // subtest name: "prometheus-2", "prometheus-3"
	suite string // "" for the host's packages
	root  *rootfs.Root
	// Versions of the packages, for the logs and docs.
	Prometheus, Alertmanager string
}

// promStacks are the stacks every end-to-end test runs on.
var promStacks = []promStack{{Name: "prometheus-2"}, {Name: "prometheus-3", suite: "sid"}}

// forEachStack runs f as a subtest per stack. A test of its own (the
// demo cycle, an outage) calls it with its body.
func forEachStack(t *testing.T, f func(t *testing.T, s *promStack)) {
	for _, s := range promStacks {
		t.Run(s.Name, func(t *testing.T) {
			s := s
			s.prepare(t)
			t.Logf("%s: prometheus %s, alertmanager %s", s.Name, s.Prometheus, s.Alertmanager)
			f(t, &s)
		})
	}
}

func (s *promStack) prepare(t *testing.T) {
	t.Helper()
	if s.suite == "" {
		requireBinary(t, "prometheus", "prometheus")
		requireBinary(t, "prometheus-alertmanager", "prometheus-alertmanager")
		requireBinary(t, "promtool", "prometheus")
		s.Prometheus, s.Alertmanager = hostVersion("prometheus"), hostVersion("prometheus-alertmanager")
		return
	}
	testenv.NeedRoot(t)
	s.root = rootfs.Get(t, s.suite)
	for _, p := range []string{"prometheus", "prometheus-alertmanager"} {
		if !s.root.Has(p) {
			t.Fatalf("the %s root has no %s", s.suite, p)
		}
	}
	s.Prometheus, s.Alertmanager = s.root.Version("prometheus"), s.root.Version("prometheus-alertmanager")
}

func hostVersion(pkg string) string {
	out, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	return strings.TrimSpace(string(out))
}

// Argv is the command line running prog of the stack with args; dirs are
// the host directories the program reads or writes (bound at the same
// paths inside a root).
func (s *promStack) Argv(dirs []string, prog string, args ...string) []string {
	if s.root == nil {
		return append([]string{prog}, args...)
	}
	var m []rootfs.Mount
	for _, d := range dirs {
		m = append(m, rootfs.Mount{Source: d})
	}
	return s.root.Argv(rootfs.Cmd{Mounts: m, Argv: append([]string{prog}, args...)})
}

// Run runs a one-shot program of the stack (promtool) and returns its
// combined output.
func (s *promStack) Run(dirs []string, prog string, args ...string) (string, error) {
	a := s.Argv(dirs, prog, args...)
	out, err := exec.Command(a[0], a[1:]...).CombinedOutput()
	return string(out), err
}

// TestPromtoolOnStacks runs each stack's promtool over every rule file
// the project ships (`check rules`) and over its rule tests (`test
// rules`): an expression must mean the same on Prometheus 2 and 3.
func TestPromtoolOnStacks(t *testing.T) {
	root, err := netnstest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	alerts := filepath.Join(root, "alerts")
	forEachStack(t, func(t *testing.T, s *promStack) {
		for _, c := range []string{
			"promtool check rules *.rules.yml",
			"promtool test rules tests/*.yml",
		} {
			out, err := s.Run([]string{alerts}, "sh", "-c", "cd "+alerts+" && "+c)
			if err != nil {
				t.Errorf("%s: %s: %v\n%s", s.Name, c, err, out)
			} else {
				t.Logf("%s: %s:\n%s", s.Name, c, out)
			}
		}
	})
}
