package collector

// The peer source taps the failover conversation of the server at
// local_address (docs/peer.md): live on an interface of the exporter's
// host (AF_PACKET, CAP_NET_RAW) or replayed once from a capture file. It
// never sends a packet (design.md). From the messages it reports the
// relationship (states each end announced in STATE, draft-12 §7.1) and
// the peer-protocol metrics of metrics.md.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

func init() {
	registerSource("peer", newPeerSource)
}

// Bounds of the peer source.
const (
	// peerIdle closes a tracked connection that saw no packet for this
	// long (a partner that vanished without FIN or RST; ISC drops the
	// connection after max-response-delay and keeps CONTACTs flowing
	// every third of it while idle, so a live one is never this quiet).
	peerIdle = 2 * time.Minute
	// peerExpireEvery is how often the live tap checks for such.
	peerExpireEvery = time.Second
	// peerMaxRelationships bounds the relationships one tap reports (a
	// hostile host making up relationship names in CONNECTs).
	peerMaxRelationships = 64
	// peerUnnamed labels connections whose CONNECT was not seen, when
	// the target configures no relationship.
	peerUnnamed = "unknown"
)

// Directions of the peer metrics, seen from the local server.
const (
	dirSent     = 0
	dirReceived = 1
)

var peerDirections = [2]string{"sent", "received"}

var (
	descPeerUp = prometheus.NewDesc(namespace+"_peer_connection_up",
		"1 while a failover TCP connection between the local server and this partner is established (peer tap).",
		[]string{"target", "relationship", "local_address", "partner_address"}, nil)
	descPeerMessages = prometheus.NewDesc(namespace+"_peer_messages_total",
		"Failover messages seen on the wire, by direction (seen from the local server) and message type (peer tap).",
		[]string{"target", "relationship", "direction", "message"}, nil)
	descPeerLast = prometheus.NewDesc(namespace+"_peer_last_message_timestamp_seconds",
		"Capture time of the last failover message in this direction (peer tap).",
		[]string{"target", "relationship", "direction"}, nil)
	descPeerRejects = prometheus.NewDesc(namespace+"_peer_rejects_total",
		"Reject reasons sent in CONNECTACK, BNDACK and DISCONNECT messages, either direction (peer tap).",
		[]string{"target", "relationship", "reason"}, nil)
	descPeerPending = prometheus.NewDesc(namespace+"_peer_pending_updates",
		"BNDUPD messages seen without their BNDACK yet, by the direction of the BNDUPD (peer tap).",
		[]string{"target", "relationship", "direction"}, nil)
	descPeerOffset = prometheus.NewDesc(namespace+"_peer_clock_offset_seconds",
		"Time field of the last message in this direction minus its capture time: the sender's clock offset as seen by the tap (peer tap).",
		[]string{"target", "relationship", "direction"}, nil)
)

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

	partners map[netip.Addr]bool       // partner addresses seen
	up       map[*peer.Conn]netip.Addr // established connections, by partner
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

type peerSource struct {
	logger   log.Logger
	local    netip.Addr
	fallback string
	file     string // replayed once; "" for a live tap
	capture  *peer.Capture

	replayOnce sync.Once
	closeOnce  sync.Once

	mu        sync.Mutex
	tracker   *peer.Tracker
	rels      map[string]*peerRel
	connRel   map[*peer.Conn]*peerRel
	pairNames map[netip.Addr]string // partner → name learned from a CONNECT
	running   bool                  // Run has started
	dirty     bool                  // an observation changed since the last push
	err       error                 // the capture failed
	overflow  bool                  // logged once: too many relationships
}

func newPeerSource(t config.Target, logger log.Logger) (Source, error) {
	c, ok := t.Settings.(*config.Peer)
	if !ok {
		return nil, fmt.Errorf("peer: settings of type %T", t.Settings)
	}
	s := &peerSource{logger: logger, local: c.Addr(), fallback: c.Relationship, file: c.PcapFile,
		rels: map[string]*peerRel{}, connRel: map[*peer.Conn]*peerRel{}, pairNames: map[netip.Addr]string{}}
	if s.fallback == "" {
		s.fallback = peerUnnamed
	}
	var err error
	if c.PcapFile != "" {
		s.capture, err = peer.OpenFile(c.PcapFile)
	} else {
		s.capture, err = peer.OpenLive(c.Interface, c.Ports)
	}
	if err != nil {
		return nil, err
	}
	s.tracker = peer.NewTracker(peer.Options{Ports: c.Ports, MaxHistory: -1, OnMessage: s.onMessage, OnConn: s.onConn})
	return s, nil
}

