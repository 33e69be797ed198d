package collector

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
	"github.com/go-kit/log"
)

// The captures of the peer package's testdata: real ISC pairs, each with
// the counts Wireshark's dissector gives beside it.
const peerCaptures = "../peer/testdata"

// heldPeer renders a peer source whose lock the caller holds (the test
// hook runs inside the packet path).
type heldPeer struct{ s *peerSource }

func (h heldPeer) WriteMetrics(w *MetricWriter) { h.s.collect(w) }

// gatherSeries gathers the metrics of ms (for target "tap", checked as a
// scrape would) into "name{labels}" → value.
func gatherSeries(t *testing.T, ms MetricsSource) map[string]float64 {
	t.Helper()
	mfs, err := sourceGatherer("tap", ms).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

// peerCounterSums sums dhcp_failover_peer_messages_total over the
// relationships, by direction and message.
func peerCounterSums(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for series, v := range m {
		if !strings.HasPrefix(series, "dhcp_failover_peer_messages_total{") {
			continue
		}
		out[label(series, "direction")+" "+label(series, "message")] += v
	}
	return out
}

// label returns the value of label name in a "name{a="x",...}" series.
func label(series, name string) string {
	_, rest, _ := strings.Cut(series, name+`="`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// TestPeerSourceCountsMatchTshark replays every capture of the peer
// package through `source: peer` as the tap of the server it was taken
// on, scraping after every tenth message, and checks that
//   - dhcp_failover_peer_messages_total summed over relationships equals
//     tshark's count of the partners' messages, per direction and type
//     (tshark runs here when installed, else the counts recorded beside
//     the capture, written by tshark, stand in);
//   - no counter sample ever goes down during the replay, also summed
//     over relationships (a conversation first unnamed, then named).
func TestPeerSourceCountsMatchTshark(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(peerCaptures, "*.pcap"))
	if err != nil || len(files) < 9 {
		t.Fatalf("captures: %v %v", files, err)
	}
	_, tsharkErr := exec.LookPath("tshark")
	if tsharkErr != nil && testenv.Required() {
		t.Fatal("tshark is not on PATH but DFE_REQUIRE_INTEGRATION is set (install the Debian package tshark)")
	}
	for _, path := range files {
		var tshark *peertest.Counts
		for _, relationship := range []string{"", "fo-configured"} {
			t.Run(filepath.Base(path)+"/relationship="+relationship, func(t *testing.T) {
				want, err := peertest.ReadCounts(strings.TrimSuffix(path, ".pcap") + ".counts.txt")
				if err != nil {
					t.Fatal(err)
				}
				if tsharkErr == nil {
					if tshark == nil {
						got, err := peertest.Tshark(path)
						if err != nil {
							t.Fatal(err)
						}
						tshark = &got
					}
					local, strangers := want.Local, want.Strangers
					want = *tshark
					want.Local, want.Strangers = local, strangers
				}
				sent, received := want.Sum()
				src, err := NewSource(peerTarget(t, path, want.Local.String(), relationship), log.NewNopLogger())
				if err != nil {
					t.Fatal(err)
				}
				defer closeSource(src)
				s := src.(*peerSource)
				var samples []map[string]float64
				n := 0
				s.hook = func(where string) {
					if n++; where == "message" && n%10 == 0 {
						samples = append(samples, gatherSeries(t, heldPeer{s}))
					}
				}
				if _, err := src.Poll(t.Context()); err != nil {
					t.Fatal(err)
				}
				s.mu.Lock()
				s.hook = nil
				s.mu.Unlock()
				final := gatherSeries(t, s)
				samples = append(samples, final)

				sums := peerCounterSums(final)
				for _, mt := range failover.MessageTypes() {
					for dir, w := range map[string]uint64{"sent": sent[mt.String()], "received": received[mt.String()]} {
						if g := sums[dir+" "+mt.String()]; g != float64(w) {
							t.Errorf("%s %s: the tap counts %v, tshark %d", dir, mt, g, w)
						}
					}
				}
				checkMonotone(t, samples)
				if t.Failed() {
					t.Logf("final series:\n%s", formatSeries(final, "dhcp_failover_peer_"))
				}
			})
		}
	}
}

// checkMonotone: every counter series, and every per-type sum over
// relationships, never goes down from one sample to the next.
func checkMonotone(t *testing.T, samples []map[string]float64) {
	t.Helper()
	last := map[string]float64{}
	for i, m := range samples {
		cur := map[string]float64{}
		for series, v := range m {
			if name, _, _ := strings.Cut(series, "{"); strings.HasSuffix(name, "_total") {
				cur[series] = v
			}
		}
		for k, v := range peerCounterSums(m) {
			cur["sum "+k] = v
		}
		for k, v := range cur {
			if p, ok := last[k]; ok && v < p {
				t.Errorf("sample %d: %s went down from %v to %v", i, k, p, v)
			}
			last[k] = v
		}
	}
}

func formatSeries(m map[string]float64, prefix string) string {
	var lines []string
	for k, v := range m {
		if strings.HasPrefix(k, prefix) && v != 0 {
			lines = append(lines, fmt.Sprintf("  %s %v", k, v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestPeerSourceUnansweredReplay replays the primary's capture of a
// secondary stopped with SIGSTOP (its kernel still accepts TCP): the
// primary's CONTACTs go unanswered, it drops the connection after
// max-response-delay (5 s), and 5 s later sends CONNECT on a new one that
// the stopped secondary never answers. The unanswered time grows past the
// primary's own timers while it waits, and falls to 0 once the secondary,
// continued, speaks again.
func TestPeerSourceUnansweredReplay(t *testing.T) {
	path := filepath.Join(peerCaptures, "isc-primary-midstream-sigstop-secondary.pcap")
	src, err := NewSource(peerTarget(t, path, "10.251.7.1", ""), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	s := src.(*peerSource)
	const gauge = `dhcp_failover_peer_unanswered_seconds{relationship="fo-test",target="tap"}`
	var most float64
	s.hook = func(string) {
		m := gatherSeries(t, heldPeer{s})
		most = max(most, m[gauge], m[`dhcp_failover_peer_unanswered_seconds{relationship="unknown",target="tap"}`])
	}
	if _, err := src.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.hook = nil
	s.mu.Unlock()
	m := gatherSeries(t, s)
	// From the first unanswered CONTACT (3.06 s into the capture) to the
	// CONNECT of 12.07 s, and on while that connection stays open (to
	// 16.99 s, when the continued secondary closes it).
	if most < 9 || most > 14.5 {
		t.Errorf("the longest unanswered time seen is %v s, want 9..14.5", most)
	}
	if v, ok := m[gauge]; !ok || v != 0 {
		t.Errorf("%s = %v (present %v) after the secondary answered, want 0", gauge, v, ok)
	}
	if v := m[`dhcp_failover_peer_unanswered_connects_total{relationship="fo-test",target="tap"}`]; v != 2 {
		t.Errorf("unanswered CONNECTs %v, want 2", v)
	}
	if v := m[`dhcp_failover_peer_connection_up{local_address="10.251.7.1",partner_address="10.251.7.2",relationship="fo-test",target="tap"}`]; v != 1 {
		t.Errorf("connection_up %v at the end", v)
	}
}

// TestPeerSourceUnansweredSecondary: the secondary's view of a stopped
// primary. ISC's secondary sends no CONNECT: it opens a connection to the
// primary's port (the stopped primary's kernel accepts it) and waits for
// the primary's CONNECT; the wait counts from its first unanswered
// CONTACT through that connection until the continued primary speaks.
func TestPeerSourceUnansweredSecondary(t *testing.T) {
	path := filepath.Join(peerCaptures, "isc-secondary-startup-sigstop-primary.pcap")
	src, err := NewSource(peerTarget(t, path, "10.251.7.2", ""), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	s := src.(*peerSource)
	const gauge = `dhcp_failover_peer_unanswered_seconds{relationship="fo-test",target="tap"}`
	var most float64
	s.hook = func(string) { most = max(most, gatherSeries(t, heldPeer{s})[gauge]) }
	if _, err := src.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.hook = nil
	s.mu.Unlock()
	m := gatherSeries(t, s)
	if most < 8 || most > 14.5 {
		t.Errorf("the longest unanswered time seen is %v s, want 8..14.5", most)
	}
	if v, ok := m[gauge]; !ok || v != 0 {
		t.Errorf("%s = %v (present %v) after the primary answered, want 0", gauge, v, ok)
	}
}
