package peer

import (
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Conn is one failover TCP connection: its two ends, what each end sent,
// and how the connection went. Ends[0] is the end that opened the
// connection when the SYN was seen, else the end not on a failover port;
// Dir[i] describes the messages sent by Ends[i].
type Conn struct {
	ID   int // 1, 2, ... in order of the first packet seen
	Ends [2]Endpoint
	Dir  [2]DirStats

	FirstPacket, LastPacket time.Time
	// FromSYN: the capture saw the handshake (else it started
	// mid-connection, and the first messages may be missing).
	FromSYN bool
	// Established: the handshake completed, or traffic of a connection
	// already open was seen. Closed: a FIN or RST was seen, or the
	// connection was given up (CloseReason says which).
	Established bool
	Closing     bool // a FIN was seen: the connection is going down
	Closed      bool
	CloseReason string
	ClosedAt    time.Time
	// ClosedBy is the index of the end whose FIN or RST came first, -1
	// while neither end has closed.
	ClosedBy int

	// Name is the relationship name from the first CONNECT or CONNECTACK
	// ("" until one is seen: a capture that started mid-connection never
	// has it). It is what the sender asked for, not what the other end
	// agreed to: see Accepted. Cleaned for display (MaxTextLen).
	Name string
	// Connector is the index of the end that sent CONNECT (ISC: the
	// primary, draft-12 §8.2), -1 until one is seen.
	Connector int
	// Accepted: the two ends hold a failover conversation, not just a TCP
	// connection. Either an end answered the other's CONNECT with a
	// CONNECTACK without reject-reason (draft-12 §8.2: the relationship
	// name and the partner were recognised), or both ends sent messages
	// that only flow on an accepted connection (anything but CONNECT,
	// CONNECTACK and DISCONNECT: a capture that started mid-connection).
	// ISC closes a connection from a stranger without a word, and refuses
	// a CONNECT naming an unknown relationship with reject-reason 8, so
	// neither is ever accepted. Once set it stays.
	Accepted bool
	// RejectedBy is the index of the end that refused the other's
	// CONNECT (a CONNECTACK with a reject-reason), -1 if none did.
	RejectedBy int

	half [2]half
	// partnerClosed: the model took the partner's close into account.
	partnerClosed bool
	// lastSeen orders connections for eviction (packets handed to the
	// tracker so far when this connection saw its last packet).
	lastSeen uint64
	// lru links the connection into its tracker's list of open or of
	// closed connections, least recently seen first (Tracker.evict).
	lruPrev, lruNext *Conn
	lruList          *connList
	key              connKey // in the tracker's table
	// ends holds Ends as strings, made once for the timeline's events.
	ends [2]string
}

// endString returns Ends[i].String(), formatted once per connection.
func (c *Conn) endString(i int) string {
	if c.ends[i] == "" {
		c.ends[i] = c.Ends[i].String()
	}
	return c.ends[i]
}

// OpenedBy returns the index of the end that opened the connection (its
// SYN was seen), or -1 for a connection the capture joined mid-way.
func (c *Conn) OpenedBy() int {
	if c.FromSYN {
		return 0
	}
	return -1
}

// Up reports whether the connection is established and not closing.
func (c *Conn) Up() bool { return c.Established && !c.Closing }

// Messages returns the number of messages sent both ways.
func (c *Conn) Messages() uint64 { return c.Dir[0].Total + c.Dir[1].Total }

// Other returns the index of the other end.
func Other(i int) int { return 1 - i }

// Gaps returns the holes in the byte stream sent by end i that the
// capture lost, and the bytes of that stream that could not be framed
// (lost, or skipped while resynchronising).
func (c *Conn) Gaps(i int) (holes, skippedBytes uint64) {
	h := &c.half[i]
	return h.gaps, h.skippedBytes() + h.lost
}

// StateInfo is the last STATE message an end sent (draft-12 §7.1).
type StateInfo struct {
	Seen    bool
	Code    uint8 // server-state as sent (draft-12/ISC wire code)
	Startup bool  // server-flags STARTUP bit
	STOS    time.Time
	At      time.Time // capture time of the message
}

// FSM returns the announced state in the FSM_STATE vocabulary. A STATE
// with the STARTUP flag means the server is starting up: the state it
// carries is the one it saved before the restart (docs/peer.md, "What it
// reports"), so the state is STARTUP. ok is false for an unknown code.
func (s StateInfo) FSM() (failover.State, bool) {
	if s.Startup {
		return failover.Startup, true
	}
	return failover.StateFromWire(s.Code)
}

// Native returns ISC's name of the announced state ("recover-wait"), ""
// for a code ISC does not know.
func (s StateInfo) Native() string {
	st, ok := s.FSM()
	if !ok {
		return ""
	}
	n, _ := st.ISCName()
	return n
}

// DirStats is what one end of a connection sent.
type DirStats struct {
	// Messages counts messages by type (index 0 unused).
	Messages [failover.NumMessageTypes + 1]uint64
	Total    uint64
	Bytes    uint64
	// First and Last are the capture times of the first and last message.
	First, Last time.Time
	// LongestGap is the longest time between two messages of this end,
	// ending at LongestGapEnd. The other end drops the connection when it
	// exceeds its receive-timer (ISC: max-response-delay, draft-12 §8.4).
	LongestGap    time.Duration
	LongestGapEnd time.Time
	// ClockOffset is the last message's time field minus its capture
	// time; Min and Max over all messages. Valid when Total > 0.
	ClockOffset, MinClockOffset, MaxClockOffset time.Duration

	// From CONNECT / CONNECTACK, the last one this end sent; the text
	// options cleaned for display (MaxTextLen).
	Name         string // relationship-name
	Vendor       string // vendor-class
	ReceiveTimer failover.Optional[time.Duration]
	MCLT         failover.Optional[time.Duration]
	MaxUnacked   failover.Optional[uint32]
	// Microsoft: this end sends Microsoft's header (payload offset 8).
	Microsoft bool

	State        StateInfo
	StateChanges int // STATE messages that changed the announced state

	// Rejects counts reject-reason values this end sent (CONNECTACK,
	// BNDACK, DISCONNECT); nil until the first.
	Rejects map[failover.RejectReason]uint64

	// Pending is the number of BNDUPD this end sent that the other end
	// has not acknowledged yet; MaxPending the largest it was.
	Pending, MaxPending int

	// conversing: this end sent a message that only flows on an accepted
	// connection (see Conn.Accepted).
	conversing bool
}

// observe updates the model with message m, sent by end i and captured at ts.
func (c *Conn) observe(i int, ts time.Time, m *failover.Message) {
	d := &c.Dir[i]
	if m.Type.Valid() {
		d.Messages[m.Type]++
	}
	d.Total++
	d.Bytes += uint64(m.Len())
	if d.Total == 1 {
		d.First = ts
		d.Microsoft = m.Microsoft()
	} else if gap := ts.Sub(d.Last); gap > d.LongestGap {
		d.LongestGap, d.LongestGapEnd = gap, ts
	}
	d.Last = ts
	off := time.Duration(int64(m.Time)-ts.Unix())*time.Second - time.Duration(ts.Nanosecond())
	d.ClockOffset = off
	if d.Total == 1 || off < d.MinClockOffset {
		d.MinClockOffset = off
	}
	if d.Total == 1 || off > d.MaxClockOffset {
		d.MaxClockOffset = off
	}

	switch m.Type {
	case failover.MsgConnect, failover.MsgConnectAck:
		if m.Type == failover.MsgConnect && c.Connector < 0 {
			c.Connector = i
		}
		if n, ok := m.RelationshipName(); ok {
			d.Name = cleanText(n)
			if c.Name == "" {
				c.Name = d.Name
			}
		}
		if v, ok := m.VendorClass(); ok {
			d.Vendor = cleanText(v)
		}
		if v, ok := m.ReceiveTimer(); ok {
			d.ReceiveTimer = failover.Some(v)
		}
		if v, ok := m.MCLT(); ok {
			d.MCLT = failover.Some(v)
		}
		if v, ok := m.MaxUnackedBndupd(); ok {
			d.MaxUnacked = failover.Some(v)
		}
		if m.Type == failover.MsgConnectAck {
			if _, refused := m.RejectReason(); refused {
				c.RejectedBy = i
			} else if c.Dir[Other(i)].Messages[failover.MsgConnect] > 0 {
				c.Accepted = true
			}
		}
		c.reject(d, m)
	case failover.MsgState:
		s := StateInfo{Seen: true, At: ts}
		s.Code, _ = m.ServerStateCode()
		f, _ := m.ServerFlags()
		s.Startup = f.Startup()
		s.STOS, _ = m.StartTimeOfState()
		if !d.State.Seen || d.State.Code != s.Code || d.State.Startup != s.Startup {
			d.StateChanges++
		}
		d.State = s
	case failover.MsgBndUpd:
		d.Pending++
		d.MaxPending = max(d.MaxPending, d.Pending)
	case failover.MsgBndAck:
		// ISC acknowledges in order and echoes the BNDUPD's xid; a
		// count is enough, and never goes below zero when the capture
		// started after the BNDUPD.
		if o := &c.Dir[Other(i)]; o.Pending > 0 {
			o.Pending--
		}
		c.reject(d, m)
	case failover.MsgDisconnect:
		c.reject(d, m)
	}
	if m.Type.Valid() && m.Type != failover.MsgConnect && m.Type != failover.MsgConnectAck && m.Type != failover.MsgDisconnect {
		d.conversing = true
		if c.Dir[Other(i)].conversing {
			c.Accepted = true
		}
	}
}

func (c *Conn) reject(d *DirStats, m *failover.Message) {
	r, ok := m.RejectReason()
	if !ok {
		return
	}
	if d.Rejects == nil {
		d.Rejects = map[failover.RejectReason]uint64{}
	}
	d.Rejects[r]++
}
