package collector

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The refusals of the leases source's log_file: counted from the
// follower's start (history before it is not), over the networks of
// dhcpd.conf, at 0 for every place from the first poll, across a
// rotation of the log; a missing log file does not fail the poll.
func TestLeasesRefusals(t *testing.T) {
	s, logPath := newLoggingLeasesSource(t, []byte("Nov 26 17:00:00 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:00:01 via eth0: network 10.250.0.0/24: no free leases\n"))
	count := func(rels []failover.Relationship) map[string]float64 {
		if len(rels) != 1 {
			t.Fatalf("relationships %+v", rels)
		}
		return refusalCounts(rels[0].Refusals)
	}
	zero := count(pollLeases(t, s))
	if len(zero) != 10 {
		t.Fatalf("%d refusal series at start, want 10: %v", len(zero), zero)
	}
	for k, v := range zero {
		if v != 0 {
			t.Errorf("%s = %v at start: history counted", k, v)
		}
	}

	lines, err := os.ReadFile(filepath.Join("..", "isclog", "testdata", "syslog.log"))
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, logPath, lines)
	got := count(pollLeases(t, s))
	for k, want := range map[string]float64{
		"||pool_exhausted": 1, "||partner_holds_free": 1, "||nak": 1,
		"10.250.0.0/24||pool_exhausted": 3, "10.250.0.0/24|10.250.0.0/24|nak": 1,
		"campus||pool_exhausted": 1, "campus||partner_holds_free": 1, "campus|10.20.2.0/24|nak": 1, "campus|10.20.1.0/24|nak": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}

	// logrotate: rename, then (a poll later) a new file read from its start.
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	rels := pollLeases(t, s)
	if c := count(rels); c["campus||pool_exhausted"] != 1 {
		t.Fatalf("after the rename: %v", c)
	}
	appendFile(t, logPath, []byte("Nov 26 18:00:00 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:00:02 via 10.20.1.1: network campus: no free leases\n"))
	rels = pollLeases(t, s)
	if c := count(rels); c["campus||pool_exhausted"] != 2 {
		t.Fatalf("after the rotation: %v", c)
	}

	var sb strings.Builder
	out := &families{byFamily: map[*family]*dto.MetricFamily{}}
	renderRefusals(out, labelPair("target", "isc-b"), labelPair("relationship", "fo-lab"), rels[0].Refusals, time.Unix(1795000000, 0))
	for _, mf := range out.sorted() {
		if _, err := expfmt.MetricFamilyToText(&sb, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		`dhcp_failover_clients_refused_total{reason="pool_exhausted",relationship="fo-lab",shared_network="campus",subnet="",target="isc-b"} 2`,
		`dhcp_failover_clients_refused_total{reason="nak",relationship="fo-lab",shared_network="campus",subnet="10.20.2.0/24",target="isc-b"} 1`,
		`dhcp_failover_clients_refused_total{reason="partner_holds_free",relationship="fo-lab",shared_network="",subnet="",target="isc-b"} 1`,
	} {
		if !strings.Contains(sb.String(), want+"\n") {
			t.Errorf("missing %s in\n%s", want, sb.String())
		}
	}
}

func refusalCounts(rs []failover.Refusal) map[string]float64 {
	m := map[string]float64{}
	for _, r := range rs {
		m[r.SharedNetwork+"|"+r.Subnet+"|"+string(r.Reason)] = r.Count
	}
	return m
}

// An unrelayed `peer holds all free leases` on a host with several
// networks is counted on the network of the interface it names, from the
// host's interfaces as the source reads them.
func TestLeasesRefusalsByInterface(t *testing.T) {
	s, logPath := newLoggingLeasesSource(t, nil)
	s.interfaces = func() map[string][]netip.Addr {
		return map[string][]netip.Addr{"vlan20": {netip.MustParseAddr("10.20.2.1")}, "vlan250": {netip.MustParseAddr("10.250.0.1")}}
	}
	pollLeases(t, s)
	appendFile(t, logPath, []byte("Nov 26 17:31:05 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:02:04 via vlan20: peer holds all free leases\n"+
		"Nov 26 17:31:06 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:02:05 via vlan250: peer holds all free leases\n"+
		"Nov 26 17:31:07 lab-a dhcpd[2211]: DHCPDISCOVER from 02:fa:00:00:02:06 via eth7: peer holds all free leases\n"))
	rels := pollLeases(t, s)
	got := refusalCounts(rels[0].Refusals)
	for k, want := range map[string]float64{"campus||partner_holds_free": 1, "10.250.0.0/24||partner_holds_free": 1, "||partner_holds_free": 1} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], want, got)
		}
	}
}

// The host's own interfaces are read: loopback has 127.0.0.1 on every
// Linux host.
func TestHostInterfaces(t *testing.T) {
	for name, addrs := range hostInterfaces() {
		for _, a := range addrs {
			if a == netip.MustParseAddr("127.0.0.1") {
				t.Logf("loopback is %s", name)
				return
			}
		}
	}
	t.Errorf("no interface with 127.0.0.1 in %v", hostInterfaces())
}

// newLoggingLeasesSource is a leases source over a real secondary's
// leases file and the networks of isclog/testdata/dhcpd.conf, following a
// log file that holds history (not counted) at first.
func newLoggingLeasesSource(t *testing.T, history []byte) (*leasesSource, string) {
	t.Helper()
	dir := t.TempDir()
	leasesPath := filepath.Join(dir, "dhcpd.leases")
	b, err := os.ReadFile(filepath.Join("..", "leases", "testdata", "secondary-fault-cycle.leases"))
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, leasesPath, b)
	logPath := filepath.Join(dir, "syslog")
	appendFile(t, logPath, history)
	conf, err := filepath.Abs(filepath.Join("..", "isclog", "testdata", "dhcpd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := newLeasesSource(config.Target{Name: "isc-b", Settings: &config.Leases{Path: leasesPath, ConfigFile: conf, LogFile: logPath}}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*leasesSource)
	t.Cleanup(func() { s.Close() })
	return s, logPath
}
