package failover

import (
	"encoding/binary"
	"iter"
	"strconv"
)

// OptionCode is the 16-bit code of a failover option (draft-12 §12;
// Microsoft's extensions in MS-DHCPF §2.2).
type OptionCode uint16

// Option codes of draft-12 §12 and MS-DHCPF §2.2.
const (
	OptAddressesTransferred      OptionCode = 1
	OptAssignedIPAddress         OptionCode = 2
	OptBindingStatus             OptionCode = 3
	OptClientIdentifier          OptionCode = 4
	OptClientHardwareAddress     OptionCode = 5
	OptClientLastTransactionTime OptionCode = 6
	OptClientReplyOptions        OptionCode = 7
	OptClientRequestOptions      OptionCode = 8
	OptDDNS                      OptionCode = 9
	OptDelayedService            OptionCode = 10
	OptHashBucketAssignment      OptionCode = 11
	OptIPFlags                   OptionCode = 12
	OptLeaseExpirationTime       OptionCode = 13
	OptMaxUnackedBndupd          OptionCode = 14
	OptMCLT                      OptionCode = 15
	OptMessage                   OptionCode = 16
	OptMessageDigest             OptionCode = 17
	OptPotentialExpirationTime   OptionCode = 18
	OptReceiveTimer              OptionCode = 19
	OptProtocolVersion           OptionCode = 20
	OptRejectReason              OptionCode = 21
	OptRelationshipName          OptionCode = 22
	OptServerFlags               OptionCode = 23
	OptServerState               OptionCode = 24
	OptStartTimeOfState          OptionCode = 25
	OptTLSReply                  OptionCode = 26
	OptTLSRequest                OptionCode = 27
	OptVendorClass               OptionCode = 28
	OptVendorOptions             OptionCode = 29
	OptMicrosoftServerIP         OptionCode = 34 // MS-DHCPF §2.2.5
	OptMicrosoftClientPolicy     OptionCode = 40 // MS-DHCPF §2.2.11, UTF-16LE with a terminating NUL
	OptMicrosoftExtAddressState  OptionCode = 41 // MS-DHCPF §2.2.12

	// MaxKnownOption is the highest code this codec knows (Microsoft's 41).
	MaxKnownOption OptionCode = 41

	optionHeaderLen = 4 // code u16 + length u16
	optionIndexLen  = int(MaxKnownOption) + 1
)

var optionNames = [optionIndexLen]string{
	1: "addresses-transferred", 2: "assigned-IP-address", 3: "binding-status",
	4: "client-identifier", 5: "client-hardware-address", 6: "client-last-transaction-time",
	7: "client-reply-options", 8: "client-request-options", 9: "DDNS", 10: "delayed-service",
	11: "hash-bucket-assignment", 12: "IP-flags", 13: "lease-expiration-time",
	14: "max-unacked-bndupd", 15: "MCLT", 16: "message", 17: "message-digest",
	18: "potential-expiration-time", 19: "receive-timer", 20: "protocol-version",
	21: "reject-reason", 22: "relationship-name", 23: "server-flags", 24: "server-state",
	25: "start-time-of-state", 26: "TLS-reply", 27: "TLS-request",
	28: "vendor-class-identifier", 29: "vendor-specific-options",
	34: "ms-server-ip", 40: "ms-client-matched-policy", 41: "ms-extended-address-state",
}

// String returns the draft's option name ("server-state"), "ms-option-N"
// for Microsoft's codes 30..41 that have no name here, or "unknown (N)".
func (c OptionCode) String() string {
	if c >= 1 && c <= MaxKnownOption {
		if n := optionNames[c]; n != "" {
			return n
		}
		return "ms-option-" + strconv.Itoa(int(c))
	}
	return "unknown (" + strconv.Itoa(int(c)) + ")"
}

// Known reports whether c is a draft-12 or Microsoft option code (1..41).
// Unknown codes are skipped by the decoder, as draft-12 §12 requires.
func (c OptionCode) Known() bool { return c >= 1 && c <= MaxKnownOption }

