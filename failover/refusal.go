package failover

// RefusalReason says why a server could not give a client an address
// (docs/metrics.md, dhcp_failover_clients_refused_total). The values are
// a fixed vocabulary shared by every vendor.
type RefusalReason string

const (
	// RefusedPoolExhausted: the pools the client may draw from have no
	// free address (ISC "no free leases"; Kea allocation failures other
	// than the two below).
	RefusedPoolExhausted RefusalReason = "pool_exhausted"
	// RefusedPartnerHoldsFree: the free addresses left belong to the
	// failover partner, the server's own share is dry (ISC "peer holds all
	// free leases").
	RefusedPartnerHoldsFree RefusalReason = "partner_holds_free"
	// RefusedNoPools: no pool of the network may serve the client at all
	// (Kea v4-allocation-fail-no-pools).
	RefusedNoPools RefusalReason = "no_pools"
	// RefusedClasses: the client's classes exclude it from every pool
	// with free addresses (Kea v4-allocation-fail-classes).
	RefusedClasses RefusalReason = "classes"
	// RefusedNAK: the server answered with a DHCPNAK. Not an allocation
	// failure as such: a client asking for an address of another network
	// is NAKed too, so the alert rules leave it out.
	RefusedNAK RefusalReason = "nak"
)

// RefusalReasons lists the vocabulary in the order the docs give it.
var RefusalReasons = []RefusalReason{RefusedPoolExhausted, RefusedPartnerHoldsFree, RefusedNoPools, RefusedClasses, RefusedNAK}

// Refusal is a cumulative count of refused requests at the narrowest
// place the server reports: a subnet (Subnet set, SharedNetwork the
// network that holds it), a shared network (Subnet empty) or the whole
// server (both empty). A source reports each (SharedNetwork, Subnet,
// Reason) once per observation, and never counts one refusal under two
// places: the family sums.
type Refusal struct {
	SharedNetwork string
	Subnet        string
	Reason        RefusalReason
	// Count is the total since the server (Kea, Windows) or the log
	// follower (ISC) started counting; it only grows until that restarts.
	Count float64
}
