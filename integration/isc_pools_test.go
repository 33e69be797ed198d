package integration

// The pool families of the leases source against a real dhcpd pair and
// real clients (dhclient in namespaces): in NORMAL, and through a
// partition in which clients keep arriving at the secondary until its
// BACKUP share is exhausted. At each step the exporter's counts must equal
// a count over the leases file, and (in NORMAL, where dhcpd logs them)
// dhcpd's own "balancing pool … total N free N backup N" lines.

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

const (
	poolFirst = "10.251.7.100"
	poolLast  = "10.251.7.119"
	poolName  = poolFirst + "-" + poolLast
	poolSize  = 20
)

// handCount counts the newest `binding state` of each address of a leases
// file with regular expressions (not the leases package).
func handCount(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lease := regexp.MustCompile(`(?ms)^lease ([0-9.]+) \{(.*?)^\}`)
	state := regexp.MustCompile(`(?m)^  binding state ([a-z]+);`)
	newest := map[string]string{}
	for _, m := range lease.FindAllSubmatch(b, -1) {
		if s := state.FindSubmatch(m[2]); s != nil {
			newest[string(m[1])] = string(s[1])
		}
	}
	out := map[string]int{}
	for _, st := range newest {
		out[st]++
	}
	return out
}

// balancing is dhcpd's last "balancing pool" log line: total, free, backup.
var balancingLine = regexp.MustCompile(`balancing pool [0-9a-f]+ \S+\s+total (\d+)\s+free (\d+)\s+backup (\d+)\s+lts (-?\d+)`)

func lastBalancing(log string) (total, free, backup int, ok bool) {
	m := balancingLine.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return 0, 0, 0, false
	}
	l := m[len(m)-1]
	total, _ = strconv.Atoi(l[1])
	free, _ = strconv.Atoi(l[2])
	backup, _ = strconv.Atoi(l[3])
	return total, free, backup, true
}

var poolStates = []string{"free", "active", "expired", "released", "abandoned", "reset", "backup", "reserved", "bootp"}

// poolCounts reads one target's pool series from a scrape.
func poolCounts(m metrics, target string) (map[string]int, float64, float64) {
	out := map[string]int{}
	for _, st := range poolStates {
		if v := m.Get("dhcp_failover_pool_addresses", "pool", poolName, "relationship", iscRelationship, "state", st, "target", target); v > 0 {
			out[st] = int(v)
		}
	}
	size := m.Get("dhcp_failover_pool_size", "pool", poolName, "relationship", iscRelationship, "target", target)
	share := m.Get("dhcp_failover_pool_local_free_addresses", "pool", poolName, "relationship", iscRelationship, "target", target)
	return out, size, share
}

