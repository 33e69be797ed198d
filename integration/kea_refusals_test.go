package integration

// The refusal counters of the kea source against a real Kea 2.6 and 3.0
// hot-standby pair (docs/kea.md, "Refusals"): relayed DHCPDISCOVERs of
// new clients to a subnet whose pool is all leased, and to a subnet
// without pools, and INIT-REBOOT DHCPREQUESTs for a wrong address; the
// exporter's counters then equal Kea's own statistic-get of the same
// statistics, on both servers.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dhcpRelayed is a BOOTREQUEST as a relay forwards it (RFC 2131 §2, §4.1:
// giaddr set, hops 1): DHCP message type msgType, the client's chaddr,
// and for a DHCPREQUEST without a server identifier (INIT-REBOOT) the
// requested address (option 50).
func dhcpRelayed(msgType byte, xid uint32, giaddr net.IP, mac net.HardwareAddr, requested net.IP) []byte {
	b := make([]byte, 240, 300)
	b[0], b[1], b[2], b[3] = 1, 1, 6, 1 // BOOTREQUEST, Ethernet, hlen, hops
	binary.BigEndian.PutUint32(b[4:], xid)
	copy(b[24:28], giaddr.To4())
	copy(b[28:], mac)
	copy(b[236:], []byte{99, 130, 83, 99}) // magic cookie (RFC 2131 §3)
	b = append(b, 53, 1, msgType)
	if requested != nil {
		b = append(b, 50, 4)
		b = append(b, requested.To4()...)
	}
	b = append(b, 255)
	for len(b) < 300 {
		b = append(b, 0)
	}
	return b
}

// keaStatisticGet is Kea's own statistic-get of one statistic on n's UNIX
// socket, independently of the code under test: its newest value, 0
// where Kea has not created it (as it does the per-subnet allocation
// failures, at the first one).
func keaStatisticGet(n *keaNode, name string) (int64, error) {
	raw, err := unixCommand(n.Socket, `{"command":"statistic-get","arguments":{"name":"`+name+`"}}`)
	if err != nil {
		return 0, err
	}
	var a struct {
		Result    int                            `json:"result"`
		Text      string                         `json:"text"`
		Arguments map[string][][]json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, err
	}
	if a.Result != 0 {
		return 0, fmt.Errorf("statistic-get %s: result %d: %s", name, a.Result, a.Text)
	}
	s := a.Arguments[name]
	if len(s) == 0 || len(s[0]) == 0 {
		return 0, nil
	}
	var v int64
	err = json.Unmarshal(s[0][0], &v)
	return v, err
}

func TestKeaRefusals(t *testing.T) {
	for _, v := range keaVersions[1:] {
		t.Run("kea-"+v.Line, func(t *testing.T) { testKeaRefusals(t, newKeaRuntime(t, v)) })
	}
}

