package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/journal/journaltest"
)

func dhcpd(msg string) journaltest.Entry { return journaltest.Entry{Ident: "dhcpd", Message: msg} }

// TestFollowerAppendAndRotate: against files written by the real
// systemd-journal-remote, the follower starts at the end, hands on what is
// appended (dhcpd's messages only), and across a rotation reads the rest
// of the renamed file and then the new one from its start: each message
// once, in order.
func TestFollowerAppendAndRotate(t *testing.T) {
	journaltest.Require(t)
	root := t.TempDir()
	// A machine directory, as /var/log/journal has.
	dir := filepath.Join(root, "0123456789abcdef0123456789abcdef")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(dir, "system.journal")
	journaltest.Append(t, active, 0, dhcpd("before 1"), dhcpd("before 2"))

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
	journaltest.Append(t, active, 2, dhcpd("one"), journaltest.Entry{Ident: "systemd", Message: "Started something."}, dhcpd("two"))
	follow("appended", "one", "two")
	// journald's rotation: the active file renamed, a new one begun; an
	// entry lands in the old file after the last poll.
	journaltest.Append(t, active, 5, dhcpd("three"))
	if err := os.Rename(active, filepath.Join(dir, "system@0123-0001-0002.journal")); err != nil {
		t.Fatal(err)
	}
	journaltest.Append(t, active, 6, dhcpd("four"), dhcpd("five"))
	follow("rotated", "three", "four", "five")
	journaltest.Append(t, active, 8, dhcpd("six"))
	follow("after the rotation", "six")
	// The active file gone (journald stopped, volatile journal cleared).
	os.Remove(active)
	if err := f.Follow(context.Background(), time.Time{}, func([]byte) {}); err == nil {
		t.Fatal("no error with the active file gone")
	}
}