func sameCounts(a, b map[string]int) bool {
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

// clients are dhclient runs from interfaces of one namespace, each with
// its own MAC address, bridged to the pair's segment.
type clients struct {
	t    *testing.T
	lab  *netnstest.Lab
	host *netnstest.Host
	dir  string
	n    int
}

// newClients adds the clients' namespace to lab, its eth0 at addr (an
// address the servers never hand out).
func newClients(t *testing.T, lab *netnstest.Lab, addr string) *clients {
	netnstest.Require(t, "dhclient")
	c := &clients{t: t, lab: lab, host: lab.AddHost("cl", addr), dir: t.TempDir()}
	// One try of 15 s per client, no delay before the first DISCOVER.
	writeFile(t, filepath.Join(c.dir, "dhclient.conf"), "timeout 15;\nretry 1;\ninitial-interval 1;\n", 0o644)
	return c
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := osexec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// lease runs one new client until it is bound or gives up; it returns the
// address or "".
func (c *clients) lease() string {
	c.t.Helper()
	return c.leaseAsking("")
}

// leaseAsking runs one new client that remembers a lease of asked (if not
// empty) and so starts in INIT-REBOOT with a DHCPREQUEST for it
// (RFC 2131 §3.2), as a client moved from elsewhere does.
func (c *clients) leaseAsking(asked string) string {
	c.t.Helper()
	c.n++
	ifname := fmt.Sprintf("q%d", c.n)
	if asked != "" {
		writeFile(c.t, filepath.Join(c.dir, ifname+".leases"), fmt.Sprintf("lease {\n  interface %q;\n  fixed-address %s;\n"+
			"  option subnet-mask 255.255.255.0;\n  renew 4 2037/01/01 00:00:01;\n  rebind 4 2037/01/01 00:00:01;\n  expire 4 2037/01/01 00:00:01;\n}\n",
			ifname, asked), 0o644)
	}
	port := fmt.Sprintf("%s-q%d", c.lab.Prefix, c.n)
	ipCmd(c.t, "-n", c.lab.Switch, "link", "add", "name", port, "type", "veth", "peer", "name", ifname, "netns", c.host.NS)
	ipCmd(c.t, "-n", c.lab.Switch, "link", "set", port, "master", "br0", "up")
	ipCmd(c.t, "-n", c.host.NS, "link", "set", ifname, "address", fmt.Sprintf("02:fb:00:00:01:%02x", c.n), "up")
	proc := c.host.Start(c.t, "dhclient-"+ifname, "dhclient", "-4", "-d", "-1", "-v",
		"-cf", filepath.Join(c.dir, "dhclient.conf"), "-lf", filepath.Join(c.dir, ifname+".leases"),
		"-pf", filepath.Join(c.dir, ifname+".pid"), "-sf", "/bin/true", ifname)
	bound := regexp.MustCompile(`bound to ([0-9.]+)`)
	addr := ""
	waitFor(c.t, 45*time.Second, "dhclient on "+ifname+" bound or given up", func() error {
		if m := bound.FindStringSubmatch(proc.Log()); m != nil {
			addr = m[1]
			return nil
		}
		if proc.Exited() {
			return nil
		}
		return fmt.Errorf("running")
	})
	// Stop without releasing: the lease stays active on the servers.
	_ = proc.Signal(syscall.SIGTERM)
	_ = proc.Wait(10 * time.Second)
	return addr
}

// loggedRefusals counts the refusal lines of a dhcpd -d log (stderr, no
// syslog header) by reason, as server/dhcp.c writes them
// (docs/isc-log.md), independently of the exporter's decoder.
func loggedRefusals(log string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(l, "DHCPDISCOVER from ") && strings.Contains(l, ": network ") && strings.HasSuffix(l, ": no free leases"):
			out["pool_exhausted"]++
		case strings.HasPrefix(l, "DHCPDISCOVER from ") && strings.HasSuffix(l, ": peer holds all free leases"):
			out["partner_holds_free"]++
		case strings.HasPrefix(l, "DHCPNAK on "):
			out["nak"]++
		}
	}
	return out
}

// checkPools waits until the exporter's counts of target equal a count
// over node's leases file at the same moment, and returns them.
func checkPools(t *testing.T, e *exporter, target string, n *iscNode, secondary bool, step string) map[string]int {
	t.Helper()
	var file map[string]int
	e.Wait(30*time.Second, step+": "+target+" counts equal to the leases file", func(m metrics) error {
		file = handCount(t, n.LeasesPath)
		got, size, share := poolCounts(m, target)
		want := file["free"]
		if secondary {
			want = file["backup"]
		}
		if !sameCounts(got, file) || size != poolSize || share != float64(want) {
			return fmt.Errorf("exporter %v size %v share %v, file %v", got, size, share, file)
		}
		return nil
	})
	t.Logf("%s: %s %v", step, target, file)
	return file
}

// checkBalancing waits until dhcpd's newest balancing line on the primary
// says what the file and the exporter say.
func checkBalancing(t *testing.T, e *exporter, p *iscPair, step string) {
	t.Helper()
	waitFor(t, 30*time.Second, step+": dhcpd's balancing line equal to the exporter", func() error {
		m, _, err := e.scrape()
		if err != nil {
			return err
		}
		got, _, _ := poolCounts(m, "leases-a")
		total, free, backup, ok := lastBalancing(p.Primary.Proc.Log())
		if !ok {
			return fmt.Errorf("no balancing line yet")
		}
		if total != poolSize || free != got["free"] || backup != got["backup"] {
			return fmt.Errorf("dhcpd total %d free %d backup %d, exporter %v", total, free, backup, got)
		}
		return nil
	})
}

