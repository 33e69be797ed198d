package peer

import (
	"encoding/binary"
	"net/netip"
)

// Link-layer framing of the packets handed to Tracker.Packet, numbered as
// pcap's LINKTYPE_ values (https://www.tcpdump.org/linktypes.html).
type LinkType uint32

// Link types the tap decodes; others are counted and ignored.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte host-order family
	LinkEthernet  LinkType = 1   // Ethernet II, 802.1Q/802.1ad tags skipped
	LinkRawOld    LinkType = 12  // raw IP (OpenBSD's number)
	LinkRaw       LinkType = 101 // raw IP
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkLinuxSLL  LinkType = 113 // Linux "any" cooked capture v1
	LinkIPv4      LinkType = 228
	LinkIPv6      LinkType = 229
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// Endpoint is one end of a TCP connection.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

func (e Endpoint) String() string { return netip.AddrPortFrom(e.Addr, e.Port).String() }

// TCP flags the tracker looks at.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// segment is one TCP segment as parsed from a packet; payload aliases the
// packet bytes.
type segment struct {
	src, dst Endpoint
	seq      uint32
	flags    uint8
	payload  []byte
	// lost is how many payload bytes the packet carried beyond those
	// captured (a snaplen shorter than the packet).
	lost int
}

const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100
	etherQinQ  = 0x88a8
	ipProtoTCP = 6
)

// parsePacket finds a TCP segment in a captured frame. It reads only
// headers, copies nothing and never panics: every length is checked
// against the captured bytes. IP fragments are skipped (a failover
// message is at most 2048 bytes and ISC never sends fragments on an
// Ethernet path). A truncated capture (snaplen) yields the payload bytes
// that were captured; the reassembler treats the missing rest as a gap.
func parsePacket(link LinkType, b []byte, s *segment) bool {
	var etype uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return false
		}
		etype = binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for etype == etherVLAN || etype == etherQinQ {
			if len(b) < 4 {
				return false
			}
			etype = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
	case LinkLinuxSLL:
		if len(b) < 16 {
			return false
		}
		etype = binary.BigEndian.Uint16(b[14:])
		b = b[16:]
	case LinkLinuxSLL2:
		if len(b) < 20 {
			return false
		}
		etype = binary.BigEndian.Uint16(b[0:])
		b = b[20:]
	case LinkRaw, LinkRawOld:
		if len(b) < 1 {
			return false
		}
		etype = versionEtherType(b[0])
	case LinkIPv4:
		etype = etherIPv4
	case LinkIPv6:
		etype = etherIPv6
	case LinkNull, LinkLoop:
		if len(b) < 5 {
			return false
		}
		b = b[4:]
		etype = versionEtherType(b[0])
	default:
		return false
	}
	switch etype {
	case etherIPv4:
		return parseIPv4(b, s)
	case etherIPv6:
		return parseIPv6(b, s)
	}
	return false
}

func versionEtherType(v byte) uint16 {
	switch v >> 4 {
	case 4:
		return etherIPv4
	case 6:
		return etherIPv6
	}
	return 0
}

func parseIPv4(b []byte, s *segment) bool {
	if len(b) < 20 || b[0]>>4 != 4 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || len(b) < ihl || b[9] != ipProtoTCP {
		return false
	}
	if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 { // MF flag or a fragment offset
		return false
	}
	// total == 0 is what a capture of a TSO super-packet shows; otherwise
	// drop the Ethernet padding after the datagram.
	lost := 0
	switch {
	case total >= ihl && total < len(b):
		b = b[:total]
	case total > len(b):
		lost = total - len(b)
	}
	s.lost = lost
	s.src.Addr = netip.AddrFrom4([4]byte(b[12:16]))
	s.dst.Addr = netip.AddrFrom4([4]byte(b[16:20]))
	return parseTCP(b[ihl:], s)
}

func parseIPv6(b []byte, s *segment) bool {
	if len(b) < 40 || b[0]>>4 != 6 {
		return false
	}
	plen := int(binary.BigEndian.Uint16(b[4:]))
	next := b[6]
	s.src.Addr = netip.AddrFrom16([16]byte(b[8:24]))
	s.dst.Addr = netip.AddrFrom16([16]byte(b[24:40]))
	b = b[40:]
	s.lost = 0
	switch {
	case plen != 0 && plen < len(b):
		b = b[:plen]
	case plen > len(b):
		s.lost = plen - len(b)
	}
	// Skip the extension headers that may precede TCP (RFC 8200 §4);
	// a fragment header (44) means a fragment: skipped like IPv4's.
	for i := 0; i < 8 && next != ipProtoTCP; i++ {
		switch next {
		case 0, 43, 60:
			if len(b) < 8 {
				return false
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return false
			}
			next, b = b[0], b[n:]
		default:
			return false
		}
	}
	return next == ipProtoTCP && parseTCP(b, s)
}

func parseTCP(b []byte, s *segment) bool {
	if len(b) < 20 {
		return false
	}
	off := int(b[12]>>4) * 4
	if off < 20 || len(b) < off {
		return false
	}
	s.src.Port = binary.BigEndian.Uint16(b[0:])
	s.dst.Port = binary.BigEndian.Uint16(b[2:])
	s.seq = binary.BigEndian.Uint32(b[4:])
	s.flags = b[13]
	s.payload = b[off:]
	return true
}
