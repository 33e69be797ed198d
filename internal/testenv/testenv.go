// Package testenv decides whether a test that needs something from outside
// the project (root, network namespaces, a Debian package) may skip.
//
// Locally such a test skips with a message saying what is missing. CI sets
// DFE_REQUIRE_INTEGRATION=1 (.ci/run does), and then a missing requirement
// fails the test instead: a test that skips in CI is a failing test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether CI demands that every integration test runs.
func Required() bool { return os.Getenv("DFE_REQUIRE_INTEGRATION") == "1" }

// Skip skips the test with msg, or fails it when integration tests are
// required.
func Skip(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (DFE_REQUIRE_INTEGRATION=1: this test must run here)", msg)
	}
	t.Skip(msg)
}

// NeedRoot skips (or fails, see Skip) unless running as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (network namespaces)")
	}
}

// NeedBinaries skips (or fails) unless every binary is on PATH.
func NeedBinaries(t testing.TB, binaries ...string) {
	t.Helper()
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			Skip(t, "needs "+b+" on PATH (install its Debian package; .ci/run does)")
		}
	}
}