func TestISCPoolShareExhaustedInPartition(t *testing.T) {
	// An MCLT longer than the test: out of contact, dhcpd gives leases of
	// one MCLT, and an expired one could be handed out again.
	p := startISCPair(t, iscOptions{MCLT: 10 * time.Minute, Range: [2]string{poolFirst, poolLast}, PeerExtra: "min-balance 1;\n    max-balance 2;"})
	extra := ""
	for _, tg := range []struct {
		name string
		n    *iscNode
	}{{"leases-a", p.Primary}, {"leases-b", p.Secondary}} {
		extra += fmt.Sprintf("  - name: %s\n    source: leases\n    path: %s\n    config_file: %s\n    log_file: %s\n    poll_interval: 1s\n    timeout: 800ms\n",
			tg.name, tg.n.LeasesPath, tg.n.ConfPath, tg.n.Proc.LogPath)
	}
	// dhcpd -d logs to its stderr, the Proc's log file: the exporter
	// counts the refusals written after it started (docs/isc-log.md).
	refusedBefore := strings.Count(p.Secondary.Proc.Log(), ": peer holds all free leases\n")
	loggedBefore := map[string]map[string]int{"leases-a": loggedRefusals(p.Primary.Proc.Log()), "leases-b": loggedRefusals(p.Secondary.Proc.Log())}
	e := p.StartExporter(p.ExporterConfig(extra))
	refusedSeries := series("dhcp_failover_clients_refused_total", "reason", "partner_holds_free", "relationship", iscRelationship,
		"shared_network", "10.251.7.0/24", "subnet", "", "target", "leases-b")
	e.WaitMetric(refusedSeries, 0, 30*time.Second)

	// NORMAL: the primary gives the secondary its BACKUP share.
	e.Wait(60*time.Second, "the secondary holds a backup share", func(m metrics) error {
		if _, _, share := poolCounts(m, "leases-b"); !(share > 0) {
			return fmt.Errorf("secondary share %v", share)
		}
		return nil
	})
	checkPools(t, e, "leases-a", p.Primary, false, "balanced")
	checkPools(t, e, "leases-b", p.Secondary, true, "balanced")
	checkBalancing(t, e, p, "balanced")

	c := newClients(t, p.Lab, "10.251.7.250/24")
	for i := 0; i < 3; i++ {
		if a := c.lease(); a == "" {
			t.Fatalf("client %d got no lease in NORMAL", c.n)
		}
	}
	a := checkPools(t, e, "leases-a", p.Primary, false, "3 clients in NORMAL")
	checkPools(t, e, "leases-b", p.Secondary, true, "3 clients in NORMAL")
	if a["active"] != 3 {
		t.Fatalf("primary's file: %v, want 3 active", a)
	}
	checkBalancing(t, e, p, "3 clients in NORMAL")

	// Partition: the primary's port down; clients reach only the secondary.
	p.Lab.SetLink(p.Primary.Host, false)
	p.waitLocalState(p.Secondary, 3, 60*time.Second) // communications-interrupted
	e.WaitMetric(series("dhcp_failover_communication_interrupted", "relationship", iscRelationship, "target", "leases-b"), 1, 30*time.Second)
	b := checkPools(t, e, "leases-b", p.Secondary, true, "partition")
	share := b["backup"]
	if share == 0 {
		t.Fatalf("the secondary has no backup share at the partition: %v", b)
	}
	for left := share; left > 0; left-- {
		if a := c.lease(); a == "" {
			t.Fatalf("client %d got no lease with %d backup leases left", c.n, left)
		}
		b = checkPools(t, e, "leases-b", p.Secondary, true, fmt.Sprintf("partition, %d of the share left", left-1))
		if b["backup"] != left-1 {
			t.Fatalf("backup %d after a client, want %d", b["backup"], left-1)
		}
	}
	// The share is exhausted: the next client gets nothing, although the
	// primary's FREE share is still there.
	if a := c.lease(); a != "" {
		t.Fatalf("client %d got %s from an exhausted share", c.n, a)
	}
	m, text, err := e.scrape()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, s := poolCounts(m, "leases-b"); s != 0 {
		t.Fatalf("share %v after exhaustion", s)
	}
	if !strings.Contains(p.Secondary.Proc.Log(), "peer holds all free leases") {
		t.Errorf("dhcpd did not log `peer holds all free leases` for the refused client")
	}
	// The refusal counter matches dhcpd's log line for line, in the lone
	// subnet's network (named by its prefix, as dhcpd names it); the
	// primary, which served nobody in the partition, refused nobody.
	e.Wait(30*time.Second, "the refusals counted as dhcpd logged them", func(m metrics) error {
		logged := strings.Count(p.Secondary.Proc.Log(), ": peer holds all free leases\n") - refusedBefore
		if got := m.Get(refusedSeries); logged == 0 || got != float64(logged) {
			return fmt.Errorf("%s = %v, dhcpd logged %d", refusedSeries, got, logged)
		}
		if all := m.Sum("dhcp_failover_clients_refused_total", "target", "leases-b", "reason", "partner_holds_free"); all != float64(logged) {
			return fmt.Errorf("partner_holds_free sums to %v over leases-b, want %d", all, logged)
		}
		if a := m.Sum("dhcp_failover_clients_refused_total", "target", "leases-a"); a != 0 {
			return fmt.Errorf("the primary's refusals sum to %v", a)
		}
		t.Logf("%s = %v, as dhcpd logged", refusedSeries, logged)
		return nil
	})
	// Heal: back in NORMAL the pair exchanges what it did apart and the
	// primary balances again; both files, the exporter and dhcpd agree.
	p.Lab.SetLink(p.Primary.Host, true)
	p.WaitStates(p.Primary, 2, 2, 90*time.Second)
	p.WaitStates(p.Secondary, 2, 2, 30*time.Second)
	a = checkPools(t, e, "leases-a", p.Primary, false, "healed")
	b = checkPools(t, e, "leases-b", p.Secondary, true, "healed")
	checkBalancing(t, e, p, "healed")
	if a["active"] != 3+share || b["active"] != 3+share {
		t.Errorf("after the heal: primary %v, secondary %v: want %d active on both", a, b, 3+share)
	}

	// The whole pool: clients until one gets nothing from either server;
	// then dhcpd logs `network 10.251.7.0/24: no free leases` (the lone
	// subnet's network, named by its prefix). Every refusal counter of
	// both servers equals the lines of its own log, reason by reason.
	for i := 0; i < 20; i++ {
		if c.lease() == "" {
			break
		}
	}
	// A client asking for an address of the pool that is another
	// client's lease (all of them are now): dhcpd NAKs it (server/dhcp.c,
	// dhcprequest: "lease %s unavailable"), counted at the subnet that
	// holds the address.
	c.leaseAsking(poolFirst)
	e.Wait(30*time.Second, "every refusal counted as each dhcpd logged it", func(m metrics) error {
		for _, tg := range []struct {
			name string
			n    *iscNode
		}{{"leases-a", p.Primary}, {"leases-b", p.Secondary}} {
			logged := loggedRefusals(tg.n.Proc.Log())
			for _, reason := range []string{"pool_exhausted", "partner_holds_free", "nak"} {
				want := logged[reason] - loggedBefore[tg.name][reason]
				if got := m.Sum("dhcp_failover_clients_refused_total", "target", tg.name, "reason", reason); got != float64(want) {
					return fmt.Errorf("%s: %s counted %v, dhcpd logged %d", tg.name, reason, got, want)
				}
			}
		}
		exhausted := series("dhcp_failover_clients_refused_total", "reason", "pool_exhausted", "relationship", iscRelationship,
			"shared_network", "10.251.7.0/24", "subnet", "", "target", "leases-b")
		if m.Get(exhausted) == 0 && m.Get(strings.Replace(exhausted, "leases-b", "leases-a", 1)) == 0 {
			return fmt.Errorf("no pool_exhausted refusal in 10.251.7.0/24 on either server")
		}
		nak := series("dhcp_failover_clients_refused_total", "reason", "nak", "relationship", iscRelationship,
			"shared_network", "10.251.7.0/24", "subnet", "10.251.7.0/24", "target", "leases-b")
		if m.Get(nak) == 0 && m.Get(strings.Replace(nak, "leases-b", "leases-a", 1)) == 0 {
			return fmt.Errorf("no nak in subnet 10.251.7.0/24 on either server")
		}
		return nil
	})
	for _, tg := range []struct {
		name string
		n    *iscNode
	}{{"leases-a", p.Primary}, {"leases-b", p.Secondary}} {
		t.Logf("%s: dhcpd logged %v since the exporter started (before: %v)", tg.name, loggedRefusals(tg.n.Proc.Log()), loggedBefore[tg.name])
		for _, l := range strings.Split(tg.n.Proc.Log(), "\n") {
			if strings.HasSuffix(l, "free leases") || strings.HasPrefix(l, "DHCPNAK on ") {
				t.Logf("%s: dhcpd: %s", tg.name, l)
			}
		}
	}

	var excerpt []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "dhcp_failover_pool_") && strings.Contains(l, `target="leases-b"`) && !strings.HasSuffix(l, " 0") ||
			strings.HasPrefix(l, "dhcp_failover_pool_local_free") || strings.HasPrefix(l, "dhcp_failover_communication_interrupted{") && strings.Contains(l, "leases-") {
			excerpt = append(excerpt, l)
		}
	}
	t.Logf("scrape after the exhaustion:\n%s", strings.Join(excerpt, "\n"))
}
