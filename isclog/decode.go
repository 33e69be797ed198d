// Package isclog reads ISC dhcpd's log for the clients it refused
// (server/dhcp.c) and counts them per shared network, subnet and reason.
package isclog

import (
	"bytes"
	"net/netip"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// MaxLine bounds one log line: longer lines are skipped whole. dhcpd
// formats a message in a buffer of 1024 bytes (server/dhcp.c,
// dhcpdiscover: `char msgbuf [1024]`), syslog adds its header; 8 KiB
// leaves room for any syslog daemon's prefix.
const MaxLine = 8 << 10

// Event is one refusal read from a log line.
type Event struct {
	Reason failover.RefusalReason
	// Network is the shared network dhcpd named (`network NAME: no free
	// leases`); empty for the other lines.
	Network string
	// Via is what dhcpd wrote after `via`: the relay's address (giaddr)
	// or the interface the request came in on.
	Via string
	// Addr is the address of a DHCPNAK.
	Addr netip.Addr
}

// The messages of server/dhcp.c that ParseLine reads. dhcpdiscover
// formats `DHCPDISCOVER from %s %s%s%svia %s` (hardware address, or the
// client identifier, or `<no identifier>`; then `(hostname) ` if the
// lease has one; then giaddr or the interface name) and, when
// allocate_lease finds nothing, logs that with `: peer holds all free
// leases` or `: network %s: no free leases` (the packet's shared network)
// appended. nak_lease logs `DHCPNAK on %s to %s via %s` (the address
// refused, the hardware address, giaddr or the interface). Over DHCPv4
// over DHCPv6 every one of them starts with `DHCP4o6 `.
var (
	markDiscover    = []byte("DHCPDISCOVER from ")
	markNAK         = []byte("DHCPNAK on ")
	prefix4o6       = []byte("DHCP4o6 ")
	suffixNoFree    = []byte(": no free leases")
	suffixPeerHolds = []byte(": peer holds all free leases")
	sepNetwork      = []byte(": network ")
	sepVia          = []byte(" via ")
	sepTo           = []byte(" to ")
)

// ParseLine reads one line of dhcpd's log (a syslog line with any
// header, or dhcpd's own stderr line without one; the line ends before
// its newline) and reports whether it is a refusal. It never panics and
// reads lines up to MaxLine bytes (longer ones are not refusals).
func ParseLine(line []byte) (Event, bool) {
	ev, ok := parse(line)
	if !ok {
		return Event{}, false
	}
	return Event{Reason: ev.reason, Network: string(ev.network), Via: string(ev.via), Addr: ev.addr}, true
}

// event is an Event whose text aliases the line (no allocation).
type event struct {
	reason       failover.RefusalReason
	network, via []byte
	addr         netip.Addr
}

func parse(line []byte) (event, bool) {
	if len(line) > MaxLine {
		return event{}, false
	}
	line = bytes.TrimRight(line, " \t\r\n")
	switch {
	case bytes.HasSuffix(line, suffixNoFree):
		msg, ok := message(line, markDiscover)
		if !ok {
			return event{}, false
		}
		msg = msg[:len(msg)-len(suffixNoFree)]
		// The network name is last (it is the configuration's); the
		// hostname before it is the client's and may hold anything
		// printable, so the last separator is the one dhcpd wrote.
		i := bytes.LastIndex(msg, sepNetwork)
		if i < 0 {
			return event{}, false
		}
		name := msg[i+len(sepNetwork):]
		via, ok := viaOf(msg[:i])
		if !ok || len(name) == 0 {
			return event{}, false
		}
		return event{reason: failover.RefusedPoolExhausted, network: name, via: via}, true
	case bytes.HasSuffix(line, suffixPeerHolds):
		msg, ok := message(line, markDiscover)
		if !ok {
			return event{}, false
		}
		via, ok := viaOf(msg[:len(msg)-len(suffixPeerHolds)])
		if !ok {
			return event{}, false
		}
		return event{reason: failover.RefusedPartnerHoldsFree, via: via}, true
	}
	msg, ok := message(line, markNAK)
	if !ok {
		return event{}, false
	}
	rest := msg[len(markNAK):]
	sp := bytes.Index(rest, sepTo)
	if sp <= 0 {
		return event{}, false
	}
	addr, ok := parseIPv4(rest[:sp])
	if !ok {
		return event{}, false
	}
	via, ok := viaOf(rest[sp:])
	if !ok {
		return event{}, false
	}
	return event{reason: failover.RefusedNAK, addr: addr, via: via}, true
}

// message finds dhcpd's message that starts with mark in line: at the
// start of the line or after a space (the syslog header ends with one),
// with an optional `DHCP4o6 ` before it. It returns the line from mark on.
func message(line, mark []byte) ([]byte, bool) {
	i := bytes.Index(line, mark)
	if i < 0 {
		return nil, false
	}
	head := line[:i]
	head = bytes.TrimSuffix(head, prefix4o6)
	if len(head) > 0 && head[len(head)-1] != ' ' {
		return nil, false
	}
	return line[i:], true
}

// viaOf returns what follows the last ` via ` of b: the relay's address or
// an interface name, one word.
func viaOf(b []byte) ([]byte, bool) {
	i := bytes.LastIndex(b, sepVia)
	if i < 0 {
		return nil, false
	}
	v := b[i+len(sepVia):]
	if len(v) == 0 || bytes.IndexByte(v, ' ') >= 0 {
		return nil, false
	}
	return v, true
}

// parseIPv4 reads a dotted quad as inet_ntoa and piaddr write it (no
// leading zeros), without the allocation of netip.ParseAddr's string.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var a [4]byte
	i := 0
	for k := range 4 {
		if k > 0 {
			if i >= len(b) || b[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start, v := i, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 3 {
			v = v*10 + int(b[i]-'0')
			i++
		}
		if i == start || v > 255 || (i-start > 1 && b[start] == '0') {
			return netip.Addr{}, false
		}
		a[k] = byte(v)
	}
	if i != len(b) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}
