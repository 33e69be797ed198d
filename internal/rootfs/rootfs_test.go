//go:build linux

package rootfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMirrorIn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"deb http://deb.debian.org/debian bookworm main\n", "http://deb.debian.org/debian"},
		{"deb [signed-by=/k.gpg arch=amd64] https://mirror.example/debian/ bookworm main\n", "https://mirror.example/debian"},
		{"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", ""},
		{"Types: deb\nURIs: http://ftp.example.org/debian\nSuites: bookworm\n", "http://ftp.example.org/debian"},
		{"deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n", ""},
		{"# deb http://deb.debian.org/debian bookworm main\n", ""},
	} {
		if got := mirrorIn(c.in); got != c.want {
			t.Errorf("mirrorIn(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestRootRuns builds (or reuses) each suite's root and runs a program of
// it in the host's network namespace, with a test directory mounted.
func TestRootRuns(t *testing.T) {
	for _, suite := range []string{"trixie", "sid"} {
		t.Run(suite, func(t *testing.T) {
			r := Get(t, suite)
			v := r.Version("kea-dhcp4-server")
			if v == "" {
				t.Fatalf("%s: kea-dhcp4-server not installed", suite)
			}
			dir := t.TempDir()
			argv := r.Argv(Cmd{Mounts: []Mount{{Source: dir}, {Source: dir, Target: "/run/kea"}},
				Argv: []string{"sh", "-c", `kea-dhcp4 -V >/dev/null && touch /run/kea/x && ls ` + dir + ` && cat /proc/self/comm && test -c /dev/null`}})
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !strings.Contains(string(out), "x\n") {
				t.Errorf("the file written to /run/kea is not in the mounted directory: %q", out)
			}
			t.Logf("%s: kea-dhcp4-server %s, kea-ctrl-agent %q, prometheus %q, alertmanager %q", suite, v,
				r.Version("kea-ctrl-agent"), r.Version("prometheus"), r.Version("prometheus-alertmanager"))
		})
	}
}

// TestLockFresh: parallel holders (separate open files, as separate test
// processes have) of a stale root build it once, and nobody waits on a
// holder that keeps its shared lock.
func TestLockFresh(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "suite")
	var builds atomic.Int32
	rebuild := func() error {
		builds.Add(1)
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, builtStamp), nil, 0o644)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		f, err := os.OpenFile(filepath.Join(dir, "suite.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lockFresh(f, root, rebuild, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want 1", n)
	}
	// Every holder keeps its shared lock; one more gets in at once.
	f, _ := os.OpenFile(filepath.Join(dir, "suite.lock"), os.O_RDWR, 0o600)
	defer f.Close()
	start := time.Now()
	if err := lockFresh(f, root, rebuild, nil); err != nil || time.Since(start) > 2*time.Second {
		t.Errorf("lockFresh with shared holders: %v after %s", err, time.Since(start))
	}
}
