package journal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// journalRemote is systemd's own writer of journal files
// (systemd-journal-remote, Debian package systemd-journal-remote).
const journalRemote = "/lib/systemd/systemd-journal-remote"

// appendEntries writes entries (ident, message) to the journal file path
// with the real systemd-journal-remote, which creates the file or appends
// to it as journald does.
func appendEntries(t *testing.T, path string, first int, entries ...[2]string) {
	t.Helper()
	var in strings.Builder
	for i, e := range entries {
		n := first + i
		fmt.Fprintf(&in, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=6b2f1e0ad4b54e6cbcf1d1c4a1f1e0aa\nMESSAGE=%s\nSYSLOG_IDENTIFIER=%s\n_COMM=%s\n\n",
			1764177656000000+n*1000, 1000+n, e[1], e[0], e[0])
	}
	cmd := exec.Command(journalRemote, "-o", path, "-")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", journalRemote, err, out)
	}
}

func dhcpd(msg string) [2]string { return [2]string{"dhcpd", msg} }

// TestFollowerAppendAndRotate: against files written by the real
// systemd-journal-remote, the follower starts at the end, hands on what is
// appended (dhcpd's messages only), and across a rotation reads the rest
// of the renamed file and then the new one from its start: each message
// once, in order.
func TestFollowerAppendAndRotate(t *testing.T) {
	if _, err := os.Stat(journalRemote); err != nil {
		t.Skipf("needs %s (Debian package systemd-journal-remote)", journalRemote)
	}
	root := t.TempDir()
	// A machine directory, as /var/log/journal has.
	dir := filepath.Join(root, "0123456789abcdef0123456789abcdef")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(dir, "system.journal")
	appendEntries(t, active, 0, dhcpd("before 1"), dhcpd("before 2"))

	f := NewFollower(root, "dhcpd")
	defer f.Close()
	var got []string
	follow := func(step string, want ...string) {
		t.Helper()
		got = got[:0]
		if err := f.Follow(context.Background(), time.Time{}, func(m []byte) { got = append(got, string(m)) }); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s: messages %q, want %q", step, got, want)
		}
	}
	follow("start: at the end")
	follow("nothing new")
	appendEntries(t, active, 2, dhcpd("one"), [2]string{"systemd", "Started something."}, dhcpd("two"))
	follow("appended", "one", "two")
	// journald's rotation: the active file renamed, a new one begun; an
	// entry lands in the old file after the last poll.
	appendEntries(t, active, 5, dhcpd("three"))
	if err := os.Rename(active, filepath.Join(dir, "system@0123-0001-0002.journal")); err != nil {
		t.Fatal(err)
	}
	appendEntries(t, active, 6, dhcpd("four"), dhcpd("five"))
	follow("rotated", "three", "four", "five")
	appendEntries(t, active, 8, dhcpd("six"))
	follow("after the rotation", "six")
	// The active file gone (journald stopped, volatile journal cleared).
	os.Remove(active)
	if err := f.Follow(context.Background(), time.Time{}, func([]byte) {}); err == nil {
		t.Fatal("no error with the active file gone")
	}
}
