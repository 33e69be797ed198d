package peer

import (
	"slices"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// DefaultPorts are the failover ports watched unless told otherwise: 647
// (IANA) and 847, the port ISC's examples give the secondary.
var DefaultPorts = []uint16{647, 847}

// Bounds of a Tracker.
const (
	// DefaultMaxConns bounds the connections tracked at once (open ones
	// and recently closed ones, which absorb the last ACKs of a close).
	DefaultMaxConns = 1024
	// DefaultMaxHistory bounds the closed connections kept for Conns.
	DefaultMaxHistory = 4096
	// closedLinger is how long a closed connection keeps absorbing
	// packets before it leaves the table.
	closedLinger = 60 * time.Second
)

// Options configure a Tracker.
type Options struct {
	// Ports are the failover ports: a TCP segment is looked at if either
	// of its ports is one of them. Empty: DefaultPorts.
	Ports []uint16
	// MaxConns and MaxHistory override the bounds; 0 means the default,
	// and a negative MaxHistory keeps no history.
	MaxConns, MaxHistory int
	// OnMessage, if set, is called for every message after the model
	// has taken it into account; from is the index in c.Ends of the
	// sender. m is valid only during the call.
	OnMessage func(c *Conn, from int, ts time.Time, m *failover.Message)
	// OnConn, if set, is called when a connection is first seen, when it
	// becomes established, and when it closes.
	OnConn func(c *Conn)
	// OnRemove, if set, is called when a closed connection leaves the
	// table (evicted, expired or its four-tuple reused): the tracker
	// never touches it again, so its counters are final.
	OnRemove func(c *Conn)

	// recycle: a connection that left the table is reused for a later
	// one (Analyze: its OnRemove keeps nothing of it, and there is no
	// history). It saves an allocation of a kilobyte or so per
	// connection of a capture.
	recycle bool
}

// Stats counts what a Tracker was given.
type Stats struct {
	Packets    uint64 // handed to Packet
	TCP        uint64 // TCP segments on a failover port
	NotTCP     uint64 // not TCP/IP, or a link type not decoded, or an IP fragment
	Messages   uint64 // failover messages framed
	Conns      uint64 // connections seen
	Evicted    uint64 // connections dropped from the table while open
	BadDecodes uint64 // framed messages the decoder refused (never expected)
}

type connKey struct{ a, b Endpoint }

// Tracker follows the failover connections of a capture. It is not safe
// for concurrent use: one goroutine feeds it packets in capture order.
type Tracker struct {
	opts    Options
	ports   []uint16
	table   map[connKey]*Conn
	last    *Conn // the connection of the previous packet: the common case
	lastKey connKey
	history []*Conn
	// open and closed hold the connections of the table by lastSeen:
	// eviction takes the front of closed, else of open, in O(1).
	open, closed connList
	stats        Stats
	seq          uint64
	now          time.Time // capture time of the packet being handled
	msg          failover.Message
	seg          segment
	free         []*Conn // removed connections to reuse (Options.recycle)
}

// maxFreeConns bounds the connections kept for reuse.
const maxFreeConns = 64

// NewTracker returns a Tracker with the given options.
func NewTracker(o Options) *Tracker {
	t := &Tracker{opts: o, ports: o.Ports, table: map[connKey]*Conn{}}
	if len(t.ports) == 0 {
		t.ports = DefaultPorts
	}
	if t.opts.MaxConns <= 0 {
		t.opts.MaxConns = DefaultMaxConns
	}
	if t.opts.MaxHistory == 0 {
		t.opts.MaxHistory = DefaultMaxHistory
	}
	return t
}

// Stats returns the counters.
func (t *Tracker) Stats() Stats { return t.stats }

func (t *Tracker) isPort(p uint16) bool {
	for _, q := range t.ports {
		if p == q {
			return true
		}
	}
	return false
}

// Packet takes one captured frame of the given link type, captured at ts.
// data is not kept after the call.
func (t *Tracker) Packet(link LinkType, ts time.Time, data []byte) {
	t.stats.Packets++
	s := &t.seg
	if !parsePacket(link, data, s) {
		t.stats.NotTCP++
		return
	}
	if !t.isPort(s.src.Port) && !t.isPort(s.dst.Port) {
		return
	}
	t.stats.TCP++
	t.seq++
	t.now = ts
	c, from := t.lookup(s)
	if c == nil {
		return
	}
	c.LastPacket = ts
	c.lastSeen = t.seq
	c.lruList.moveToBack(c)
	if c.Closed {
		return // the last ACKs of a closed connection
	}
	h := &c.half[from]
	if s.flags&tcpSYN != 0 {
		h.syn(s.seq)
		if s.flags&tcpACK != 0 {
			// The SYN-ACK: the connection is open once the client's ACK
			// follows; counting it open now is close enough.
			t.establish(c)
		}
		if s.flags&tcpACK == 0 {
			c.FromSYN = true
		}
	} else if s.flags&(tcpRST|tcpFIN) == 0 && s.flags&tcpACK != 0 {
		t.establish(c)
	}
	if len(s.payload) > 0 || s.lost > 0 {
		seq := s.seq
		if s.flags&tcpSYN != 0 {
			seq++
		}
		h.data(seq, s.payload, s.lost, ts)
	}
	if s.flags&(tcpRST|tcpFIN) != 0 && c.ClosedBy < 0 {
		c.ClosedBy = from
	}
	switch {
	case s.flags&tcpRST != 0:
		t.close(c, "RST")
	case s.flags&tcpFIN != 0:
		h.fin = true
		if c.half[Other(from)].fin {
			t.close(c, "FIN")
		} else if !c.Closing {
			// ISC closes both ways at once; until the other FIN comes,
			// the connection is down but its last bytes still count.
			c.Closing = true
			if t.opts.OnConn != nil {
				t.opts.OnConn(c)
			}
		}
	}
}

// lookup finds or creates the connection of s and returns the index of
// its sender. It returns nil for a packet that starts nothing (a RST or
// FIN of a connection not seen).
func (t *Tracker) lookup(s *segment) (*Conn, int) {
	k := connKey{s.src, s.dst}
	from := 0
	if lessEndpoint(s.dst, s.src) {
		k = connKey{s.dst, s.src}
	}
	c := t.last
	if c == nil || k != t.lastKey {
		c = t.table[k]
	}
	if c != nil {
		if c.Ends[1] == s.src {
			from = 1
		}
		if s.flags&(tcpSYN|tcpACK) == tcpSYN && c.half[from].started && c.half[from].isn != s.seq {
			// A new SYN on the same four-tuple: the port was reused.
			t.close(c, "reused")
			t.remove(k, c)
			c = nil
		}
	}
	if c == nil {
		if s.flags&(tcpRST|tcpFIN) != 0 && len(s.payload) == 0 {
			return nil, 0
		}
		c = t.newConn(k, s)
		from = 0
		if c.Ends[1] == s.src {
			from = 1
		}
	}
	t.last, t.lastKey = c, k
	return c, from
}

func lessEndpoint(a, b Endpoint) bool {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c < 0
	}
	return a.Port < b.Port
}

