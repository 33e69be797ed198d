package peer

import (
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Reassembly of one direction of a TCP connection into the byte stream
// the failover framer reads. It is deliberately small: the failover
// conversation is a few messages a second (thousands during a pool
// rebalance), so a sorted slice of early segments is enough, and every
// buffer has a bound:
//
//   - a segment before the expected sequence number (a retransmission,
//     the same packet seen twice on a loopback tap) is trimmed or dropped;
//   - a segment after it waits, copied, until the hole is filled;
//   - a hole that is not filled within maxHeldSegments segments,
//     maxHeldBytes bytes or maxHoleWait of capture time is given up: the
//     stream continues after the hole and the framer resynchronises on the
//     next plausible header (the capture lost those bytes for good);
//   - a capture that starts mid-connection starts at the first segment
//     seen, and the framer finds the first message boundary.
const (
	maxHeldSegments = 64
	maxHeldBytes    = 256 << 10
	maxHoleWait     = 2 * time.Second
	// maxSeqJump bounds how far ahead of the expected sequence number a
	// segment may be and still be held; further is a capture that lost
	// more than any window, handled as a hole at once.
	maxSeqJump = 16 << 20
)

// heldSegment is an out-of-order segment waiting for the hole before it.
type heldSegment struct {
	seq  uint32
	data []byte
	ts   time.Time
}

// half is one direction of a connection.
type half struct {
	started bool   // the first sequence number is known
	fromSYN bool   // ... from the SYN, so the stream starts at a message boundary
	isn     uint32 // the SYN's sequence number
	next    uint32 // next expected sequence number
	fin     bool   // FIN seen
	held    []heldSegment
	heldLen int

	split   *failover.Splitter
	into    *failover.Message // the tracker's: split decodes into it
	deliver func([]byte)      // bound once: passing it to Feed does not allocate

	gaps    uint64 // holes given up
	lost    uint64 // bytes known lost (holes with a known size, snaplen)
	skipped uint64 // bytes the framers skipped before this one
}

// newSplitter returns a framer for one direction; into, if not nil,
// receives each message it frames decoded (SplitterOptions.Into).
func newSplitter(into *failover.Message) *failover.Splitter {
	// Resync mode in every case: a decoder that refuses a message must
	// not lose the connection's later messages (the framer skips it and
	// counts the bytes), and after a hole it finds the next boundary.
	return failover.NewSplitter(failover.SplitterOptions{Resync: true, Into: into})
}

// seqAfter reports how far a is after b, in sequence space (RFC 9293
// §3.4: comparisons are modulo 2^32).
func seqAfter(a, b uint32) int64 { return int64(int32(a - b)) }

// syn records the connection's initial sequence number.
func (h *half) syn(seq uint32) {
	if h.started {
		return
	}
	h.started, h.fromSYN, h.isn, h.next = true, true, seq, seq+1
}

// data takes a segment's payload at seq; lost is the number of payload
// bytes after it that the capture did not keep.
func (h *half) data(seq uint32, p []byte, lost int, ts time.Time) {
	if len(p) == 0 && lost == 0 {
		return
	}
	if !h.started {
		h.started, h.next = true, seq
	}
	d := seqAfter(seq, h.next)
	switch {
	case d < 0:
		if -d >= int64(len(p)) {
			return // all of it seen already
		}
		p, seq, d = p[-d:], h.next, 0
	case d > maxSeqJump:
		h.flushHeld()
		h.hole(seq)
		d = 0
	}
	if d > 0 {
		h.hold(seq, p, ts)
		if lost > 0 {
			// Rare (a short snaplen with reordering): the hole after a
			// held truncated segment is found when it is given up.
			h.lost += uint64(lost)
		}
		h.checkHoles(ts)
		return
	}
	h.emit(p)
	if lost > 0 {
		h.lost += uint64(lost)
		h.hole(h.next + uint32(lost))
	}
	h.drainHeld()
	h.checkHoles(ts)
}

func (h *half) emit(p []byte) {
	h.next += uint32(len(p))
	h.split.Feed(p, h.deliver) // resync mode never fails
}

// hole gives up the bytes up to seq: the framer starts afresh after them.
func (h *half) hole(seq uint32) {
	if d := seqAfter(seq, h.next); d > 0 {
		h.lost += uint64(d)
	}
	h.gaps++
	h.skipped += h.split.Stats().Skipped + uint64(h.split.Pending())
	h.split = newSplitter(h.into)
	h.next = seq
}

// hold keeps a copy of an early segment, in sequence order.
func (h *half) hold(seq uint32, p []byte, ts time.Time) {
	i := len(h.held)
	for i > 0 && seqAfter(h.held[i-1].seq, seq) > 0 {
		i--
	}
	if i > 0 && h.held[i-1].seq == seq {
		if len(h.held[i-1].data) >= len(p) {
			return // a retransmission of a held segment
		}
		h.heldLen -= len(h.held[i-1].data)
		h.held[i-1].data = append([]byte(nil), p...)
		h.heldLen += len(p)
		return
	}
	h.held = append(h.held, heldSegment{})
	copy(h.held[i+1:], h.held[i:])
	h.held[i] = heldSegment{seq: seq, data: append([]byte(nil), p...), ts: ts}
	h.heldLen += len(p)
}

// drainHeld emits the held segments that the stream has reached.
func (h *half) drainHeld() {
	for len(h.held) > 0 {
		s := h.held[0]
		d := seqAfter(s.seq, h.next)
		if d > 0 {
			return
		}
		h.popHeld()
		if -d < int64(len(s.data)) {
			h.emit(s.data[-d:])
		}
	}
}

func (h *half) popHeld() {
	h.heldLen -= len(h.held[0].data)
	h.held[0] = heldSegment{}
	h.held = h.held[1:]
	if len(h.held) == 0 {
		h.held = nil
	}
}

// checkHoles gives up the first hole when the held segments exceed a
// bound or have waited too long.
func (h *half) checkHoles(now time.Time) {
	for len(h.held) > 0 && (len(h.held) > maxHeldSegments || h.heldLen > maxHeldBytes || now.Sub(h.held[0].ts) > maxHoleWait) {
		h.hole(h.held[0].seq)
		h.drainHeld()
	}
}

// flushHeld gives up every hole (the connection ended or was evicted).
func (h *half) flushHeld() {
	for len(h.held) > 0 {
		h.hole(h.held[0].seq)
		h.drainHeld()
	}
}

// skippedBytes is what the framers of this direction could not frame:
// garbage skipped while resynchronising and incomplete messages dropped
// at holes.
func (h *half) skippedBytes() uint64 {
	return h.skipped + h.split.Stats().Skipped
}
