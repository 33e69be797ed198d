package failover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing a TCP byte stream into messages (draft-12 §6.1: each message
// starts with its own length). Two modes:
//
//   - strict, for a connection read from its first byte: a length outside
//     12..2048 is a fatal error, as it is for ISC, which drops the
//     connection;
//   - resync, for a capture that may start mid-connection or lose bytes:
//     every frame must decode; when one does not, or at the start of the
//     stream, the framer scans forward for the next plausible header
//     (length 12..2048, type 1..12, payload offset 8 or 12 within the
//     length) whose whole message decodes, and counts the bytes it skipped.
//     A message the decoder refuses is therefore skipped, not yielded.

// SplitterOptions choose the framing mode.
type SplitterOptions struct {
	// Resync makes the framer look for a message boundary at the start of
	// the stream and after any implausible header, instead of failing.
	Resync bool
	// Into, in resync mode, receives each frame handed to Feed's fn
	// decoded (resync mode decodes every frame to judge it): the caller
	// need not decode it again. Valid during fn; shared by any number of
	// Splitters fed from one goroutine.
	Into *Message
}

// StreamStats counts what a framer has done.
type StreamStats struct {
	Messages uint64 // complete messages yielded
	Bytes    uint64 // bytes of those messages
	Skipped  uint64 // bytes skipped while looking for a message boundary
	Resyncs  uint64 // times a boundary was found after skipping bytes or losing sync
}

// framer is the state machine shared by Splitter and StreamReader.
// Its zero value is a strict framer.
type framer struct {
	into     *Message // where resync mode decodes frames; nil: a local
	resync   bool
	scanning bool // looking for a boundary (resync mode only)
	lost     bool // bytes were skipped since the last boundary
	stats    StreamStats
}

func newFramer(o SplitterOptions) framer {
	return framer{resync: o.Resync, scanning: o.Resync, into: o.Into}
}

// step looks at the unconsumed bytes buf. It returns the next message, if
// buf holds a complete one, and how many bytes of buf were consumed
// (skipped garbage plus the message). msg == nil with err == nil means
// more bytes are needed; consumed bytes are gone either way. Only strict
// mode returns errors.
func (f *framer) step(buf []byte) (msg []byte, consumed int, err error) {
	i := 0
	for {
		rest := buf[i:]
		if !f.scanning {
			if len(rest) < 4 {
				return nil, i, nil
			}
			n := int(binary.BigEndian.Uint16(rest))
			if f.resync && !plausibleHeader(rest) {
				f.scanning = true
				continue
			}
			if !validLength(n, int(rest[3])) {
				return nil, i, fmt.Errorf("%w: length field %d", ErrLength, n)
			}
			if len(rest) < n {
				return nil, i, nil
			}
			if f.resync {
				// A capture may lose bytes anywhere: in resync mode every
				// frame must decode, or the framer starts scanning here.
				m := f.into
				if m == nil {
					m = new(Message)
				}
				if e := parse(rest[:n], m); e.err != nil {
					f.scanning = true
					continue
				}
			}
			f.stats.Messages++
			f.stats.Bytes += uint64(n)
			return rest[:n:n], i + n, nil
		}
		// Scanning for a boundary (resync mode only). 12 bytes are enough
		// to judge any header, and no message is shorter unless it is a
		// Microsoft one at the very end of the data.
		if len(rest) < MinMessageLen {
			return nil, i, nil
		}
		if !plausibleHeader(rest) {
			i++
			f.stats.Skipped++
			f.lost = true
			continue
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < n {
			return nil, i, nil
		}
		var m Message
		if e := parse(rest[:n], &m); e.err != nil {
			i++
			f.stats.Skipped++
			f.lost = true
			continue
		}
		f.scanning = false
		if f.lost {
			f.stats.Resyncs++
			f.lost = false
		}
	}
}

// Splitter frames a TCP byte stream fed in arbitrary pieces, as a TCP
// reassembler delivers them. It copies only the incomplete message at the
// end of a piece (at most 2047 bytes); complete messages inside a piece
// are handed over in place. It holds no goroutine and does no I/O.
type Splitter struct {
	f    framer
	pend []byte
	err  error
}

// splitterPendCap bounds the Splitter's own buffer: an incomplete message
// (< 2048 bytes) plus the next bytes fed to complete it.
const splitterPendCap = 2 * MaxMessageLen

// NewSplitter returns a Splitter in the given mode.
func NewSplitter(o SplitterOptions) *Splitter {
	// The buffer is made when a piece first ends inside a message: a
	// stream fed whole messages (ISC writes one or more per segment)
	// never needs it.
	return &Splitter{f: newFramer(o)}
}

// Feed consumes p and calls fn with each complete message, in order. The
// slice passed to fn is valid only during the call (it may point into p
// or into the Splitter's buffer): decode or copy it there. In strict mode
// a bad length field makes Feed return an error, and every later call
// returns it again.
func (s *Splitter) Feed(p []byte, fn func(msg []byte)) error {
	if s.err != nil {
		return s.err
	}
	for len(p) > 0 {
		if len(s.pend) == 0 {
			// Fast path: frame p in place, keep only its incomplete tail.
			rest, err := s.drain(p, fn)
			if err != nil {
				return err
			}
			if len(rest) > 0 && s.pend == nil {
				s.pend = make([]byte, 0, splitterPendCap)
			}
			s.pend = append(s.pend[:0], rest...)
			return nil
		}
		// Complete the pending message from the front of p.
		k := min(len(p), splitterPendCap-len(s.pend))
		s.pend = append(s.pend, p[:k]...)
		p = p[k:]
		rest, err := s.drain(s.pend, fn)
		if err != nil {
			return err
		}
		s.pend = s.pend[:copy(s.pend, rest)]
	}
	return nil
}

func (s *Splitter) drain(buf []byte, fn func([]byte)) ([]byte, error) {
	for {
		msg, n, err := s.f.step(buf)
		buf = buf[n:]
		if err != nil {
			s.err = err
			return nil, err
		}
		if msg == nil {
			return buf, nil
		}
		fn(msg)
	}
}

// Pending returns how many bytes are buffered waiting for the rest of a
// message. At the end of a stream, a non-zero value means it ended inside
// a message (or, in resync mode, inside garbage).
func (s *Splitter) Pending() int { return len(s.pend) }

// Stats returns the counters, including the bytes skipped to resync.
func (s *Splitter) Stats() StreamStats { return s.f.stats }

// Synced reports whether the Splitter is at a message boundary it trusts
// (always true in strict mode until an error).
func (s *Splitter) Synced() bool { return !s.f.scanning && s.err == nil }

// StreamReader reads messages from an io.Reader (a TCP connection, a file
// of captured payload). It handles short reads and keeps one buffer of
// twice the maximum message size.
type StreamReader struct {
	r     io.Reader
	f     framer
	buf   []byte
	head  int // start of unconsumed bytes
	tail  int // end of valid bytes
	empty int // consecutive reads that returned nothing
	err   error
}

// maxEmptyReads bounds how often a Reader may return 0 bytes and no error
// in a row before Next gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// NewStreamReader returns a StreamReader in the given mode.
func NewStreamReader(r io.Reader, o SplitterOptions) *StreamReader {
	return &StreamReader{r: r, f: newFramer(o), buf: make([]byte, 2*MaxMessageLen)}
}

// Next returns the next complete message; it is valid until the next call.
// At the end of the stream it returns io.EOF, or an error wrapping
// ErrStreamTruncated if the stream ended inside a message (strict mode;
// in resync mode the leftover is reported by Pending and Next returns
// io.EOF).
func (sr *StreamReader) Next() ([]byte, error) {
	for {
		if sr.head < sr.tail {
			msg, n, err := sr.f.step(sr.buf[sr.head:sr.tail])
			sr.head += n
			if err != nil {
				sr.err = err
			}
			if msg != nil {
				return msg, nil
			}
		}
		if sr.err != nil {
			return nil, sr.fail()
		}
		if sr.head > 0 {
			sr.tail = copy(sr.buf, sr.buf[sr.head:sr.tail])
			sr.head = 0
		}
		n, err := sr.r.Read(sr.buf[sr.tail:])
		if n < 0 || n > len(sr.buf)-sr.tail {
			sr.err = errors.New("failover: reader returned an invalid count")
			continue
		}
		sr.tail += n
		if err != nil {
			sr.err = err
		}
		if n == 0 && err == nil {
			if sr.empty++; sr.empty >= maxEmptyReads {
				sr.err = io.ErrNoProgress
			}
		} else {
			sr.empty = 0
		}
	}
}

// fail turns the reader's sticky error into Next's result.
func (sr *StreamReader) fail() error {
	if errors.Is(sr.err, io.EOF) {
		if sr.tail > sr.head && !sr.f.resync {
			return fmt.Errorf("%w: %d bytes left", ErrStreamTruncated, sr.tail-sr.head)
		}
		return io.EOF
	}
	return sr.err
}

// ReadMessage reads and decodes the next message into m. m references the
// reader's buffer and is valid until the next call.
func (sr *StreamReader) ReadMessage(m *Message) error {
	b, err := sr.Next()
	if err != nil {
		return err
	}
	return Decode(b, m)
}

// Pending returns how many unconsumed bytes the reader holds.
func (sr *StreamReader) Pending() int { return sr.tail - sr.head }

// Stats returns the counters, including the bytes skipped to resync.
func (sr *StreamReader) Stats() StreamStats { return sr.f.stats }