// Run implements Watcher: it captures until ctx ends (a file: replays it
// once, then keeps its final state), pushing an observation whenever a
// state or a connection changes.
func (s *peerSource) Run(ctx context.Context, push func([]failover.Relationship, error)) {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	if s.file != "" {
		s.replayOnce.Do(func() { s.replay(ctx, push) })
		<-ctx.Done()
		return
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			s.Close() // unblocks Next
		case <-stop:
		}
	}()
	go s.expireLoop(ctx, push)
	for {
		data, ts, link, err := s.capture.Next()
		if err != nil {
			if ctx.Err() == nil {
				level.Error(s.logger).Log("msg", "Capture failed", "err", err)
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				push(nil, Classified(ReasonOther, err))
			}
			return
		}
		s.mu.Lock()
		s.tracker.Packet(link, ts, data)
		s.pushIfDirty(push)
	}
}

// pushIfDirty unlocks s.mu and pushes the observations if they changed.
func (s *peerSource) pushIfDirty(push func([]failover.Relationship, error)) {
	if !s.dirty || push == nil {
		s.mu.Unlock()
		return
	}
	s.dirty = false
	obs := s.observations()
	s.mu.Unlock()
	push(obs, nil)
}

func (s *peerSource) expireLoop(ctx context.Context, push func([]failover.Relationship, error)) {
	t := time.NewTicker(peerExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			s.tracker.Expire(now, peerIdle)
			s.pushIfDirty(push)
		}
	}
}

// replay reads the whole capture file, as fast as it can be read.
func (s *peerSource) replay(ctx context.Context, push func([]failover.Relationship, error)) {
	defer s.capture.Close()
	for n := 0; ctx.Err() == nil; n++ {
		data, ts, link, err := s.capture.Next()
		if err != nil {
			s.mu.Lock()
			s.tracker.Finish()
			if !errors.Is(err, io.EOF) {
				s.err = err
				level.Error(s.logger).Log("msg", "Capture file ends early; keeping what was read", "file", s.file, "err", err)
			}
			s.dirty = true
			s.pushIfDirty(push)
			return
		}
		s.mu.Lock()
		s.tracker.Packet(link, ts, data)
		s.pushIfDirty(push)
	}
}

// Poll implements Source: the current view. A capture file not replayed
// yet by Run (an ad-hoc /probe) is replayed first.
func (s *peerSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if s.file != "" && !running {
		// Not bound to the poll's deadline: a replay cut short would
		// never read the rest of the file. The agent abandons a poll
		// that overruns; the next one sees the whole file.
		s.replayOnce.Do(func() { s.replay(context.Background(), nil) })
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil && s.file == "" {
		return nil, Classified(ReasonOther, s.err)
	}
	return s.observations(), nil
}

// Close implements Closer.
func (s *peerSource) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.capture.Close() })
	return err
}

// ---- the model, fed by the tracker with s.mu held ---------------------------

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

// relFor returns the relationship c belongs to, moving c when a CONNECT
// named it after it was first seen unnamed.
func (s *peerSource) relFor(c *peer.Conn, li int) *peerRel {
	partner := c.Ends[peer.Other(li)].Addr.Unmap()
	name := c.Name
	switch {
	case name != "":
		s.pairNames[partner] = name
	case s.pairNames[partner] != "":
		name = s.pairNames[partner]
	default:
		name = s.fallback
	}
	r := s.rels[name]
	if r == nil {
		if len(s.rels) >= peerMaxRelationships {
			if !s.overflow {
				s.overflow = true
				level.Warn(s.logger).Log("msg", "Too many relationship names on the wire; ignoring new ones", "max", peerMaxRelationships)
			}
			return nil
		}
		r = &peerRel{name: name, partners: map[netip.Addr]bool{}, up: map[*peer.Conn]netip.Addr{}}
		s.rels[name] = r
	}
	if old := s.connRel[c]; old != nil && old != r {
		delete(old.up, c)
		if old.empty() {
			delete(s.rels, old.name)
		}
		if c.Up() {
			r.up[c] = partner
		}
		s.dirty = true
	}
	s.connRel[c] = r
	r.partners[partner] = true
	return r
}

