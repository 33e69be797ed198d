package failover

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Builder appends one message to a byte slice: the header, then options in
// the order they are added, so that encoding is deterministic. Errors are
// sticky and reported by Finish, which also checks the result with the
// decoder, so a Builder never produces bytes Decode would refuse.
//
//	b := failover.NewBuilder(buf[:0], failover.Header{Type: failover.MsgState, Time: now})
//	b.AddState(failover.Normal)
//	b.AddU8(failover.OptServerFlags, 0)
//	b.AddU32(failover.OptStartTimeOfState, stos)
//	msg, err := b.Finish()
type Builder struct {
	buf   []byte
	start int
	err   error
}

// NewBuilder starts a message at the end of dst.
func NewBuilder(dst []byte, h Header) *Builder {
	b := &Builder{}
	b.Reset(dst, h)
	return b
}

// Reset starts a new message at the end of dst, reusing the Builder.
func (b *Builder) Reset(dst []byte, h Header) {
	*b = Builder{buf: dst, start: len(dst)}
	off := int(h.PayloadOffset)
	if off == 0 {
		off = PayloadOffsetISC
	}
	switch {
	case !h.Type.Valid():
		b.err = fmt.Errorf("%w: %d", ErrMessageType, uint8(h.Type))
	case off != PayloadOffsetMicrosoft && off < PayloadOffsetISC:
		b.err = fmt.Errorf("%w: %d", ErrPayloadOffset, off)
	case off >= PayloadOffsetISC && len(h.Extra) != off-PayloadOffsetISC:
		b.err = fmt.Errorf("%w: offset %d with %d bytes of header extension", ErrPayloadOffset, off, len(h.Extra))
	case off == PayloadOffsetMicrosoft && len(h.Extra) != 0:
		b.err = fmt.Errorf("%w: offset 8 with a header extension", ErrPayloadOffset)
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0) // length, set by Finish
	b.buf = append(b.buf, uint8(h.Type), uint8(off))
	b.buf = binary.BigEndian.AppendUint32(b.buf, h.Time)
	if off >= PayloadOffsetISC {
		b.buf = binary.BigEndian.AppendUint32(b.buf, h.XID)
		b.buf = append(b.buf, h.Extra...)
	}
}

// Add appends an option with arbitrary data.
func (b *Builder) Add(code OptionCode, data []byte) {
	if b.err != nil {
		return
	}
	if len(data) > MaxMessageLen {
		b.err = fmt.Errorf("%w: option %s with %d bytes", ErrTooLarge, code, len(data))
		return
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(code))
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(len(data)))
	b.buf = append(b.buf, data...)
}

// AddString appends an option carrying the bytes of s.
func (b *Builder) AddString(code OptionCode, s string) {
	if b.err != nil {
		return
	}
	if len(s) > MaxMessageLen {
		b.err = fmt.Errorf("%w: option %s with %d bytes", ErrTooLarge, code, len(s))
		return
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(code))
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(len(s)))
	b.buf = append(b.buf, s...)
}

// AddU8 appends a one-octet option.
func (b *Builder) AddU8(code OptionCode, v uint8) { b.Add(code, []byte{v}) }

// AddU16 appends a two-octet big-endian option.
func (b *Builder) AddU16(code OptionCode, v uint16) {
	var d [2]byte
	binary.BigEndian.PutUint16(d[:], v)
	b.Add(code, d[:])
}

// AddU32 appends a four-octet big-endian option.
func (b *Builder) AddU32(code OptionCode, v uint32) {
	var d [4]byte
	binary.BigEndian.PutUint32(d[:], v)
	b.Add(code, d[:])
}

// AddAddr appends an IPv4 address option (assigned-IP-address, Microsoft's
// server IP).
func (b *Builder) AddAddr(code OptionCode, a netip.Addr) {
	if !a.Is4() {
		if b.err == nil {
			b.err = fmt.Errorf("%w: option %s needs an IPv4 address", ErrOptionLength, code)
		}
		return
	}
	d := a.As4()
	b.Add(code, d[:])
}

// AddState appends server-state with the wire code of s (never the
// FSM_STATE number: the two numberings differ, docs/protocol.md §2).
func (b *Builder) AddState(s State) {
	c, ok := s.WireCode()
	if !ok {
		if b.err == nil {
			b.err = fmt.Errorf("%w: state %s has no wire code", ErrOptionLength, s)
		}
		return
	}
	b.AddU8(OptServerState, c)
}

// AddRelationshipName appends relationship-name: ASCII as ISC sends it,
// or UTF-16LE when the message is Microsoft's (offset 8).
func (b *Builder) AddRelationshipName(name string) { b.AddText(OptRelationshipName, name) }

// AddText appends a text option (relationship-name, message, vendor-class)
// in the message's dialect: the bytes of s for ISC, UTF-16LE for Microsoft.
func (b *Builder) AddText(code OptionCode, s string) {
	if b.microsoft() {
		b.Add(code, appendUTF16LE(nil, s, false))
		return
	}
	b.AddString(code, s)
}

// AddOption appends an Option value.
func (b *Builder) AddOption(o Option) { b.Add(o.Code, o.Data) }

func (b *Builder) microsoft() bool {
	return len(b.buf) >= b.start+4 && b.buf[b.start+3] == PayloadOffsetMicrosoft
}

// Finish sets the length field, checks the message with the decoder and
// returns dst with the message appended. On error it returns dst as it
// was given and the first error met.
func (b *Builder) Finish() ([]byte, error) {
	if b.err != nil {
		return b.buf[:b.start], b.err
	}
	n := len(b.buf) - b.start
	if n > MaxMessageLen {
		return b.buf[:b.start], fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	binary.BigEndian.PutUint16(b.buf[b.start:], uint16(n))
	var m Message
	if err := Decode(b.buf[b.start:], &m); err != nil {
		return b.buf[:b.start], err
	}
	return b.buf, nil
}

// AppendMessage appends the message made of h and opts, in that order, to
// dst. Encoding is deterministic: the same header and option list always
// give the same bytes, and for any m that Decode accepted,
// AppendMessage(nil, m.Header(), m.AppendOptions(nil)) returns m.Bytes().
func AppendMessage(dst []byte, h Header, opts ...Option) ([]byte, error) {
	var b Builder
	b.Reset(dst, h)
	for _, o := range opts {
		b.Add(o.Code, o.Data)
	}
	return b.Finish()
}

// AppendTo re-encodes m from its header fields and option list (it does
// not copy m.Bytes() wholesale) and appends the result to dst.
func (m *Message) AppendTo(dst []byte) ([]byte, error) {
	var b Builder
	b.Reset(dst, m.Header())
	for c, d := range m.All() {
		b.Add(c, d)
	}
	return b.Finish()
}
