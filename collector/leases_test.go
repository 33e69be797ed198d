package collector

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// leasesFixture splits a lab leases file after each failover record, so
// that a test can append it to a followed file record by record.
func leasesFixture(t *testing.T, name string) [][]byte {
	t.Helper()
	// The recordings live once, in the leases package's testdata.
	b, err := os.ReadFile(filepath.Join("..", "leases", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var pieces [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("failover peer"))
		if i < 0 {
			pieces[len(pieces)-1] = append(pieces[len(pieces)-1], b...)
			break
		}
		end := i + bytes.IndexByte(b[i:], '}') + 1
		pieces = append(pieces, b[:end:end])
		b = b[end:]
	}
	return pieces
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func pollLeases(t *testing.T, s *leasesSource) []failover.Relationship {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rels, err := s.Poll(ctx)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return rels
}

// transitionList renders a poll's transitions as "local NORMAL>COMMUNICATION_INT 17:34:05".
func transitionList(rels []failover.Relationship) []string {
	var out []string
	for _, r := range rels {
		if !r.HasHistory {
			out = append(out, "no history")
		}
		for _, tr := range r.Transitions {
			side := "local"
			if tr.Partner {
				side = "partner"
			}
			out = append(out, fmt.Sprintf("%s %s>%s %s", side, tr.From, tr.To, tr.At.Format("15:04:05")))
		}
	}
	return out
}

// What the records of the lab's fault cycle say, record after record
// (the first one is the state at start).
var (
	primaryCycle = []string{
		"partner NO_STATE>RECOVER 17:34:05",
		"local RECOVER>RECOVER_DONE 17:34:05",
		"partner RECOVER>RECOVER_DONE 17:34:05",
		"local RECOVER_DONE>NORMAL 17:34:05",
		"partner RECOVER_DONE>NORMAL 17:34:05",
		"local NORMAL>COMMUNICATION_INT 17:34:05",
		"local COMMUNICATION_INT>PARTNER_DOWN 17:34:09",
		"partner NORMAL>NORMAL 17:34:13", // the secondary restarted: re-entered NORMAL
		"partner NORMAL>RECOVER 17:34:13",
		"partner RECOVER>RECOVER_WAIT 17:34:13",
		"partner RECOVER_WAIT>RECOVER_DONE 17:35:05",
		"local PARTNER_DOWN>NORMAL 17:35:05",
		"partner RECOVER_DONE>NORMAL 17:35:05",
	}
	secondaryCycle = []string{
		"partner NORMAL>PARTNER_DOWN 17:34:13",
		"local NORMAL>RECOVER 17:34:05", // dhcpd kept the date of its previous state
		"local RECOVER>RECOVER_WAIT 17:34:05",
		"local RECOVER_WAIT>RECOVER_DONE 17:35:05",
		"partner PARTNER_DOWN>NORMAL 17:35:05",
		"local RECOVER_DONE>NORMAL 17:35:05",
	}
)

func TestLeasesReplayRecordByRecord(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
		role failover.Role
		mclt bool
	}{
		{"primary-fault-cycle.leases", primaryCycle, failover.RolePrimary, false},
		{"secondary-fault-cycle.leases", secondaryCycle, failover.RoleSecondary, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pieces := leasesFixture(t, tc.file)
			path := filepath.Join(t.TempDir(), "dhcpd.leases")
			appendFile(t, path, pieces[0])
			s := mustLeasesSource(t, path, nil)
			defer s.Close()
			rels := pollLeases(t, s)
			if len(rels) != 1 || len(rels[0].Transitions) != 0 || !rels[0].HasHistory {
				t.Fatalf("first read: %+v", rels)
			}
			var got []string
			for _, p := range pieces[1:] {
				appendFile(t, path, p)
				rels = pollLeases(t, s)
				got = append(got, transitionList(rels)...)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("transitions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			r := rels[0]
			if r.Name != "fo-lab" || r.Vendor != failover.VendorISC || r.Role != tc.role || r.MCLT.OK() != tc.mclt ||
				r.Local.State != failover.Normal || r.Local.Native != "normal" || !r.Local.Reported || !r.Partner.Reported {
				t.Fatalf("relationship %+v", r)
			}
			if ci, ok := r.CommunicationInterrupted.Get(); !ok || ci {
				t.Fatalf("communication interrupted %v %v", ci, ok)
			}
			if m, _ := r.MCLT.Get(); tc.mclt && m != time.Minute {
				t.Fatalf("mclt %v", m)
			}
			// Nothing appended: nothing new.
			if got := transitionList(pollLeases(t, s)); len(got) != 0 {
				t.Fatalf("counted again: %v", got)
			}
		})
	}
}

// All of a fault cycle appended between two polls is counted exactly, with
// the dates the records carry, however short each state lasted.
func TestLeasesCycleWithinOnePoll(t *testing.T) {
	pieces := leasesFixture(t, "primary-fault-cycle.leases")
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, pieces[0])
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)
	appendFile(t, path, bytes.Join(pieces[1:], nil))
	if got := transitionList(pollLeases(t, s)); strings.Join(got, "\n") != strings.Join(primaryCycle, "\n") {
		t.Fatalf("got %v", got)
	}
}

