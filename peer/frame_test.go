package peer

import (
	"encoding/binary"
	"net/netip"
)

// Test helpers that build Ethernet/IPv4/TCP frames, for the fuzzers, the
// reassembly tests and the generated benchmark capture.

var (
	epA = Endpoint{netip.MustParseAddr("10.250.0.1"), 647}
	epB = Endpoint{netip.MustParseAddr("10.250.0.2"), 40000}
)

// appendFrame appends an Ethernet II + IPv4 + TCP frame (no options,
// checksums left zero: the tap does not check them, as captures of
// offloaded traffic have none).
func appendFrame(dst []byte, src, to Endpoint, seq uint32, flags uint8, payload []byte) []byte {
	dst = append(dst, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	ip := len(dst)
	dst = append(dst, 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0)
	s, d := src.Addr.As4(), to.Addr.As4()
	dst = append(dst, s[:]...)
	dst = append(dst, d[:]...)
	binary.BigEndian.PutUint16(dst[ip+2:], uint16(20+20+len(payload)))
	dst = binary.BigEndian.AppendUint16(dst, src.Port)
	dst = binary.BigEndian.AppendUint16(dst, to.Port)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = append(dst, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	return append(dst, payload...)
}
