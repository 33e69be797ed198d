package leases

import (
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// countByHand is the reference: the last `binding state` of each lease
// block in the file, counted with a regular expression, not the Parser.
func countByHand(t testing.TB, b []byte) map[string]string {
	t.Helper()
	lease := regexp.MustCompile(`(?ms)^lease ([0-9.]+) \{(.*?)^\}`)
	state := regexp.MustCompile(`(?m)^  binding state ([a-z]+);`)
	out := map[string]string{}
	for _, m := range lease.FindAllSubmatch(b, -1) {
		if s := state.FindSubmatch(m[2]); s != nil {
			out[string(m[1])] = string(s[1])
		}
	}
	return out
}

func labPools(t testing.TB) []Pool {
	pools, err := ReadDHCPDConf("testdata/conf/dhcpd-primary.conf")
	if err != nil {
		t.Fatal(err)
	}
	return pools
}

func TestTableFixtures(t *testing.T) {
	for _, file := range []string{"primary-fault-cycle.leases", "secondary-fault-cycle.leases"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{}
			for _, st := range countByHand(t, b) {
				want[st]++
			}
			for _, piece := range []int{1, 7, 64 << 10} {
				tab, err := NewTable(labPools(t))
				if err != nil {
					t.Fatal(err)
				}
				p := Parser{Bindings: tab}
				for off := 0; off < len(b); off += piece {
					if _, err := p.Feed(nil, b[off:min(off+piece, len(b))]); err != nil {
						t.Fatal(err)
					}
				}
				c := tab.Counts()
				if len(c) != 1 || c[0].Pool == nil {
					t.Fatalf("counts %+v: want only the lab's pool", c)
				}
				total := 0
				for _, st := range BindingStates() {
					if c[0].Counts[st] != want[st.String()] {
						t.Errorf("piece %d: %s: %d, want %d", piece, st, c[0].Counts[st], want[st.String()])
					}
					total += c[0].Counts[st]
				}
				if total != 100 || tab.Addresses() != 100 {
					t.Errorf("piece %d: %d addresses counted, %d kept, want the pool's 100", piece, total, tab.Addresses())
				}
			}
		})
	}
}

func TestTableOtherAndNewest(t *testing.T) {
	tab, err := NewTable([]Pool{{Peer: "p", Ranges: []Range{mustRange(t, "10.0.0.10-10.0.0.19")}}})
	if err != nil {
		t.Fatal(err)
	}
	p := Parser{Bindings: tab}
	file := "lease 10.0.0.10 {\n  binding state free;\n}\n" +
		"lease 10.0.0.11 {\n  starts 4 2026/11/26 17:34:05;\n  binding state active;\n  next binding state expired;\n  rewind binding state free;\n  client-hostname \"binding state backup;\";\n}\n" +
		"lease 10.0.0.10 {\n  # binding state reset;\n  on expiry { set x = \"y\"; }\n  binding state backup;\n}\n" +
		"lease 192.0.2.1 {\n  binding state abandoned;\n}\n" +
		"lease 10.0.0.12 { binding state bogus; }\n" +
		"lease 10.0.0.300 { binding state free; }\n" +
		"lease 10.0.0.13 { starts 4 2026/11/26 17:34:05; }\n"
	_, err = p.Feed(nil, []byte(file))
	if err == nil || !strings.Contains(err.Error(), "unknown binding state") || !strings.Contains(err.Error(), "not an IPv4 address") ||
		!strings.Contains(err.Error(), "without a binding state") {
		t.Errorf("damaged leases: %v", err)
	}
	c := tab.Counts()
	if len(c) != 2 || c[1].Pool != nil {
		t.Fatalf("%+v", c)
	}
	if c[0].Counts[BindingBackup] != 1 || c[0].Counts[BindingActive] != 1 || c[0].Counts[BindingFree] != 0 {
		t.Errorf("pool counts %v", c[0].Counts)
	}
	if c[1].Counts[BindingAbandoned] != 1 {
		t.Errorf("other counts %v", c[1].Counts)
	}
	if o := c[0].Observation(true); o.Name != "10.0.0.10-10.0.0.19" || o.LocalFree != failover.Some(1) || o.Size != failover.Some(10) {
		t.Errorf("secondary observation %+v", o)
	}
	tab.pools[0].Subnet, tab.pools[0].SharedNetwork = "10.0.0.0/24", "lab"
	if o := c[0].Observation(false); o.LocalFree != failover.Some(0) || o.Subnet != "10.0.0.0/24" || o.SharedNetwork != "lab" {
		t.Errorf("primary observation %+v", o)
	}
	if o := c[1].Observation(false); o.Name != "other" || o.LocalFree.OK() || o.Size.OK() {
		t.Errorf("other observation %+v", o)
	}
}

func mustRange(t testing.TB, s string) Range {
	r, err := ParseRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewTableErrors(t *testing.T) {
	a := mustRange(t, "10.0.0.1-10.0.0.10")
	b := mustRange(t, "10.0.0.10-10.0.0.20")
	if _, err := NewTable([]Pool{{Ranges: []Range{a}}, {Ranges: []Range{b}}}); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlap: %v", err)
	}
	if _, err := NewTable([]Pool{{Ranges: []Range{{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")}}}}); err == nil {
		t.Error("reversed range accepted")
	}
	for _, s := range []string{"10.0.0.2-10.0.0.1", "x", "2001:db8::1-2001:db8::2", ""} {
		if _, err := ParseRange(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseIPv4(t *testing.T) {
	for s, ok := range map[string]bool{"10.0.0.1": true, "255.255.255.255": true, "0.0.0.0": true,
		"256.0.0.1": false, "1.2.3": false, "1.2.3.4.": false, "1..2.3": false, "0001.2.3.4": false, "": false} {
		v, got := parseIPv4([]byte(s))
		if got != ok {
			t.Errorf("%q: %v", s, got)
		}
		if ok && addr4(v).String() != s {
			t.Errorf("%q: %v", s, addr4(v))
		}
	}
}
