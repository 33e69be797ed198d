package collector

import (
	"net/netip"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log/level"
)

// The peer tap's model of the failover conversations it sees: which
// connections belong to which relationship, and what each end announced.
// The tracker feeds it with s.mu held.

// peerRel is what the tap knows of one relationship of the local server.
type peerRel struct {
	name    string
	vendor  failover.Vendor
	role    failover.Role
	local   peer.StateInfo
	partner peer.StateInfo
	mclt    failover.Optional[time.Duration]
	mrd     failover.Optional[time.Duration]
	maxUnk  failover.Optional[int]

	partners map[netip.Addr]time.Time  // partner addresses, last active
	up       map[*peer.Conn]netip.Addr // established connections, by partner
	active   time.Time                 // last message or connection change
	msgs     [2][failover.NumMessageTypes + 1]uint64
	last     [2]time.Time
	offset   [2]failover.Optional[float64]
	pending  [2]int
	rejects  map[string]uint64
}

func (r *peerRel) upTo(a netip.Addr) bool {
	for _, p := range r.up {
		if p == a {
			return true
		}
	}
	return false
}

// newestPartner returns the partner address last active (invalid if none).
func (r *peerRel) newestPartner() netip.Addr {
	var newest netip.Addr
	for p, t := range r.partners {
		if !newest.IsValid() || t.After(r.partners[newest]) || (t.Equal(r.partners[newest]) && p.Less(newest)) {
			newest = p
		}
	}
	return newest
}

// touch records activity with partner p at ts.
func (r *peerRel) touch(p netip.Addr, ts time.Time) {
	if ts.After(r.active) {
		r.active = ts
	}
	if t, ok := r.partners[p]; ok && ts.After(t) {
		r.partners[p] = ts
	}
}

// ends returns the index of the local end of c, or -1 if the local
// server is not in the conversation.
func (s *peerSource) localEnd(c *peer.Conn) int {
	switch {
	case c.Ends[0].Addr.Unmap() == s.local:
		return 0
	case c.Ends[1].Addr.Unmap() == s.local:
		return 1
	}
	return -1
}

// A connection of the local server becomes a relationship's only once
// the two ends hold a failover conversation (peer.Conn.Accepted): the
// name in a CONNECT is whatever the sender made up, and anyone who can
// reach port 647 can send one. A stranger's connection (ISC closes it
// without a word), a CONNECT the local server refused (reject-reason 8,
// "unknown failover relationship name") and a lone message are counted in
// dhcp_failover_peer_ignored_connections_total and leave nothing behind.
// One exception: when the partner refuses the local server's own CONNECT
// (clock skew: connection_time_mismatch), the local server vouches for the
// name and the partner, and the refusal is news; that connection is taken
// as its relationship's, never as up.

// adoptName returns the relationship name c is taken under, or false if
// c is not (yet) a relationship's.
func (s *peerSource) adoptName(c *peer.Conn, li int) (string, bool) {
	pi := peer.Other(li)
	switch {
	case c.Accepted:
		// The local server's own word first: it knows its relationship.
		if n := c.Dir[li].Name; n != "" {
			return n, true
		}
		if c.Name != "" {
			return c.Name, true
		}
		return s.nameOf(c.Ends[pi].Addr.Unmap()), true
	case c.RejectedBy == pi && c.Dir[li].Name != "" && c.Dir[li].Messages[failover.MsgConnect] > 0:
		return c.Dir[li].Name, true
	}
	return "", false
}

// nameOf names a connection whose CONNECT was not seen: by the
// relationship last active with the same partner, else the target's
// relationship, else "unknown".
func (s *peerSource) nameOf(partner netip.Addr) string {
	var best *peerRel
	for _, r := range s.rels {
		if _, ok := r.partners[partner]; ok && (best == nil || r.active.After(best.active)) {
			best = r
		}
	}
	if best != nil {
		return best.name
	}
	return s.fallback
}

