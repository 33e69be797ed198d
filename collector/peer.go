package collector

// The peer source taps the failover conversation of the server at
// local_address (docs/peer.md): live on an interface of the exporter's
// host (AF_PACKET, CAP_NET_RAW) or replayed once from a capture file. It
// never sends a packet (docs/peer.md). This file holds the capture's
// lifecycle and the metrics; the relationship model is the peer package's
// (peer.Model). From it the source reports the relationship (states each
// end announced in STATE, draft-12 §7.1) and the peer-protocol metrics of
// docs/metrics.md.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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
)

var (
	descPeerUp = sourceGauge("peer_connection_up",
		"1 while a failover TCP connection between the local server and this partner is established (peer tap).",
		"relationship", "local_address", "partner_address")
	descPeerMessages = sourceCounter("peer_messages_total",
		"Failover messages seen on the wire, by direction (seen from the local server) and message type (peer tap).",
		"relationship", "direction", "message")
	descPeerLast = sourceGauge("peer_last_message_timestamp_seconds",
		"Capture time of the last failover message in this direction (peer tap).",
		"relationship", "direction")
	descPeerRejects = sourceCounter("peer_rejects_total",
		"Reject reasons sent in CONNECTACK, BNDACK and DISCONNECT messages, either direction (peer tap).",
		"relationship", "reason")
	descPeerPending = sourceGauge("peer_pending_updates",
		"BNDUPD messages seen without their BNDACK yet, by the direction of the BNDUPD (peer tap).",
		"relationship", "direction")
	descPeerOffset = sourceGauge("peer_clock_offset_seconds",
		"Time field of the last message in this direction minus its capture time: the sender's clock offset as seen by the tap (peer tap).",
		"relationship", "direction")
	descPeerIgnored = sourceCounter("peer_ignored_connections_total",
		"Closed connections to or from the local server's failover ports that carried no accepted failover conversation, by why (peer tap).",
		"reason")
	descPeerUnanswered = sourceGauge("peer_unanswered_seconds",
		"How long the local server has been talking to its partner without a word back: from its first message (or connection it opened) after the partner's last message, to now while a connection is open; 0 once the partner speaks or closes its end (peer tap).",
		"relationship")
	descPeerUnansweredConnects = sourceCounter("peer_unanswered_connects_total",
		"CONNECT messages of the local server on connections that closed without a message from the partner (peer tap).",
		"relationship")
)

// Timing of the live tap.
const (
	// peerExpireEvery is how often the live tap closes idle connections
	// and, while it captures nothing, looks at its interface.
	peerExpireEvery = time.Second
	// How long the live tap waits between attempts to reopen its capture
	// (the interface missing, a read error): doubling from peerReopenMin
	// up to peerReopenMax, back to the minimum once the capture works.
	peerReopenMin = time.Second
	peerReopenMax = 30 * time.Second
)

type peerSource struct {
	logger log.Logger
	local  netip.Addr
	file   string // replayed once; "" for a live tap
	iface  string // the live tap's interface
	ports  []uint16

	capMu   sync.Mutex
	capture *peer.Capture // the file, or the live socket (nil while none is open)
	closed  bool          // Close was called: open no more

	// replayCtx bounds the replay of a capture file, whoever started it
	// (Run, or a Poll that came first): Close and the end of Run's
	// context cancel it.
	replayCtx    context.Context
	replayCancel context.CancelFunc
	replayOnce   sync.Once

	mu         sync.Mutex
	tracker    *peer.Tracker
	model      *peer.Model
	running    bool               // Run has started
	dirty      bool               // an observation changed since the last push
	err        error              // live: why the tap captures nothing now (nil while it does); file: why it ended early
	overflow   bool               // logged once: too many relationships
	badMetrics int                // series that could not be rendered (logged once)
	gen        uint64             // counts the steps of the model: what WriteMetrics renders changes only with them
	panics     int                // packets (or expiry rounds) dropped because the model panicked
	hook       func(where string) // tests: called in the packet ("message") and expiry ("expire") paths
	created    time.Time          // the tap's start: its counters count from it
}

