package failover

// PoolOther names the addresses a source found outside every pool it
// knows of.
const PoolOther = "other"

// Pool is one address pool of a relationship as the polled server sees it
// (docs/metrics.md, dhcp_failover_pool_*).
type Pool struct {
	// Name is what a person recognises the pool by: ISC its ranges
	// "A-B" joined with ",", Windows the scope, Kea the subnet prefix (or
	// "subnet-ID"); PoolOther for addresses outside every known pool.
	Name string
	// Subnet is the prefix of the subnet that holds the pool, as
	// "192.0.2.0/24"; empty where the source does not know it.
	Subnet string
	// SharedNetwork is where clients draw the pool from: the shared
	// network's name as the server's configuration spells it (ISC
	// shared-network, Kea shared-networks, Windows superscope), else the
	// Subnet of a subnet that stands alone (it is its own network); empty
	// where the source knows neither.
	SharedNetwork string
	// Size is the number of addresses in the pool, where known.
	Size Optional[int]
	// Addresses counts the pool's addresses by state, in the vendor's
	// words (ISC binding states; Kea assigned, declined; Windows in_use,
	// free).
	Addresses []PoolAddresses
	// LocalFree is what the polled server may allocate on its own while
	// out of contact (ISC primary: free, secondary: backup); unset where
	// the vendor has no split pool (Kea) or the share is unknown.
	LocalFree Optional[int]
}

// PoolAddresses is the number of a pool's addresses in one state.
type PoolAddresses struct {
	State string
	Count int
}
