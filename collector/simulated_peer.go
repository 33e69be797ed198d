package collector

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log"
)

// The emulated peer tap (docs/simulated.md, "Emulated sources"): the
// peer source's tracker and model (collector/peer.go, the peer package)
// are fed a simulated failover conversation between server a (the
// local, primary server) and b, as raw IPv4 frames whose TCP segments
// carry messages encoded by failover.Builder (draft-ietf-dhc-failover-12
// §6, in ISC dhcpd's dialect). a connects, both exchange CONNECT,
// CONNECTACK and STATE (NORMAL), then CONTACTs, and binding updates
// acknowledged within 50 ms, one BNDACK in 16 (the first among them) rejecting the update
// (reject-reason 16, less critical binding info: the partner held a
// newer binding). b's clock runs 1 s ahead. Nothing runs between polls:
// each poll feeds what happened since the previous one.

// Timing of the simulated conversation.
const (
	simPeerTick = time.Second
	// simPeerCatchUp bounds what one poll feeds after a long pause (a
	// suspended laptop): the conversation then just resumes.
	simPeerCatchUp = 10 * time.Minute
	// simPeerReceiveTimer is both servers' max-response-delay.
	simPeerReceiveTimer = 15 * time.Second
)

// simPeerSource renders the peer tap's metrics of the simulated
// conversation. It is polled only: there is no capture to run.
type simPeerSource struct {
	tap *peerSource

	mu      sync.Mutex // serializes feeding (polls are serial; /probe may not be)
	conv    *simConversation
	now     func() time.Time
	started bool
}

func newSimPeerSource(s *config.Simulated, logger log.Logger) (Source, error) {
	o := byte(simOctet(s.Pair))
	ends := [2]netip.AddrPort{
		netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, o, 30, 2}), 40647),
		netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, o, 30, 3}), 847),
	}
	local := ends[0].Addr()
	tap := &peerSource{logger: logger, local: local, ports: peer.DefaultPorts, created: time.Now(),
		model: peer.NewModel(peer.ModelOptions{Local: local})}
	tap.tracker = peer.NewTracker(peer.Options{Ports: peer.DefaultPorts, MaxHistory: -1, OnMessage: tap.onMessage, OnConn: tap.model.OnConn})
	return &simPeerSource{tap: tap, conv: &simConversation{name: s.Pair, ends: ends}, now: time.Now}, nil
}

// Poll implements Source: it feeds the conversation up to now, then
// reports what the tap saw.
func (s *simPeerSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	s.mu.Lock()
	now := s.now()
	if !s.started {
		s.started = true
		s.conv.start(now)
	}
	s.conv.feed(now, func(ts time.Time, frame []byte) {
		s.tap.packet(nil, peer.LinkIPv4, ts, frame)
	})
	s.mu.Unlock()
	return asSimulated(s.tap.Poll(ctx))
}

// WriteMetrics implements MetricsSource.
func (s *simPeerSource) WriteMetrics(w *MetricWriter) { s.tap.WriteMetrics(w) }

// CountersCreated implements CreatedMetricsSource.
func (s *simPeerSource) CountersCreated() time.Time { return s.tap.CountersCreated() }

// MetricsGeneration implements GenerationalMetricsSource.
func (s *simPeerSource) MetricsGeneration() (uint64, bool) { return s.tap.MetricsGeneration() }

// simConversation writes the frames of the conversation.
type simConversation struct {
	name string
	ends [2]netip.AddrPort
	seq  [2]uint32 // next sequence number of each end
	t0   time.Time // the connection's start
	open bool      // the handshake, CONNECT and STATEs were fed
	next int64     // the next tick to feed (ticks follow t0)
	upTo time.Time // fed up to here
	xid  uint32
	acks int // BNDACKs sent: the 1st, 17th, 33rd... reject
}

// start opens the connection at now: the handshake, CONNECT, CONNECTACK
// and both STATEs.
func (c *simConversation) start(now time.Time) {
	c.t0, c.upTo, c.next = now, now.Add(-time.Nanosecond), 1
	c.seq = [2]uint32{0x1000_0000, 0x7000_0000}
}

const (
	tcpFlagSYN = 0x02
	tcpFlagPSH = 0x08
	tcpFlagACK = 0x10
)

// feed emits, in capture order, the frames due by now.
func (c *simConversation) feed(now time.Time, emit func(time.Time, []byte)) {
	if now.Sub(c.upTo) > simPeerCatchUp {
		skip := int64(now.Sub(c.upTo)-simPeerCatchUp) / int64(simPeerTick)
		c.next += skip
	}
	at := func(d time.Duration) time.Time { return c.t0.Add(d) }
	if !c.open && !now.Before(c.t0) {
		c.open = true
		emit(at(0), c.segment(0, tcpFlagSYN, nil))
		emit(at(time.Millisecond), c.segment(1, tcpFlagSYN|tcpFlagACK, nil))
		emit(at(2*time.Millisecond), c.segment(0, tcpFlagACK, nil))
		stos := uint32(c.t0.Unix())
		emit(at(3*time.Millisecond), c.message(0, at(3*time.Millisecond), failover.MsgConnect, c.connectOptions))
		emit(at(4*time.Millisecond), c.message(1, at(4*time.Millisecond), failover.MsgConnectAck, c.connectOptions))
		for i, d := range []time.Duration{5 * time.Millisecond, 6 * time.Millisecond} {
			emit(at(d), c.message(i, at(d), failover.MsgState, func(b *failover.Builder) {
				b.AddState(failover.Normal)
				b.AddU8(failover.OptServerFlags, 0)
				b.AddU32(failover.OptStartTimeOfState, stos)
			}))
		}
	}
	// Each tick's messages are fed with their answers (at most 60 ms
	// later), so that a scrape never sees a message still unanswered.
	for {
		base := at(time.Duration(c.next) * simPeerTick)
		if base.Add(100 * time.Millisecond).After(now) {
			break
		}
		c.tick(c.next, base, emit)
		c.next++
	}
	c.upTo = now
}