// attach takes c as its relationship's, if its conversation allows it,
// and folds in what c carried so far (the message being handled included).
func (s *peerSource) attach(c *peer.Conn, li int) *peerRel {
	name, ok := s.adoptName(c, li)
	if !ok {
		return nil
	}
	r := s.rel(name)
	if r == nil {
		return nil
	}
	partner := c.Ends[peer.Other(li)].Addr.Unmap()
	s.connRel[c] = r
	s.addPartner(r, partner)
	s.fold(r, c, li)
	r.touch(partner, c.LastPacket)
	if c.Accepted && c.Up() {
		r.up[c] = partner
	}
	if name != peerUnnamed {
		s.supersede(partner)
	}
	s.dirty = true
	return r
}

// rel returns the relationship named name, made if new: when the table
// is full, the one idle the longest without a connection up makes room.
func (s *peerSource) rel(name string) *peerRel {
	if r := s.rels[name]; r != nil {
		return r
	}
	if len(s.rels) >= peerMaxRelationships {
		var victim *peerRel
		for _, r := range s.rels {
			if len(r.up) == 0 && r.name != s.pinned && (victim == nil || r.active.Before(victim.active)) {
				victim = r
			}
		}
		if victim == nil {
			if !s.overflow {
				s.overflow = true
				level.Warn(s.logger).Log("msg", "Too many relationships with a connection up; ignoring new ones", "max", peerMaxRelationships)
			}
			return nil
		}
		s.drop(victim)
	}
	r := &peerRel{name: name, partners: map[netip.Addr]time.Time{}, up: map[*peer.Conn]netip.Addr{}}
	s.rels[name] = r
	return r
}

