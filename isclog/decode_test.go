package isclog

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
)

func TestParseLine(t *testing.T) {
	nak := func(a string) netip.Addr { return netip.MustParseAddr(a) }
	for _, tc := range []struct {
		line string
		want Event
		ok   bool
	}{
		{"Nov 26 17:31:02 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:02:01 via eth0: network 10.250.0.0/24: no free leases", Event{Reason: failover.RefusedPoolExhausted, Network: "10.250.0.0/24", Via: "eth0"}, true},
		{"DHCPDISCOVER from 02:fa:00:00:02:02 (host-b) via 10.20.1.1: network campus: no free leases\r", Event{Reason: failover.RefusedPoolExhausted, Network: "campus", Via: "10.20.1.1"}, true},
		// A hostname is the client's: the network is what dhcpd wrote last.
		{"x dhcpd: DHCPDISCOVER from 02:01 (a via eth9: network campus: b) via eth0: network lab net: no free leases", Event{Reason: failover.RefusedPoolExhausted, Network: "lab net", Via: "eth0"}, true},
		{"x dhcpd: DHCPDISCOVER from <no identifier> via eth0: network n: no free leases", Event{Reason: failover.RefusedPoolExhausted, Network: "n", Via: "eth0"}, true},
		{"x dhcpd: DHCPDISCOVER from 02:fa:00:00:02:03 via 10.20.1.1: peer holds all free leases", Event{Reason: failover.RefusedPartnerHoldsFree, Via: "10.20.1.1"}, true},
		{"x dhcpd: DHCP4o6 DHCPDISCOVER from 02:fa (h) via fe80::1: peer holds all free leases", Event{Reason: failover.RefusedPartnerHoldsFree, Via: "fe80::1"}, true},
		{"x dhcpd: DHCPNAK on 10.20.2.9 to 02:fa:00:00:02:06 via 10.20.1.1", Event{Reason: failover.RefusedNAK, Addr: nak("10.20.2.9"), Via: "10.20.1.1"}, true},
		{"x dhcpd: DHCPNAK on 10.20.2.9 to  via eth0", Event{Reason: failover.RefusedNAK, Addr: nak("10.20.2.9"), Via: "eth0"}, true},
		{"DHCP4o6 DHCPNAK on 10.250.0.20 to 02:fa via fe80::1", Event{Reason: failover.RefusedNAK, Addr: nak("10.250.0.20"), Via: "fe80::1"}, true},
		// Not refusals.
		{"x dhcpd: DHCPDISCOVER from 02:fa via eth0: cancel load balance to peer fo-lab - no free leases", Event{}, false},
		{"x dhcpd: DHCPDISCOVER from 02:fa via eth0: load balance to peer fo-lab", Event{}, false},
		{"x dhcpd: DHCPOFFER on 10.250.0.150 to 02:fa via eth0", Event{}, false},
		{"x dhclient: DHCPNAK from 10.250.0.1 (xid=0x1)", Event{}, false},
		{"x dhcpd: DHCPNAK on 10.20.2.9", Event{}, false},
		{"x dhcpd: DHCPNAK on fe80::1 to 02 via eth0", Event{}, false},
		{"x dhcpd: DHCPNAK on 10.0.0.1 to 02 via eth0 and more", Event{}, false},
		{"x dhcpd: XDHCPDISCOVER from 02 via eth0: network n: no free leases", Event{}, false},
		{"x dhcpd: DHCPDISCOVER from 02 via eth0: network : no free leases", Event{}, false},
		{"x dhcpd: DHCPDISCOVER from 02: network n: no free leases", Event{}, false},
		{"no free leases", Event{}, false},
		{": no free leases", Event{}, false},
		{"", Event{}, false},
		{"DHCPDISCOVER from " + strings.Repeat("a", MaxLine) + " via eth0: network n: no free leases", Event{}, false},
	} {
		got, ok := ParseLine([]byte(tc.line))
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseIPv4(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"10.20.2.9", true}, {"0.0.0.0", true}, {"255.255.255.255", true},
		{"256.1.1.1", false}, {"01.1.1.1", false}, {"1.1.1", false}, {"1.1.1.1.", false},
		{"1.1.1.1.1", false}, {"", false}, {"1..1.1", false}, {"1.1.1.1234", false}, {"a.b.c.d", false},
	} {
		a, ok := parseIPv4([]byte(tc.in))
		if ok != tc.ok || ok && a.String() != tc.in {
			t.Errorf("parseIPv4(%q) = %v, %v", tc.in, a, ok)
		}
	}
}

// TestRealPairLines: the refusal lines a real dhcpd 4.4 pair wrote in the
// integration test (testdata/dhcpd-4.4-pair.log) all parse.
func TestRealPairLines(t *testing.T) {
	b, err := os.ReadFile("testdata/dhcpd-4.4-pair.log")
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetworks([]leases.Subnet{{Prefix: netip.MustParsePrefix("10.251.7.0/24"), SharedNetwork: "10.251.7.0/24"}})
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		ev, ok := ParseLine([]byte(l))
		if !ok || ev.Via != "eth0" {
			t.Errorf("%q: %+v, %v", l, ev, ok)
			continue
		}
		want := Place{SharedNetwork: "10.251.7.0/24"}
		if ev.Reason == failover.RefusedNAK {
			want.Subnet = "10.251.7.0/24"
		}
		if p := n.Place(ev); p != want {
			t.Errorf("%q placed at %+v", l, p)
		}
	}
}

