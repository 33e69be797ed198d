package omapi

import (
	"encoding/binary"
	"errors"
	"io"
)

// Bounds, written down once. A value or message over its bound is a
// protocol error, detected before anything of the claimed size is
// allocated.
const (
	// MaxValueLen bounds one value (the largest failover-state value is
	// the 32-byte hash bucket assignment).
	MaxValueLen = 64 << 10
	// MaxMessageLen bounds a whole message, header and signature included.
	MaxMessageLen = 1 << 20
	// MaxSignatureLen is the largest HMAC (SHA-512).
	MaxSignatureLen = 64
	// HeaderLen is the message header: six u32 fields.
	HeaderLen = 24
	// ProtocolVersion is sent at connection start with HeaderLen.
	ProtocolVersion = 100
)

// Op is a message's operation.
type Op uint32

// Operations (omapip/protocol.c).
const (
	OpOpen    Op = 1
	OpRefresh Op = 2
	OpUpdate  Op = 3
	OpNotify  Op = 4
	OpStatus  Op = 5
	OpDelete  Op = 6
)

var opNames = [...]string{"", "open", "refresh", "update", "notify", "status", "delete"}

// String returns the operation's name, or "op(N)"; it never panics.
func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(" + itoa(uint32(o)) + ")"
}

func itoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// Value is one name/value pair. Data nil is a null value (length 0).
type Value struct {
	Name string
	Data []byte
}

// Message is one OMAPI message: the header, message values (about the
// operation), object values (about the object) and the signature.
type Message struct {
	AuthID  uint32
	Op      Op
	Handle  uint32
	ID      uint32
	RID     uint32
	Message []Value
	Object  []Value
	// Signature is the HMAC over every byte after the AuthID field; its
	// length is the header's authlen.
	Signature []byte

	// signed holds the bytes the signature covers, as received.
	signed []byte
}

// Get returns the object value with this name, and whether it is present.
func (m *Message) Get(name string) ([]byte, bool) { return get(m.Object, name) }

// GetMessage returns the message value with this name.
func (m *Message) GetMessage(name string) ([]byte, bool) { return get(m.Message, name) }

func get(vs []Value, name string) ([]byte, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v.Data, true
		}
	}
	return nil, false
}

// Uint32 encodes an integer value as OMAPI does (4 bytes big-endian).
func Uint32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// decoder reads one message from a stream into buf. Values are decoded as
// sub-slices of buf: they stay valid until buf is reused for the next
// message. Its error is sticky: after the first failure every read returns
// nothing and the error is checked once.
type decoder struct {
	r   io.Reader
	buf []byte // every byte of the message read so far, bounded by MaxMessageLen
	err error
}

func (d *decoder) read(n int) []byte {
	if d.err != nil {
		return nil
	}
	start := len(d.buf)
	if start+n > MaxMessageLen {
		d.err = protoErr("message longer than %d bytes", MaxMessageLen)
		return nil
	}
	if start+n > cap(d.buf) {
		// Grow by doubling, at most to the bound. Slices taken from the
		// old array stay valid: its bytes are never written again.
		c := max(2*cap(d.buf), start+n, 512)
		d.buf = append(make([]byte, 0, min(c, MaxMessageLen)), d.buf...)
	}
	d.buf = d.buf[:start+n]
	if _, err := io.ReadFull(d.r, d.buf[start:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if start == 0 {
				err = ErrClosed
			} else {
				err = protoErr("message truncated: %w", ErrClosed)
			}
		}
		d.err = err
		return nil
	}
	return d.buf[start : start+n : start+n]
}

