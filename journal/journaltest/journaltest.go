// Package journaltest writes journal files for tests with systemd's own
// writer, systemd-journal-remote (Debian package systemd-journal-remote),
// from the journal export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/).
package journaltest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Remote is systemd-journal-remote's path on Debian.
const Remote = "/lib/systemd/systemd-journal-remote"

// Require skips tb where systemd-journal-remote is not installed (.ci/run
// installs it, so in CI this never skips).
func Require(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(Remote); err != nil {
		tb.Skipf("needs %s (Debian package systemd-journal-remote)", Remote)
	}
}

// Entry is one entry to write: the program that logs it and its message.
type Entry struct{ Ident, Message string }

// Append writes entries to the journal file path, creating it or
// appending to it as journald does; first numbers the first entry (its
// time and monotonic clock follow from it, so that entries of several
// calls stay in order).
func Append(tb testing.TB, path string, first int, entries ...Entry) {
	tb.Helper()
	var in strings.Builder
	for i, e := range entries {
		n := first + i
		fmt.Fprintf(&in, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=6b2f1e0ad4b54e6cbcf1d1c4a1f1e0aa\nMESSAGE=%s\nSYSLOG_IDENTIFIER=%s\n_COMM=%s\n\n",
			1764177656000000+n*1000, 1000+n, e.Message, e.Ident, e.Ident)
	}
	cmd := exec.Command(Remote, "-o", path, "-")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", Remote, err, out)
	}
}
