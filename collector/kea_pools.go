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
	if st.AddressesErr != nil {
		s.warnOnce("lease-stats", "Kea address statistics not read: no pool series", "err", st.AddressesErr)
	} else {
		for _, a := range st.Addresses {
			rels[first].Pools = append(rels[first].Pools, keaPool(a))
		}
	}
	if st.RefusalsErr != nil {
		s.warnOnce("refusal-stats", "Kea allocation statistics not read: no refusal series", "err", st.RefusalsErr)
	} else {
		rels[first].Refusals = keaRefusals(st.Refusals)
	}
}

// keaSubnetName names a subnet as the pool series name it, "subnet-ID":
// Kea's statistics do not carry the prefix, and the source reads nothing
// else (kea/doc.go: never config-get).
func keaSubnetName(id int64) string { return "subnet-" + strconv.FormatInt(id, 10) }

// keaPool maps one subnet's (or pool's) statistics: pool="subnet-ID" or
// "subnet-ID-pool-N".
func keaPool(st kea.AddressStats) failover.Pool {
	name := keaSubnetName(st.SubnetID)
	if st.Pool >= 0 {
		name += "-pool-" + strconv.Itoa(st.Pool)
	}
	return failover.Pool{
		Name: name,
		Size: failover.Some(int(st.Total)),
		Addresses: []failover.PoolAddresses{
			{State: "assigned", Count: int(st.Assigned)},
			{State: "declined", Count: int(st.Declined)},
		},
	}
}

// keaRefusals maps the refusal counts (kea/refusals.go says which Kea
// statistics they are): for every subnet the statistics name, from 0,
// pool_exhausted and no_pools with subnet="subnet-ID" (the shared
// network is not in the statistics: empty); server-wide (both labels
// empty) what Kea counts beyond its subnets, and the DHCPNAKs. Kea has
// no split pool, so never partner_holds_free; its -classes statistic
// counts the same failures again, so never classes.
func keaRefusals(r kea.Refusals) []failover.Refusal {
	out := make([]failover.Refusal, 0, 2*len(r.Subnets)+3)
	out = append(out,
		failover.Refusal{Reason: failover.RefusedNAK, Count: float64(r.NAKs)},
		failover.Refusal{Reason: failover.RefusedNoPools, Count: float64(r.NoPools)},
		failover.Refusal{Reason: failover.RefusedPoolExhausted, Count: float64(r.PoolExhausted)},
	)
	for _, sn := range r.Subnets {
		name := keaSubnetName(sn.SubnetID)
		out = append(out,
			failover.Refusal{Subnet: name, Reason: failover.RefusedNoPools, Count: float64(sn.NoPools)},
			failover.Refusal{Subnet: name, Reason: failover.RefusedPoolExhausted, Count: float64(sn.PoolExhausted)},
		)
	}
	return out
}
