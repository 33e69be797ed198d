package leases

import "github.com/dhcpfailover/dhcp_failover_exporter/failover"

// Observation maps the counts to the observation of a pool. secondary is
// the role of the server whose file was read: in a failover pool a
// primary may allocate its FREE leases on its own while out of contact, a
// secondary its BACKUP leases (dhcpd's failover.c, "balancing pool" and
// allocate_lease in server/dhcp.c). Outside failover and outside every
// pool the share is not set.
func (c PoolCounts) Observation(secondary bool) failover.Pool {
	p := failover.Pool{Name: failover.PoolOther, Addresses: make([]failover.PoolAddresses, NumBindingStates)}
	for st := range NumBindingStates {
		p.Addresses[st] = failover.PoolAddresses{State: st.String(), Count: c.Counts[st]}
	}
	if c.Pool == nil {
		return p
	}
	p.Name = c.Pool.Name()
	p.Subnet, p.SharedNetwork = c.Pool.Subnet, c.Pool.SharedNetwork
	p.Size = failover.Some(c.Pool.Size())
	if c.Pool.Peer != "" {
		if secondary {
			p.LocalFree = failover.Some(c.Counts[BindingBackup])
		} else {
			p.LocalFree = failover.Some(c.Counts[BindingFree])
		}
	}
	return p
}