func (d *decoder) u16() uint16 {
	if b := d.read(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.read(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// values appends to vs the name/value pairs up to the u16 zero that ends
// them. Data is a sub-slice of the message; a null value is nil.
func (d *decoder) values(vs []Value) []Value {
	for d.err == nil {
		n := d.u16()
		if d.err != nil || n == 0 {
			break
		}
		name := valueName(d.read(int(n)))
		l := d.u32()
		if d.err != nil {
			break
		}
		if l > MaxValueLen {
			d.err = protoErr("value %q of %d bytes (limit %d)", name, l, MaxValueLen)
			break
		}
		var data []byte
		if l > 0 {
			data = d.read(int(l))
		}
		vs = append(vs, Value{Name: name, Data: data})
	}
	return vs
}

// message reads one message into m, reusing m's value slices and the
// decoder's buffer: m's values and signature are valid until the next
// call.
func (d *decoder) message(m *Message) error {
	d.buf, d.err = d.buf[:0], nil
	*m = Message{Message: m.Message[:0], Object: m.Object[:0]}
	m.AuthID = d.u32()
	authLen := d.u32()
	m.Op = Op(d.u32())
	m.Handle = d.u32()
	m.ID = d.u32()
	m.RID = d.u32()
	if d.err == nil && authLen > MaxSignatureLen {
		d.err = protoErr("signature of %d bytes (limit %d)", authLen, MaxSignatureLen)
	}
	m.Message = d.values(m.Message)
	m.Object = d.values(m.Object)
	end := len(d.buf)
	if authLen > 0 {
		m.Signature = d.read(int(authLen))
	}
	if d.err != nil {
		return d.err
	}
	m.signed = d.buf[4:end]
	return nil
}

// ReadMessage reads one message from r into a buffer of its own; the
// message's values are slices of that buffer. Network errors are returned as
// they are (wrapped); a stream that ends before the first byte gives
// ErrClosed; anything malformed or over a bound gives ErrProtocol.
func ReadMessage(r io.Reader) (*Message, error) {
	d := &decoder{r: r}
	m := &Message{}
	if err := d.message(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeMessage decodes exactly one message held in b; trailing bytes are
// an error.
func DecodeMessage(b []byte) (*Message, error) {
	r := &sliceReader{b: b}
	m, err := ReadMessage(r)
	if err != nil {
		return nil, err
	}
	if len(r.b) != 0 {
		return nil, protoErr("%d trailing bytes after the message", len(r.b))
	}
	return m, nil
}

type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// Encode returns the message's wire form, signed with key if key is not
// nil (AuthID must then be the authenticator handle the server gave).
// Values are written in the order given.
func (m *Message) Encode(key *Key) []byte {
	if key == nil {
		return m.appendEncoded(nil, nil, 0)
	}
	return m.appendEncoded(nil, key.mac(), key.alg.size)
}

// appendEncoded appends the wire form to b, signed with mac if it is not
// nil (sigLen is then its size).
func (m *Message) appendEncoded(b []byte, mac *mac, sigLen int) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, m.AuthID)
	b = binary.BigEndian.AppendUint32(b, uint32(sigLen))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Op))
	b = binary.BigEndian.AppendUint32(b, m.Handle)
	b = binary.BigEndian.AppendUint32(b, m.ID)
	b = binary.BigEndian.AppendUint32(b, m.RID)
	b = appendValues(b, m.Message)
	b = appendValues(b, m.Object)
	if mac != nil {
		b = mac.sign(b, b[start+4:])
	}
	return b
}

func appendValues(b []byte, vs []Value) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v.Name)))
		b = append(b, v.Name...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Data)))
		b = append(b, v.Data...)
	}
	return binary.BigEndian.AppendUint16(b, 0)
}

// Verify checks that a received message is signed with key: its AuthID is
// authID and its signature is the key's HMAC over the signed bytes.
func (m *Message) Verify(key *Key, authID uint32) bool {
	if key == nil {
		return false
	}
	return m.verify(key.mac(), key.alg.size, authID)
}

func (m *Message) verify(mac *mac, sigLen int, authID uint32) bool {
	if m.AuthID != authID || len(m.Signature) != sigLen || m.signed == nil {
		return false
	}
	return mac.verify(m.signed, m.Signature)
}

// valueName returns a value's name as a string without allocating for
// the names dhcpd sends in the messages this client reads (the
// failover-state object's values, the status and authenticator values of
// omapip/protocol.c); any other name is copied.
func valueName(b []byte) string {
	if n, ok := knownNames[string(b)]; ok {
		return n
	}
	return string(b)
}

var knownNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"type", "result", "message", "algorithm"} {
		m[n] = n
	}
	for _, f := range fields {
		m[f.name] = f.name
	}
	return m
}()
