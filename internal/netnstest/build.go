//go:build linux

package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var build struct {
	once sync.Once
	path string
	err  error
}

// BuildExporter builds the exporter binary once per test process (go build
// from the module root, found by walking up from the working directory)
// and returns its path. The binary lives in a temporary directory that
// outlives single tests; it is small and under os.TempDir(). When the
// test binary is built with -race, so is the exporter: a race it hits
// prints "WARNING: DATA RACE" in its log (RaceReport finds it).
func BuildExporter(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildExporter() })
	if build.err != nil {
		t.Fatalf("netnstest: %v", build.err)
	}
	return build.path
}

func buildExporter() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	removeStaleBuilds()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("dfe-exporter-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "dhcp_failover_exporter")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go" // CI's and this project's toolchain
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the exporter: %v\n%s", err, b)
	}
	return out, nil
}

// removeStaleBuilds deletes the build directories of test processes that
// have ended: a directory is named for the PID that built into it, and a
// test process cannot clean up after its last test without a TestMain.
func removeStaleBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "dfe-exporter-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "dfe-exporter-"))
		switch {
		case err == nil && pid != os.Getpid() && !processAlive(pid):
			os.RemoveAll(d)
		case err != nil: // not named for a PID: an older layout, removed once old
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(d)
			}
		}
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// RaceReport returns the race detector's reports in a process log (from
// the first "WARNING: DATA RACE", at most 200 lines), or "" if it has
// none. Only a race-built exporter (see BuildExporter) writes them.
func RaceReport(log string) string {
	i := strings.Index(log, "WARNING: DATA RACE")
	if i < 0 {
		return ""
	}
	start := strings.LastIndexByte(log[:i], '\n') + 1
	lines := strings.Split(log[start:], "\n")
	return strings.Join(lines[:min(len(lines), 200)], "\n")
}

// ModuleRoot returns the directory holding go.mod, looking up from the
// working directory (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