func testKeaRefusals(t *testing.T, rt *keaRuntime) {
	p := &keaPair{t: t, rt: rt, mode: "hot-standby", scenario: newScenario("refusals"), haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
	p.lab = newKeaLab(t)
	p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
	p.B = newKeaNode(t, rt, "kea-b", p.lab.AddHost("b", "10.251.9.2/24"), false)
	p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
	const poolSize = 4
	// Subnet 1's pool is exactly the leases written below (all active for
	// an hour); subnet 2 has no pool at all.
	// Subnet 1 is in shared network "campus", subnet 2 on its own. Their
	// names come from subnet4-list where the version ships subnet_cmds
	// (Debian's Kea 3.0), else from Kea's configuration file (2.6).
	p.sharedNetworks = []map[string]any{{"name": "campus", "subnet4": []any{
		map[string]any{"id": 1, "subnet": "10.251.0.0/16", "pools": []any{map[string]any{"pool": "10.251.100.1 - 10.251.100.4"}}},
	}}}
	subnets := []map[string]any{{"id": 2, "subnet": "10.252.0.0/16"}}
	withSubnetCmds := len(rt.root.Glob(rt.hooks+"/libdhcp_subnet_cmds.so")) > 0
	if withSubnetCmds {
		p.hooks = []string{"libdhcp_subnet_cmds.so"}
	}
	peers := []haPeer{{"kea-a", "10.251.9.1", "primary"}, {"kea-b", "10.251.9.2", "standby"}}
	for _, n := range []*keaNode{p.A, p.B} {
		p.writeKeaConfig(n, []map[string]any{p.haEntry(n.Name, p.mode, peers...)}, subnets)
		p.writeLeases(n, poolSize)
	}
	startRecorder(t, p)
	p.Start(p.A)
	p.Start(p.B)
	p.WaitOperational(30 * time.Second)
	pw := p.passwordFile()
	rel := func(n *keaNode) string {
		r := "relationship: " + keaRelationship
		if !withSubnetCmds {
			r += ", config_file: " + filepath.Join(n.Dir, "kea-dhcp4.conf")
		}
		return r
	}
	e := startExporter(t, p.Mon, "targets:\n"+p.keaURLTarget("kea-a", p.A, rel(p.A), pw)+p.keaURLTarget("kea-b", p.B, rel(p.B), pw))

	// The subnets as the series name them: prefix and shared network (a
	// subnet on its own is its own network, named by its prefix).
	label := map[string][2]string{"subnet-1": {"10.251.0.0/16", "campus"}, "subnet-2": {"10.252.0.0/16", "10.252.0.0/16"}, "": {"", ""}}
	refused := func(m metrics, target, subnet, reason string) float64 {
		l := label[subnet]
		return m.Get("dhcp_failover_clients_refused_total", "reason", reason, "relationship", keaRelationship,
			"shared_network", l[1], "subnet", l[0], "target", target)
	}
	// Every series from the start, at 0.
	e.Wait(20*time.Second, "refusal series at 0 and named pools on both targets", func(m metrics) error {
		for _, target := range []string{"kea-a", "kea-b"} {
			if v := m.Get("dhcp_failover_pool_info", "pool", "10.251.0.0/16", "relationship", keaRelationship,
				"shared_network", "campus", "subnet", "10.251.0.0/16", "target", target); v != 1 {
				return fmt.Errorf("%s: no pool_info for 10.251.0.0/16 in campus", target)
			}
			for _, s := range []struct{ subnet, reason string }{
				{"subnet-1", "pool_exhausted"}, {"subnet-1", "no_pools"}, {"subnet-2", "pool_exhausted"}, {"subnet-2", "no_pools"},
				{"", "pool_exhausted"}, {"", "no_pools"}, {"", "nak"},
			} {
				if v := refused(m, target, s.subnet, s.reason); v != 0 {
					return fmt.Errorf("%s %s %s: %v", target, s.subnet, s.reason, v)
				}
			}
		}
		return nil
	})

	// The relay: mon, on the servers' segment, forwards to the primary
	// (in hot-standby it serves every client).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Mon.Dial(ctx, "udp", "10.251.9.1:67")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const dry, noPools, naks = 6, 3, 2
	send := func(b []byte) {
		t.Helper()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	xid := uint32(0x0dfe0000)
	for i := 0; i < dry; i++ {
		xid++
		send(dhcpRelayed(1, xid, net.IPv4(10, 251, 9, 3), net.HardwareAddr{0x02, 0xfd, 0, 0, 1, byte(i)}, nil))
	}
	for i := 0; i < noPools; i++ {
		xid++
		send(dhcpRelayed(1, xid, net.IPv4(10, 252, 0, 1), net.HardwareAddr{0x02, 0xfd, 0, 0, 2, byte(i)}, nil))
	}
	// The clients of the first two leases (writeLeases: 02:fc:00:00:00:0N
	// holds 10.251.100.N+1) asking for another address: DHCPNAK.
	for i := 0; i < naks; i++ {
		xid++
		send(dhcpRelayed(3, xid, net.IPv4(10, 251, 9, 3), net.HardwareAddr{0x02, 0xfc, 0, 0, 0, byte(i)}, net.IPv4(10, 251, 100, 200)))
	}

	type stat struct {
		subnet, reason, name string
		want                 map[string]int64 // by node
	}
	stats := []stat{
		{"subnet-1", "pool_exhausted", "subnet[1].v4-allocation-fail", map[string]int64{"kea-a": dry}},
		{"subnet-1", "no_pools", "subnet[1].v4-allocation-fail-no-pools", nil},
		{"subnet-2", "pool_exhausted", "subnet[2].v4-allocation-fail", nil},
		{"subnet-2", "no_pools", "subnet[2].v4-allocation-fail-no-pools", map[string]int64{"kea-a": noPools}},
		{"", "nak", "pkt4-nak-sent", map[string]int64{"kea-a": naks}},
	}
	for _, n := range []*keaNode{p.A, p.B} {
		e.Wait(20*time.Second, n.Name+": refusal counters equal to Kea's statistic-get", func(m metrics) error {
			var sum float64
			for _, s := range stats {
				own, err := keaStatisticGet(n, s.name)
				if err != nil {
					return err
				}
				got := refused(m, n.Name, s.subnet, s.reason)
				if got != float64(own) || own != s.want[n.Name] {
					return fmt.Errorf("%s %s: exporter %v, Kea's %s %d, want %d", s.subnet, s.reason, got, s.name, own, s.want[n.Name])
				}
				if s.reason != "nak" {
					sum += got
				}
			}
			// Kea's global totals: the server-wide remainder is 0, and the
			// family sums to v4-allocation-fail + -no-pools.
			var total int64
			for _, name := range []string{"v4-allocation-fail", "v4-allocation-fail-no-pools"} {
				v, err := keaStatisticGet(n, name)
				if err != nil {
					return err
				}
				total += v
			}
			if rest := refused(m, n.Name, "", "pool_exhausted") + refused(m, n.Name, "", "no_pools"); rest != 0 || sum != float64(total) {
				return fmt.Errorf("server-wide %v, subnets %v, Kea's global allocation failures %d", rest, sum, total)
			}
			return nil
		})
	}
	// The statistics Kea keeps beside them count the same failures again
	// (kea/refusals.go): the scope pair sums to the same total.
	scope := int64(0)
	for _, name := range []string{"v4-allocation-fail-subnet", "v4-allocation-fail-shared-network"} {
		v, err := keaStatisticGet(p.A, name)
		if err != nil {
			t.Fatal(err)
		}
		scope += v
	}
	if scope != dry+noPools {
		t.Errorf("kea-a: the scope pair counts %d failures, want %d", scope, dry+noPools)
	}
	from := "config_file"
	if withSubnetCmds {
		from = "subnet4-list"
	}
	t.Logf("kea %s: %d failures in the dry pool, %d without pools, %d DHCPNAKs: equal on both servers; subnets named from %s", rt.Version, dry, noPools, naks, from)
	// DFE_RECORD_KEA_STATS=DIR writes the primary's real answer, as
	// kea/testdata holds it.
	if dir := os.Getenv("DFE_RECORD_KEA_STATS"); dir != "" {
		b, err := keaCommandRaw(p.A, "statistic-get-all")
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		pretty, _ := json.MarshalIndent(v, "", "    ")
		writeFile(t, filepath.Join(dir, "kea-"+rt.Line+"-statistic-get-all-refusals.json"), strings.TrimSpace(string(pretty))+"\n", 0o644)
	}
}
