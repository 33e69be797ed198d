package collector

import (
	"context"
	"strconv"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
)

// addKeaPools reads the address statistics of the server and gives them,
// per subnet (and per pool where Kea reports pools), to the first
// relationship by name: Kea HA serves every subnet from both servers
// (no split pool, so no local share, docs/kea.md). A failure costs the
// pools, not the poll: it is logged once.
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
	stats, err := s.client.LeaseStats(ctx)
	if err != nil {
		s.warnOnce("lease-stats", "Kea address statistics not read: no pool series", "err", err)
		return
	}
	first := 0
	for i := range rels {
		if rels[i].Name < rels[first].Name {
			first = i
		}
	}
	for _, st := range stats {
		rels[first].Pools = append(rels[first].Pools, keaPool(st))
	}
}

// keaPool maps one subnet's (or pool's) statistics: pool="subnet-ID" or
// "subnet-ID-pool-N" (Kea's statistics do not carry the prefix).
func keaPool(st kea.AddressStats) failover.Pool {
	name := "subnet-" + strconv.FormatInt(st.SubnetID, 10)
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
