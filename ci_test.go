//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// .ci/run never ends a process by name: other people's servers (a real
// dhcpd, another test run's Prometheus) may have the names of the
// packages' daemons.
func TestCIRunNeverKillsByName(t *testing.T) {
	b, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^[^#]*\b(pkill|killall|pgrep)\b.*$`).Find(b); m != nil {
		t.Fatalf(".ci/run ends processes by name: %s", m)
	}
	if !strings.Contains(string(b), ".ci/daemons stop-new") {
		t.Fatal(".ci/run does not stop the daemons its installation started with .ci/daemons")
	}
}

// .ci/daemons stop-new stops, by PID, only a daemon that appeared after
// the snapshot; one that ran before survives.
func TestCIDaemonsStopsOnlyNew(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	dir := t.TempDir()
	const name = "dfe-ci-testd" // a name no real daemon has
	bin := filepath.Join(dir, name)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// daemonise starts bin the way an init script leaves a daemon: its
	// parent exits, so it is re-parented to PID 1 (or a subreaper).
	daemonise := func() int {
		t.Helper()
		out, err := exec.Command("bash", "-c", bin+" 120 >/dev/null 2>&1 & echo $!").Output()
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		return pid
	}
	old := daemonise()
	env := append(os.Environ(), "DFE_DAEMON_NAMES="+name)
	snap := filepath.Join(dir, "before")
	list := exec.Command(".ci/daemons", "list")
	list.Env = env
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), strconv.Itoa(old)+" ") {
		t.Fatalf("snapshot %q does not list the running daemon %d", out, old)
	}
	if os.Getppid() == 1 {
		t.Skip("the test itself runs under PID 1's direct care; cannot tell daemons apart")
	}
	if err := os.WriteFile(snap, out, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := daemonise()
	stop := exec.Command(".ci/daemons", "stop-new", snap)
	stop.Env = env
	if out, err := stop.CombinedOutput(); err != nil || !strings.Contains(string(out), "(pid "+strconv.Itoa(fresh)+")") {
		t.Fatalf("stop-new: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(fresh) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon started after the snapshot (pid %d) still runs", fresh)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !alive(old) {
		t.Fatalf("the daemon that ran before the snapshot (pid %d) was stopped", old)
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndex(s, ") ")
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}
