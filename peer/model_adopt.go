package peer

import (
	"net/netip"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Which connections of the local server are a relationship's
// (docs/peer.md, "Strangers"). The name in a CONNECT is whatever its
// sender made up, and anyone who can reach port 647 can send one, so a
// connection is taken only on the local server's word or on an accepted
// conversation:
//
//   - the two ends hold a failover conversation (Conn.Accepted);
//   - the partner refused the local server's own CONNECT (clock skew:
//     connection_time_mismatch): the local server vouches for the name;
//   - the local server speaks on it: its own CONNECT on a connection it
//     opened (ISC opens connections only to its configured partner), or
//     any message only sent on an accepted connection (ISC sends nothing
//     to a stranger: it closes the connection at accept time);
//   - the other end, a known partner of a relationship, sends such a
//     message (a capture that joined a conversation mid-way).
//
// Never taken: a connection on which the local server refused the other
// end's CONNECT (reject-reason 8, "unknown failover relationship name"),
// one whose other end sent a CONNECT the local server never answered, and
// one that carried nothing of the above. Those are counted in Ignored
// when they close and leave nothing behind.

// adoptName returns the relationship name c is taken under, or false if c
// is not (yet) a relationship's. closing: c is closing, nothing more will
// come.
func (m *Model) adoptName(c *Conn, li int, closing bool) (string, bool) {
	pi := Other(li)
	lc, pc := &c.Dir[li], &c.Dir[pi]
	partner := c.Ends[pi].Addr.Unmap()
	switch {
	case c.Accepted:
		// The local server's own word first: it knows its relationship.
		if lc.Name != "" {
			return lc.Name, true
		}
		if c.Name != "" {
			return c.Name, true
		}
		return m.nameOf(partner), true
	case c.RejectedBy == pi && lc.Name != "" && lc.Messages[failover.MsgConnect] > 0:
		return lc.Name, true
	case c.RejectedBy == li:
		return "", false // the local server refused the other end
	case pc.Messages[failover.MsgConnect] > 0 && lc.Messages[failover.MsgConnectAck] == 0:
		return "", false // the other end's CONNECT awaits (or never got) an answer
	case lc.Messages[failover.MsgConnect] > 0 && lc.Name != "" && (c.OpenedBy() == li || closing || pc.conversing):
		// The other end opened the connection: until it speaks or the
		// connection closes, its CONNECT may still come and be refused.
		return lc.Name, true
	case lc.conversing:
		return m.nameOf(partner), true
	case pc.conversing && m.namedFor(partner) != nil:
		return m.nameOf(partner), true
	case c.OpenedBy() == li && c.Established && m.namedFor(partner) != nil:
		return m.nameOf(partner), true // the local server reaches for its partner
	}
	return "", false
}

// nameOf names a connection whose CONNECT was not seen: by the named
// relationship last active with the same partner, else the Unnamed one
// with that partner, else the model's relationship name, else Unnamed.
func (m *Model) nameOf(partner netip.Addr) string {
	if r := m.namedFor(partner); r != nil {
		return r.Name
	}
	return m.fallback
}

// partnerOf returns the relationship last active with partner (nil if
// none); with unnamed, the Unnamed one counts too.
func (m *Model) partnerOf(partner netip.Addr, unnamed bool) *Relationship {
	var best *Relationship
	for _, r := range m.rels {
		if !unnamed && r.Name == Unnamed {
			continue
		}
		if _, ok := r.partners[partner]; ok && (best == nil || r.active.After(best.active)) {
			best = r
		}
	}
	return best
}

// namedFor returns the named relationship last active with partner, else
// the Unnamed one if it has that partner.
func (m *Model) namedFor(partner netip.Addr) *Relationship {
	if r := m.partnerOf(partner, false); r != nil {
		return r
	}
	return m.partnerOf(partner, true)
}

// attach takes c as its relationship's, if its conversation allows it,
// and folds in what c carried so far (the message being handled included).
func (m *Model) attach(c *Conn, li int, closing bool) *Relationship {
	name, ok := m.adoptName(c, li, closing)
	if !ok {
		return nil
	}
	r := m.rel(name)
	if r == nil {
		return nil
	}
	partner := c.Ends[Other(li)].Addr.Unmap()
	m.connRel[c] = r
	m.addPartner(r, partner)
	m.fold(r, c, li)
	r.touch(partner, c.LastPacket)
	if c.Accepted && c.Up() {
		r.up[c] = partner
	}
	if name != Unnamed {
		m.supersede(r, partner)
	}
	m.changed = true
	return r
}

// rel returns the relationship named name, made if new: when the table
// is full, the one idle the longest without a connection up makes room.
func (m *Model) rel(name string) *Relationship {
	if r := m.rels[name]; r != nil {
		return r
	}
	if len(m.rels) >= MaxRelationships {
		var victim *Relationship
		for _, r := range m.rels {
			if !r.Up() && r.Name != m.pinned && (victim == nil || r.active.Before(victim.active)) {
				victim = r
			}
		}
		if victim == nil {
			m.overflow = true
			return nil
		}
		m.drop(victim)
	}
	r := &Relationship{Name: name, partners: map[netip.Addr]time.Time{}, up: map[*Conn]netip.Addr{}}
	m.rels[name] = r
	return r
}

// addPartner adds p to r's partners: when full, the one idle the longest
// without a connection up makes room (if all are up, p is not shown).
func (m *Model) addPartner(r *Relationship, p netip.Addr) {
	if _, ok := r.partners[p]; ok {
		return
	}
	if len(r.partners) >= MaxPartners {
		var victim netip.Addr
		var vt time.Time
		for q, t := range r.partners {
			if !r.UpTo(q) && (!victim.IsValid() || t.Before(vt)) {
				victim, vt = q, t
			}
		}
		if !victim.IsValid() {
			return
		}
		delete(r.partners, victim)
	}
	r.partners[p] = time.Time{}
}

// supersede folds the Unnamed relationship of a conversation seen
// mid-stream into r once r, a named one, took over its only partner, p:
// its counts carry on under r's name (no counter goes down) and its
// connections become r's.
func (m *Model) supersede(r *Relationship, p netip.Addr) {
	u := m.rels[Unnamed]
	if u == nil || u == r || len(u.partners) != 1 {
		return
	}
	if _, ok := u.partners[p]; !ok {
		return
	}
	for c, x := range m.connRel {
		if x == u {
			m.connRel[c] = r
			if a, ok := u.up[c]; ok {
				r.up[c] = a
			}
		}
	}
	r.touch(p, u.partners[p])
	for d := range u.Messages {
		for t, n := range u.Messages[d] {
			r.Messages[d][t] += n
		}
		if u.Last[d].After(r.Last[d]) {
			r.Last[d], r.Offset[d] = u.Last[d], u.Offset[d]
		}
	}
	for reason, n := range u.Rejects {
		if r.Rejects == nil {
			r.Rejects = map[string]uint64{}
		}
		r.Rejects[reason] += n
	}
	r.UnansweredConnects += u.UnansweredConnects
	if !r.Local.Seen {
		r.Local = u.Local
	}
	if !r.Partner.Seen {
		r.Partner = u.Partner
	}
	if r.waitSince.IsZero() && !u.waitSince.IsZero() && r.Last[DirReceived].Before(u.waitSince) {
		r.waitSince, r.waitLast = u.waitSince, u.waitLast
	}
	m.drop(u)
}

// drop forgets r.
func (m *Model) drop(r *Relationship) {
	delete(m.rels, r.Name)
	for c, x := range m.connRel {
		if x == r {
			delete(m.connRel, c)
		}
	}
	m.changed = true
}

// Prune forgets, at wall-clock time now, the partners and relationships
// idle past PartnerIdle and RelationshipIdle (a live tap: a replayed file
// keeps its final state).
func (m *Model) Prune(now time.Time) {
	var latest *Relationship
	for _, r := range m.rels {
		if latest == nil || r.active.After(latest.active) {
			latest = r
		}
	}
	for _, r := range m.rels {
		if !r.Up() && r != latest && r.Name != m.pinned && now.Sub(r.active) > RelationshipIdle {
			m.drop(r)
			continue
		}
		newest := r.PartnerAddress()
		for p, t := range r.partners {
			if p != newest && !r.UpTo(p) && now.Sub(t) > PartnerIdle {
				delete(r.partners, p)
				m.changed = true
			}
		}
	}
}

// fold adds what c carried before it was taken as r's.
func (m *Model) fold(r *Relationship, c *Conn, li int) {
	pi := Other(li)
	for _, e := range [2]struct{ end, dir int }{{li, DirSent}, {pi, DirReceived}} {
		d := &c.Dir[e.end]
		if d.Total == 0 {
			continue
		}
		for t, n := range d.Messages {
			r.Messages[e.dir][t] += n
		}
		if d.Last.After(r.Last[e.dir]) {
			r.Last[e.dir] = d.Last
			r.Offset[e.dir] = failover.Some(d.ClockOffset.Seconds())
		}
		r.Pending[e.dir] = d.Pending
		for rr, n := range d.Rejects {
			if r.Rejects == nil {
				r.Rejects = map[string]uint64{}
			}
			r.Rejects[rr.Name()] += n
		}
		if d.Vendor != "" || r.Vendor == "" {
			r.Vendor = vendorOf(d.Vendor, d.Microsoft)
		}
		if v, ok := d.MCLT.Get(); ok {
			r.MCLT = failover.Some(v)
		}
	}
	if c.Connector >= 0 {
		r.Role = failover.RoleSecondary
		if c.Connector == li {
			r.Role = failover.RolePrimary // ISC: only the primary sends CONNECT
		}
	}
	if v, ok := c.Dir[li].ReceiveTimer.Get(); ok {
		r.MaxResponseDelay = failover.Some(v)
	}
	if v, ok := c.Dir[li].MaxUnacked.Get(); ok {
		r.MaxUnacked = failover.Some(int(v))
	}
	if st := c.Dir[li].State; st.Seen {
		r.Local = st
	}
	if st := c.Dir[pi].State; st.Seen {
		r.Partner = st
	}
	// Who waits for whom, as far as the folded messages tell.
	lc, pc := &c.Dir[li], &c.Dir[pi]
	switch {
	case pc.Total > 0 && !pc.Last.Before(lc.Last):
		r.partnerActs()
	case pc.Total > 0:
		// The first local message after the partner's last is not kept:
		// the local server's last one is the closest bound known.
		r.partnerActs()
		r.localActs(lc.Last)
	case lc.Total > 0:
		r.localActs(lc.First)
		r.localActs(lc.Last)
	case c.OpenedBy() == li && c.Established:
		r.localActs(c.LastPacket)
	}
}

// ignore counts a closed connection of the local server that was never
// taken as a relationship's.
func (m *Model) ignore(c *Conn) {
	switch {
	case c.Messages() == 0:
		m.ignored[IgnoredNoMessages]++
	case c.RejectedBy >= 0:
		m.ignored[IgnoredRejected]++
	default:
		m.ignored[IgnoredNotAccepted]++
	}
}
