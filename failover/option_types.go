package failover

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Typed accessors for the options the exporter reads. Each returns ok=false
// when the option is absent; Decode has already checked the sizes of the
// fixed-size ones. None allocates except those returning a string.

// ServerFlags is the server-flags octet (draft-12 §12.23).
type ServerFlags uint8

// FlagStartup is set in the first STATE a server sends after it starts:
// the state it carries is the one saved before the restart, not yet a real
// state change (docs/protocol.md §2).
const FlagStartup ServerFlags = 1

// Startup reports whether the STARTUP bit is set.
func (f ServerFlags) Startup() bool { return f&FlagStartup != 0 }

// ServerStateCode returns the raw wire code of server-state.
func (m *Message) ServerStateCode() (uint8, bool) { return m.U8(OptServerState) }

// ServerState returns server-state converted to FSM_STATE. ok is false if
// the option is absent or carries a code StateFromWire does not know; use
// ServerStateCode to see such a code.
func (m *Message) ServerState() (State, bool) {
	c, ok := m.U8(OptServerState)
	if !ok {
		return NoState, false
	}
	return StateFromWire(c)
}

// ServerFlags returns server-flags.
func (m *Message) ServerFlags() (ServerFlags, bool) {
	f, ok := m.U8(OptServerFlags)
	return ServerFlags(f), ok
}

// StartTimeOfState returns start-time-of-state (STOS) in a STATE message.
// In BNDUPD/BNDACK ISC sends the same option code for the binding's start
// time; it is read the same way.
func (m *Message) StartTimeOfState() (time.Time, bool) { return m.unixTime(OptStartTimeOfState) }

// MCLT returns the maximum client lead time.
func (m *Message) MCLT() (time.Duration, bool) { return m.seconds(OptMCLT) }

// ReceiveTimer returns receive-timer: how long the sender waits for a
// message before it drops the connection (ISC: max-response-delay).
func (m *Message) ReceiveTimer() (time.Duration, bool) { return m.seconds(OptReceiveTimer) }

// MaxUnackedBndupd returns max-unacked-bndupd.
func (m *Message) MaxUnackedBndupd() (uint32, bool) { return m.U32(OptMaxUnackedBndupd) }

// ProtocolVersion returns protocol-version (1 for draft-12).
func (m *Message) ProtocolVersion() (uint8, bool) { return m.U8(OptProtocolVersion) }

// RejectReason returns reject-reason (CONNECTACK, BNDACK, DISCONNECT).
func (m *Message) RejectReason() (RejectReason, bool) {
	v, ok := m.U8(OptRejectReason)
	return RejectReason(v), ok
}

// BindingStatus returns binding-status (BNDUPD/BNDACK).
func (m *Message) BindingStatus() (BindingStatus, bool) {
	v, ok := m.U8(OptBindingStatus)
	return BindingStatus(v), ok
}

// AssignedIPAddress returns assigned-IP-address.
func (m *Message) AssignedIPAddress() (netip.Addr, bool) { return m.addr(OptAssignedIPAddress) }

// LeaseExpirationTime returns lease-expiration-time.
func (m *Message) LeaseExpirationTime() (time.Time, bool) {
	return m.unixTime(OptLeaseExpirationTime)
}

// PotentialExpirationTime returns potential-expiration-time.
func (m *Message) PotentialExpirationTime() (time.Time, bool) {
	return m.unixTime(OptPotentialExpirationTime)
}

// ClientLastTransactionTime returns client-last-transaction-time.
func (m *Message) ClientLastTransactionTime() (time.Time, bool) {
	return m.unixTime(OptClientLastTransactionTime)
}

// ClientHardwareAddress returns the hardware type and address.
func (m *Message) ClientHardwareAddress() (htype uint8, addr []byte, ok bool) {
	d, ok := m.Option(OptClientHardwareAddress)
	if !ok {
		return 0, nil, false
	}
	return d[0], d[1:], true
}

// ClientIdentifier returns client-identifier.
func (m *Message) ClientIdentifier() ([]byte, bool) { return m.Option(OptClientIdentifier) }

// DDNS returns the DDNS option: its flags and the client's domain name as
// sent (draft-12 §12.9).
func (m *Message) DDNS() (flags uint16, name []byte, ok bool) {
	d, ok := m.Option(OptDDNS)
	if !ok {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(d), d[2:], true
}

// IPFlags returns IP-flags.
func (m *Message) IPFlags() (uint16, bool) { return m.U16(OptIPFlags) }

// AddressesTransferred returns addresses-transferred (POOLRESP).
func (m *Message) AddressesTransferred() (uint32, bool) { return m.U32(OptAddressesTransferred) }

// HashBucketAssignment returns hash-bucket-assignment: a bitmap of the
// 256 load-balancing buckets (32 bytes in ISC's CONNECT).
func (m *Message) HashBucketAssignment() ([]byte, bool) { return m.Option(OptHashBucketAssignment) }

// VendorClass returns vendor-class-identifier ("isc-4.4.3-P1").
func (m *Message) VendorClass() (string, bool) { return m.text(OptVendorClass) }

// MessageText returns the message option (the text of a reject).
func (m *Message) MessageText() (string, bool) { return m.text(OptMessage) }

// RelationshipName returns relationship-name decoded for the message's
// dialect: UTF-16LE in Microsoft messages (offset 8), ASCII otherwise.
// RelationshipNameBytes gives the raw bytes.
func (m *Message) RelationshipName() (string, bool) { return m.text(OptRelationshipName) }

// RelationshipNameBytes returns relationship-name as sent, undecoded.
func (m *Message) RelationshipNameBytes() ([]byte, bool) { return m.Option(OptRelationshipName) }

// MicrosoftServerIP returns Microsoft's option 34, the address of the
// server that leased the address (MS-DHCPF §2.2.5).
func (m *Message) MicrosoftServerIP() (netip.Addr, bool) { return m.addr(OptMicrosoftServerIP) }

// MicrosoftClientPolicy returns Microsoft's option 40, the name of the
// policy that chose the client's address (UTF-16LE, MS-DHCPF §2.2.11).
func (m *Message) MicrosoftClientPolicy() (string, bool) {
	d, ok := m.Option(OptMicrosoftClientPolicy)
	if !ok {
		return "", false
	}
	return decodeUTF16LE(d), true
}

// MicrosoftExtAddressState returns Microsoft's option 41, the extended
// address state (MS-DHCPF §2.2.12), as an opaque number.
func (m *Message) MicrosoftExtAddressState() (uint32, bool) {
	return m.U32(OptMicrosoftExtAddressState)
}

func (m *Message) text(code OptionCode) (string, bool) {
	d, ok := m.Option(code)
	if !ok {
		return "", false
	}
	if m.Microsoft() {
		return decodeUTF16LE(d), true
	}
	return decodeASCII(d), true
}

func (m *Message) unixTime(code OptionCode) (time.Time, bool) {
	v, ok := m.U32(code)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(v), 0), true
}

func (m *Message) seconds(code OptionCode) (time.Duration, bool) {
	v, ok := m.U32(code)
	return time.Duration(v) * time.Second, ok
}

func (m *Message) addr(code OptionCode) (netip.Addr, bool) {
	d, ok := m.Option(code)
	if !ok || len(d) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(d)), true
}