func newPeerSource(t config.Target, logger log.Logger) (Source, error) {
	c, ok := t.Settings.(*config.Peer)
	if !ok {
		return nil, fmt.Errorf("peer: settings of type %T", t.Settings)
	}
	s := &peerSource{logger: logger, local: c.Addr(), file: c.PcapFile, iface: c.Interface, ports: c.Ports, created: time.Now(),
		model: peer.NewModel(peer.ModelOptions{Local: c.Addr(), Relationship: c.Relationship})}
	var err error
	if c.PcapFile != "" {
		s.capture, err = peer.OpenFile(c.PcapFile)
	} else {
		s.capture, err = peer.OpenLive(c.Interface, c.Ports)
		switch {
		case errors.Is(err, peer.ErrNoInterface):
			// A VLAN or bond created after the exporter started: the
			// target starts down (not_found) and Run opens the capture
			// once the interface exists. A missing capability, in
			// contrast, fails the start (OpenLive checks it first).
			level.Warn(logger).Log("msg", "Capture interface not found; the tap starts capturing when it appears", "interface", c.Interface)
			s.err, err = err, nil
		case err == nil:
			s.err = s.capture.Check() // a link down
		}
	}
	if err != nil {
		return nil, err
	}
	s.replayCtx, s.replayCancel = context.WithCancel(context.Background())
	s.tracker = peer.NewTracker(peer.Options{Ports: c.Ports, MaxHistory: -1, OnMessage: s.onMessage, OnConn: s.model.OnConn})
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
		// A Poll may have started the replay already (it then waits in
		// replayOnce.Do): the end of ctx stops it either way.
		stop := context.AfterFunc(ctx, s.replayCancel)
		defer stop()
		s.replayOnce.Do(func() { s.replay(push) })
		if ctx.Err() == nil {
			push(s.view(), nil) // what a replay started by Poll did not push
		}
		<-ctx.Done()
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Close() }) // unblocks Next
	defer stop()
	go s.expireLoop(ctx, push)
	s.capLoop(ctx, push)
}

// capLoop reads the live capture until ctx ends. The tap outlives its
// interface: "network is down" (the link went down, or the interface was
// deleted) keeps the socket, which captures again when the link comes
// up; the expiry loop closes it if the interface is gone or was created
// again (a socket stays bound to the old interface). A closed or failed
// capture is reopened by name, with a backoff. Meanwhile the target is
// reported down with why.
func (s *peerSource) capLoop(ctx context.Context, push func([]failover.Relationship, error)) {
	backoff := peerReopenMin
	wait := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, peerReopenMax)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	var lastDown time.Time
	openedAt := time.Now()
	for ctx.Err() == nil {
		c := s.current()
		if c == nil {
			var err error
			c, err = s.reopen()
			if errors.Is(err, peer.ErrCaptureClosed) {
				return // Close was called
			}
			if err != nil {
				s.fail(push, err)
				if !wait() {
					return
				}
				continue
			}
			openedAt = time.Now()
			s.opened(push, c)
		}
		data, ts, link, err := c.Next()
		if err == nil || time.Since(openedAt) > peerReopenMax {
			// The capture works, or worked for a while: should it fail
			// now, the first new attempts come quickly. (One that fails
			// as soon as it is open backs off to peerReopenMax.)
			backoff = peerReopenMin
		}
		switch {
		case err == nil:
			s.packet(push, link, ts, data)
		case ctx.Err() != nil:
			return
		case errors.Is(err, peer.ErrLinkDown):
			s.fail(push, err)
			// The kernel reports a link going down once; should it
			// repeat at once, do not spin on it.
			if time.Since(lastDown) < peerReopenMin && !wait() {
				return
			}
			lastDown = time.Now()
		case errors.Is(err, peer.ErrCaptureClosed):
			s.dropCapture(c) // closed by checkLink: the interface went away
		default:
			s.fail(push, err)
			s.dropCapture(c)
			if !wait() {
				return
			}
		}
	}
}

// current is the live capture open now (nil if none).
func (s *peerSource) current() *peer.Capture {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	return s.capture
}

// reopen opens the live capture again; ErrCaptureClosed once Close was called.
func (s *peerSource) reopen() (*peer.Capture, error) {
	c, err := peer.OpenLive(s.iface, s.ports)
	if err != nil {
		return nil, err
	}
	s.capMu.Lock()
	defer s.capMu.Unlock()
	if s.closed {
		c.Close()
		return nil, peer.ErrCaptureClosed
	}
	s.capture = c
	return c, nil
}

// dropCapture closes c and forgets it (if it is still the current one).
func (s *peerSource) dropCapture(c *peer.Capture) {
	s.capMu.Lock()
	if s.capture == c {
		s.capture = nil
	}
	s.capMu.Unlock()
	c.Close()
}

// opened checks the link of a capture just opened: up, the tap is back;
// down, it stays down until the link comes up.
func (s *peerSource) opened(push func([]failover.Relationship, error), c *peer.Capture) {
	level.Info(s.logger).Log("msg", "Capture opened", "interface", s.iface)
	if err := c.Check(); err != nil {
		s.fail(push, err)
		return
	}
	s.resume(push)
}

// checkLink, on the expiry loop's tick while the live tap is down, looks at
// its interface: up again, the tap is back; gone or created again, the
// capture is closed (Run's Next returns) and reopened by name.
func (s *peerSource) checkLink(push func([]failover.Relationship, error)) {
	c := s.current()
	if c == nil {
		return
	}
	s.mu.Lock()
	down := s.err != nil
	s.mu.Unlock()
	if !down {
		return
	}
	switch err := c.Check(); {
	case err == nil:
		s.resume(push)
	case errors.Is(err, peer.ErrNoInterface):
		s.dropCapture(c)
	}
}

