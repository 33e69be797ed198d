//go:build linux

// Package netnstest builds throw-away network labs for integration tests:
// a bridge namespace, hosts hanging off it by veth pairs, processes started
// inside the hosts, and connections dialled from the test into them.
//
// Everything a lab creates is removed in t.Cleanup, also when the test
// fails: processes are killed by PID, namespaces deleted by name. A lab's
// namespaces all start with its prefix. A lab holds an exclusive lock on
// its prefix (a file lock, released by the kernel if the test process
// dies), so labs with the same prefix in different test processes run one
// after the other; namespaces with the prefix found by the lock's new
// holder are left over from a crashed run, and removed.
package netnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Require skips the test unless it runs as root with `ip` on PATH and every
// named binary available: namespaces need CAP_SYS_ADMIN, and CI installs the
// Debian packages that bring the servers.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedBinaries(t, append([]string{"ip"}, binaries...)...)
}

// Lab is a set of namespaces around one bridge.
type Lab struct {
	t      testing.TB
	Prefix string
	// Switch is the namespace holding the bridge br0.
	Switch string

	mu    sync.Mutex
	hosts []*Host
}

// Host is a namespace with lo up and eth0 on the lab's bridge.
type Host struct {
	NS   string // namespace name, "<prefix>-<name>"
	Name string
	Addr netip.Addr

	lab  *Lab
	port string // the veth end in the switch namespace
}

// cmdTimeout bounds every `ip` command the lab runs.
const cmdTimeout = 30 * time.Second

// NewLab creates the bridge namespace "<prefix>-sw". prefix is at most 8
// characters so that every derived name fits an interface name.
func NewLab(t testing.TB, prefix string) *Lab {
	t.Helper()
	Require(t)
	if prefix == "" || len(prefix) > 8 || strings.ContainsAny(prefix, " /") {
		t.Fatalf("netnstest: bad lab prefix %q (1..8 characters, no spaces or slashes)", prefix)
	}
	lockLab(t, prefix)
	removeStale(t, prefix)
	l := &Lab{t: t, Prefix: prefix, Switch: prefix + "-sw"}
	t.Cleanup(l.cleanup)
	l.mustIP("netns", "add", l.Switch)
	l.mustIP("-n", l.Switch, "link", "set", "lo", "up")
	l.mustIP("-n", l.Switch, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
	l.mustIP("-n", l.Switch, "link", "set", "br0", "up")
	return l
}

// AddHost creates namespace "<prefix>-<name>" whose eth0 is a veth to the
// bridge holding addrCIDR (e.g. "10.77.0.1/24").
func (l *Lab) AddHost(name, addrCIDR string) *Host {
	l.t.Helper()
	pfx, err := netip.ParsePrefix(addrCIDR)
	if err != nil {
		l.t.Fatalf("netnstest: host %s: %v", name, err)
	}
	l.mu.Lock()
	idx := len(l.hosts)
	h := &Host{NS: l.Prefix + "-" + name, Name: name, Addr: pfx.Addr(), lab: l, port: fmt.Sprintf("%s-p%d", l.Prefix, idx)}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()

	l.mustIP("netns", "add", h.NS)
	l.mustIP("-n", h.NS, "link", "set", "lo", "up")
	tmp := fmt.Sprintf("%s-t%d", l.Prefix, idx)
	l.mustIP("-n", l.Switch, "link", "add", "name", h.port, "type", "veth", "peer", "name", tmp, "netns", h.NS)
	l.mustIP("-n", l.Switch, "link", "set", h.port, "master", "br0")
	l.mustIP("-n", l.Switch, "link", "set", h.port, "up")
	l.mustIP("-n", h.NS, "link", "set", tmp, "name", "eth0")
	l.mustIP("-n", h.NS, "addr", "add", addrCIDR, "dev", "eth0")
	l.mustIP("-n", h.NS, "link", "set", "eth0", "up")
	return h
}

// SetLink takes h's bridge port down (a partition) or up again (heal).
func (l *Lab) SetLink(h *Host, up bool) {
	l.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	l.mustIP("-n", l.Switch, "link", "set", h.port, state)
}

func (l *Lab) mustIP(args ...string) {
	l.t.Helper()
	if out, err := runIP(args...); err != nil {
		l.t.Fatalf("netnstest: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func runIP(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}

// cleanup deletes the hosts' namespaces, then the switch (which takes the
// veth pairs with it). Processes started with Start have been killed by
// their own cleanups, registered later and so run earlier.
func (l *Lab) cleanup() {
	l.mu.Lock()
	names := []string{}
	for _, h := range l.hosts {
		names = append(names, h.NS)
	}
	l.mu.Unlock()
	names = append(names, l.Switch)
	for _, ns := range names {
		if err := deleteNS(ns); err != nil {
			l.t.Errorf("netnstest: cleanup: %v", err)
		}
	}
}

// deleteNS kills what still runs in ns (by PID, as `ip netns pids` lists
// them: children of our own processes) and deletes it.
func deleteNS(ns string) error {
	if !nsExists(ns) {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pids := nsPIDs(ns)
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			_ = syscall.Kill(p, sig)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := runIP("netns", "del", ns); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
	return nil
}

func nsPIDs(ns string) []int {
	out, err := runIP("netns", "pids", ns)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var p int
		if _, err := fmt.Sscan(f, &p); err == nil && p > 1 && p != os.Getpid() {
			pids = append(pids, p)
		}
	}
	return pids
}

// Namespaces lists the network namespaces whose names start with prefix+"-".
func Namespaces(prefix string) []string {
	out, err := runIP("netns", "list")
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			names = append(names, f[0])
		}
	}
	return names
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func removeStale(t testing.TB, prefix string) {
	t.Helper()
	for _, ns := range Namespaces(prefix) {
		t.Logf("netnstest: removing stale namespace %s from an earlier run", ns)
		if err := deleteNS(ns); err != nil {
			t.Fatalf("netnstest: %v", err)
		}
	}
}

// lockWait bounds the wait for another process's lab with the same prefix.
const lockWait = 10 * time.Minute

// lockLab takes the prefix's lock for the rest of the test.
func lockLab(t testing.TB, prefix string) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "netnstest-"+prefix+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	deadline := time.Now().Add(lockWait)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("netnstest: locking lab %s (%s): %v", prefix, path, err)
		}
		if !logged {
			t.Logf("netnstest: lab %s is in use by another test process; waiting", prefix)
			logged = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Registered before the lab's own cleanup, so it runs after it.
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