// empty: a relationship that only ever held a connection since renamed.
func (r *peerRel) empty() bool {
	if len(r.up) > 0 || r.local.Seen || r.partner.Seen {
		return false
	}
	for d := range r.msgs {
		for _, n := range r.msgs[d] {
			if n > 0 {
				return false
			}
		}
	}
	return true
}

func (s *peerSource) onConn(c *peer.Conn) {
	li := s.localEnd(c)
	if li < 0 {
		return
	}
	r := s.relFor(c, li)
	if r == nil {
		return
	}
	partner := c.Ends[peer.Other(li)].Addr.Unmap()
	was := len(r.up) > 0
	if c.Up() {
		r.up[c] = partner
	} else {
		delete(r.up, c)
	}
	if c.Closed {
		delete(s.connRel, c)
	}
	if was != (len(r.up) > 0) {
		s.dirty = true
	}
}

func (s *peerSource) onMessage(c *peer.Conn, from int, ts time.Time, m *failover.Message) {
	li := s.localEnd(c)
	if li < 0 {
		return
	}
	r := s.relFor(c, li)
	if r == nil {
		return
	}
	pi := peer.Other(li)
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
		r.vendor = vendorOf(m, c.Dir[from].Vendor)
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

// vendorOf: the vendor-class ("isc-4.4.3-P1") when sent, else the header
// dialect (Microsoft sends payload offset 8, ISC 12).
func vendorOf(m *failover.Message, class string) failover.Vendor {
	lc := strings.ToLower(class)
	switch {
	case strings.HasPrefix(lc, "isc"):
		return failover.VendorISC
	case strings.Contains(lc, "microsoft") || m.Microsoft():
		return failover.VendorWindows
	}
	return failover.VendorISC
}

func sideOf(s peer.StateInfo) failover.Side {
	if !s.Seen {
		return failover.Side{}
	}
	st, ok := s.FSM()
	if !ok {
		st = failover.NoState
	}
	return failover.Side{Reported: true, State: st, Native: s.Native(), StartTime: s.STOS}
}

// observations renders the relationships, sorted by name (s.mu held).
func (s *peerSource) observations() []failover.Relationship {
	names := make([]string, 0, len(s.rels))
	for n := range s.rels {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]failover.Relationship, 0, len(names))
	for _, n := range names {
		r := s.rels[n]
		out = append(out, failover.Relationship{
			Name: r.name, Vendor: r.vendor, Role: r.role,
			Local: sideOf(r.local), Partner: sideOf(r.partner),
			MCLT: r.mclt, MaxResponseDelay: r.mrd,
			UnackedUpdates:           failover.Some(r.pending[dirSent]),
			MaxUnackedUpdates:        r.maxUnk,
			CommunicationInterrupted: failover.Some(len(r.up) == 0),
		})
	}
	return out
}

// Describe implements MetricsSource.
func (s *peerSource) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeerUp, descPeerMessages, descPeerLast, descPeerRejects, descPeerPending, descPeerOffset} {
		ch <- d
	}
}

// CollectMetrics implements MetricsSource: it renders what the tap holds.
func (s *peerSource) CollectMetrics(target string, ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	local := s.local.String()
	for _, r := range s.rels {
		for p := range r.partners {
			up := 0.0
			if r.upTo(p) {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descPeerUp, prometheus.GaugeValue, up, target, r.name, local, p.String())
		}
		for d, dir := range peerDirections {
			for _, t := range failover.MessageTypes() {
				ch <- prometheus.MustNewConstMetric(descPeerMessages, prometheus.CounterValue, float64(r.msgs[d][t]), target, r.name, dir, t.String())
			}
			if !r.last[d].IsZero() {
				ch <- prometheus.MustNewConstMetric(descPeerLast, prometheus.GaugeValue, float64(r.last[d].UnixNano())/1e9, target, r.name, dir)
			}
			ch <- prometheus.MustNewConstMetric(descPeerPending, prometheus.GaugeValue, float64(r.pending[d]), target, r.name, dir)
			if v, ok := r.offset[d].Get(); ok {
				ch <- prometheus.MustNewConstMetric(descPeerOffset, prometheus.GaugeValue, v, target, r.name, dir)
			}
		}
		for reason, n := range r.rejects {
			ch <- prometheus.MustNewConstMetric(descPeerRejects, prometheus.CounterValue, float64(n), target, r.name, reason)
		}
	}
}