// peerReason classifies why the live tap captures nothing.
func peerReason(err error) error {
	switch {
	case errors.Is(err, peer.ErrNoInterface):
		return Classified(ReasonNotFound, err)
	case errors.Is(err, peer.ErrLinkDown):
		return Classified(ReasonConnect, err)
	}
	return Classified(ReasonOther, err)
}

// fail reports the live tap down: logged when the reason changes, pushed
// every time (each failed attempt counts as a failed poll).
func (s *peerSource) fail(push func([]failover.Relationship, error), err error) {
	s.mu.Lock()
	changed := s.err == nil || s.err.Error() != err.Error()
	s.err = err
	s.mu.Unlock()
	if changed {
		level.Warn(s.logger).Log("msg", "Capture interrupted; the tap keeps trying", "interface", s.iface, "err", err)
	}
	push(nil, peerReason(err))
}

// resume clears the live tap's error and pushes the current view.
func (s *peerSource) resume(push func([]failover.Relationship, error)) {
	obs, changed := s.step("resume", func() {
		if s.err != nil {
			level.Info(s.logger).Log("msg", "Capturing again", "interface", s.iface)
			s.err = nil
			s.dirty = true
		}
	})
	if changed {
		push(obs, nil)
	}
}

// packet feeds one captured frame to the model and pushes what changed.
// Frames flowing again clear the live tap's error.
func (s *peerSource) packet(push func([]failover.Relationship, error), link peer.LinkType, ts time.Time, data []byte) {
	obs, changed := s.step("message", func() {
		if s.err != nil && s.file == "" {
			level.Info(s.logger).Log("msg", "Capturing again", "interface", s.iface)
			s.err = nil
			s.dirty = true
		}
		s.tracker.Packet(link, ts, data)
	})
	if changed && push != nil {
		push(obs, nil)
	}
}

// step runs f, one step of the model, with s.mu held, and returns the
// observations to push if they changed (a live tap that is down pushes
// none: its error stands until it captures again). A panic in f (a bug,
// on a packet nobody foresaw) is recovered: the packet is dropped, counted
// and logged (the first with its stack), and the tap goes on. One packet
// must neither stop the tap nor leave s.mu locked, which would block
// WriteMetrics and with it every scrape.
func (s *peerSource) step(where string, f func()) (obs []failover.Relationship, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	defer func() {
		if p := recover(); p != nil {
			s.panics++
			if s.panics == 1 {
				level.Error(s.logger).Log("msg", "The peer tap panicked on a packet; it is dropped and the tap goes on (please report this, with the stack)",
					"where", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			} else {
				level.Debug(s.logger).Log("msg", "The peer tap panicked again", "where", where, "panic", fmt.Sprint(p), "panics", s.panics)
			}
			obs, changed = nil, false
		}
	}()
	f()
	if s.model.Changed() {
		s.dirty = true
	}
	if s.model.Overflowed() && !s.overflow {
		s.overflow = true
		level.Warn(s.logger).Log("msg", "Too many relationships with a connection up; ignoring new ones", "max", peer.MaxRelationships)
	}
	if !s.dirty || (s.err != nil && s.file == "") {
		return nil, false
	}
	s.dirty = false
	return s.observations(), true
}

// view renders the current observations.
func (s *peerSource) view() []failover.Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.observations()
}

func (s *peerSource) expireLoop(ctx context.Context, push func([]failover.Relationship, error)) {
	t := time.NewTicker(peerExpireEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.expire(push, now)
			s.checkLink(push)
		}
	}
}

// expire closes connections idle at now and forgets what has been idle
// for long.
func (s *peerSource) expire(push func([]failover.Relationship, error), now time.Time) {
	obs, changed := s.step("expire", func() {
		if s.hook != nil {
			s.hook("expire")
		}
		s.tracker.Expire(now, peerIdle)
		s.model.Prune(now)
	})
	if changed {
		push(obs, nil)
	}
}

