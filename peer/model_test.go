package peer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

var testLocal = netip.MustParseAddr("10.0.0.1")

// testModel is a model fed synthetic connections through the tracker's
// callbacks.
func testModel(pinned string) *Model {
	return NewModel(ModelOptions{Local: testLocal, Relationship: pinned})
}

// converse makes an accepted connection named name between the local
// server and partner, with a CONTACT each way at ts; closed if closed.
func (s *Model) converse(name string, partner netip.Addr, ts time.Time, closed bool) *Conn {
	c := &Conn{Ends: [2]Endpoint{{Addr: partner, Port: 40000}, {Addr: testLocal, Port: 647}},
		Established: true, Accepted: true, Connector: -1, RejectedBy: -1, FirstPacket: ts, LastPacket: ts}
	c.Dir[1].Name = name
	s.OnConn(c)
	msg := &failover.Message{Type: failover.MsgContact}
	s.OnMessage(c, 0, ts, msg)
	s.OnMessage(c, 1, ts, msg)
	if closed {
		c.Closing, c.Closed, c.ClosedAt = true, true, ts
		s.OnConn(c)
	}
	return c
}

// TestModelBounds: the model's maps stay bounded whatever the wire
// carries, and the live tap forgets what has been idle for long.
func TestModelBounds(t *testing.T) {
	t0 := time.Unix(1795713600, 0)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }

	t.Run("scanners", func(t *testing.T) {
		s := testModel("")
		for i := range 5000 {
			c := &Conn{Ends: [2]Endpoint{{Addr: addr(i), Port: 40000}, {Addr: testLocal, Port: 647}},
				Established: true, Connector: -1, RejectedBy: -1, FirstPacket: t0, LastPacket: t0}
			s.OnConn(c)
			if i%2 == 1 { // half of them send a CONNECT nobody answers
				c.Dir[0].Name, c.Name, c.Dir[0].Total, c.Dir[0].Messages[failover.MsgConnect] = "x", "x", 1, 1
				s.OnMessage(c, 0, t0, &failover.Message{Type: failover.MsgConnect})
			}
			c.Closed = true
			s.OnConn(c)
		}
		if len(s.rels) != 0 || len(s.connRel) != 0 || s.ignored != [NumIgnored]uint64{2500, 0, 2500} {
			t.Errorf("%d relationships, %d connections, ignored %v", len(s.rels), len(s.connRel), s.ignored)
		}
	})
	t.Run("relationships", func(t *testing.T) {
		s := testModel("")
		up := s.converse("kept-up", addr(1), t0, false)
		for i := range 1000 {
			s.converse(fmt.Sprint("rel-", i), addr(i), t0.Add(time.Duration(i)*time.Second), true)
		}
		if len(s.rels) != MaxRelationships || s.rels["kept-up"] == nil || s.rels["rel-999"] == nil || s.rels["rel-0"] != nil {
			t.Errorf("%d relationships; kept-up %v", len(s.rels), s.rels["kept-up"] != nil)
		}
		if len(s.connRel) != 1 || s.connRel[up] == nil {
			t.Errorf("%d connections held", len(s.connRel))
		}
	})
	t.Run("partners", func(t *testing.T) {
		s := testModel("")
		for i := range 100 {
			s.converse("fo", addr(i), t0.Add(time.Duration(i)*time.Second), true)
		}
		r := s.rels["fo"]
		if len(r.partners) != MaxPartners {
			t.Errorf("%d partners", len(r.partners))
		}
		if _, ok := r.partners[addr(99)]; !ok {
			t.Error("the newest partner was dropped")
		}
		// Idle: all but the newest partner go after PartnerIdle.
		s.Prune(t0.Add(92*time.Second + PartnerIdle)) // the oldest kept, 92, exactly at the bound
		if len(r.partners) != MaxPartners {
			t.Errorf("%d partners before the idle bound", len(r.partners))
		}
		s.Prune(t0.Add(100*time.Second + PartnerIdle))
		if _, ok := r.partners[addr(99)]; len(r.partners) != 1 || !ok {
			t.Errorf("partners after the idle bound: %v", r.partners)
		}
	})
	t.Run("prune", func(t *testing.T) {
		s := testModel("pinned")
		s.converse("pinned", addr(1), t0, true)
		s.converse("old", addr(2), t0.Add(time.Second), true)
		s.converse("up", addr(3), t0.Add(2*time.Second), false)
		s.converse("latest", addr(4), t0.Add(3*time.Second), true)
		s.Prune(t0.Add(RelationshipIdle))
		if len(s.rels) != 4 {
			t.Errorf("pruned before the idle bound: %d left", len(s.rels))
		}
		s.Prune(t0.Add(48 * time.Hour))
		var left []string
		for n := range s.rels {
			left = append(left, n)
		}
		sort.Strings(left)
		if strings.Join(left, " ") != "latest pinned up" {
			t.Errorf("left after pruning: %v", left)
		}
		if !s.changed {
			t.Error("pruning pushes no new observation")
		}
	})
	t.Run("unknown superseded", func(t *testing.T) {
		s := testModel("")
		s.converse("", addr(2), t0, true)
		if s.rels[Unnamed] == nil {
			t.Fatal("no unknown relationship for a connection seen mid-stream")
		}
		s.converse("fo-lab", addr(2), t0.Add(time.Second), false)
		if len(s.rels) != 1 || s.rels["fo-lab"] == nil {
			t.Errorf("relationships %v", s.rels)
		}
		// The next connection seen mid-stream takes the name learned.
		s.converse("", addr(2), t0.Add(2*time.Second), false)
		if len(s.rels) != 1 || len(s.rels["fo-lab"].up) != 2 {
			t.Errorf("relationships %v", s.rels)
		}
	})
}

