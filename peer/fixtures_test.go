package peer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// expected is what a fixture's counts.txt lists: per direction
// ("10.250.0.1:647->10.250.0.2:60361") the message counts by type and
// the STATE messages in order.
type expected struct {
	counts map[string]map[string]uint64
	states map[string][]string
	total  map[string]uint64
}

func readCounts(t *testing.T, path string) expected {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := expected{counts: map[string]map[string]uint64{}, states: map[string][]string{}, total: map[string]uint64{}}
	sc := bufio.NewScanner(f)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case line == "" || line[0] == '#':
		case strings.HasPrefix(line, "\tSTATE "):
			// STATE time=T from=A:P state=S stos=N flags=F
			kv := map[string]string{}
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				kv[k] = v
			}
			dir := last // the STATE lines follow their direction's line
			if !strings.HasPrefix(dir, kv["from"]+"->") {
				t.Fatalf("%s: STATE from %s under %s", path, kv["from"], dir)
			}
			e.states[dir] = append(e.states[dir], fmt.Sprintf("time=%s state=%s stos=%s flags=%s", kv["time"], kv["state"], kv["stos"], kv["flags"]))
		case fields[0] == "TOTAL":
			for _, f := range fields[1:] {
				var n uint64
				k, v, _ := strings.Cut(f, "=")
				fmt.Sscan(v, &n)
				e.total[k] = n
			}
		case fields[0] == "TSHARK":
		default:
			c := map[string]uint64{}
			for _, f := range fields[2:] {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k == "messages" || k == "trailing_bytes" || k == "complete_from_syn" {
					continue
				}
				var n uint64
				fmt.Sscan(v, &n)
				c[k] = n
			}
			e.counts[fields[1]] = c
			last = fields[1]
		}
	}
	return e
}

// observed collects the same from a Tracker run.
func observe(t *testing.T, path string) (expected, *Tracker) {
	t.Helper()
	o := expected{counts: map[string]map[string]uint64{}, states: map[string][]string{}, total: map[string]uint64{}}
	tr, err := ReadFile(path, Options{OnMessage: func(c *Conn, from int, ts time.Time, m *failover.Message) {
		dir := c.Ends[from].String() + "->" + c.Ends[Other(from)].String()
		if o.counts[dir] == nil {
			o.counts[dir] = map[string]uint64{}
		}
		o.counts[dir][m.Type.String()]++
		o.total[m.Type.String()]++
		if m.Type == failover.MsgState {
			code, _ := m.ServerStateCode()
			st, _ := failover.StateFromWire(code)
			name, _ := st.ISCName()
			flags, _ := m.ServerFlags()
			stos, _ := m.U32(failover.OptStartTimeOfState)
			o.states[dir] = append(o.states[dir], fmt.Sprintf("time=%d state=%s stos=%d flags=%d", m.Time, name, stos, flags))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return o, tr
}

func fixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

// fixtureReports analyzes every real capture.
func fixtureReports(t *testing.T) []*Report {
	t.Helper()
	var reports []*Report
	for _, path := range fixtures(t) {
		c, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Analyze(context.Background(), c, AnalyzeOptions{})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	return reports
}

// TestFixtureCounts checks every real capture of an ISC pair against the
// counts listed beside it (the same as Wireshark's dissector gives).
func TestFixtureCounts(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := readCounts(t, strings.TrimSuffix(path, ".pcap")+".counts.txt")
			got, tr := observe(t, path)
			for dir, w := range want.counts {
				if g := got.counts[dir]; !mapsEqual(g, w) {
					t.Errorf("%s: counts %v, want %v", dir, g, w)
				}
			}
			for dir, g := range got.counts {
				if _, ok := want.counts[dir]; !ok {
					t.Errorf("%s: unexpected messages %v", dir, g)
				}
			}
			if !mapsEqual(got.total, want.total) {
				t.Errorf("total %v, want %v", got.total, want.total)
			}
			for dir, w := range want.states {
				if g := got.states[dir]; !slices.Equal(g, w) {
					t.Errorf("%s: STATE timeline\n got %q\nwant %q", dir, g, w)
				}
			}
			if s := tr.Stats(); s.BadDecodes != 0 {
				t.Errorf("stats %+v", s)
			}
			for _, c := range tr.Conns() {
				for i := range c.Ends {
					if holes, skipped := c.Gaps(i); holes != 0 || skipped != 0 {
						t.Errorf("conn %d %s: %d holes, %d bytes skipped", c.ID, c.Ends[i], holes, skipped)
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPcapng: the same capture as pcapng (converted with editcap) gives
// the same messages.
func TestPcapng(t *testing.T) {
	a, _ := observe(t, "testdata/isc-startup.pcap")
	b, _ := observe(t, "testdata/isc-startup.pcapng")
	if !mapsEqual(a.total, b.total) || len(b.total) == 0 {
		t.Errorf("pcapng %v, pcap %v", b.total, a.total)
	}
	for dir, s := range a.states {
		if !slices.Equal(s, b.states[dir]) {
			t.Errorf("%s: states differ", dir)
		}
	}
	if _, err := NewFileCapture(strings.NewReader("not a capture")); !errors.Is(err, ErrNotCapture) {
		t.Errorf("not a capture: %v", err)
	}
	// A file cut inside a packet: what was read counts, the error says so.
	full, err := os.ReadFile("testdata/isc-startup.pcap")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewFileCapture(bytes.NewReader(full[:len(full)/2]))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(Options{})
	if err := Replay(context.Background(), c, tr); !errors.Is(err, ErrCaptureTrunc) || tr.Stats().Messages == 0 {
		t.Errorf("truncated file: %v, %+v", err, tr.Stats())
	}
}