// The whole file read at start gives the current state, no transitions.
func TestLeasesStartGivesStateOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, bytes.Join(leasesFixture(t, "secondary-fault-cycle.leases"), nil))
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	rels := pollLeases(t, s)
	if len(rels) != 1 || len(rels[0].Transitions) != 0 || rels[0].Local.State != failover.Normal ||
		!rels[0].Local.StartTime.Equal(time.Date(2026, 11, 26, 17, 35, 5, 0, time.UTC)) {
		t.Fatalf("%+v", rels)
	}
}

func record(peer, my, myAt, partner, partnerAt string) []byte {
	return []byte(fmt.Sprintf("\nfailover peer %q state {\n  my state %s at 4 2026/11/26 %s;\n  partner state %s at 4 2026/11/26 %s;\n}\n",
		peer, my, myAt, partner, partnerAt))
}

const leaseBlocks = "lease 10.250.0.100 {\n  starts 4 2026/11/26 17:34:05;\n  binding state free;\n}\nlease 10.250.0.101 {\n  binding state backup;\n}\n"

// dhcpd's periodic rewrite (db.c new_lease_file): a new file holding the
// current state record and the leases, the old one linked to .leases~ and
// the new one renamed over the path. A record written to the old file just
// before is still counted, once; nothing of the new file's start is
// counted again; what is appended to the new file is.
func TestLeasesRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dhcpd.leases")
	normal := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
	ci := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
	pd := record("fo-lab", "partner-down", "17:20:00", "normal", "17:00:00")
	appendFile(t, path, append(append([]byte("authoring-byte-order little-endian;\n"), normal...), leaseBlocks...))
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)

	appendFile(t, path, ci) // not yet polled when the rewrite comes
	tmp := filepath.Join(dir, "dhcpd.leases.1795710000")
	appendFile(t, tmp, append(append(append([]byte("authoring-byte-order little-endian;\n"), ci...), `server-duid "\000";`+"\n"...), leaseBlocks...))
	if err := os.Link(path, path+"~"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00" {
		t.Fatalf("after rewrite: %v", got)
	}
	appendFile(t, path, pd)
	if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local COMMUNICATION_INT>PARTNER_DOWN 17:20:00" {
		t.Fatalf("after append: %v", got)
	}
	if got := transitionList(pollLeases(t, s)); len(got) != 0 {
		t.Fatalf("again: %v", got)
	}
}

// A replacing file that repeats the history (a copy of the old file with
// more appended) counts only what follows the last record already seen.
func TestLeasesReplacedByCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dhcpd.leases")
	a := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
	b := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
	c := record("fo-lab", "normal", "17:15:00", "normal", "17:15:00")
	appendFile(t, path, bytes.Join([][]byte{a, b, c, a, b}, nil))
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)
	tmp := filepath.Join(dir, "copy")
	appendFile(t, tmp, bytes.Join([][]byte{a, b, c, a, b, []byte(leaseBlocks), c}, nil))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local COMMUNICATION_INT>NORMAL 17:15:00,partner NORMAL>NORMAL 17:15:00" {
		t.Fatalf("got %v", got)
	}
}

func TestLeasesTruncation(t *testing.T) {
	for _, hole := range []bool{false, true} {
		t.Run(fmt.Sprintf("hole=%v", hole), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dhcpd.leases")
			normal := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
			ci := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
			old := append(append([]byte{}, normal...), leaseBlocks...)
			appendFile(t, path, old)
			s := mustLeasesSource(t, path, nil)
			defer s.Close()
			pollLeases(t, s)
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			if hole {
				// dhcpd's descriptor is not O_APPEND: its next write lands
				// at its old offset, after a hole of zeros.
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt(ci, int64(len(old))); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else {
				if got := transitionList(pollLeases(t, s)); len(got) != 0 {
					t.Fatalf("empty file: %v", got)
				}
				appendFile(t, path, append(append([]byte{}, normal...), ci...))
			}
			if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00" {
				t.Fatalf("got %v", got)
			}
		})
	}
}

// Rewritten in place to a different content of at least the old size: the
// bytes before the read offset changed, so the file is read from its start.
func TestLeasesRewrittenInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	normal := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
	ci := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
	appendFile(t, path, append(append([]byte{}, normal...), leaseBlocks...))
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)
	if err := os.WriteFile(path, append(append(append([]byte("# rewritten\n"), normal...), ci...), leaseBlocks...), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00" {
		t.Fatalf("got %v", got)
	}
}

func TestLeasesMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dhcpd.leases")
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	_, err := s.Poll(context.Background())
	if Classify(err) != ReasonNotFound {
		t.Fatalf("missing file: %v (%s)", err, Classify(err))
	}
	normal := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
	ci := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
	pd := record("fo-lab", "partner-down", "17:20:00", "normal", "17:00:00")
	appendFile(t, path, normal)
	if got := transitionList(pollLeases(t, s)); len(got) != 0 {
		t.Fatalf("first read: %v", got)
	}
	appendFile(t, path, ci)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Poll(context.Background()); Classify(err) != ReasonNotFound {
		t.Fatalf("removed file: %v", err)
	}
	appendFile(t, path, append(append([]byte{}, ci...), pd...))
	// ci was read from the removed file before giving up on it: counted
	// once; the new file repeats it, then adds pd.
	got := transitionList(pollLeases(t, s))
	if strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00,local COMMUNICATION_INT>PARTNER_DOWN 17:20:00" {
		t.Fatalf("got %v", got)
	}
}

func TestLeasesHalfWrittenRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	normal := record("fo-lab", "normal", "17:00:00", "normal", "17:00:00")
	ci := record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00")
	appendFile(t, path, normal)
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)
	for _, cut := range []int{10, 60, len(ci) - 3} {
		appendFile(t, path, ci[:cut])
		rels := pollLeases(t, s)
		if got := transitionList(rels); len(got) != 0 || rels[0].Local.State != failover.Normal {
			t.Fatalf("cut %d: %v %+v", cut, got, rels)
		}
		appendFile(t, path, ci[cut:])
		if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00" {
			t.Fatalf("cut %d: %v", cut, got)
		}
		appendFile(t, path, normal) // back, for the next round
		pollLeases(t, s)
	}
}

func TestLeasesFilter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, append(record("a", "normal", "17:00:00", "normal", "17:00:00"), record("b", "normal", "17:00:00", "normal", "17:00:00")...))
	s := mustLeasesSource(t, path, []string{"b"})
	defer s.Close()
	rels := pollLeases(t, s)
	if len(rels) != 1 || rels[0].Name != "b" {
		t.Fatalf("%+v", rels)
	}
	s2 := mustLeasesSource(t, path, []string{"b", "c"})
	defer s2.Close()
	if _, err := s2.Poll(context.Background()); Classify(err) != ReasonNotFound || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("%v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.leases")
	appendFile(t, empty, []byte(leaseBlocks))
	s3 := mustLeasesSource(t, empty, nil)
	defer s3.Close()
	if _, err := s3.Poll(context.Background()); Classify(err) != ReasonNotFound {
		t.Fatalf("%v", err)
	}
}

// A poll whose deadline has passed answers nothing and keeps its
// transitions for the next poll (the agent drops late answers).
func TestLeasesLatePollKeepsTransitions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, record("fo-lab", "normal", "17:00:00", "normal", "17:00:00"))
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	pollLeases(t, s)
	appendFile(t, path, record("fo-lab", "communications-interrupted", "17:10:00", "normal", "17:00:00"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Poll(ctx); Classify(err) != ReasonTimeout {
		t.Fatalf("%v", err)
	}
	if got := transitionList(pollLeases(t, s)); strings.Join(got, ",") != "local NORMAL>COMMUNICATION_INT 17:10:00" {
		t.Fatalf("got %v", got)
	}
}

// The agent counts exactly the transitions the records carry.
func TestLeasesCountedByAgentState(t *testing.T) {
	pieces := leasesFixture(t, "primary-fault-cycle.leases")
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, pieces[0])
	s := mustLeasesSource(t, path, nil)
	defer s.Close()
	ts := newTargetState("isc-a", time.Now())
	ts.observe(time.Now(), 0, pollLeases(t, s), nil)
	for i, p := range pieces[1:] {
		appendFile(t, path, p)
		if i%3 == 0 { // several records between some polls
			ts.observe(time.Now(), 0, pollLeases(t, s), nil)
		}
	}
	ts.observe(time.Now(), 0, pollLeases(t, s), nil)
	total := 0.0
	for _, v := range ts.rels["fo-lab"].transitions {
		total += v
	}
	if int(total) != len(primaryCycle) {
		t.Fatalf("agent counted %v transitions, want %d", total, len(primaryCycle))
	}
	if got := ts.rels["fo-lab"].transitions[transitionKey{false, failover.CommunicationInt, failover.PartnerDown}]; got != 1 {
		t.Fatalf("COMMUNICATION_INT>PARTNER_DOWN counted %v times", got)
	}
}

func TestLeasesSourceFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	appendFile(t, path, record("fo-lab", "normal", "17:00:00", "normal", "17:00:00"))
	cfg := fmt.Sprintf("targets:\n  - name: isc-a\n    source: leases\n    path: %s\n    relationships: [fo-lab]\n", path)
	c, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(c.Targets[0], log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer src.(Closer).Close()
	rels, err := src.Poll(context.Background())
	if err != nil || len(rels) != 1 || rels[0].Name != "fo-lab" {
		t.Fatalf("%+v %v", rels, err)
	}
}

func mustLeasesSource(t testing.TB, path string, relationships []string) *leasesSource {
	t.Helper()
	s, err := newLeasesSourceWith(path, relationships, nil, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
