package failover

import "encoding/binary"

// beReader reads big-endian fields with a sticky error: once a read runs
// past the end every later read returns zero and err stays set, so a
// decoder checks err once at the end instead of after every field. It is a
// value type so that decoding allocates nothing.
type beReader struct {
	b   []byte
	off int
	err error
}

func (r *beReader) remaining() int { return len(r.b) - r.off }

func (r *beReader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || r.remaining() < n {
		r.err = ErrTruncated
		return false
	}
	return true
}

func (r *beReader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *beReader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *beReader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}
