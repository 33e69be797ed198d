package failover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Bounds of the failover header (draft-12 §6.1; docs/protocol.md §1).
const (
	// MinMessageLen and MaxMessageLen bound the length field: ISC dhcpd
	// accepts 12..2048 and drops the connection otherwise. A Microsoft
	// header (payload offset 8) is only 8 bytes, so a message with that
	// offset may be as short as MinMessageLenMicrosoft.
	MinMessageLen          = 12
	MinMessageLenMicrosoft = 8
	MaxMessageLen          = 2048

	// PayloadOffsetISC is the payload offset ISC sends: a 12-byte header
	// with the xid. PayloadOffsetMicrosoft is the offset Microsoft's stack
	// is reported to send: the header ends after the time field and there
	// is no xid. Other offsets >= 12 are honoured, the bytes between 12 and
	// the offset kept as header extension (draft-12 §6.1 reserves them).
	PayloadOffsetISC       = 12
	PayloadOffsetMicrosoft = 8
)

// Errors of the wire codec. Decode and the stream readers wrap them with
// the detail (which option, which length); test with errors.Is.
var (
	ErrTruncated       = errors.New("failover: truncated message")
	ErrLength          = errors.New("failover: message length out of range 12..2048 (8..2048 with offset 8)")
	ErrLengthMismatch  = errors.New("failover: length field does not match message size")
	ErrMessageType     = errors.New("failover: unknown message type")
	ErrPayloadOffset   = errors.New("failover: bad payload offset")
	ErrOptionOverrun   = errors.New("failover: option runs past the end of the message")
	ErrTrailingBytes   = errors.New("failover: trailing bytes after the last option")
	ErrDuplicateOption = errors.New("failover: repeated option")
	ErrOptionLength    = errors.New("failover: bad option length")
	ErrTooLarge        = errors.New("failover: message longer than 2048 bytes")
	ErrStreamTruncated = errors.New("failover: stream ends inside a message")
)

// Header is the fixed part of a message, used to encode one.
type Header struct {
	Type MessageType
	// PayloadOffset is where options start; 0 means 12 (ISC).
	PayloadOffset uint8
	Time          uint32 // sender's Unix time
	XID           uint32 // not encoded when PayloadOffset is 8
	// Extra is the header extension between byte 12 and PayloadOffset; its
	// length must be PayloadOffset-12.
	Extra []byte
}

// Message is a decoded failover message. It is a view over the bytes given
// to Decode: it copies nothing, so those bytes must not change while the
// Message is in use. Decode validates the whole option list up front; the
// accessors then cannot fail on malformed data, only report absence.
type Message struct {
	Type          MessageType
	PayloadOffset uint8
	Time          uint32 // sender's Unix time (draft-12 §6.1)
	XID           uint32 // 0 when the header has no xid (offset 8)

	raw   []byte
	nopts uint16
	// idx[code] is the offset in raw of the option header of each known
	// option, 0 if absent (an option never starts at 0). A fixed array
	// keeps Decode free of allocations.
	idx [optionIndexLen]uint16
}

// Len returns the message length (the length field).
func (m *Message) Len() int { return len(m.raw) }

// Bytes returns the message as received (aliasing the decoded slice).
func (m *Message) Bytes() []byte { return m.raw }

// Microsoft reports whether the header is Microsoft's (payload offset 8);
// such messages carry UTF-16LE strings (MS-DHCPF §2.2).
func (m *Message) Microsoft() bool { return m.PayloadOffset == PayloadOffsetMicrosoft }

// HasXID reports whether the header carries an xid (offset >= 12).
func (m *Message) HasXID() bool { return m.PayloadOffset >= PayloadOffsetISC }

// HeaderExtra returns the header bytes between byte 12 and the payload
// offset (empty for ISC and Microsoft messages).
func (m *Message) HeaderExtra() []byte {
	if m.PayloadOffset <= PayloadOffsetISC {
		return nil
	}
	return m.raw[PayloadOffsetISC:m.PayloadOffset:m.PayloadOffset]
}

// Timestamp returns the header's time field as a time.Time.
func (m *Message) Timestamp() time.Time { return time.Unix(int64(m.Time), 0) }

// Header returns the fixed part of the message, for re-encoding.
func (m *Message) Header() Header {
	return Header{Type: m.Type, PayloadOffset: m.PayloadOffset, Time: m.Time, XID: m.XID, Extra: m.HeaderExtra()}
}

func (m *Message) options() []byte {
	if m.raw == nil {
		return nil
	}
	return m.raw[m.PayloadOffset:]
}

// decodeError is what parse reports: a sentinel and the detail Decode
// adds when it wraps it. Keeping it a plain value lets the stream
// resynchroniser try thousands of candidate positions without allocating.
type decodeError struct {
	err    error
	code   OptionCode
	n, max int
}

