package collector

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/journal/journaltest"
	"github.com/go-kit/log"
)

// syslogHeader is the part of a syslog line journald does not keep in
// MESSAGE (it has its own fields for time, host and program).
var syslogHeader = regexp.MustCompile(`^.*?dhcpd(\[[0-9]+\])?: `)

// TestLeasesRefusalsFromJournal: dhcpd's messages in the systemd journal
// (a file written by the real systemd-journal-remote, in a machine
// directory as /var/log/journal has) are counted as the same messages are
// from a log file: from the follower's start, per network of dhcpd.conf.
func TestLeasesRefusalsFromJournal(t *testing.T) {
	journaltest.Require(t)
	lines, err := os.ReadFile(filepath.Join("..", "isclog", "testdata", "syslog.log"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range strings.Split(string(lines), "\n") {
		if m := syslogHeader.FindStringIndex(l); m != nil {
			msgs = append(msgs, l[m[1]:])
		}
	}
	if len(msgs) < 5 {
		t.Fatalf("%d dhcpd lines in syslog.log", len(msgs))
	}
	root := t.TempDir()
	dir := filepath.Join(root, "0123456789abcdef0123456789abcdef")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(dir, "system.journal")
	write := func(ident string, first int, msgs []string) {
		entries := make([]journaltest.Entry, len(msgs))
		for i, m := range msgs {
			entries[i] = journaltest.Entry{Ident: ident, Message: m}
		}
		journaltest.Append(t, active, first, entries...)
	}
	// History: not counted.
	write("dhcpd", 0, msgs[:1])

	leasesB, err := os.ReadFile(filepath.Join("..", "leases", "testdata", "secondary-fault-cycle.leases"))
	if err != nil {
		t.Fatal(err)
	}
	leasesPath := filepath.Join(root, "dhcpd.leases")
	appendFile(t, leasesPath, leasesB)
	conf, err := filepath.Abs(filepath.Join("..", "isclog", "testdata", "dhcpd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := newLeasesSource(config.Target{Name: "isc-b", Settings: &config.Leases{Path: leasesPath, ConfigFile: conf, Journal: root, JournalIdentifier: "dhcpd"}}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*leasesSource)
	defer s.Close()
	fromLog, logPath := newLoggingLeasesSource(t, []byte(msgs[0]+"\n"))

	count := func(s *leasesSource) map[string]float64 {
		rels := pollLeases(t, s)
		if len(rels) != 1 {
			t.Fatalf("relationships %+v", rels)
		}
		return refusalCounts(rels[0].Refusals)
	}
	for k, v := range count(s) {
		if v != 0 {
			t.Fatalf("%s = %v at start: the journal's history counted", k, v)
		}
	}
	count(fromLog)
	write("dhcpd", 1, msgs)
	write("other", 1+len(msgs), msgs) // another program's: not dhcpd's
	appendFile(t, logPath, []byte(strings.Join(msgs, "\n")+"\n"))
	got, want := count(s), count(fromLog)
	total := 0.0
	for k, v := range want {
		total += v
		if got[k] != v {
			t.Errorf("%s: %v from the journal, %v from the log file", k, got[k], v)
		}
	}
	if total == 0 || len(got) != len(want) {
		t.Fatalf("journal %v, log file %v", got, want)
	}
}