// optionLen gives, per known code, the exact length its data must have
// (>0), or the negated minimum length for variable options (<=0). A
// fixed-size option of the wrong size is rejected: its typed accessor
// could not read it, and ISC refuses such messages too.
var optionLen = [optionIndexLen]int8{
	OptAddressesTransferred:      4,
	OptAssignedIPAddress:         4,
	OptBindingStatus:             1,
	OptClientHardwareAddress:     -1, // htype + address
	OptClientLastTransactionTime: 4,
	OptDDNS:                      -2, // flags u16 + name
	OptDelayedService:            1,
	OptIPFlags:                   2,
	OptLeaseExpirationTime:       4,
	OptMaxUnackedBndupd:          4,
	OptMCLT:                      4,
	OptMessageDigest:             -1, // type + digest
	OptPotentialExpirationTime:   4,
	OptReceiveTimer:              4,
	OptProtocolVersion:           1,
	OptRejectReason:              1,
	OptServerFlags:               1,
	OptServerState:               1,
	OptStartTimeOfState:          4,
	OptTLSReply:                  1,
	OptTLSRequest:                1,
	OptMicrosoftServerIP:         4,
	OptMicrosoftExtAddressState:  4,
}

// checkOptionLen reports whether n is an acceptable data length for code.
func checkOptionLen(code OptionCode, n int) bool {
	if !code.Known() {
		return true
	}
	want := int(optionLen[code])
	if want > 0 {
		return n == want
	}
	return n >= -want
}

// Option is one option as it appears on the wire, in message order. Data
// aliases the decoded message's bytes.
type Option struct {
	Code OptionCode
	Data []byte
}

// OptionU8 returns a one-octet option (server-state, reject-reason...).
func OptionU8(code OptionCode, v uint8) Option { return Option{code, []byte{v}} }

// OptionU16 returns a two-octet big-endian option (IP-flags).
func OptionU16(code OptionCode, v uint16) Option {
	return Option{code, binary.BigEndian.AppendUint16(nil, v)}
}

// OptionU32 returns a four-octet big-endian option (MCLT, times...).
func OptionU32(code OptionCode, v uint32) Option {
	return Option{code, binary.BigEndian.AppendUint32(nil, v)}
}

// OptionString returns an option carrying the bytes of s as they are.
func OptionString(code OptionCode, s string) Option { return Option{code, []byte(s)} }

// All iterates over the message's options in wire order, unknown codes
// included. Decode has already validated the list, so the iteration
// cannot fail; data aliases the message bytes.
func (m *Message) All() iter.Seq2[OptionCode, []byte] {
	return func(yield func(OptionCode, []byte) bool) {
		b := m.options()
		for len(b) >= optionHeaderLen {
			code := OptionCode(binary.BigEndian.Uint16(b))
			n := int(binary.BigEndian.Uint16(b[2:]))
			if optionHeaderLen+n > len(b) {
				return
			}
			if !yield(code, b[optionHeaderLen:optionHeaderLen+n:optionHeaderLen+n]) {
				return
			}
			b = b[optionHeaderLen+n:]
		}
	}
}

// AppendOptions appends the message's options in wire order to dst.
func (m *Message) AppendOptions(dst []Option) []Option {
	for c, d := range m.All() {
		dst = append(dst, Option{c, d})
	}
	return dst
}

// NumOptions returns how many options the message carries.
func (m *Message) NumOptions() int { return int(m.nopts) }

// Option returns the data of a known option (codes 1..41) and whether the
// message carries it. For unknown codes it scans the option list and
// returns the first occurrence.
func (m *Message) Option(code OptionCode) ([]byte, bool) {
	if code.Known() {
		at := int(m.idx[code])
		if at == 0 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(m.raw[at+2:]))
		return m.raw[at+optionHeaderLen : at+optionHeaderLen+n : at+optionHeaderLen+n], true
	}
	for c, d := range m.All() {
		if c == code {
			return d, true
		}
	}
	return nil, false
}

// Has reports whether the message carries the option.
func (m *Message) Has(code OptionCode) bool {
	_, ok := m.Option(code)
	return ok
}

// U8 returns a one-octet option's value; ok is false if the option is
// absent or not one octet long.
func (m *Message) U8(code OptionCode) (uint8, bool) {
	d, ok := m.Option(code)
	if !ok || len(d) != 1 {
		return 0, false
	}
	return d[0], true
}

// U16 returns a two-octet option's big-endian value.
func (m *Message) U16(code OptionCode) (uint16, bool) {
	d, ok := m.Option(code)
	if !ok || len(d) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(d), true
}

// U32 returns a four-octet option's big-endian value.
func (m *Message) U32(code OptionCode) (uint32, bool) {
	d, ok := m.Option(code)
	if !ok || len(d) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(d), true
}