// tick emits one tick's messages: CONTACTs every 5 s, a binding update
// of a every 2 s (the first 1 s after the start) and of b every 7 s,
// each acknowledged.
func (c *simConversation) tick(k int64, base time.Time, emit func(time.Time, []byte)) {
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	if k%5 == 0 {
		emit(ms(0), c.message(0, ms(0), failover.MsgContact, nil))
		emit(ms(10), c.message(1, ms(10), failover.MsgContact, nil))
	}
	update := func(from int, at int, host byte) {
		addr := netip.AddrFrom4([4]byte{10, c.ends[0].Addr().As4()[1], 31, host})
		emit(ms(at), c.message(from, ms(at), failover.MsgBndUpd, func(b *failover.Builder) {
			b.AddAddr(failover.OptAssignedIPAddress, addr)
			b.AddU8(failover.OptBindingStatus, uint8(failover.BindingActive))
			b.Add(failover.OptClientHardwareAddress, []byte{1, 0x02, 0x00, 0x5e, 0x10, 0x31, host})
			b.AddU32(failover.OptLeaseExpirationTime, uint32(ms(at).Add(time.Hour).Unix()))
			b.AddU32(failover.OptStartTimeOfState, uint32(ms(at).Unix()))
		}))
		c.acks++
		reject := c.acks%16 == 1
		emit(ms(at+50), c.message(1-from, ms(at+50), failover.MsgBndAck, func(b *failover.Builder) {
			b.AddAddr(failover.OptAssignedIPAddress, addr)
			b.AddU8(failover.OptBindingStatus, uint8(failover.BindingActive))
			if reject {
				b.AddU8(failover.OptRejectReason, uint8(failover.RejectLessCriticalBindingInfo))
			}
		}))
	}
	if k%2 == 1 {
		update(0, 20, byte(10+k%200))
	}
	if k%7 == 0 {
		update(1, 30, byte(10+(k+100)%200))
	}
}

// connectOptions are those of CONNECT and CONNECTACK, as ISC sends them.
func (c *simConversation) connectOptions(b *failover.Builder) {
	b.AddRelationshipName(c.name)
	b.AddU32(failover.OptMaxUnackedBndupd, 10)
	b.AddU32(failover.OptReceiveTimer, uint32(simPeerReceiveTimer/time.Second))
	b.AddText(failover.OptVendorClass, "simulated")
	b.AddU8(failover.OptProtocolVersion, 1)
	b.AddU32(failover.OptMCLT, 3600)
}

// message is one TCP segment from end carrying one message sent at ts
// (b's time field 1 s ahead).
func (c *simConversation) message(from int, ts time.Time, t failover.MessageType, opts func(*failover.Builder)) []byte {
	c.xid++
	b := failover.NewBuilder(nil, failover.Header{Type: t, Time: uint32(ts.Unix()) + uint32(from), XID: c.xid})
	if opts != nil {
		opts(b)
	}
	msg, err := b.Finish()
	if err != nil {
		// Only a change to this file can get here.
		panic(fmt.Sprintf("simulated peer: %v", err))
	}
	return c.segment(from, tcpFlagPSH|tcpFlagACK, msg)
}

// segment is a raw IPv4 frame (link type LINKTYPE_IPV4) holding one TCP
// segment from end from; checksums are left 0 (the tap does not check
// them).
func (c *simConversation) segment(from int, flags byte, payload []byte) []byte {
	src, dst := c.ends[from], c.ends[1-from]
	f := make([]byte, 40, 40+len(payload))
	f[0] = 0x45 // IPv4, 20-byte header
	binary.BigEndian.PutUint16(f[2:], uint16(40+len(payload)))
	f[6] = 0x40 // don't fragment
	f[8], f[9] = 64, 6
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(f[12:16], s4[:])
	copy(f[16:20], d4[:])
	t := f[20:]
	binary.BigEndian.PutUint16(t[0:], src.Port())
	binary.BigEndian.PutUint16(t[2:], dst.Port())
	binary.BigEndian.PutUint32(t[4:], c.seq[from])
	if flags&tcpFlagACK != 0 {
		binary.BigEndian.PutUint32(t[8:], c.seq[1-from])
	}
	t[12] = 5 << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], 65535)
	c.seq[from] += uint32(len(payload))
	if flags&tcpFlagSYN != 0 {
		c.seq[from]++
	}
	return append(f, payload...)
}
