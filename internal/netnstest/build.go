//go:build linux

package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	err  error
}

// BuildExporter builds the exporter binary once per test process (go build
// from the module root, found by walking up from the working directory)
// and returns its path. The binary lives in a temporary directory that
// outlives single tests; it is small and under os.TempDir().
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
	dir, err := os.MkdirTemp("", "dfe-exporter-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "dhcp_failover_exporter")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go" // CI's and this project's toolchain
	}
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the exporter: %v\n%s", err, b)
	}
	return out, nil
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