func (e decodeError) wrap() error {
	switch e.err {
	case nil:
		return nil
	case ErrLength, ErrLengthMismatch:
		return fmt.Errorf("%w: length field %d, %d bytes", e.err, e.n, e.max)
	case ErrMessageType:
		return fmt.Errorf("%w: %d", e.err, e.n)
	case ErrPayloadOffset:
		return fmt.Errorf("%w: %d in a message of %d bytes", e.err, e.n, e.max)
	case ErrOptionOverrun, ErrOptionLength:
		return fmt.Errorf("%w: option %d (%s) with %d bytes of data", e.err, uint16(e.code), e.code, e.n)
	case ErrDuplicateOption:
		return fmt.Errorf("%w: option %d (%s)", e.err, uint16(e.code), e.code)
	case ErrTrailingBytes:
		return fmt.Errorf("%w: %d bytes", e.err, e.n)
	}
	return e.err
}

// Decode decodes one complete message, b[0:len(b)], into m. The length
// field must equal len(b): a caller reading a stream frames it first (see
// Splitter). Every option's bounds are checked, fixed-size options must
// have their size, a known option may appear once (ISC rejects repeats),
// unknown codes are kept and skipped. Decode does not allocate on success;
// m keeps referencing b.
func Decode(b []byte, m *Message) error {
	return parse(b, m).wrap()
}

// parse is Decode without the error formatting. On error m is left zero.
func parse(b []byte, m *Message) decodeError {
	e := parseInto(b, m)
	if e.err != nil {
		*m = Message{}
	}
	return e
}

func parseInto(b []byte, m *Message) decodeError {
	*m = Message{}
	if len(b) < MinMessageLenMicrosoft {
		return decodeError{err: ErrTruncated, n: len(b)}
	}
	if len(b) > MaxMessageLen {
		return decodeError{err: ErrTooLarge, n: len(b)}
	}
	r := beReader{b: b}
	length := int(r.u16())
	typ := MessageType(r.u8())
	off := int(r.u8())
	tm := r.u32()
	if !validLength(length, off) {
		return decodeError{err: ErrLength, n: length, max: len(b)}
	}
	if length != len(b) {
		return decodeError{err: ErrLengthMismatch, n: length, max: len(b)}
	}
	if !typ.Valid() {
		return decodeError{err: ErrMessageType, n: int(typ)}
	}
	if !validPayloadOffset(off, length) {
		return decodeError{err: ErrPayloadOffset, n: off, max: length}
	}
	var xid uint32
	if off >= PayloadOffsetISC {
		xid = r.u32()
	}
	if r.err != nil {
		return decodeError{err: r.err}
	}
	r.off = off
	var nopts int
	for r.remaining() > 0 {
		at := r.off
		if r.remaining() < optionHeaderLen {
			return decodeError{err: ErrTrailingBytes, n: r.remaining()}
		}
		code := OptionCode(r.u16())
		n := int(r.u16())
		if r.remaining() < n {
			return decodeError{err: ErrOptionOverrun, code: code, n: n}
		}
		r.off += n
		nopts++
		if !code.Known() {
			continue
		}
		if m.idx[code] != 0 {
			return decodeError{err: ErrDuplicateOption, code: code}
		}
		if !checkOptionLen(code, n) {
			return decodeError{err: ErrOptionLength, code: code, n: n}
		}
		m.idx[code] = uint16(at)
	}
	m.Type = typ
	m.PayloadOffset = uint8(off)
	m.Time = tm
	m.XID = xid
	m.raw = b
	m.nopts = uint16(nopts)
	return decodeError{}
}

// validLength applies the length bounds: 12..2048, or 8..2048 for a
// Microsoft header, which has no xid.
func validLength(length, off int) bool {
	if length > MaxMessageLen {
		return false
	}
	if off == PayloadOffsetMicrosoft {
		return length >= MinMessageLenMicrosoft
	}
	return length >= MinMessageLen
}

// validPayloadOffset: 8 (Microsoft, no xid) or 12.. the message length.
func validPayloadOffset(off, length int) bool {
	return off == PayloadOffsetMicrosoft || (off >= PayloadOffsetISC && off <= length)
}

// plausibleHeader is the resynchroniser's quick test of a candidate
// header: a length within bounds, a defined message type, and ISC's or
// Microsoft's payload offset. h holds at least the first 4 bytes.
func plausibleHeader(h []byte) bool {
	length, off := int(binary.BigEndian.Uint16(h)), int(h[3])
	return (off == PayloadOffsetISC || off == PayloadOffsetMicrosoft) &&
		validLength(length, off) && MessageType(h[2]).Valid()
}
