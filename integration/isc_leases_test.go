package integration

// The fault cycle of TestISCPair for the leases source: the secondary is killed,
// the primary is put in PARTNER_DOWN, the secondary restarts and the pair
// goes back to NORMAL. The exporter follows both dhcpd.leases files; the
// transitions it counts must be exactly those the records written since it
// started say, on both servers (the secondary's file is rewritten at its
// restart: new inode, old one linked to dhcpd.leases~).

import (
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
)

// leasesMark is where a leases file stood once the exporter had read it.
type leasesMark struct {
	fi   os.FileInfo
	size int64
	last leases.Record
}

func markLeases(t *testing.T, path string) leasesMark {
	t.Helper()
	b, fi := readLeases(t, path)
	recs := readRecords(t, b, path)
	if len(recs) == 0 {
		t.Fatalf("%s: no failover record", path)
	}
	return leasesMark{fi: fi, size: int64(len(b)), last: recs[len(recs)-1]}
}

// readLeases returns a leases file's content and what it was (inode).
func readLeases(t *testing.T, path string) ([]byte, os.FileInfo) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return b, fi
}

func readRecords(t *testing.T, b []byte, name string) []leases.Record {
	t.Helper()
	var p leases.Parser
	recs, err := p.Feed(nil, b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []leases.Record
	for _, r := range recs {
		if r.Peer == iscRelationship {
			out = append(out, r)
		}
	}
	return out
}

// recordsSince returns the records written to the file at path since m:
// those appended to the marked inode (found under path, or under path~
// once dhcpd rewrote the file), then all those of the file that replaced
// it.
func recordsSince(t *testing.T, path string, m leasesMark) []leases.Record {
	t.Helper()
	cur, curFI := readLeases(t, path)
	if os.SameFile(curFI, m.fi) {
		return readRecords(t, cur[m.size:], path)
	}
	old, oldFI := readLeases(t, path+"~")
	if !os.SameFile(oldFI, m.fi) {
		t.Fatalf("%s was rewritten more than once during the test: cannot tell its history", path)
	}
	t.Logf("%s was rewritten by dhcpd (new inode, the old one is %s~)", path, path)
	return append(readRecords(t, old[m.size:], path+"~"), readRecords(t, cur, path)...)
}

// expectTransitions applies docs/isc-leases.md's rule to a record
// sequence: per side, a different state is from→to, the same state with a
// later date is X→X, identical records count nothing.
func expectTransitions(base leases.Record, recs []leases.Record) (map[string]int, []string) {
	want := map[string]int{}
	var seq []string
	last := base
	for _, r := range recs {
		for _, s := range []struct {
			side     string
			old, new leases.Side
		}{{"local", last.My, r.My}, {"partner", last.Partner, r.Partner}} {
			if s.old.State != s.new.State || !s.old.Since.IsZero() && s.new.Since.After(s.old.Since) {
				k := s.side + " " + s.old.State.String() + ">" + s.new.State.String()
				want[k]++
				seq = append(seq, k+" at "+s.new.Since.Format(time.TimeOnly))
			}
		}
		last = r
	}
	return want, seq
}

// countedTransitions reads dhcp_failover_state_transitions_total of one
// target from a scrape, as "side FROM>TO" → value (zeros left out).
func countedTransitions(m metrics, target string) map[string]int {
	got := map[string]int{}
	for k, v := range m {
		if !strings.HasPrefix(k, "dhcp_failover_state_transitions_total{") || !strings.Contains(k, `target="`+target+`"`) || v == 0 {
			continue
		}
		got[label(k, "side")+" "+label(k, "from")+">"+label(k, "to")] += int(v)
	}
	return got
}

func formatCounts(m map[string]int) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// waitLocalState waits until n's OMAPI local-state is code.
func (p *iscPair) waitLocalState(n *iscNode, code uint32, timeout time.Duration) {
	p.t.Helper()
	waitFor(p.t, timeout, fmt.Sprintf("%s local=%d", n.Host.NS, code), func() error {
		fs, err := p.State(n)
		if err != nil {
			return err
		}
		if fs.Local.Code != code {
			return fmt.Errorf("local=%d", fs.Local.Code)
		}
		return nil
	})
}

func TestISCLeasesRestartSecondary(t *testing.T) {
	p := startISCPair(t, iscOptions{})
	extra := ""
	for _, tg := range []struct {
		name string
		n    *iscNode
	}{{"leases-a", p.Primary}, {"leases-b", p.Secondary}} {
		extra += fmt.Sprintf("  - name: %s\n    source: leases\n    path: %s\n    relationships: [%s]\n    poll_interval: 1s\n    timeout: 800ms\n",
			tg.name, tg.n.LeasesPath, iscRelationship)
	}
	e := p.StartExporter(p.ExporterConfig(extra))
	for _, tg := range []string{"leases-a", "leases-b"} {
		for _, side := range []string{"local", "partner"} {
			e.WaitMetric(series("dhcp_failover_state", "target", tg, "relationship", iscRelationship, "side", side, "state", "NORMAL"), 1, 15*time.Second)
		}
	}
	m, _ := e.Scrape()
	if got := m.Get(series("dhcp_failover_relationship_info", "target", "leases-b", "relationship", iscRelationship,
		"vendor", "isc", "role", "secondary", "mode", "")); got != 1 {
		t.Errorf("leases-b is not reported as the secondary (%v)", got)
	}
	if got := m.Get(series("dhcp_failover_mclt_seconds", "target", "leases-b", "relationship", iscRelationship)); got != p.Opts.MCLT.Seconds() {
		t.Errorf("leases-b mclt %v, want %v", got, p.Opts.MCLT.Seconds())
	}
	// The pair is stable: what the files hold now is what the exporter
	// read at its start.
	markA, markB := markLeases(t, p.Primary.LeasesPath), markLeases(t, p.Secondary.LeasesPath)

	p.KillNode(p.Secondary)
	p.waitLocalState(p.Primary, 3, 15*time.Second) // communications-interrupted
	p.SetLocalState(p.Primary, 4)                  // partner-down, as an operator does
	p.waitLocalState(p.Primary, 4, 15*time.Second)
	p.StartNode(p.Secondary)
	// RECOVER_WAIT lasts up to one MCLT.
	p.WaitStates(p.Secondary, 2, 2, 4*p.Opts.MCLT+30*time.Second)
	p.WaitStates(p.Primary, 2, 2, 30*time.Second)

	for _, tc := range []struct {
		target string
		n      *iscNode
		mark   leasesMark
		must   []string
	}{
		{"leases-a", p.Primary, markA, []string{"local NORMAL>COMMUNICATION_INT", "local COMMUNICATION_INT>PARTNER_DOWN"}},
		{"leases-b", p.Secondary, markB, []string{"partner NORMAL>PARTNER_DOWN"}},
	} {
		recs := recordsSince(t, tc.n.LeasesPath, tc.mark)
		want, seq := expectTransitions(tc.mark.last, recs)
		t.Logf("%s: %d records since the exporter started:\n  %s", tc.target, len(recs), strings.Join(seq, "\n  "))
		for _, k := range tc.must {
			if want[k] != 1 {
				t.Errorf("%s: the records do not show %s once (%s)", tc.target, k, formatCounts(want))
			}
		}
		backToNormal := 0
		for k, v := range want {
			if strings.HasPrefix(k, "local ") && strings.HasSuffix(k, ">NORMAL") {
				backToNormal += v
			}
		}
		if backToNormal == 0 {
			t.Errorf("%s: the records show no return of the local side to NORMAL", tc.target)
		}
		var got map[string]int
		waitFor(t, 10*time.Second, tc.target+" transitions equal to its records", func() error {
			m, _ := e.Scrape()
			if up := m.Get(series("dhcp_failover_up", "target", tc.target)); up != 1 {
				return fmt.Errorf("up=%v", up)
			}
			got = countedTransitions(m, tc.target)
			if !maps.Equal(got, want) {
				return fmt.Errorf("counted %s; records say %s", formatCounts(got), formatCounts(want))
			}
			return nil
		})
		if s := e.Proc.Log(); strings.Contains(s, "Damaged statements") {
			t.Errorf("the exporter found damaged statements in a leases file written by dhcpd:\n%s", s)
		}
	}
	// Counted once: nothing more shows up later.
	time.Sleep(2500 * time.Millisecond)
	m, _ = e.Scrape()
	for _, tc := range []struct {
		target string
		mark   leasesMark
		n      *iscNode
	}{{"leases-a", markA, p.Primary}, {"leases-b", markB, p.Secondary}} {
		want, _ := expectTransitions(tc.mark.last, recordsSince(t, tc.n.LeasesPath, tc.mark))
		if got := countedTransitions(m, tc.target); !maps.Equal(got, want) {
			t.Errorf("%s later: counted %s; records say %s", tc.target, formatCounts(got), formatCounts(want))
		}
	}
}
