package peer

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// The relationship model: which connections of the local server belong to
// which failover relationship, what each end announced, and what they
// said to each other. A Tracker feeds it (Model.OnConn, Model.OnMessage);
// the caller serialises the calls and the reads (docs/peer.md).

// Bounds of a Model.
const (
	// MaxRelationships bounds the relationships one model holds. When
	// full, a new one takes the place of the one idle the longest (no
	// connection up); if every one has a connection up it is ignored.
	MaxRelationships = 64
	// MaxPartners bounds the partner addresses of one relationship (a
	// partner that moved, or a host speaking for it): when full, the one
	// idle the longest without a connection up makes room.
	MaxPartners = 8
	// PartnerIdle: Prune forgets a partner address of a relationship after
	// this long without a connection or a message, if the relationship has
	// a partner more recently active (its last partner stays).
	PartnerIdle = time.Hour
	// RelationshipIdle: Prune forgets a relationship after this long
	// without a connection up or a message, except the pinned one and the
	// most recently active one, which stay however long the partner is away.
	RelationshipIdle = 24 * time.Hour
	// Unnamed names connections whose CONNECT was not seen, when the
	// model is given no relationship name.
	Unnamed = "unknown"
)

// Directions, seen from the local server.
const (
	DirSent     = 0
	DirReceived = 1
)

// Directions names the directions as the metrics label them.
var Directions = [2]string{"sent", "received"}

// Why a closed connection of the local server was not taken as a
// relationship's.
const (
	IgnoredNoMessages  = iota // no failover message (a scanner, a refused port)
	IgnoredRejected           // the local server refused the other end's CONNECT
	IgnoredNotAccepted        // messages, but none the local server vouches for
	NumIgnored
)

// IgnoredReasons names the reasons as the metrics label them.
var IgnoredReasons = [NumIgnored]string{"no_messages", "rejected", "not_accepted"}

// ModelOptions configure a Model.
type ModelOptions struct {
	// Local is the address of the server whose conversations count.
	Local netip.Addr
	// Relationship names the connections whose CONNECT was not seen
	// (Unnamed if empty), and is never forgotten by Prune.
	Relationship string
}

// Relationship is what the model knows of one relationship of the local
// server. The exported fields are read by the caller between calls.
type Relationship struct {
	Name             string
	Vendor           failover.Vendor
	Role             failover.Role
	Local, Partner   StateInfo // the last STATE each end sent
	MCLT             failover.Optional[time.Duration]
	MaxResponseDelay failover.Optional[time.Duration] // the local server's receive-timer
	MaxUnacked       failover.Optional[int]
	// Messages counts by direction (DirSent, DirReceived) and type. They
	// never go down: a conversation first seen unnamed and later named
	// brings its counts along.
	Messages [2][failover.NumMessageTypes + 1]uint64
	Last     [2]time.Time                  // capture time of the last message
	Offset   [2]failover.Optional[float64] // time field minus capture time, last message
	Pending  [2]int                        // BNDUPD without BNDACK, by the BNDUPD's direction
	Rejects  map[string]uint64             // reject-reason names, either direction
	// UnansweredConnects counts the local server's CONNECTs on connections
	// that closed without a word from the partner.
	UnansweredConnects uint64

	partners map[netip.Addr]time.Time // partner addresses, last active
	up       map[*Conn]netip.Addr     // accepted connections up, by partner
	active   time.Time                // last message or connection change
	// The local server waits for its partner from waitSince (its first
	// message, or connection it opened, after the partner's last word)
	// to waitLast (its latest one); zero while not waiting.
	waitSince, waitLast time.Time
}

// Up reports whether a connection of the relationship is up.
func (r *Relationship) Up() bool { return len(r.up) > 0 }

// UpTo reports whether a connection to partner a is up.
func (r *Relationship) UpTo(a netip.Addr) bool {
	for _, p := range r.up {
		if p == a {
			return true
		}
	}
	return false
}