// TestModelRefusedByPartner: the partner refusing the local server's
// own CONNECT (here: clock skew) is news about the local server's
// relationship, counted there; the connection is never up.
func TestModelRefusedByPartner(t *testing.T) {
	s := testModel("")
	t0 := time.Unix(1795713600, 0)
	c := &Conn{Ends: [2]Endpoint{{Addr: testLocal, Port: 40000}, {Addr: netip.MustParseAddr("10.0.0.2"), Port: 847}},
		Established: true, Connector: 0, RejectedBy: -1, FirstPacket: t0, LastPacket: t0}
	s.OnConn(c)
	c.Name, c.Dir[0].Name, c.Dir[0].Total, c.Dir[0].Messages[failover.MsgConnect] = "fo-lab", "fo-lab", 1, 1
	s.OnMessage(c, 0, t0, &failover.Message{Type: failover.MsgConnect})
	if len(s.rels) != 0 {
		t.Fatal("a CONNECT nobody answered made a relationship")
	}
	c.RejectedBy, c.Dir[1].Total, c.Dir[1].Messages[failover.MsgConnectAck] = 1, 1, 1
	c.Dir[1].Rejects = map[failover.RejectReason]uint64{failover.RejectReason(4): 1}
	s.OnMessage(c, 1, t0, &failover.Message{Type: failover.MsgConnectAck})
	r := s.rels["fo-lab"]
	if r == nil || len(r.up) != 0 || r.Rejects["connection_time_mismatch"] != 1 || r.Messages[DirSent][failover.MsgConnect] != 1 {
		t.Fatalf("relationship %+v", r)
	}
	c.Closed = true
	s.OnConn(c)
	if s.ignored != [NumIgnored]uint64{} || len(s.connRel) != 0 {
		t.Errorf("ignored %v, %d connections held", s.ignored, len(s.connRel))
	}
}

