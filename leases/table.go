package leases

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Bounds of a Table.
const (
	// MaxAddresses bounds the addresses a Table keeps a state for: those
	// of its pools (a byte each) and those outside them (a map entry
	// each); four /10 networks, far beyond one dhcpd's pools. Addresses
	// past it are counted in Dropped, not kept.
	MaxAddresses = 1 << 22
	// MaxPools bounds the pools of a Table, MaxRanges their ranges.
	MaxPools  = 4096
	MaxRanges = 16384
)

// ErrPools is wrapped by the errors of NewTable.
var ErrPools = errors.New("leases: bad pools")

// Range is an inclusive range of IPv4 addresses, as dhcpd's `range`.
type Range struct{ First, Last netip.Addr }

// Size is the number of addresses of r (0 if r is not a valid range).
func (r Range) Size() int {
	if !r.valid() {
		return 0
	}
	return int(u32(r.Last)-u32(r.First)) + 1
}

func (r Range) valid() bool {
	return r.First.Is4() && r.Last.Is4() && !r.Last.Less(r.First)
}

// String is "A-B".
func (r Range) String() string { return r.First.String() + "-" + r.Last.String() }

// ParseRange parses "A-B" (or a single address A) of IPv4 addresses.
func ParseRange(s string) (Range, error) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	first, err1 := netip.ParseAddr(strings.TrimSpace(a))
	last, err2 := netip.ParseAddr(strings.TrimSpace(b))
	r := Range{first, last}
	if err1 != nil || err2 != nil || !r.valid() {
		return Range{}, fmt.Errorf("%w: %q is not an IPv4 range A-B with A <= B", ErrPools, s)
	}
	return r, nil
}

// Pool is one address pool: a `pool` of dhcpd.conf, or a `range` given
// directly in a subnet.
type Pool struct {
	// Peer is the `failover peer` the pool names; empty outside failover.
	Peer   string
	Ranges []Range
	// Subnet is the prefix of the subnet that holds the pool
	// ("192.0.2.0/24"); empty where unknown.
	Subnet string
	// SharedNetwork is the shared network clients draw the pool from:
	// the name of its `shared-network`, or the Subnet of a subnet outside
	// every shared network (docs/isc-leases.md); empty where unknown.
	SharedNetwork string
}

// Name is the pool's ranges as "A-B", joined with ",".
func (p *Pool) Name() string {
	parts := make([]string, len(p.Ranges))
	for i, r := range p.Ranges {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Size is the number of addresses in the pool's ranges.
func (p *Pool) Size() int {
	n := 0
	for _, r := range p.Ranges {
		n += r.Size()
	}
	return n
}

// PoolCounts is the number of addresses of one pool in each binding state,
// by the newest record of each address.
type PoolCounts struct {
	// Pool is nil for the addresses outside every pool.
	Pool   *Pool
	Counts [NumBindingStates]int
}

// span is one range of the Table, as numbers, with the state of each of
// its addresses (0: no record seen, else the BindingState + 1).
type span struct {
	first, last uint32
	pool        int
	states      []uint8
}

// Table keeps the newest binding state of every address and the counts
// per pool, updated as records arrive. Its memory grows with the number of
// addresses (a byte per address of the pools, allocated when the Table is
// made; a map entry per address outside them), never with the number of
// records.
type Table struct {
	pools   []Pool
	spans   []span // sorted, not overlapping
	last    int    // index of the span found last
	other   map[uint32]BindingState
	counts  [][NumBindingStates]int // one per pool, then the other addresses
	kept    int                     // addresses with a state
	dropped int
}

// NewTable returns an empty table over pools, which must not overlap and
// hold at most MaxAddresses addresses together.
func NewTable(pools []Pool) (*Table, error) {
	if len(pools) > MaxPools {
		return nil, fmt.Errorf("%w: more than %d pools", ErrPools, MaxPools)
	}
	t := &Table{pools: pools, other: map[uint32]BindingState{}, counts: make([][NumBindingStates]int, len(pools)+1)}
	size := 0
	for i := range pools {
		for _, r := range pools[i].Ranges {
			if !r.valid() {
				return nil, fmt.Errorf("%w: pool %d: invalid range", ErrPools, i)
			}
			if len(t.spans) == MaxRanges {
				return nil, fmt.Errorf("%w: more than %d ranges", ErrPools, MaxRanges)
			}
			if size += r.Size(); size > MaxAddresses {
				return nil, fmt.Errorf("%w: more than %d addresses", ErrPools, MaxAddresses)
			}
			t.spans = append(t.spans, span{first: u32(r.First), last: u32(r.Last), pool: i})
		}
	}
	sort.Slice(t.spans, func(i, j int) bool { return t.spans[i].first < t.spans[j].first })
	for i := 1; i < len(t.spans); i++ {
		if t.spans[i].first <= t.spans[i-1].last {
			a, b := t.spans[i-1], t.spans[i]
			return nil, fmt.Errorf("%w: ranges %s and %s overlap", ErrPools,
				Range{addr4(a.first), addr4(a.last)}, Range{addr4(b.first), addr4(b.last)})
		}
	}
	for i := range t.spans {
		t.spans[i].states = make([]uint8, t.spans[i].last-t.spans[i].first+1)
	}
	return t, nil
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// span returns the span holding a, or nil.
func (t *Table) span(a uint32) *span {
	if t.last < len(t.spans) {
		if s := &t.spans[t.last]; s.first <= a && a <= s.last {
			return s
		}
	}
	s := t.spans
	i := sort.Search(len(s), func(i int) bool { return s[i].last >= a })
	if i < len(s) && s[i].first <= a {
		t.last = i
		return &s[i]
	}
	return nil
}

// Set records the newest binding state of address a (a.b.c.d as a<<24|...).
func (t *Table) Set(a uint32, st BindingState) {
	if st >= NumBindingStates {
		return
	}
	if s := t.span(a); s != nil {
		c := &t.counts[s.pool]
		old := s.states[a-s.first]
		if old != 0 {
			c[old-1]--
		} else {
			t.kept++
		}
		c[st]++
		s.states[a-s.first] = uint8(st) + 1
		return
	}
	c := &t.counts[len(t.pools)]
	old, seen := t.other[a]
	switch {
	case seen:
		c[old]--
	case t.kept >= MaxAddresses:
		t.dropped++
		return
	default:
		t.kept++
	}
	c[st]++
	t.other[a] = st
}

// Addresses is the number of addresses the table holds a state for.
func (t *Table) Addresses() int { return t.kept }

// Dropped is the number of records of new addresses not kept because the
// table held MaxAddresses already.
func (t *Table) Dropped() int { return t.dropped }

// Counts returns the counts of every pool in the order given to NewTable,
// then those of the addresses outside every pool if there are any.
func (t *Table) Counts() []PoolCounts {
	out := make([]PoolCounts, 0, len(t.counts))
	for i := range t.pools {
		out = append(out, PoolCounts{Pool: &t.pools[i], Counts: t.counts[i]})
	}
	if other := t.counts[len(t.pools)]; other != ([NumBindingStates]int{}) {
		out = append(out, PoolCounts{Counts: other})
	}
	return out
}

// Reset forgets every address.
func (t *Table) Reset() {
	for i := range t.spans {
		clear(t.spans[i].states)
	}
	clear(t.other)
	clear(t.counts)
	t.kept, t.dropped = 0, 0
}
