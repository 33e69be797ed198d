//go:build linux

// Package rootfs gives integration tests the programs of another Debian
// suite (Kea 2.6 from trixie, Kea 3.0 and Prometheus 3 from sid) on this
// machine: a root file system built once with mmdebstrap, cached, shared
// by parallel test processes, and a way to run a program of it inside a
// test's network namespace.
//
// A root is built with `mmdebstrap --variant=apt` from the archive this
// machine's apt already uses (read from /etc/apt/sources.list and
// sources.list.d), with a policy-rc.d that forbids every package from
// starting its daemon. It lives in CacheDir/<suite> and is rebuilt when
// missing or older than MaxAge. A file lock (CacheDir/<suite>.lock) makes
// parallel test processes wait for one build, and keeps a root that a
// test process uses from being replaced under it.
//
// Programs run as `unshare --mount chroot ROOT prog ...` (inside `ip netns
// exec NS` when started on a netnstest host): the mounts they need (/proc,
// /dev, a fresh /run and /tmp, the test's own directories) are made in a
// private mount namespace that ends with the process, so nothing is left
// mounted on the host or in the shared root, and cleanup is the process's
// PID.
package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// CacheDir holds one root per suite.
const CacheDir = "/var/cache/dhcp_failover_exporter/rootfs"

// MaxAge is how old a root may get before it is rebuilt: sid moves.
const MaxAge = 7 * 24 * time.Hour

// buildTimeout bounds one mmdebstrap run (about 30 s on an idle machine
// with a near mirror; minutes on a loaded one).
const buildTimeout = 15 * time.Minute

// lockWait bounds the wait for another process's build or use of a root
// that must be rebuilt.
const lockWait = 20 * time.Minute

// Required are the packages every root has; the build fails without them.
var Required = []string{"kea-dhcp4-server", "nftables"}

// Optional are installed where the suite has them: a later Kea drops the
// Control Agent, and tests ask Has before using one.
var Optional = []string{"kea-ctrl-agent", "prometheus", "prometheus-alertmanager"}

// builtStamp marks a complete root; its mtime is the build time.
const builtStamp = ".dfe-rootfs-built"

// Root is a built root file system of one suite.
type Root struct {
	Suite string
	Dir   string
}

// Get returns the root of suite ("trixie", "sid"), building it if it is
// missing or stale. It skips (fails in CI, see testenv) without root or
// mmdebstrap. The first Get of a suite in a test process takes a shared
// lock on the root that lasts until the process exits (the kernel drops
// it if the process dies), so no other process replaces the root while
// this one may still run its programs; later calls return the same root.
func Get(t testing.TB, suite string) *Root {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedBinaries(t, "mmdebstrap", "unshare", "chroot")
	if suite == "" || strings.ContainsAny(suite, "/ .") {
		t.Fatalf("rootfs: bad suite %q", suite)
	}
	held.mu.Lock()
	defer held.mu.Unlock()
	if r, ok := held.roots[suite]; ok {
		return r
	}
	if err := os.MkdirAll(CacheDir, 0o755); err != nil {
		t.Fatalf("rootfs: %v", err)
	}
	r := &Root{Suite: suite, Dir: filepath.Join(CacheDir, suite)}
	f, err := os.OpenFile(r.Dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("rootfs: %v", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close() // releases the lock
		}
	}()
	if err := lockFresh(f, r.Dir, func() error {
		start := time.Now()
		if err := build(suite, r.Dir, t.Logf); err != nil {
			return fmt.Errorf("building %s: %w", suite, err)
		}
		t.Logf("rootfs: built %s in %s", r.Dir, time.Since(start).Round(time.Second))
		return nil
	}, func() { t.Logf("rootfs: %s is being built or used by another test process; waiting", f.Name()) }); err != nil {
		t.Fatalf("rootfs: %v", err)
	}
	ok = true
	held.roots[suite] = r
	held.files = append(held.files, f) // kept open: the lock lasts
	return r
}

// held are the roots this process has locked, by suite.
var held = struct {
	mu    sync.Mutex
	roots map[string]*Root
	files []*os.File
}{roots: map[string]*Root{}}