// replay reads the whole capture file, as fast as it can be read, until
// s.replayCtx ends; push is nil when Poll replays.
func (s *peerSource) replay(push func([]failover.Relationship, error)) {
	defer s.capture.Close()
	for s.replayCtx.Err() == nil {
		data, ts, link, err := s.capture.Next()
		if err != nil {
			if s.replayCtx.Err() != nil {
				return // closed meanwhile
			}
			obs, changed := s.step("end", func() {
				s.tracker.Finish()
				if !errors.Is(err, io.EOF) {
					s.err = err
					level.Error(s.logger).Log("msg", "Capture file ends early; keeping what was read", "file", s.file, "err", err)
				}
				s.dirty = true
			})
			if changed && push != nil {
				push(obs, nil)
			}
			return
		}
		s.packet(push, link, ts, data)
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
		// that overruns; the next one sees the whole file. Should Run
		// start meanwhile, it waits for this replay, which the end of
		// its context cancels.
		s.replayOnce.Do(func() { s.replay(nil) })
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil && s.file == "" {
		return nil, peerReason(s.err)
	}
	return s.observations(), nil
}

// Close implements Closer: it stops a replay, closes the capture and
// keeps the live tap from opening another.
func (s *peerSource) Close() error {
	if s.replayCancel != nil {
		s.replayCancel()
	}
	s.capMu.Lock()
	c := s.capture
	s.closed = true
	s.capMu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
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

// onMessage hands a message to the model.
func (s *peerSource) onMessage(c *peer.Conn, from int, ts time.Time, m *failover.Message) {
	if s.hook != nil {
		s.hook("message")
	}
	s.model.OnMessage(c, from, ts, m)
}

// observations renders the relationships, sorted by name (s.mu held).
func (s *peerSource) observations() []failover.Relationship {
	rels := s.model.Relationships()
	out := make([]failover.Relationship, 0, len(rels))
	for _, r := range rels {
		// The partner is known from the connection even before any
		// STATE says in which state either side is.
		var partner string
		if p := r.PartnerAddress(); p.IsValid() {
			partner = p.String()
		}
		out = append(out, failover.Relationship{
			Name: r.Name, Vendor: r.Vendor, Role: r.Role,
			Local: sideOf(r.Local), Partner: sideOf(r.Partner),
			MCLT: r.MCLT, MaxResponseDelay: r.MaxResponseDelay,
			UnackedUpdates:           failover.Some(r.Pending[peer.DirSent]),
			MaxUnackedUpdates:        r.MaxUnacked,
			CommunicationInterrupted: failover.Some(!r.Up()),
			PartnerAddress:           partner,
		})
	}
	return out
}

// WriteMetrics implements MetricsSource: it renders what the tap holds.
// A series that cannot be rendered is left out, never panics: a panic in
// a collector fails every scrape of the exporter (client_golang turns it
// into HTTP 500) for as long as the bad value stays. Names from the wire
// are cleaned by the peer package, so this is the second line of defence.
func (s *peerSource) WriteMetrics(w *MetricWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collect(w)
}

// CountersCreated implements CreatedMetricsSource: the tap counts from
// its start.
func (s *peerSource) CountersCreated() time.Time { return s.created }

// MetricsGeneration implements GenerationalMetricsSource: the metrics
// change only with a step of the model (a packet, an expiry round, the
// end of a replay), except the unanswered time of a relationship whose
// local server waits on an open connection, counted to the scrape's now.
// A replay counts to its capture's last packet, so it never ticks.
func (s *peerSource) MetricsGeneration() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, s.file != "" || !s.model.Waiting()
}

// collect renders the metrics (s.mu held).
func (s *peerSource) collect(w *MetricWriter) {
	emit := func(err error) {
		if err != nil {
			if s.badMetrics == 0 {
				level.Error(s.logger).Log("msg", "Cannot render a peer metric; leaving it out", "err", err)
			}
			s.badMetrics++
		}
	}
	local := s.local.String()
	now := time.Now()
	if s.file != "" {
		now = s.model.Now() // a replay ends when its capture does
	}
	for _, r := range s.model.Relationships() {
		for _, p := range r.Partners() {
			up := 0.0
			if r.UpTo(p) {
				up = 1
			}
			emit(w.Gauge(descPeerUp, up, r.Name, local, p.String()))
		}
		for d, dir := range peer.Directions {
			for _, t := range failover.MessageTypes() {
				emit(w.Counter(descPeerMessages, float64(r.Messages[d][t]), r.Name, dir, t.String()))
			}
			if !r.Last[d].IsZero() {
				emit(w.Gauge(descPeerLast, float64(r.Last[d].UnixNano())/1e9, r.Name, dir))
			}
			emit(w.Gauge(descPeerPending, float64(r.Pending[d]), r.Name, dir))
			if v, ok := r.Offset[d].Get(); ok {
				emit(w.Gauge(descPeerOffset, v, r.Name, dir))
			}
		}
		for reason, n := range r.Rejects {
			emit(w.Counter(descPeerRejects, float64(n), r.Name, reason))
		}
		emit(w.Gauge(descPeerUnanswered, s.model.Unanswered(r, now).Seconds(), r.Name))
		emit(w.Counter(descPeerUnansweredConnects, float64(r.UnansweredConnects), r.Name))
	}
	ignored := s.model.Ignored()
	for i, reason := range peer.IgnoredReasons {
		emit(w.Counter(descPeerIgnored, float64(ignored[i]), reason))
	}
}