func (t *Tracker) newConn(k connKey, s *segment) *Conn {
	if len(t.table) >= t.opts.MaxConns {
		t.evict()
	}
	t.stats.Conns++
	var c *Conn
	if n := len(t.free); n > 0 {
		// A removed connection: its framers and bound callbacks serve
		// again, everything else starts afresh.
		c = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
		split := [2]*failover.Splitter{c.half[0].split, c.half[1].split}
		deliver := [2]func([]byte){c.half[0].deliver, c.half[1].deliver}
		*c = Conn{}
		for i := range c.half {
			*split[i] = *newSplitter(&t.msg)
			c.half[i].into, c.half[i].split, c.half[i].deliver = &t.msg, split[i], deliver[i]
		}
	} else {
		c = &Conn{}
		for i := range c.half {
			c.half[i].into = &t.msg
			c.half[i].split = newSplitter(&t.msg)
			c.half[i].deliver = func(b []byte) { t.deliver(c, i, b) }
		}
	}
	c.ID, c.FirstPacket, c.Connector, c.RejectedBy, c.ClosedBy = int(t.stats.Conns), t.now, -1, -1, -1
	switch {
	case s.flags&(tcpSYN|tcpACK) == tcpSYN:
		c.Ends = [2]Endpoint{s.src, s.dst} // the SYN's sender opened it
	case t.isPort(s.dst.Port) && !t.isPort(s.src.Port):
		c.Ends = [2]Endpoint{s.src, s.dst}
	case t.isPort(s.src.Port) && !t.isPort(s.dst.Port):
		c.Ends = [2]Endpoint{s.dst, s.src}
	case s.flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK:
		c.Ends = [2]Endpoint{s.dst, s.src}
	default:
		c.Ends = [2]Endpoint{s.src, s.dst}
	}
	t.table[k] = c
	c.key, c.lastSeen = k, t.seq
	t.open.pushBack(c)
	if t.opts.OnConn != nil {
		t.opts.OnConn(c)
	}
	return c
}

func (t *Tracker) deliver(c *Conn, from int, b []byte) {
	// The splitter decoded b into t.msg to judge it (resync mode); a
	// frame that does not decode is never delivered. Should a splitter
	// not have done so, decode here.
	if len(t.msg.Bytes()) != len(b) || (len(b) > 0 && &t.msg.Bytes()[0] != &b[0]) {
		if err := failover.Decode(b, &t.msg); err != nil {
			t.stats.BadDecodes++
			return
		}
	}
	t.stats.Messages++
	c.observe(from, t.now, &t.msg)
	if t.opts.OnMessage != nil {
		t.opts.OnMessage(c, from, t.now, &t.msg)
	}
}