func testNetworks(t testing.TB) *Networks {
	t.Helper()
	b, err := os.ReadFile("testdata/dhcpd.conf")
	if err != nil {
		t.Fatal(err)
	}
	_, subnets, err := leases.ParseDHCPDConfSubnets(b)
	if err != nil {
		t.Fatal(err)
	}
	return NewNetworks(subnets)
}

func refusalMap(rs []failover.Refusal) map[string]float64 {
	m := map[string]float64{}
	for _, r := range rs {
		m[r.SharedNetwork+"|"+r.Subnet+"|"+string(r.Reason)] = r.Count
	}
	return m
}

// TestCounterSyslog counts the refusals of a syslog file over the
// networks of its dhcpd.conf: every place of the configuration is there
// from the start, refusals elsewhere go to the whole server.
func TestCounterSyslog(t *testing.T) {
	c := NewCounter(testNetworks(t))
	zero := refusalMap(c.Refusals())
	want0 := map[string]float64{
		"||pool_exhausted": 0, "||partner_holds_free": 0, "||nak": 0,
		"10.250.0.0/24||pool_exhausted": 0, "10.250.0.0/24||partner_holds_free": 0, "10.250.0.0/24|10.250.0.0/24|nak": 0,
		"campus||pool_exhausted": 0, "campus||partner_holds_free": 0, "campus|10.20.1.0/24|nak": 0, "campus|10.20.2.0/24|nak": 0,
	}
	if !mapsEqual(zero, want0) {
		t.Fatalf("initial counters %v, want %v", zero, want0)
	}
	b, err := os.ReadFile("testdata/syslog.log")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		if c.Line(sc.Bytes()) {
			n++
		}
	}
	want := map[string]float64{
		"||pool_exhausted": 1, "||partner_holds_free": 1, "||nak": 1,
		"10.250.0.0/24||pool_exhausted": 3, "10.250.0.0/24||partner_holds_free": 0, "10.250.0.0/24|10.250.0.0/24|nak": 1,
		"campus||pool_exhausted": 1, "campus||partner_holds_free": 1, "campus|10.20.1.0/24|nak": 0, "campus|10.20.2.0/24|nak": 1,
	}
	if got := refusalMap(c.Refusals()); !mapsEqual(got, want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	if n != 10 {
		t.Errorf("%d refusals, want 10", n)
	}
}

// TestNetworksSingle: with one network in the configuration, a refusal
// that names none (peer holds all free leases, via an interface) is that
// network's.
func TestNetworksSingle(t *testing.T) {
	n := NewNetworks([]leases.Subnet{{Prefix: netip.MustParsePrefix("10.250.0.0/24"), SharedNetwork: "10.250.0.0/24"}})
	ev, _ := ParseLine([]byte("DHCPDISCOVER from 02:fa via eth0: peer holds all free leases"))
	if p := n.Place(ev); p != (Place{SharedNetwork: "10.250.0.0/24"}) {
		t.Errorf("Place = %+v", p)
	}
	empty := NewNetworks(nil)
	if p := empty.Place(ev); p != (Place{}) {
		t.Errorf("Place without networks = %+v", p)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestNetworksInterfaces: with several networks, an unrelayed refusal
// that names its interface is the network of the interface's address;
// an interface outside the configuration, or on two networks, places
// nothing, and a relayed refusal still goes by its relay's address.
func TestNetworksInterfaces(t *testing.T) {
	n := NewNetworks([]leases.Subnet{
		{Prefix: netip.MustParsePrefix("10.250.0.0/24"), SharedNetwork: "10.250.0.0/24"},
		{Prefix: netip.MustParsePrefix("10.20.1.0/24"), SharedNetwork: "campus"},
		{Prefix: netip.MustParsePrefix("10.20.2.0/24"), SharedNetwork: "campus"},
	})
	n.SetInterfaces(map[string][]netip.Addr{
		"lo":    {netip.MustParseAddr("127.0.0.1")},
		"eth0":  {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.20.2.1")},
		"eth1":  {netip.MustParseAddr("10.250.0.1")},
		"bond0": {netip.MustParseAddr("10.250.0.9"), netip.MustParseAddr("10.20.1.9")},
	})
	for via, want := range map[string]Place{
		"eth0":      {SharedNetwork: "campus"},
		"eth1":      {SharedNetwork: "10.250.0.0/24"},
		"bond0":     {},
		"lo":        {},
		"eth9":      {},
		"10.20.1.1": {SharedNetwork: "campus"},
	} {
		ev, ok := ParseLine([]byte("DHCPDISCOVER from 02:fa via " + via + ": peer holds all free leases"))
		if !ok {
			t.Fatalf("via %s: not a refusal", via)
		}
		if p := n.Place(ev); p != want {
			t.Errorf("via %s: Place = %+v, want %+v", via, p, want)
		}
	}
	// The interfaces come and go with the host's: a second call replaces
	// the first.
	n.SetInterfaces(nil)
	ev, _ := ParseLine([]byte("DHCPDISCOVER from 02:fa via eth1: peer holds all free leases"))
	if p := n.Place(ev); p != (Place{}) {
		t.Errorf("after the interfaces went: Place = %+v", p)
	}
}
