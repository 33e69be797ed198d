package integration

// The ISC refusal counters against a real dhcpd pair and real clients
// (docs/isc-log.md): a shared network of two subnets, each with a pool of
// the failover peer; a partition; dhclient clients drain the secondary's
// BACKUP share in one pool, then in the other. At each step the shared
// network's share equals dhcpd-pools on the same files and the refusal
// counter equals dhcpd's own log lines; a real Prometheus with the
// shipped rules pages only once the whole network is dry.

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/dhcpdpoolstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

var iscRefusalOptions = iscOptions{
	Prefix:    "dfeiscrf",
	MCLT:      10 * time.Minute,
	Range:     [2]string{"10.251.7.100", "10.251.7.107"},
	PeerExtra: "min-balance 1;\n    max-balance 2;",
	// Each pool has a statement of its own: dhcpd merges the pools of a
	// shared network that have the same statements, failover peer and
	// permit lists into one (server/confpars.c, parse_pool_statement), and
	// a merged pool's share may all lie in one subnet.
	PoolExtra:     "default-lease-time 600;",
	SharedNetwork: "campus",
	NetworkExtra: `subnet 10.251.8.0 netmask 255.255.255.0 {
    option subnet-mask 255.255.255.0;
    pool { failover peer "fo-test"; range 10.251.8.100 10.251.8.105; default-lease-time 600; }
}`,
}

// refusedLine is what dhcpd logs for a client it cannot serve on a
// network (server/dhcp.c): "network NAME: no free leases" or, where the
// partner holds what is left, "peer holds all free leases".
var refusedLine = regexp.MustCompile(`(?m)DHCPDISCOVER from \S+ (?:\(\S+\) )?via \S+: (network \S+: no free leases|peer holds all free leases)`)

