package collector

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// The simulated pools (docs/simulated.md, "Pools and refusals"): each
// relationship serves pools that behave as an ISC pair's do in the fault
// script. In NORMAL every free address belongs to one server (the
// primary's FREE, the secondary's BACKUP; draft-ietf-dhc-failover-12
// §5.4). Out of contact each server allocates from its own share only, so
// the survivor's share drains and, once every pool of a network is dry,
// its clients are refused ("peer holds all free leases"); only after
// PARTNER_DOWN plus the MCLT may it take its partner's addresses
// (collector/pools.go, renderTakeover), and the refusals stop.

// simPool is one pool: its share of the addresses in NORMAL, and how
// fast the survivor's share drains while out of contact.
type simPool struct {
	subnet   string // third octet: 10.<pair>.<n>.0/24
	first    int    // first host of the range
	size     int
	active   float64 // fractions of size in NORMAL
	primary  float64 // FREE: the primary's share
	dryAfter float64 // fraction of the cycle, from the partition, until the survivor's share is dry
}

// simNetwork is where clients draw from: a shared network, or a subnet
// on its own (its prefix is its name, as dhcpd's log names it).
type simNetwork struct {
	name  string // "" for a lone subnet: the subnet's prefix
	pools []simPool
	// refusalsPerCycle are the clients refused per whole cycle while the
	// network is dry; naksPerCycle the DHCPNAKs at any time (clients that
	// moved in from another network).
	refusalsPerCycle, naksPerCycle float64
}

// simNetworks: -lb's survivor is the primary, whose FREE share of a
// shared network of two subnets drains (the smaller pool first); -hs's
// survivor is the standby, whose reserve of 2% of a lone subnet is dry
// soon after the partition.
var simNetworks = map[string]simNetwork{
	"-lb": {name: "campus", refusalsPerCycle: 240, naksPerCycle: 12, pools: []simPool{
		{subnet: "1", first: 10, size: 100, active: 0.6, primary: 0.2, dryAfter: 0.20},
		{subnet: "2", first: 10, size: 50, active: 0.6, primary: 0.2, dryAfter: 0.15},
	}},
	"-hs": {refusalsPerCycle: 180, naksPerCycle: 6, pools: []simPool{
		{subnet: "10", first: 10, size: 200, active: 0.6, primary: 0.38, dryAfter: 0.08},
	}},
}

// simOctet is the pair's second octet, so that two pairs' pools differ.
func simOctet(pair string) int {
	h := fnv.New32a()
	h.Write([]byte(pair))
	return 1 + int(h.Sum32()%250)
}

// simPhase holds the moments of one relationship's cycle, as fractions.
type simPhase struct {
	partition, crash, takeover, normal float64
}

func simPhases(rel simRelationship) simPhase {
	pd := simPartition + simAutoPartnerDown
	return simPhase{partition: simPartition, crash: simCrash, takeover: pd + rel.mclt, normal: simRestart + rel.mclt}
}