// addPartner adds p to r's partners: when full, the one idle the longest
// without a connection up makes room (if all are up, p is not shown).
func (s *peerSource) addPartner(r *peerRel, p netip.Addr) {
	if _, ok := r.partners[p]; ok {
		return
	}
	if len(r.partners) >= peerMaxPartners {
		var victim netip.Addr
		var vt time.Time
		for q, t := range r.partners {
			if !r.upTo(q) && (!victim.IsValid() || t.Before(vt)) {
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

// supersede forgets the "unknown" relationship of a connection seen
// mid-stream once a named one took over its only partner, p.
func (s *peerSource) supersede(p netip.Addr) {
	u := s.rels[peerUnnamed]
	if u == nil || len(u.up) > 0 || len(u.partners) != 1 {
		return
	}
	if _, ok := u.partners[p]; ok {
		s.drop(u)
	}
}

// drop forgets r.
func (s *peerSource) drop(r *peerRel) {
	delete(s.rels, r.name)
	for c, x := range s.connRel {
		if x == r {
			delete(s.connRel, c)
		}
	}
	s.dirty = true
}

// prune forgets, at wall-clock time now, the partners and relationships
// idle past peerPartnerIdle and peerRelationshipIdle (live tap only: a
// replayed file keeps its final state).
func (s *peerSource) prune(now time.Time) {
	var latest *peerRel
	for _, r := range s.rels {
		if latest == nil || r.active.After(latest.active) {
			latest = r
		}
	}
	for _, r := range s.rels {
		if len(r.up) == 0 && r != latest && r.name != s.pinned && now.Sub(r.active) > peerRelationshipIdle {
			s.drop(r)
			continue
		}
		newest := r.newestPartner()
		for p, t := range r.partners {
			if p != newest && !r.upTo(p) && now.Sub(t) > peerPartnerIdle {
				delete(r.partners, p)
				s.dirty = true
			}
		}
	}
}

// fold adds what c carried before it was taken as r's.
func (s *peerSource) fold(r *peerRel, c *peer.Conn, li int) {
	pi := peer.Other(li)
	for _, e := range [2]struct{ end, dir int }{{li, dirSent}, {pi, dirReceived}} {
		d := &c.Dir[e.end]
		if d.Total == 0 {
			continue
		}
		for t, n := range d.Messages {
			r.msgs[e.dir][t] += n
		}
		if d.Last.After(r.last[e.dir]) {
			r.last[e.dir] = d.Last
			r.offset[e.dir] = failover.Some(d.ClockOffset.Seconds())
		}
		r.pending[e.dir] = d.Pending
		for rr, n := range d.Rejects {
			if r.rejects == nil {
				r.rejects = map[string]uint64{}
			}
			r.rejects[rr.Name()] += n
		}
		if d.Vendor != "" || r.vendor == "" {
			r.vendor = vendorOf(d.Vendor, d.Microsoft)
		}
		if v, ok := d.MCLT.Get(); ok {
			r.mclt = failover.Some(v)
		}
	}
	if c.Connector >= 0 {
		r.role = failover.RoleSecondary
		if c.Connector == li {
			r.role = failover.RolePrimary // ISC: only the primary sends CONNECT
		}
	}
	if v, ok := c.Dir[li].ReceiveTimer.Get(); ok {
		r.mrd = failover.Some(v)
	}
	if v, ok := c.Dir[li].MaxUnacked.Get(); ok {
		r.maxUnk = failover.Some(int(v))
	}
	if st := c.Dir[li].State; st.Seen {
		r.local = st
	}
	if st := c.Dir[pi].State; st.Seen {
		r.partner = st
	}
}

func (s *peerSource) onConn(c *peer.Conn) {
	li := s.localEnd(c)
	if li < 0 {
		return
	}
	r := s.connRel[c]
	if r == nil {
		if c.Closed {
			s.ignore(c, li)
		}
		return
	}
	partner := c.Ends[peer.Other(li)].Addr.Unmap()
	was := len(r.up) > 0
	if c.Accepted && c.Up() {
		r.up[c] = partner
	} else {
		delete(r.up, c)
	}
	if c.Closed {
		delete(s.connRel, c)
		// The tracker closes an idle connection at the wall clock.
		r.touch(partner, c.ClosedAt)
	}
	if was != (len(r.up) > 0) {
		s.dirty = true
	}
}

// ignore counts a closed connection of the local server that was never
// taken as a relationship's (one whose relationship was since forgotten
// is not counted).
func (s *peerSource) ignore(c *peer.Conn, li int) {
	if _, ok := s.adoptName(c, li); ok {
		return
	}
	switch {
	case c.Messages() == 0:
		s.ignored[ignoredNoMessages]++
	case c.RejectedBy >= 0:
		s.ignored[ignoredRejected]++
	default:
		s.ignored[ignoredNotAccepted]++
	}
}

func (s *peerSource) onMessage(c *peer.Conn, from int, ts time.Time, m *failover.Message) {
	if s.hook != nil {
		s.hook("message")
	}
	li := s.localEnd(c)
	if li < 0 {
		return
	}
	r := s.connRel[c]
	if r == nil {
		s.attach(c, li) // folds m in
		return
	}
	pi := peer.Other(li)
	partner := c.Ends[pi].Addr.Unmap()
	r.touch(partner, ts)
	if c.Accepted && c.Up() {
		if _, ok := r.up[c]; !ok {
			r.up[c] = partner
			s.dirty = true
		}
	}
	dir := dirReceived
	if from == li {
		dir = dirSent
	}
	if m.Type.Valid() {
		r.msgs[dir][m.Type]++
	}
	r.last[dir] = ts
	r.offset[dir] = failover.Some(float64(m.Time) - float64(ts.UnixNano())/1e9)
	r.pending[dirSent] = c.Dir[li].Pending
	r.pending[dirReceived] = c.Dir[pi].Pending
	if rr, ok := m.RejectReason(); ok {
		if r.rejects == nil {
			r.rejects = map[string]uint64{}
		}
		r.rejects[rr.Name()]++
	}
	if r.vendor == "" || m.Type == failover.MsgConnect || m.Type == failover.MsgConnectAck {
		r.vendor = vendorOf(c.Dir[from].Vendor, m.Microsoft())
	}
	switch m.Type {
	case failover.MsgConnect, failover.MsgConnectAck:
		r.role = failover.RoleSecondary
		if c.Connector == li {
			r.role = failover.RolePrimary // ISC: only the primary sends CONNECT
		}
		if v, ok := m.MCLT(); ok {
			r.mclt = failover.Some(v)
		}
		if from == li {
			if v, ok := m.ReceiveTimer(); ok {
				r.mrd = failover.Some(v)
			}
			if v, ok := m.MaxUnackedBndupd(); ok {
				r.maxUnk = failover.Some(int(v))
			}
		}
		s.dirty = true
	case failover.MsgState:
		if from == li {
			r.local = c.Dir[from].State
		} else {
			r.partner = c.Dir[from].State
		}
		s.dirty = true
	}
}
