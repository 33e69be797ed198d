package isclog

import (
	"net/netip"
	"sort"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
)

// Reasons are the refusal reasons dhcpd's log tells (docs/isc-log.md).
var Reasons = []failover.RefusalReason{failover.RefusedPoolExhausted, failover.RefusedPartnerHoldsFree, failover.RefusedNAK}

// Place is where a refusal is counted: a subnet of a shared network, a
// shared network (Subnet empty) or the whole server (both empty).
type Place struct {
	SharedNetwork, Subnet string
}

// subnet is a configured subnet, its prefix written once.
type subnet struct {
	prefix netip.Prefix
	name   string // prefix.String()
	shared string
}

// Networks places refusals in the subnets and shared networks of a
// dhcpd.conf (leases.ReadDHCPDConfSubnets). Only places of the
// configuration are ever returned, so the label values are bounded by
// it: at most leases.MaxPools subnets, as ReadDHCPDConfSubnets keeps.
type Networks struct {
	names   map[string]string // each name to itself, the configuration's string
	subnets []subnet          // longest prefix first
	// only is the one shared network of a configuration that has one.
	only string
	// ifaces maps the host's interfaces to their shared networks
	// (SetInterfaces).
	ifaces map[string]string
}

// NewNetworks places refusals in subnets (which may be empty: every
// refusal is then the whole server's).
func NewNetworks(subnets []leases.Subnet) *Networks {
	n := &Networks{names: map[string]string{}}
	for _, s := range subnets {
		if !s.Prefix.IsValid() || s.SharedNetwork == "" {
			continue
		}
		n.names[s.SharedNetwork] = s.SharedNetwork
		n.subnets = append(n.subnets, subnet{s.Prefix.Masked(), s.Prefix.Masked().String(), s.SharedNetwork})
	}
	sort.SliceStable(n.subnets, func(i, j int) bool { return n.subnets[i].prefix.Bits() > n.subnets[j].prefix.Bits() })
	if len(n.names) == 1 {
		n.only = n.subnets[0].shared
	}
	return n
}

// SetInterfaces tells the shared network of each of the host's
// interfaces, from their IPv4 addresses: an interface is on the network
// of the configured subnet that holds one of its addresses, as dhcpd
// attaches it (server/dhcpd.c, dhcpd_interface_setup_hook: the
// interface's shared network is its address's subnet's, and an interface
// whose addresses fall in two shared networks is fatal to dhcpd). An
// unrelayed `peer holds all free leases` names the interface it came in
// on, so this places it on multi-network hosts. An interface with no
// address in the configuration, or with addresses in two networks, is
// left out. Not safe for use concurrent with Place or Counter.Line.
func (n *Networks) SetInterfaces(addrs map[string][]netip.Addr) {
	n.ifaces = map[string]string{}
	for name, as := range addrs {
		shared, ok := "", true
		for _, a := range as {
			s, found := n.subnet(a.Unmap())
			if !found {
				continue
			}
			if shared != "" && shared != s.shared {
				ok = false
				break
			}
			shared = s.shared
		}
		if ok && shared != "" {
			n.ifaces[name] = shared
		}
	}
}

// Places lists every place a refusal of reason r may be counted at, the
// whole server's first.
func (n *Networks) Places(r failover.RefusalReason) []Place {
	out := []Place{{}}
	if r == failover.RefusedNAK {
		for _, s := range n.subnets {
			out = append(out, Place{s.shared, s.name})
		}
	} else {
		for name := range n.names {
			out = append(out, Place{SharedNetwork: name})
		}
	}
	return out
}

// subnet is the configured subnet that holds a, if any.
func (n *Networks) subnet(a netip.Addr) (subnet, bool) {
	for _, s := range n.subnets {
		if s.prefix.Contains(a) {
			return s, true
		}
	}
	return subnet{}, false
}

// Place says where ev is counted:
//   - `no free leases`: the shared network dhcpd named, if configured;
//   - `peer holds all free leases` names no network: the network of the
//     relay's address when the request was relayed (dhcpd finds the
//     shared network from giaddr, server/dhcp.c), else the network of
//     the interface it came in on (SetInterfaces), else the one network
//     of a configuration that has a single one (dhcpd logs the line only for
//     a packet it placed in a network);
//   - DHCPNAK: the subnet that holds the address and its network;
//
// and the whole server otherwise.
func (n *Networks) Place(ev Event) Place {
	return n.place(event{reason: ev.Reason, network: []byte(ev.Network), via: []byte(ev.Via), addr: ev.Addr})
}

func (n *Networks) place(ev event) Place {
	switch ev.reason {
	case failover.RefusedPoolExhausted:
		if name, ok := n.names[string(ev.network)]; ok {
			return Place{SharedNetwork: name}
		}
	case failover.RefusedPartnerHoldsFree:
		if a, ok := parseIPv4(ev.via); ok {
			if s, ok := n.subnet(a); ok {
				return Place{SharedNetwork: s.shared}
			}
		} else if shared, ok := n.ifaces[string(ev.via)]; ok {
			return Place{SharedNetwork: shared}
		} else if n.only != "" && !isAddr(ev.via) {
			return Place{SharedNetwork: n.only}
		}
	case failover.RefusedNAK:
		if s, ok := n.subnet(ev.addr); ok {
			return Place{s.shared, s.name}
		}
	}
	return Place{}
}

type countKey struct {
	Place
	reason failover.RefusalReason
}

// Counter counts refusals per place and reason. Every place of its
// Networks has its counters from the start, at 0. Not safe for
// concurrent use.
type Counter struct {
	nets   *Networks
	counts map[countKey]uint64
}

// NewCounter counts over nets.
func NewCounter(nets *Networks) *Counter {
	c := &Counter{nets: nets, counts: map[countKey]uint64{}}
	for _, r := range Reasons {
		for _, p := range nets.Places(r) {
			c.counts[countKey{p, r}] = 0
		}
	}
	return c
}

// Line counts the refusal of one log line, if it is one.
func (c *Counter) Line(line []byte) bool {
	ev, ok := parse(line)
	if !ok {
		return false
	}
	c.counts[countKey{c.nets.place(ev), ev.reason}]++
	return true
}

// Refusals returns the counts, sorted by shared network, subnet and
// reason.
func (c *Counter) Refusals() []failover.Refusal {
	out := make([]failover.Refusal, 0, len(c.counts))
	for k, v := range c.counts {
		out = append(out, failover.Refusal{SharedNetwork: k.SharedNetwork, Subnet: k.Subnet, Reason: k.reason, Count: float64(v)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.SharedNetwork != b.SharedNetwork {
			return a.SharedNetwork < b.SharedNetwork
		}
		if a.Subnet != b.Subnet {
			return a.Subnet < b.Subnet
		}
		return a.Reason < b.Reason
	})
	return out
}

// isAddr says whether via is an address (DHCPv4 over DHCPv6 writes the
// client's IPv6 address) rather than an interface name.
func isAddr(via []byte) bool {
	_, err := netip.ParseAddr(string(via))
	return err == nil
}