// pools renders the pools of one relationship as server s sees them at
// fraction f of the cycle (m is its state machine).
func (s *simulatedSource) pools(rel simRelationship, m failover.Machine, f float64) []failover.Pool {
	net := simNetworks[rel.suffix]
	ph := simPhases(rel)
	o := simOctet(s.pair)
	// The survivor holds the FREE share in -lb (primary), the BACKUP
	// share in -hs (standby).
	survivorIsPrimary := rel.roles[0] == failover.RolePrimary
	localIsPrimary := rel.roles[s.server] == failover.RolePrimary
	// What the server sees: b, reconnected and sent every binding
	// (UPDREQALL), sees what a sees.
	view := s.server
	if s.server == 1 && m.Connected && f >= simHeal {
		view = 0
	}
	var out []failover.Pool
	for _, p := range net.pools {
		prefix := fmt.Sprintf("10.%d.%s.0/24", o, p.subnet)
		name := net.name
		if name == "" {
			name = prefix
		} else {
			name = s.pair + "-" + name
		}
		size := float64(p.size)
		active := p.active * size
		free := p.primary * size
		backup := size - active - free
		survivorShare := &backup
		partnerShare := &free
		if survivorIsPrimary {
			survivorShare, partnerShare = &free, &backup
		}
		share0 := *survivorShare
		switch {
		case s.server == 1 && m.State != failover.Normal && !m.Connected && f >= simRestart:
			// b restarted without its lease file and has not heard from
			// its partner: every address looks free to it.
			active, free, backup = 0, size, 0
		case f >= ph.partition && f < ph.normal:
			// Out of contact: the survivor's share drains from the
			// partition until dry; b's too, until it crashes.
			until := f
			if view == 1 {
				until = math.Min(f, ph.crash)
			}
			drained := math.Min(share0, share0*(until-ph.partition)/p.dryAfter)
			*survivorShare -= drained
			active += drained
			if view == 0 && f >= ph.takeover {
				// PARTNER_DOWN + MCLT: the partner's addresses are the
				// survivor's; it hands out some of them.
				taken := math.Min(*partnerShare, *partnerShare*(f-ph.takeover)/(ph.normal-ph.takeover)/2)
				*partnerShare -= taken
				active += taken
			}
		}
		pool := failover.Pool{
			Name:          fmt.Sprintf("10.%d.%s.%d-10.%d.%s.%d", o, p.subnet, p.first, o, p.subnet, p.first+p.size-1),
			Subnet:        prefix,
			SharedNetwork: name,
			Size:          failover.Some(p.size),
			Addresses: []failover.PoolAddresses{
				{State: "free", Count: int(math.Round(free))},
				{State: "active", Count: int(math.Round(active))},
				{State: "backup", Count: int(math.Round(backup))},
				{State: "expired", Count: 0},
			},
		}
		if localIsPrimary {
			pool.LocalFree = failover.Some(int(math.Round(free)))
		} else {
			pool.LocalFree = failover.Some(int(math.Round(backup)))
		}
		// Counts are whole addresses: keep the states' sum at the size.
		fixSum(&pool)
		out = append(out, pool)
	}
	return out
}

// fixSum moves the rounding remainder to active.
func fixSum(p *failover.Pool) {
	size, _ := p.Size.Get()
	sum := 0
	for _, a := range p.Addresses {
		sum += a.Count
	}
	p.Addresses[1].Count += size - sum
}

// simDry is the fraction of the cycle from which every pool of the
// network is dry for the survivor, until its takeover.
func simDry(net simNetwork, ph simPhase) (from, to float64) {
	for _, p := range net.pools {
		from = math.Max(from, ph.partition+p.dryAfter)
	}
	return from, ph.takeover
}

// refusalsUpTo is the survivor's refusals (or, with nak, DHCPNAKs) from
// the origin of the cycles up to fraction f of cycle number k.
func refusalsUpTo(net simNetwork, ph simPhase, f float64, k int64, nak bool) float64 {
	if nak {
		return net.naksPerCycle * (float64(k) + f)
	}
	from, to := simDry(net, ph)
	within := math.Max(0, math.Min(f, to)-from) * net.refusalsPerCycle
	return net.refusalsPerCycle*(to-from)*float64(k) + within
}

// refusals renders server s's refusal counters at now: the survivor's
// since the source started (the exporter counts as dhcpd's log follower
// would, from its start); b refuses nobody (its share lasts until it
// crashes, and a server in RECOVER does not serve).
func (s *simulatedSource) refusals(rel simRelationship, now time.Time) []failover.Refusal {
	net := simNetworks[rel.suffix]
	ph := simPhases(rel)
	name := net.name
	if name == "" {
		name = fmt.Sprintf("10.%d.%s.0/24", simOctet(s.pair), net.pools[0].subnet)
	} else {
		name = s.pair + "-" + name
	}
	count := func(nak bool) float64 {
		if s.server != 0 {
			return 0
		}
		at := func(t time.Time) float64 {
			k, f := s.cycleOf(t)
			return refusalsUpTo(net, ph, f, k, nak)
		}
		return math.Floor(at(now)) - math.Floor(at(s.created))
	}
	return []failover.Refusal{
		{SharedNetwork: name, Reason: failover.RefusedNAK, Count: count(true)},
		{SharedNetwork: name, Reason: failover.RefusedPartnerHoldsFree, Count: count(false)},
		{SharedNetwork: name, Reason: failover.RefusedPoolExhausted, Count: 0},
	}
}

// cycleOf returns the number of the cycle that holds t (counted from the
// origin, the epoch plus offset) and the fraction of it at t.
func (s *simulatedSource) cycleOf(t time.Time) (int64, float64) {
	c0 := cycleStart(t, s.cycle, s.offset)
	k := int64(c0.Sub(time.Unix(0, 0).Add(s.offset)) / s.cycle)
	return k, float64(t.Sub(c0)) / float64(s.cycle)
}
