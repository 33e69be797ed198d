package peer

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// contacts returns n CONTACT messages back to back (12 bytes each).
func contacts(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		m, err := failover.AppendMessage(nil, failover.Header{Type: failover.MsgContact, Time: 1795713600, XID: uint32(i)})
		if err != nil {
			panic(err)
		}
		b = append(b, m...)
	}
	return b
}

type tapRun struct {
	tr    *Tracker
	msgs  int
	conns []*Conn
	ts    time.Time
}

func newTapRun(o Options) *tapRun {
	r := &tapRun{ts: time.Unix(1795713600, 0)}
	o.OnMessage = func(*Conn, int, time.Time, *failover.Message) { r.msgs++ }
	o.OnConn = func(c *Conn) {
		for _, k := range r.conns {
			if k == c {
				return
			}
		}
		r.conns = append(r.conns, c)
	}
	r.tr = NewTracker(o)
	return r
}

func (r *tapRun) send(from, to Endpoint, seq uint32, flags uint8, p []byte) {
	r.tr.Packet(LinkEthernet, r.ts, appendFrame(nil, from, to, seq, flags, p))
}

func TestReassemblyCases(t *testing.T) {
	s := contacts(10) // 120 bytes

	t.Run("mid-stream start inside a message", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 100, tcpACK, s[5:60]) // starts 5 bytes into a message
		r.send(epB, epA, 155, tcpACK, s[60:])
		if r.msgs != 9 || len(r.conns) != 1 || r.conns[0].FromSYN || !r.conns[0].Up() {
			t.Fatalf("%d messages, conns %+v", r.msgs, r.conns)
		}
		if _, skipped := r.conns[0].Gaps(0); skipped != 7 {
			t.Errorf("skipped %d bytes, want 7", skipped)
		}
	})
	t.Run("out of order and retransmitted", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 0, tcpSYN, nil)
		r.send(epB, epA, 41, tcpACK, s[40:80])
		r.send(epB, epA, 1, tcpACK, s[:30])
		r.send(epB, epA, 1, tcpACK, s[:50]) // overlaps what was seen and what is held
		r.send(epB, epA, 81, tcpACK, s[80:])
		r.send(epB, epA, 41, tcpACK, s[40:80])
		if r.msgs != 10 {
			t.Fatalf("%d messages", r.msgs)
		}
	})
	t.Run("hole given up after maxHoleWait", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 0, tcpSYN, nil)
		r.send(epB, epA, 1, tcpACK, s[:30])
		r.send(epB, epA, 41, tcpACK, s[40:80]) // s[30:40] never captured
		if r.msgs != 2 {
			t.Fatalf("%d messages before the hole is given up", r.msgs)
		}
		r.ts = r.ts.Add(maxHoleWait + time.Second)
		r.send(epB, epA, 81, tcpACK, s[80:])
		// Lost: the message cut by the hole (24..36) and the one it
		// spans into (36..48); the framer finds 48 and goes on.
		if r.msgs != 8 {
			t.Fatalf("%d messages after the hole", r.msgs)
		}
		if holes, _ := r.conns[0].Gaps(0); holes != 1 {
			t.Errorf("%d holes", holes)
		}
	})
	t.Run("snaplen cuts a segment", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 0, tcpSYN, nil)
		f := appendFrame(nil, epB, epA, 1, tcpACK, s[:60])
		r.tr.Packet(LinkEthernet, r.ts, f[:len(f)-30]) // 30 payload bytes not captured
		r.send(epB, epA, 61, tcpACK, s[60:])
		if r.msgs != 7 {
			t.Fatalf("%d messages", r.msgs)
		}
	})
	t.Run("RST closes, a new SYN on the same ports is a new connection", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 0, tcpSYN, nil)
		r.send(epA, epB, 500, tcpSYN|tcpACK, nil)
		r.send(epB, epA, 1, tcpACK, s[:24])
		r.send(epA, epB, 501, tcpRST|tcpACK, nil)
		r.send(epB, epA, 25, tcpACK, s[24:36]) // after the RST: ignored
		r.send(epB, epA, 9000, tcpSYN, nil)
		r.send(epB, epA, 9001, tcpACK, s[:12])
		if len(r.conns) != 2 || r.msgs != 3 || !r.conns[0].Closed || r.conns[0].CloseReason != "RST" || !r.conns[1].FromSYN {
			t.Fatalf("%d conns, %d messages: %+v", len(r.conns), r.msgs, r.conns[0])
		}
		if got := r.tr.Conns(); len(got) != 2 || got[0].ID != 1 {
			t.Errorf("Conns: %d", len(got))
		}
	})
	t.Run("FIN one way: down; both ways: closed", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 0, tcpSYN, nil)
		r.send(epA, epB, 500, tcpSYN|tcpACK, nil)
		r.send(epA, epB, 501, tcpFIN|tcpACK, s[:12])
		c := r.conns[0]
		if c.Up() || c.Closed || r.msgs != 1 {
			t.Fatalf("after one FIN: up %v closed %v msgs %d", c.Up(), c.Closed, r.msgs)
		}
		r.send(epB, epA, 1, tcpFIN|tcpACK, nil)
		if !c.Closed || c.CloseReason != "FIN" {
			t.Fatalf("after both FINs: %+v", c)
		}
	})
	t.Run("table bound evicts the least recent", func(t *testing.T) {
		r := newTapRun(Options{MaxConns: 2})
		for i := 0; i < 3; i++ {
			b := epB
			b.Port += uint16(i)
			r.send(b, epA, 0, tcpSYN, nil)
		}
		if st := r.tr.Stats(); st.Evicted != 1 || st.Conns != 3 || !r.conns[0].Closed || r.conns[0].CloseReason != "evicted" {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("idle connection expires", func(t *testing.T) {
		r := newTapRun(Options{})
		r.send(epB, epA, 1, tcpACK, s[:12])
		r.tr.Expire(r.ts.Add(time.Minute), 2*time.Minute)
		if r.conns[0].Closed {
			t.Fatal("closed too early")
		}
		r.tr.Expire(r.ts.Add(3*time.Minute), 2*time.Minute)
		if !r.conns[0].Closed || r.conns[0].CloseReason != "idle" {
			t.Fatal("not expired")
		}
	})
}

func TestParsePacketLinkTypes(t *testing.T) {
	eth := appendFrame(nil, epB, epA, 7, tcpACK, contacts(1))
	ip := eth[14:]
	vlan := append(append(append([]byte{}, eth[:12]...), 0x81, 0, 0, 5), eth[12:]...)
	sll := append(append(make([]byte, 14), 0x08, 0x00), ip...)
	sll2 := append(append([]byte{0x08, 0x00}, make([]byte, 18)...), ip...)
	null := append([]byte{2, 0, 0, 0}, ip...)
	for _, tc := range []struct {
		name string
		link LinkType
		b    []byte
	}{
		{"ethernet", LinkEthernet, eth}, {"vlan", LinkEthernet, vlan}, {"raw", LinkRaw, ip}, {"ipv4", LinkIPv4, ip},
		{"sll", LinkLinuxSLL, sll}, {"sll2", LinkLinuxSLL2, sll2}, {"null", LinkNull, null},
	} {
		var s segment
		if !parsePacket(tc.link, tc.b, &s) || s.src != epB || s.dst != epA || s.seq != 7 || len(s.payload) != 12 {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}
	// IPv6 with a hop-by-hop header before TCP.
	v6 := []byte{0x60, 0, 0, 0, 0, 0, 0, 64}
	v6 = append(v6, make([]byte, 32)...)
	v6[15], v6[31] = 1, 2
	tcp := ip[20:]
	hop := []byte{6, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(v6[4:], uint16(len(hop)+len(tcp)))
	v6 = append(append(v6, hop...), tcp...)
	var s segment
	if !parsePacket(LinkIPv6, v6, &s) || s.dst.Port != 647 || len(s.payload) != 12 || !s.src.Addr.Is6() {
		t.Errorf("ipv6: %+v", s)
	}
	// A fragment is skipped.
	frag := append([]byte{}, eth...)
	frag[14+6] = 0x20 // MF
	if parsePacket(LinkEthernet, frag, &s) {
		t.Error("fragment parsed")
	}
}

func TestPortFilterAssembles(t *testing.T) {
	for _, ports := range [][]uint16{DefaultPorts, {647}, make([]uint16, 16)} {
		if _, err := portFilter(ports); err != nil {
			t.Errorf("%v: %v", ports, err)
		}
	}
}

// TestModelRejectsAndBacklog: reject reasons are counted by the end that
// sent them, BNDUPDs wait for their BNDACKs.
func TestModelRejectsAndBacklog(t *testing.T) {
	msg := func(typ failover.MessageType, reject failover.RejectReason) []byte {
		b := failover.NewBuilder(nil, failover.Header{Type: typ, Time: 1795713600})
		if reject != 0 {
			b.AddU8(failover.OptRejectReason, uint8(reject))
		}
		m, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var a, b []byte
	for i := 0; i < 3; i++ {
		a = append(a, msg(failover.MsgBndUpd, 0)...)
	}
	b = append(b, msg(failover.MsgBndAck, 0)...)
	b = append(b, msg(failover.MsgBndAck, failover.RejectLessCriticalBindingInfo)...)
	b = append(b, msg(failover.MsgDisconnect, failover.RejectConnectionTimeMismatch)...)
	r := newTapRun(Options{})
	r.send(epA, epB, 1, tcpACK, a)
	r.send(epB, epA, 1, tcpACK, b)
	c := r.conns[0]
	ai := 0
	if c.Ends[1] == epA {
		ai = 1
	}
	da, db := c.Dir[ai], c.Dir[Other(ai)]
	if da.Pending != 1 || da.MaxPending != 3 || db.Pending != 0 {
		t.Errorf("pending %d max %d", da.Pending, da.MaxPending)
	}
	if db.Rejects[failover.RejectLessCriticalBindingInfo] != 1 || db.Rejects[failover.RejectConnectionTimeMismatch] != 1 || len(da.Rejects) != 0 {
		t.Errorf("rejects %v / %v", db.Rejects, da.Rejects)
	}
}
