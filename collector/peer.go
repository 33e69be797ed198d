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
	// peerMaxRelationships bounds the relationships one tap reports. When
	// full, a new one takes the place of the one idle the longest (no
	// connection up); if every one has a connection up it is ignored.
	peerMaxRelationships = 64
	// peerMaxPartners bounds the partner addresses of one relationship
	// (a partner that moved, or a host speaking for it): when full, the
	// one idle the longest without a connection up makes room.
	peerMaxPartners = 8
	// peerPartnerIdle: the live tap forgets a partner address of a
	// relationship after this long without a connection or a message, if
	// the relationship has a partner more recently active (its last
	// partner stays: peer_connection_up 0 keeps saying who is unreachable).
	peerPartnerIdle = time.Hour
	// peerRelationshipIdle: the live tap forgets a relationship after this
	// long without a connection up or a message (one removed from the
	// servers' configuration, or renamed), except the one named in the
	// target's `relationship` and the most recently active one, which are
	// reported however long the partner stays away.
	peerRelationshipIdle = 24 * time.Hour
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

// Why a connection of the local server was not taken as a relationship's.
const (
	ignoredNoMessages  = iota // closed without a failover message (a scanner, a refused port)
	ignoredRejected           // a CONNECT was refused (CONNECTACK with reject-reason)
	ignoredNotAccepted        // messages, but no accepted conversation (one side talking alone)
	numIgnored
)

var peerIgnoredReasons = [numIgnored]string{"no_messages", "rejected", "not_accepted"}

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
	descPeerIgnored = prometheus.NewDesc(namespace+"_peer_ignored_connections_total",
		"Closed connections to or from the local server's failover ports that carried no accepted failover conversation, by why (peer tap).",
		[]string{"target", "reason"}, nil)
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

type peerSource struct {
	logger   log.Logger
	local    netip.Addr
	fallback string // name of unnamed connections
	pinned   string // the target's relationship: never forgotten
	file     string // replayed once; "" for a live tap
	capture  *peer.Capture

	replayOnce sync.Once
	closeOnce  sync.Once

	mu         sync.Mutex
	tracker    *peer.Tracker
	rels       map[string]*peerRel
	connRel    map[*peer.Conn]*peerRel // connections taken as a relationship's, until closed
	ignored    [numIgnored]uint64
	running    bool  // Run has started
	dirty      bool  // an observation changed since the last push
	err        error // the capture failed
	overflow   bool  // logged once: too many relationships
	badMetrics int   // series that could not be rendered (logged once)
}

func newPeerSource(t config.Target, logger log.Logger) (Source, error) {
	c, ok := t.Settings.(*config.Peer)
	if !ok {
		return nil, fmt.Errorf("peer: settings of type %T", t.Settings)
	}
	s := &peerSource{logger: logger, local: c.Addr(), fallback: c.Relationship, pinned: c.Relationship, file: c.PcapFile,
		rels: map[string]*peerRel{}, connRel: map[*peer.Conn]*peerRel{}}
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
			s.prune(now)
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
		// The partner is known from the connection even before any
		// STATE says in which state either side is.
		var partner string
		if p := r.newestPartner(); p.IsValid() {
			partner = p.String()
		}
		out = append(out, failover.Relationship{
			Name: r.name, Vendor: r.vendor, Role: r.role,
			Local: sideOf(r.local), Partner: sideOf(r.partner),
			MCLT: r.mclt, MaxResponseDelay: r.mrd,
			UnackedUpdates:           failover.Some(r.pending[dirSent]),
			MaxUnackedUpdates:        r.maxUnk,
			CommunicationInterrupted: failover.Some(len(r.up) == 0),
			PartnerAddress:           partner,
		})
	}
	return out
}

// Describe implements MetricsSource.
func (s *peerSource) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPeerUp, descPeerMessages, descPeerLast, descPeerRejects, descPeerPending, descPeerOffset, descPeerIgnored} {
		ch <- d
	}
}

// CollectMetrics implements MetricsSource: it renders what the tap holds.
// A series that cannot be rendered is left out, never panics: a panic in
// a collector fails every scrape of the exporter (client_golang turns it
// into HTTP 500) for as long as the bad value stays. Names from the wire
// are cleaned by the peer package, so this is the second line of defence.
func (s *peerSource) CollectMetrics(target string, ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			if s.badMetrics == 0 {
				level.Error(s.logger).Log("msg", "Cannot render a peer metric; leaving it out", "err", err)
			}
			s.badMetrics++
			return
		}
		ch <- m
	}
	local := s.local.String()
	for _, r := range s.rels {
		for p := range r.partners {
			up := 0.0
			if r.upTo(p) {
				up = 1
			}
			emit(descPeerUp, prometheus.GaugeValue, up, target, r.name, local, p.String())
		}
		for d, dir := range peerDirections {
			for _, t := range failover.MessageTypes() {
				emit(descPeerMessages, prometheus.CounterValue, float64(r.msgs[d][t]), target, r.name, dir, t.String())
			}
			if !r.last[d].IsZero() {
				emit(descPeerLast, prometheus.GaugeValue, float64(r.last[d].UnixNano())/1e9, target, r.name, dir)
			}
			emit(descPeerPending, prometheus.GaugeValue, float64(r.pending[d]), target, r.name, dir)
			if v, ok := r.offset[d].Get(); ok {
				emit(descPeerOffset, prometheus.GaugeValue, v, target, r.name, dir)
			}
		}
		for reason, n := range r.rejects {
			emit(descPeerRejects, prometheus.CounterValue, float64(n), target, r.name, reason)
		}
	}
	for i, reason := range peerIgnoredReasons {
		emit(descPeerIgnored, prometheus.CounterValue, float64(s.ignored[i]), target, reason)
	}
}
