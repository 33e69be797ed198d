//go:build linux

package rootfs

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// Mount binds a host directory into the root for one process. Target is
// a path inside the root; empty means the same path as Source, so that
// paths under t.TempDir() mean the same inside and outside.
type Mount struct {
	Source, Target string
}

// Cmd is a program of the root to run.
type Cmd struct {
	// Mounts are bound in order, after /proc, /dev, a fresh tmpfs on /run
	// and on /tmp, so a mount may land inside /run or /tmp.
	Mounts []Mount
	// Env is the program's whole environment (NAME=value); PATH is set
	// to the root's.
	Env []string
	// Argv is the program and its arguments, as seen inside the root.
	Argv []string
}

// wrapper runs as "sh -c wrapper sh ROOT src dst ... -- env... -- argv...":
// it makes the mounts in its private mount namespace and execs chroot, so
// the PID the caller knows is the program's own.
const wrapper = `set -e
R=$1; shift
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
while [ "$1" != -- ]; do
  mkdir -p "$R$2"
  mount --bind "$1" "$R$2"
  shift 2
done
shift
exec chroot "$R" "$@"
`

// Argv returns the host command line that runs c inside the root:
// `unshare --mount --propagation private sh -c ...`. Give it to
// netnstest's Host.Start or Host.Run (which prefix `ip netns exec NS`),
// or to exec.Command for the host's own network namespace.
func (r *Root) Argv(c Cmd) []string {
	argv := []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", wrapper, "sh", r.Dir}
	for _, m := range c.Mounts {
		t := m.Target
		if t == "" {
			t = m.Source
		}
		argv = append(argv, m.Source, t)
	}
	argv = append(argv, "--", "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	argv = append(argv, c.Env...)
	return append(argv, c.Argv...)
}

// Version returns the installed version of a package in the root (dpkg's
// status file), or "" if it is not installed.
func (r *Root) Version(pkg string) string {
	f, err := os.Open(filepath.Join(r.Dir, "var/lib/dpkg/status"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var name, status, version string
	flush := func() string {
		if name == pkg && strings.HasSuffix(status, " installed") {
			return version
		}
		return ""
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if v := flush(); v != "" {
				return v
			}
			name, status, version = "", "", ""
		case strings.HasPrefix(line, "Package: "):
			name = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Status: "):
			status = strings.TrimPrefix(line, "Status: ")
		case strings.HasPrefix(line, "Version: "):
			version = strings.TrimPrefix(line, "Version: ")
		}
	}
	return flush()
}

// Has reports whether pkg is installed in the root.
func (r *Root) Has(pkg string) bool { return r.Version(pkg) != "" }

// Path is a path inside the root as seen from the host (for reading what
// a package installed, e.g. the hooks directory).
func (r *Root) Path(p string) string { return filepath.Join(r.Dir, p) }

// Glob matches pattern inside the root and returns the paths as seen
// inside it.
func (r *Root) Glob(pattern string) []string {
	m, _ := filepath.Glob(filepath.Join(r.Dir, pattern))
	for i := range m {
		m[i] = strings.TrimPrefix(m[i], r.Dir)
	}
	return m
}
