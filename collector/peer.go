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
