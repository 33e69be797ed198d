package peer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
)

var updateCounts = flag.Bool("update-counts", false, "write the counts file of every capture in testdata/ that has none, from tshark")

// newCaptureHeaders says, for the captures recorded by
// integration/peer_captures_test.go, on which server each was taken.
var newCaptureHeaders = map[string]string{
	"isc-primary-midstream-sigstop-secondary.pcap":    "10.251.7.1",
	"isc-primary-midstream-kill-secondary-fresh.pcap": "10.251.7.1",
	"isc-primary-midstream-auto-partner-down.pcap":    "10.251.7.1",
	"isc-secondary-startup-sigstop-primary.pcap":      "10.251.7.2",
	"isc-secondary-midstream-sigterm-primary.pcap":    "10.251.7.2",
}

// TestTsharkCounts runs Wireshark's dissector over every capture in
// testdata/ and checks the counts recorded beside it are tshark's, per
// direction (TestFixtureCounts checks the tracker against the same file).
func TestTsharkCounts(t *testing.T) {
	testenv.NeedBinaries(t, "tshark")
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got, err := peertest.Tshark(path)
			if err != nil {
				t.Fatal(err)
			}
			states, err := peertest.TsharkStates(path)
			if err != nil {
				t.Fatal(err)
			}
			countsPath := strings.TrimSuffix(path, ".pcap") + ".counts.txt"
			if _, err := os.Stat(countsPath); os.IsNotExist(err) && *updateCounts {
				local, ok := newCaptureHeaders[filepath.Base(path)]
				if !ok {
					t.Fatalf("no local address known for %s", path)
				}
				header := "# local " + local + " (captured on this server's eth0; failover ports 647 on the primary, 847 on the secondary)\n"
				if err := os.WriteFile(countsPath, []byte(got.Format(filepath.Base(path), header, states)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := peertest.ReadCounts(countsPath)
			if err != nil {
				t.Fatal(err)
			}
			for dir, w := range want.Dirs {
				if g := got.Dirs[dir]; !mapsEqual(g, w) {
					t.Errorf("%s: tshark counts %v, the file %v", dir, g, w)
				}
			}
			for dir, g := range got.Dirs {
				if _, ok := want.Dirs[dir]; !ok {
					t.Errorf("%s: tshark counts %v, the file nothing", dir, g)
				}
			}
			e := readCounts(t, countsPath)
			if len(e.total) == 0 {
				t.Error("no TOTAL line")
			}
			// The STATE timeline beside the capture is tshark's too.
			for dir, sts := range states {
				var lines []string
				for _, st := range sts {
					lines = append(lines, fmt.Sprintf("time=%d state=%s stos=%d flags=%d", st.Time, stateName(st.Code), st.STOS, st.Flags))
				}
				if !slices.Equal(lines, e.states[dir]) {
					t.Errorf("%s: tshark's STATEs\n%q\nthe file's\n%q", dir, lines, e.states[dir])
				}
			}
			for dir := range e.states {
				if _, ok := states[dir]; !ok {
					t.Errorf("%s: STATEs in the file, none by tshark", dir)
				}
			}
		})
	}
}

func stateName(code uint8) string {
	if st, ok := failover.StateFromWire(code); ok {
		n, _ := st.ISCName()
		return n
	}
	return fmt.Sprintf("unknown(%d)", code)
}
