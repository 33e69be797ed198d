package collector

import (
	"context"
	"strconv"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
)

// addKeaPools reads the server's statistics and gives them to the first
// relationship by name: the address statistics per subnet (and per pool
// where Kea reports pools), and the refusal counters (docs/kea.md,
// "Refusals"). Kea HA serves every subnet from both servers (no split
// pool, so no local share, docs/kea.md), and a refusal belongs to no
// relationship in particular. A failure costs the pools or the refusals,
// not the poll: it is logged once.
func (s *keaSource) addKeaPools(ctx context.Context, rels []failover.Relationship) {
	if len(rels) == 0 {
		return
	}
	// The statistics must not cost the poll its answer: they get half of
	// what is left of its budget.
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(d)/2))
		defer cancel()
	}
	st := s.client.Statistics(ctx)
	first := 0
	for i := range rels {
		if rels[i].Name < rels[first].Name {
			first = i
		}
	}
	var ids []int64
	if st.AddressesErr == nil {
		for _, a := range st.Addresses {
			ids = append(ids, a.SubnetID)
		}
	}
	if st.RefusalsErr == nil {
		for _, r := range st.Refusals.Subnets {
			ids = append(ids, r.SubnetID)
		}
	}
	var names kea.Names
	if len(ids) > 0 {
		names = s.subnetNames(ctx, ids)
	}
	if st.AddressesErr != nil {
		s.warnOnce("lease-stats", "Kea address statistics not read: no pool series", "err", st.AddressesErr)
	} else {
		for _, a := range st.Addresses {
			rels[first].Pools = append(rels[first].Pools, keaPool(a, names))
		}
	}
	if st.RefusalsErr != nil {
		s.warnOnce("refusal-stats", "Kea allocation statistics not read: no refusal series", "err", st.RefusalsErr)
	} else {
		rels[first].Refusals = keaRefusals(st.Refusals, names)
	}
}

// keaSubnet names a subnet: its prefix and shared network where the
// source knows them (collector/kea_names.go; a subnet on its own is its
// own network, named by its prefix), else "subnet-ID" and no network.
func keaSubnet(id int64, names kea.Names) (subnet, network string) {
	if n, ok := names[id]; ok {
		if n.SharedNetwork == "" {
			return n.Prefix, n.Prefix
		}
		return n.Prefix, n.SharedNetwork
	}
	return "subnet-" + strconv.FormatInt(id, 10), ""
}

// keaPool maps one subnet's (or pool's) statistics: pool is the subnet's
// prefix (or "subnet-ID"), "PREFIX-pool-N" for a pool where Kea reports
// pools. Only the subnet's own series carries its subnet and network
// (pool_info, the network totals): its pools are parts of it, and a
// network summed over both would count every address twice.
func keaPool(st kea.AddressStats, names kea.Names) failover.Pool {
	name, network := keaSubnet(st.SubnetID, names)
	p := failover.Pool{
		Name: name,
		Size: failover.Some(int(st.Total)),
		Addresses: []failover.PoolAddresses{
			{State: "assigned", Count: int(st.Assigned)},
			{State: "declined", Count: int(st.Declined)},
		},
	}
	if st.Pool >= 0 {
		p.Name += "-pool-" + strconv.Itoa(st.Pool)
	} else if network != "" {
		p.Subnet, p.SharedNetwork = name, network
	}
	return p
}

// keaRefusals maps the refusal counts (kea/refusals.go says which Kea
// statistics they are): for every subnet the statistics name, from 0,
// pool_exhausted and no_pools with the subnet's prefix and network where
// known, else subnet="subnet-ID" and no network; server-wide (both labels
// empty) what Kea counts beyond its subnets, and the DHCPNAKs. Kea has
// no split pool, so never partner_holds_free; its -classes statistic
// counts the same failures again, so never classes.
func keaRefusals(r kea.Refusals, names kea.Names) []failover.Refusal {
	out := make([]failover.Refusal, 0, 2*len(r.Subnets)+3)
	out = append(out,
		failover.Refusal{Reason: failover.RefusedNAK, Count: float64(r.NAKs)},
		failover.Refusal{Reason: failover.RefusedNoPools, Count: float64(r.NoPools)},
		failover.Refusal{Reason: failover.RefusedPoolExhausted, Count: float64(r.PoolExhausted)},
	)
	for _, sn := range r.Subnets {
		name, network := keaSubnet(sn.SubnetID, names)
		out = append(out,
			failover.Refusal{SharedNetwork: network, Subnet: name, Reason: failover.RefusedNoPools, Count: float64(sn.NoPools)},
			failover.Refusal{SharedNetwork: network, Subnet: name, Reason: failover.RefusedPoolExhausted, Count: float64(sn.PoolExhausted)},
		)
	}
	return out
}