// TestModelLocalServerVouches: the local server's own CONNECT on a
// connection it opened is its relationship's at once, answered or not; the
// time it waits for its partner grows while the connection is open and
// ends when the partner closes its end. A CONNECT of the local server on a
// connection the other end opened waits for that end: refused, it leaves
// nothing.
func TestModelLocalServerVouches(t *testing.T) {
	t0 := time.Unix(1795713600, 0)
	partner := netip.MustParseAddr("10.0.0.2")
	connect := &failover.Message{Type: failover.MsgConnect}

	t.Run("unanswered", func(t *testing.T) {
		m := testModel("")
		c := &Conn{Ends: [2]Endpoint{{Addr: testLocal, Port: 40000}, {Addr: partner, Port: 847}},
			FromSYN: true, Established: true, Connector: 0, RejectedBy: -1, ClosedBy: -1, FirstPacket: t0, LastPacket: t0}
		m.OnConn(c)
		if len(m.rels) != 0 {
			t.Fatal("a connection to an unknown address made a relationship before a word")
		}
		c.Name, c.Dir[0].Name, c.Dir[0].Total, c.Dir[0].Messages[failover.MsgConnect], c.Dir[0].First, c.Dir[0].Last = "fo-lab", "fo-lab", 1, 1, t0, t0
		m.OnMessage(c, 0, t0, connect)
		r := m.rels["fo-lab"]
		if r == nil || r.Up() || r.Messages[DirSent][failover.MsgConnect] != 1 || r.Role != failover.RolePrimary {
			t.Fatalf("relationship %+v", r)
		}
		if d := m.Unanswered(r, t0.Add(30*time.Second)); d != 30*time.Second {
			t.Errorf("unanswered %v while the connection is open, want 30s", d)
		}
		if !m.Waiting() {
			t.Error("not Waiting while the unanswered time grows")
		}
		c.ClosedBy, c.Closing, c.LastPacket = 1, true, t0.Add(31*time.Second)
		m.OnConn(c)
		c.Closed, c.ClosedAt = true, t0.Add(31*time.Second)
		m.OnConn(c)
		if d := m.Unanswered(r, t0.Add(40*time.Second)); d != 0 {
			t.Errorf("unanswered %v after the partner closed its end", d)
		}
		if m.Waiting() {
			t.Error("Waiting after the partner closed its end")
		}
		if r.UnansweredConnects != 1 || m.ignored != [NumIgnored]uint64{} {
			t.Errorf("unanswered CONNECTs %d, ignored %v", r.UnansweredConnects, m.ignored)
		}
		// The next connection the local server opens to its partner is
		// the relationship's from the handshake on (ISC's secondary never
		// sends CONNECT: it waits for the primary's).
		c2 := &Conn{Ends: [2]Endpoint{{Addr: testLocal, Port: 40001}, {Addr: partner, Port: 847}},
			FromSYN: true, Established: true, Connector: -1, RejectedBy: -1, ClosedBy: -1, FirstPacket: t0.Add(50 * time.Second), LastPacket: t0.Add(50 * time.Second)}
		m.OnConn(c2)
		if m.connRel[c2] != r || m.Unanswered(r, t0.Add(60*time.Second)) != 10*time.Second {
			t.Errorf("the local server's own connection: taken %v, unanswered %v", m.connRel[c2] != nil, m.Unanswered(r, t0.Add(60*time.Second)))
		}
	})
	t.Run("refused impostor", func(t *testing.T) {
		m := testModel("")
		c := &Conn{Ends: [2]Endpoint{{Addr: partner, Port: 40000}, {Addr: testLocal, Port: 647}},
			FromSYN: true, Established: true, Connector: 1, RejectedBy: -1, ClosedBy: -1, FirstPacket: t0, LastPacket: t0}
		m.OnConn(c)
		c.Dir[1].Name, c.Dir[1].Total, c.Dir[1].Messages[failover.MsgConnect] = "fo-lab", 1, 1
		m.OnMessage(c, 1, t0, connect)
		c.Dir[0].Name, c.Dir[0].Total, c.Dir[0].Messages[failover.MsgConnect] = "bogus", 1, 1
		m.OnMessage(c, 0, t0, connect)
		c.RejectedBy, c.Dir[1].Total, c.Dir[1].Messages[failover.MsgConnectAck] = 1, 2, 1
		m.OnMessage(c, 1, t0, &failover.Message{Type: failover.MsgConnectAck})
		c.Closing, c.Closed, c.ClosedBy = true, true, 1
		m.OnConn(c)
		if len(m.rels) != 0 || m.ignored != [NumIgnored]uint64{0, 1, 0} {
			t.Errorf("relationships %v, ignored %v", m.rels, m.ignored)
		}
	})
	t.Run("unnamed then named", func(t *testing.T) {
		m := testModel("")
		c := m.converse("", partner, t0, false)
		u := m.rels[Unnamed]
		if u == nil || u.Messages[DirSent][failover.MsgContact] != 1 {
			t.Fatalf("relationships %v", m.rels)
		}
		// The local server names its relationship on the same partner: the
		// counts so far carry on under the name, the connection with them.
		c2 := &Conn{Ends: [2]Endpoint{{Addr: testLocal, Port: 40000}, {Addr: partner, Port: 847}},
			FromSYN: true, Established: true, Connector: 0, RejectedBy: -1, ClosedBy: -1, FirstPacket: t0, LastPacket: t0}
		m.OnConn(c2)
		c2.Dir[0].Name, c2.Dir[0].Total, c2.Dir[0].Messages[failover.MsgConnect] = "fo-lab", 1, 1
		m.OnMessage(c2, 0, t0, connect)
		r := m.rels["fo-lab"]
		if len(m.rels) != 1 || r == nil || r.Messages[DirSent][failover.MsgContact] != 1 || r.Messages[DirReceived][failover.MsgContact] != 1 ||
			r.Messages[DirSent][failover.MsgConnect] != 1 || m.connRel[c] != r || !r.Up() {
			t.Errorf("relationships %v", m.rels)
		}
	})
}