func (t *Tracker) establish(c *Conn) {
	if c.Established || c.Closed {
		return
	}
	c.Established = true
	if t.opts.OnConn != nil {
		t.opts.OnConn(c)
	}
}

// close ends a connection: what is held is framed as far as it goes.
func (t *Tracker) close(c *Conn, reason string) {
	if c.Closed {
		return
	}
	for i := range c.half {
		c.half[i].flushHeld()
	}
	c.Closed, c.Closing, c.CloseReason, c.ClosedAt = true, true, reason, t.now
	if c.lruList == &t.open {
		t.open.unlink(c)
		t.closed.insert(c)
	}
	if t.opts.OnConn != nil {
		t.opts.OnConn(c)
	}
}

func (t *Tracker) remove(k connKey, c *Conn) {
	if t.table[k] == c {
		delete(t.table, k)
	}
	if c.lruList != nil {
		c.lruList.unlink(c)
	}
	if t.last == c {
		t.last = nil
	}
	if t.opts.OnRemove != nil {
		t.opts.OnRemove(c)
	}
	if t.opts.recycle && t.opts.MaxHistory < 0 && len(t.free) < maxFreeConns {
		t.free = append(t.free, c)
		return
	}
	if t.opts.MaxHistory > 0 {
		if len(t.history) >= t.opts.MaxHistory {
			t.history = slices.Delete(t.history, 0, len(t.history)-t.opts.MaxHistory+1)
		}
		t.history = append(t.history, c)
	}
}

// evict makes room in the table: the least recently seen closed
// connection goes first, else the least recently seen open one. The two
// lists keep the table in that order, so this is O(1) however full the
// table is.
func (t *Tracker) evict() {
	victim := t.closed.head
	if victim == nil {
		victim = t.open.head
	}
	if victim == nil {
		return
	}
	if !victim.Closed {
		t.stats.Evicted++
		t.close(victim, "evicted")
	}
	t.remove(victim.key, victim)
}

// connList is a doubly linked list of connections through their lru
// fields, in increasing lastSeen.
type connList struct{ head, tail *Conn }

func (l *connList) pushBack(c *Conn) {
	c.lruList, c.lruPrev, c.lruNext = l, l.tail, nil
	if l.tail != nil {
		l.tail.lruNext = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) unlink(c *Conn) {
	if c.lruPrev != nil {
		c.lruPrev.lruNext = c.lruNext
	} else {
		l.head = c.lruNext
	}
	if c.lruNext != nil {
		c.lruNext.lruPrev = c.lruPrev
	} else {
		l.tail = c.lruPrev
	}
	c.lruList, c.lruPrev, c.lruNext = nil, nil, nil
}

// moveToBack takes c, just seen, to the end of its list (l may be nil:
// a connection no longer in the table).
func (l *connList) moveToBack(c *Conn) {
	if l == nil || l.tail == c {
		return
	}
	l.unlink(c)
	l.pushBack(c)
}

// insert puts c in its place by lastSeen: at the end for a connection
// closed by the packet just seen, further in for one closed by Expire.
func (l *connList) insert(c *Conn) {
	at := l.tail
	for at != nil && at.lastSeen > c.lastSeen {
		at = at.lruPrev
	}
	if at == l.tail {
		l.pushBack(c)
		return
	}
	c.lruList, c.lruPrev = l, at
	if at == nil {
		c.lruNext, l.head = l.head, c
	} else {
		c.lruNext, at.lruNext = at.lruNext, c
	}
	c.lruNext.lruPrev = c
}

// Expire closes connections that have seen no packet for idle (a partner
// that vanished without a FIN: the live tap's clock, not the capture's,
// says so), and forgets closed ones after a while. now is the capture
// clock (time.Now for a live tap).
func (t *Tracker) Expire(now time.Time, idle time.Duration) {
	t.now = now
	for k, c := range t.table {
		switch {
		case !c.Closed && now.Sub(c.LastPacket) > idle:
			t.close(c, "idle")
		case c.Closed && now.Sub(c.ClosedAt) > closedLinger:
			t.remove(k, c)
		}
	}
}

// Finish ends the capture: open connections stay open (the capture just
// ended) but whatever the reassembler still holds is framed.
func (t *Tracker) Finish() {
	for _, c := range t.table {
		for i := range c.half {
			c.half[i].flushHeld()
		}
	}
}

// Conns returns the connections seen and still remembered, in the order
// they were first seen: the closed ones kept as history, then those in
// the table.
func (t *Tracker) Conns() []*Conn {
	out := make([]*Conn, 0, len(t.history)+len(t.table))
	out = append(out, t.history...)
	for _, c := range t.table {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Conn) int { return a.ID - b.ID })
	return out
}
