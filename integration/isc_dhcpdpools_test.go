package integration

// The pools of a shared network, as the leases package counts them and as
// dhcpd-pools(1) counts them, on the files of a real dhcpd failover pair
// with real clients (docs/isc-leases.md, "The numbers of dhcpd-pools").

import (
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/dhcpdpoolstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// A shared network of three subnets (a pool of each failover peer, a
// range directly in a subnet, a dynamic-bootp range) and, through an
// include, a lone subnet with a pool of the second peer.
var dhcpdPoolsOptions = iscOptions{
	Prefix:        "dfeiscnp",
	Addr2:         true,
	Range:         [2]string{"10.251.7.100", "10.251.7.105"},
	SharedNetwork: "campus",
	NetworkExtra: `subnet 10.251.8.0 netmask 255.255.255.0 {
    pool { failover peer "fo-two"; range 10.251.8.10 10.251.8.19; }
    range 10.251.8.50 10.251.8.54;
}
subnet 10.251.9.0 netmask 255.255.255.0 {
    range dynamic-bootp 10.251.9.5 10.251.9.9;
}`,
	ConfExtra: `failover peer "fo-two" {
    {{.Role}};
    address {{.Addr2}};
    port {{.Port2}};
    peer address {{.PeerAddr2}};
    peer port {{.PeerPort2}};
    max-response-delay 5;
    max-unacked-updates 10;
{{- if .Primary}}
    mclt 60;
    split 128;
{{- end}}
    load balance max seconds 3;
}
include "{{.Dir}}/lone.conf";`,
	Files: map[string]string{"lone.conf": `subnet 10.252.0.0 netmask 255.255.255.0 {
    pool { failover peer "fo-two"; range 10.252.0.100 10.252.0.115; }
}
`},
}

func TestISCDHCPDPools(t *testing.T) {
	netnstest.Require(t, "dhcpd-pools")
	p := startISCPair(t, dhcpdPoolsOptions)
	c := newClients(t, p.Lab, "10.251.7.250/24")
	got := 0
	for range 3 {
		if c.lease() != "" {
			got++
		}
	}
	if got == 0 {
		t.Fatal("no client got an address")
	}
	extra := ""
	for _, n := range []*iscNode{p.Primary, p.Secondary} {
		extra += fmt.Sprintf("  - name: %s\n    source: leases\n    path: %s\n    config_file: %s\n    poll_interval: 1s\n    timeout: 800ms\n",
			n.Host.NS, n.LeasesPath, n.ConfPath)
	}
	e := p.StartExporter(p.ExporterConfig(extra))
	for _, n := range []*iscNode{p.Primary, p.Secondary} {
		var want dhcpdpoolstest.Report
		var last string
		// dhcpd may append to the file between the two reads: compare
		// until both read the same state.
		waitFor(t, 20*time.Second, n.Host.NS+": leases package equal to dhcpd-pools", func() error {
			out, err := dhcpdpoolstest.Run(n.ConfPath, n.LeasesPath)
			if err != nil {
				t.Fatal(err)
			}
			want, err = dhcpdpoolstest.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			have, err := dhcpdpoolstest.Count(n.ConfPath, n.LeasesPath)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Networks) != 2 || len(want.Ranges) != 5 {
				t.Fatalf("dhcpd-pools saw %+v", want)
			}
			last = dhcpdpoolstest.Diff(have, want)
			if last != "" {
				return errors.New(last)
			}
			for _, r := range have.Networks {
				t.Logf("%s: %s", n.Host.NS, r)
			}
			if dir := os.Getenv("DFE_RECORD_DHCPDPOOLS"); dir != "" {
				recordDHCPDPools(t, p, n, filepath.Join(dir, strings.TrimPrefix(n.Host.NS, p.Lab.Prefix+"-")))
			}
			return nil
		})
		// The exporter's network totals, summed over relationships (pools
		// of two peers, and pools outside failover with the first).
		e.Wait(20*time.Second, n.Host.NS+": exporter's shared networks equal to dhcpd-pools", func(m metrics) error {
			for _, w := range want.Networks {
				size := sumSeries(m, "dhcp_failover_shared_network_size", w.Network, n.Host.NS, "")
				cur := sumSeries(m, "dhcp_failover_shared_network_addresses", w.Network, n.Host.NS, "active")
				bu := sumSeries(m, "dhcp_failover_shared_network_addresses", w.Network, n.Host.NS, "backup")
				if size != float64(w.Max) || cur != float64(w.Cur) || bu != float64(w.Backup) {
					return fmt.Errorf("%s: exporter size %v active %v backup %v, dhcpd-pools %s", w.Network, size, cur, bu, w)
				}
			}
			return nil
		})
	}
	_, text, err := e.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "dhcp_failover_shared_network_") || strings.HasPrefix(line, "dhcp_failover_pool_info") {
			t.Log(line)
		}
	}
}

// sumSeries sums a family's series of one shared network and target (and
// state, if not empty) over every relationship.
func sumSeries(m metrics, family, network, target, state string) float64 {
	sum := 0.0
	for s, v := range m {
		if strings.HasPrefix(s, family+"{") && strings.Contains(s, `shared_network="`+network+`"`) &&
			strings.Contains(s, `target="`+target+`"`) && (state == "" || strings.Contains(s, `state="`+state+`"`)) {
			sum += v
		}
	}
	return sum
}

// recordDHCPDPools copies a node's dhcpd.conf (OMAPI secret replaced, the
// include made relative), lone.conf and leases file into dir and records
// dhcpd-pools' output on the copies, for leases/testdata/pair
// (DFE_RECORD_DHCPDPOOLS=DIR go test ./integration -run TestISCDHCPDPools).
func recordDHCPDPools(t *testing.T, p *iscPair, n *iscNode, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	conf := strings.ReplaceAll(read(n.ConfPath), p.Secret, "not-the-secret")
	conf = regexp.MustCompile(`include "[^"]*/lone.conf"`).ReplaceAllString(conf, `include "lone.conf"`)
	writeFile(t, filepath.Join(dir, "dhcpd.conf"), conf, 0o644)
	writeFile(t, filepath.Join(dir, "lone.conf"), read(filepath.Join(n.Dir, "lone.conf")), 0o644)
	writeFile(t, filepath.Join(dir, "dhcpd.leases"), read(n.LeasesPath), 0o644)
	// dhcpd-pools opens a relative include from its working directory.
	cmd := osexec.Command("dhcpd-pools", "-A", "-f", "c", "-c", "dhcpd.conf", "-l", "dhcpd.leases")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "dhcpd-pools.csv"), string(out), 0o644)
}