// Partners returns the partner addresses, sorted.
func (r *Relationship) Partners() []netip.Addr {
	out := make([]netip.Addr, 0, len(r.partners))
	for p := range r.partners {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// PartnerAddress returns the partner address last active (invalid if none).
func (r *Relationship) PartnerAddress() netip.Addr {
	var newest netip.Addr
	for p, t := range r.partners {
		if !newest.IsValid() || t.After(r.partners[newest]) || (t.Equal(r.partners[newest]) && p.Less(newest)) {
			newest = p
		}
	}
	return newest
}

// touch records activity with partner p at ts.
func (r *Relationship) touch(p netip.Addr, ts time.Time) {
	if ts.After(r.active) {
		r.active = ts
	}
	if t, ok := r.partners[p]; ok && ts.After(t) {
		r.partners[p] = ts
	}
}

// localActs: the local server spoke to its partner (or opened a
// connection to it) at ts.
func (r *Relationship) localActs(ts time.Time) {
	if r.waitSince.IsZero() {
		r.waitSince = ts
	}
	if ts.After(r.waitLast) {
		r.waitLast = ts
	}
}

// partnerActs: the partner spoke, or closed its end (its host is alive
// and says it is gone: not hung).
func (r *Relationship) partnerActs() { r.waitSince, r.waitLast = time.Time{}, time.Time{} }

// Model follows the relationships of the local server. It is not safe for
// concurrent use.
type Model struct {
	local    netip.Addr
	fallback string
	pinned   string
	rels     map[string]*Relationship
	connRel  map[*Conn]*Relationship // connections taken as a relationship's, until closed
	ignored  [NumIgnored]uint64
	now      time.Time // capture time of the latest event
	changed  bool
	overflow bool
}

// NewModel returns an empty model.
func NewModel(o ModelOptions) *Model {
	m := &Model{local: o.Local.Unmap(), fallback: o.Relationship, pinned: o.Relationship,
		rels: map[string]*Relationship{}, connRel: map[*Conn]*Relationship{}}
	if m.fallback == "" {
		m.fallback = Unnamed
	}
	return m
}

// Relationships returns the relationships, sorted by name. They stay the
// model's: read them before the next call that feeds it.
func (m *Model) Relationships() []*Relationship {
	out := make([]*Relationship, 0, len(m.rels))
	for _, r := range m.rels {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Relationship) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Relationship returns the relationship named name (nil if none).
func (m *Model) Relationship(name string) *Relationship { return m.rels[name] }

// Ignored returns the closed connections not taken, by reason.
func (m *Model) Ignored() [NumIgnored]uint64 { return m.ignored }

// Changed reports whether a state, a connection or a relationship changed
// since the last call.
func (m *Model) Changed() bool {
	c := m.changed
	m.changed = false
	return c
}

// Overflowed reports whether a relationship was ignored because the model
// was full of relationships with a connection up.
func (m *Model) Overflowed() bool { return m.overflow }

// Now is the capture time of the latest message or connection change.
func (m *Model) Now() time.Time { return m.now }

// Waiting reports whether some relationship's Unanswered grows with now:
// the local server waits for its partner on a connection still open.
// Otherwise the model's figures change only with what it is fed.
func (m *Model) Waiting() bool {
	for c, r := range m.connRel {
		if !r.waitSince.IsZero() && c.Established && !c.Closing {
			return true
		}
	}
	return false
}

// Unanswered returns how long the local server has been waiting for its
// partner in r: from its first message (or connection it opened) after
// the partner's last word, to now while a connection of r is open, else to
// its latest message; 0 while not waiting. now is the clock of the
// capture (time.Now for a live tap, Now for a replay).
func (m *Model) Unanswered(r *Relationship, now time.Time) time.Duration {
	if r.waitSince.IsZero() {
		return 0
	}
	end := r.waitLast
	for c, x := range m.connRel {
		if x == r && c.Established && !c.Closing && now.After(end) {
			end = now
			break
		}
	}
	return max(0, end.Sub(r.waitSince))
}

func (m *Model) seen(ts time.Time) {
	if ts.After(m.now) {
		m.now = ts
	}
}

// localEnd returns the index of the local end of c, or -1 if the local
// server is not in the conversation.
func (m *Model) localEnd(c *Conn) int {
	switch {
	case c.Ends[0].Addr.Unmap() == m.local:
		return 0
	case c.Ends[1].Addr.Unmap() == m.local:
		return 1
	}
	return -1
}

// OnConn takes a connection change (Options.OnConn).
func (m *Model) OnConn(c *Conn) {
	li := m.localEnd(c)
	if li < 0 {
		return
	}
	m.seen(c.LastPacket)
	pi := Other(li)
	r := m.connRel[c]
	if r == nil {
		r = m.attach(c, li, c.Closed)
		if r == nil {
			if c.Closed {
				m.ignore(c)
			}
			return
		}
	} else if c.Established && c.OpenedBy() == li && c.Messages() == 0 && !c.Closing {
		// The local server's own connection to its partner, accepted by
		// the partner's kernel: it waits for the first word.
		r.localActs(c.LastPacket)
	}
	partner := c.Ends[pi].Addr.Unmap()
	was := r.Up()
	if c.Accepted && c.Up() {
		r.up[c] = partner
	} else {
		delete(r.up, c)
	}
	if c.ClosedBy == pi && !c.partnerClosed {
		c.partnerClosed = true
		r.partnerActs()
	} else if c.Closing && !r.waitSince.IsZero() {
		// The local server waited on this connection until it closed it:
		// Unanswered stops counting to now here, and must not go down.
		r.localActs(c.LastPacket)
	}
	if c.Closed {
		delete(m.connRel, c)
		// The tracker closes an idle connection at the wall clock.
		r.touch(partner, c.ClosedAt)
		if c.Dir[li].Messages[failover.MsgConnect] > 0 && c.Dir[pi].Total == 0 {
			r.UnansweredConnects++
		}
		if r.Name == Unnamed {
			if n := m.namedFor(partner); n != nil {
				m.supersede(n, partner)
			}
		}
	}
	if was != r.Up() {
		m.changed = true
	}
}

// OnMessage takes a message (Options.OnMessage).
func (m *Model) OnMessage(c *Conn, from int, ts time.Time, msg *failover.Message) {
	li := m.localEnd(c)
	if li < 0 {
		return
	}
	m.seen(ts)
	r := m.connRel[c]
	if r == nil {
		m.attach(c, li, false) // folds msg in
		return
	}
	pi := Other(li)
	partner := c.Ends[pi].Addr.Unmap()
	if r.Name == Unnamed && from == li && msg.Type == failover.MsgConnect && c.Dir[li].Name != "" {
		// The local server names its relationship: what was seen of it
		// so far carries on under the name.
		if n := m.rel(c.Dir[li].Name); n != nil {
			m.addPartner(n, partner)
			m.supersede(n, partner)
			if m.connRel[c] == n {
				r = n
			}
		}
	}
	r.touch(partner, ts)
	if c.Accepted && c.Up() {
		if _, ok := r.up[c]; !ok {
			r.up[c] = partner
			m.changed = true
		}
	}
	dir := DirReceived
	if from == li {
		dir = DirSent
		r.localActs(ts)
	} else {
		r.partnerActs()
	}
	if msg.Type.Valid() {
		r.Messages[dir][msg.Type]++
	}
	r.Last[dir] = ts
	r.Offset[dir] = failover.Some(float64(msg.Time) - float64(ts.UnixNano())/1e9)
	r.Pending[DirSent] = c.Dir[li].Pending
	r.Pending[DirReceived] = c.Dir[pi].Pending
	if rr, ok := msg.RejectReason(); ok {
		if r.Rejects == nil {
			r.Rejects = map[string]uint64{}
		}
		r.Rejects[rr.Name()]++
	}
	if r.Vendor == "" || msg.Type == failover.MsgConnect || msg.Type == failover.MsgConnectAck {
		r.Vendor = vendorOf(c.Dir[from].Vendor, msg.Microsoft())
	}
	switch msg.Type {
	case failover.MsgConnect, failover.MsgConnectAck:
		r.Role = failover.RoleSecondary
		if c.Connector == li {
			r.Role = failover.RolePrimary // ISC: only the primary sends CONNECT
		}
		if v, ok := msg.MCLT(); ok {
			r.MCLT = failover.Some(v)
		}
		if from == li {
			if v, ok := msg.ReceiveTimer(); ok {
				r.MaxResponseDelay = failover.Some(v)
			}
			if v, ok := msg.MaxUnackedBndupd(); ok {
				r.MaxUnacked = failover.Some(int(v))
			}
		}
		m.changed = true
	case failover.MsgState:
		if from == li {
			r.Local = c.Dir[from].State
		} else {
			r.Partner = c.Dir[from].State
		}
		m.changed = true
	}
}

// vendorOf: the vendor-class ("isc-4.4.3-P1") when sent, else the header
// dialect (Microsoft sends payload offset 8, ISC 12).
func vendorOf(class string, microsoftHeader bool) failover.Vendor {
	lc := strings.ToLower(class)
	switch {
	case strings.HasPrefix(lc, "isc"):
		return failover.VendorISC
	case strings.Contains(lc, "microsoft") || microsoftHeader:
		return failover.VendorWindows
	}
	return failover.VendorISC
}