func TestISCRefusalsOnDryNetwork(t *testing.T) {
	netnstest.Require(t, "dhcpd-pools", "prometheus")
	p := startISCPair(t, iscRefusalOptions)
	extra := fmt.Sprintf("  - name: leases-b\n    source: leases\n    path: %s\n    config_file: %s\n    log_file: %s\n    poll_interval: 1s\n    timeout: 800ms\n",
		p.Secondary.LeasesPath, p.Secondary.ConfPath, p.Secondary.Proc.LogPath)
	e := p.StartExporter(p.ExporterConfig(extra))
	prom := startPrometheus(t, p.Mon, e, "leases.rules.yml")

	net := func(m metrics, family, state string) float64 {
		return sumSeries(m, family, "campus", "leases-b", state)
	}
	refused := func(m metrics) float64 {
		sum := 0.0
		for s, v := range m {
			if strings.HasPrefix(s, "dhcp_failover_clients_refused_total{") && strings.Contains(s, `target="leases-b"`) && !strings.Contains(s, `reason="nak"`) {
				sum += v
			}
		}
		return sum
	}
	poolLabel := regexp.MustCompile(`pool="([^"]*)"`)
	// pools is the secondary's share per pool (both are in campus).
	pools := func(m metrics) map[string]float64 {
		out := map[string]float64{}
		for s, v := range m {
			if strings.HasPrefix(s, "dhcp_failover_pool_local_free_addresses{") && strings.Contains(s, `target="leases-b"`) {
				if l := poolLabel.FindStringSubmatch(s); l != nil {
					out[l[1]] += v
				}
			}
		}
		return out
	}
	var perPool map[string]float64
	// check waits until the exporter's network share and counts equal
	// dhcpd-pools on the secondary's files, and its refusals dhcpd's log.
	check := func(step string) (share float64) {
		t.Helper()
		e.Wait(30*time.Second, step+": the network equal to dhcpd-pools and the refusals to dhcpd's log", func(m metrics) error {
			out, err := dhcpdpoolstest.Run(p.Secondary.ConfPath, p.Secondary.LeasesPath)
			if err != nil {
				return err
			}
			rep, err := dhcpdpoolstest.Parse(out)
			if err != nil {
				return err
			}
			var w *dhcpdpoolstest.Row
			for i := range rep.Networks {
				if rep.Networks[i].Network == "campus" {
					w = &rep.Networks[i]
				}
			}
			if w == nil {
				return errors.New("dhcpd-pools has no network campus")
			}
			share = net(m, "dhcp_failover_shared_network_local_free_addresses", "")
			perPool = pools(m)
			if size, bu := net(m, "dhcp_failover_shared_network_size", ""), net(m, "dhcp_failover_shared_network_addresses", "backup"); size != float64(w.Max) || bu != float64(w.Backup) || share != bu {
				return fmt.Errorf("exporter size %v backup %v share %v, dhcpd-pools %s", size, bu, share, w)
			}
			if got, logged := refused(m), len(refusedLine.FindAllString(p.Secondary.Proc.Log(), -1)); got != float64(logged) {
				return fmt.Errorf("exporter %v refusals, dhcpd logged %d", got, logged)
			}
			return nil
		})
		t.Logf("%s: the secondary's share of campus %v, per pool %v", step, share, perPool)
		return share
	}

	e.Wait(60*time.Second, "the secondary holds a backup share", func(m metrics) error {
		if s := net(m, "dhcp_failover_shared_network_local_free_addresses", ""); !(s > 0) {
			return fmt.Errorf("secondary share %v", s)
		}
		return nil
	})
	check("balanced")

	// Partition: clients reach only the secondary, which serves them
	// from its own share of either subnet's pool.
	p.Lab.SetLink(p.Primary.Host, false)
	p.waitLocalState(p.Secondary, 3, 60*time.Second)
	share := check("partition")
	// Both pools hold part of the share: the drain empties one before the
	// network is dry.
	if len(perPool) != 2 {
		t.Fatalf("the share per pool %v, want two pools", perPool)
	}
	for pl, v := range perPool {
		if !(v > 0) {
			t.Fatalf("pool %s holds no share of the secondary (%v): the drain would not empty one pool before the other", pl, perPool)
		}
	}
	onePoolDry := false
	c := newClients(t, p.Lab, "10.251.7.250/24")
	pool := func(a string) string {
		if strings.HasPrefix(a, "10.251.8.") {
			return "10.251.8.0/24"
		}
		return "10.251.7.0/24"
	}
	var drained []string
	for left := int(share); left > 0; left-- {
		a := c.lease()
		if a == "" {
			t.Fatalf("client %d got no lease with %d of the share left", c.n, left)
		}
		if len(drained) == 0 || drained[len(drained)-1] != pool(a) {
			drained = append(drained, pool(a))
		}
		if s := check(fmt.Sprintf("partition, client %d (%s)", c.n, a)); s != float64(left-1) {
			t.Fatalf("share %v after a client, want %d", s, left-1)
		}
		for _, v := range perPool {
			if v == 0 && left-1 > 0 {
				onePoolDry = true
			}
		}
		// One subnet may be dry, the network is not: no page.
		if n := prom.firing(t, "DHCPFailoverClientsRefusedOutOfContact"); n != 0 {
			t.Fatalf("the page fires with %d addresses of the network's share left", left-1)
		}
	}
	// Which pool dhcpd allocates from first is its choice (the most
	// expired lease among the pools); one is dry before the other.
	t.Logf("the share drained from pools %v", drained)
	if !onePoolDry {
		t.Fatalf("no step had one pool dry while the network still had a share")
	}
	// The whole network is dry: the next client is refused, counted as
	// dhcpd logs it, and the page fires.
	if a := c.lease(); a != "" {
		t.Fatalf("client %d got %s from a dry network", c.n, a)
	}
	check("dry network, one client refused")
	// The scrape README's "Will my clients still get addresses?" quotes.
	m := e.Wait(10*time.Second, "a scrape", func(metrics) error { return nil })
	var quoted []string
	for s, v := range m {
		if strings.Contains(s, `target="leases-b"`) && (strings.HasPrefix(s, "dhcp_failover_clients_refused_total{") ||
			strings.HasPrefix(s, "dhcp_failover_shared_network_") || strings.HasPrefix(s, "dhcp_failover_pool_local_free_addresses{")) {
			quoted = append(quoted, fmt.Sprintf("%s %v", s, v))
		}
	}
	sort.Strings(quoted)
	t.Logf("the secondary's scrape, the network dry:\n%s", strings.Join(quoted, "\n"))
	began := time.Now()
	waitFor(t, 150*time.Second, "DHCPFailoverClientsRefusedOutOfContact firing on Prometheus", func() error {
		if prom.firing(t, "DHCPFailoverClientsRefusedOutOfContact") == 0 {
			return errors.New("not firing")
		}
		return nil
	})
	t.Logf("the page fired %s after the refusal; dhcpd logged:\n%s", time.Since(began).Round(time.Second),
		strings.Join(refusedLine.FindAllString(p.Secondary.Proc.Log(), -1), "\n"))
}