// lockFresh returns holding a shared lock on f with dir fresh, building
// it under the exclusive lock if needed. It never waits for an exclusive
// lock while holding the shared one, nor blocks on a lock at all: other
// processes hold shared locks for their lifetime, so it polls both ways
// (a fresh root under a shared lock; the exclusive lock to rebuild a stale
// one) until one succeeds or lockWait has passed.
func lockFresh(f *os.File, dir string, rebuild func() error, waiting func()) error {
	fd := int(f.Fd())
	deadline := time.Now().Add(lockWait)
	logged := false
	for {
		if syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB) == nil {
			if fresh(dir) {
				return nil
			}
			_ = syscall.Flock(fd, syscall.LOCK_UN)
		}
		if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			var err error
			if !fresh(dir) {
				err = rebuild()
			}
			if err != nil {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				return err
			}
			// Downgrade; nobody can rebuild in between (a stale check
			// needs the exclusive lock this process holds until now).
			return syscall.Flock(fd, syscall.LOCK_SH)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("locking %s: still busy after %s", f.Name(), lockWait)
		}
		if !logged && waiting != nil {
			waiting()
			logged = true
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func fresh(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, builtStamp))
	return err == nil && time.Since(fi.ModTime()) < MaxAge
}

// build runs mmdebstrap into a temporary directory beside dir and moves
// it into place, replacing an old root.
func build(suite, dir string, logf func(string, ...any)) error {
	mirror, err := Mirror()
	if err != nil {
		return err
	}
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	args := []string{
		"--variant=apt", "--format=directory", "--quiet",
		"--include=" + strings.Join(Required, ","),
		// No daemon starts at package install: policy-rc.d before the
		// packages of --include are configured.
		`--essential-hook=mkdir -p "$1/usr/sbin" && printf '#!/bin/sh\nexit 101\n' > "$1/usr/sbin/policy-rc.d" && chmod 755 "$1/usr/sbin/policy-rc.d"`,
		// What the suite ships of the optional packages, one by one.
		`--customize-hook=for p in ` + strings.Join(Optional, " ") + `; do chroot "$1" apt-get install -y -q --no-install-recommends "$p" || echo "rootfs: $p not installable in this suite"; done`,
		`--customize-hook=chroot "$1" apt-get clean`,
	}
	if suite == "sid" || suite == "unstable" {
		// The mirror's sid Release can look expired against this
		// machine's clock; for this build only.
		args = append(args, `--aptopt=Acquire::Check-Valid-Until "false"`)
	}
	args = append(args, suite, tmp, mirror)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("mmdebstrap %s: %v\n%s", suite, err, tail(string(out), 40))
	}
	if strings.Contains(string(out), "not installable") {
		logf("rootfs: %s", strings.TrimSpace(grepLines(string(out), "not installable")))
	}
	if err := os.WriteFile(filepath.Join(tmp, builtStamp), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// Mirror returns the Debian archive this machine's apt uses: the first
// URI in /etc/apt/sources.list or sources.list.d/*.list|*.sources whose
// path ends in /debian (not debian-security, not a third party's archive).
func Mirror() (string, error) {
	files := []string{"/etc/apt/sources.list"}
	for _, g := range []string{"/etc/apt/sources.list.d/*.sources", "/etc/apt/sources.list.d/*.list"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if u := mirrorIn(string(b)); u != "" {
			return u, nil
		}
	}
	return "", errors.New("no Debian archive (a URI ending in /debian) in /etc/apt/sources.list*")
}

// mirrorIn finds the archive in one sources file, one-line ("deb URI
// suite ...") or deb822 ("URIs: URI ...") format.
func mirrorIn(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var uris []string
		switch {
		case len(f) >= 3 && f[0] == "deb":
			i := 1
			if strings.HasPrefix(f[i], "[") { // deb [opts] URI
				for i < len(f) && !strings.HasSuffix(f[i], "]") {
					i++
				}
				i++
			}
			if i < len(f) {
				uris = f[i : i+1]
			}
		case len(f) >= 2 && strings.EqualFold(f[0], "URIs:"):
			uris = f[1:]
		}
		for _, u := range uris {
			u = strings.TrimSuffix(u, "/")
			if strings.HasSuffix(u, "/debian") && (strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
				return u
			}
		}
	}
	return ""
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
