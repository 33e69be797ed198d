package omapi

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// FailoverState is ISC dhcpd's failover-state object (server/failover.c,
// dhcp_failover_state_stuff_values).
type FailoverState struct {
	Name string

	// Local and Partner are each server's state; the partner's start
	// time is the local time at which its change was seen.
	Local, Partner Side

	// Hierarchy is 0 for the primary, 1 for the secondary.
	Hierarchy uint32

	MCLT             time.Duration
	MaxResponseDelay time.Duration
	LoadBalanceMax   time.Duration
	// LoadBalanceHBA is the 256-bit hash bucket assignment (32 bytes), or
	// nil if the server sent none.
	LoadBalanceHBA []byte

	MaxOutstandingUpdates uint32
	CurUnackedUpdates     uint32

	LocalPort   uint32
	PartnerPort uint32

	// Always 0 in dhcpd 4.4, decoded for completeness.
	LastPacketSent        uint32
	LastTimestampReceived uint32
	Skew                  uint32

	present uint32 // bit i: fields[i] was sent
	hba     [32]byte
}

// Side is one server's state as the failover-state object reports it.
type Side struct {
	// State is Code in the FSM_STATE vocabulary (failover.StateFromWire);
	// NO_STATE when Known is false.
	State failover.State
	// Code is the value as sent: an ISC wire code (draft-12 §12.24, plus
	// 254 for recover-wait).
	Code uint32
	// Known says whether Code is one of those codes.
	Known bool
	// STOS is the start time of the state; zero if the server sent 0.
	STOS time.Time
}

// ISCName returns ISC's name of the state ("communications-interrupted"),
// or "unknown (N)" for a code outside the table.
func (s Side) ISCName() string {
	if n, ok := s.State.ISCName(); ok && s.Known {
		return n
	}
	return "unknown (" + itoa(s.Code) + ")"
}

// IsPrimary reports whether the server is the relationship's primary.
func (f *FailoverState) IsPrimary() bool { return f.Hierarchy == 0 }

// Has reports whether the server sent the value of this OMAPI name
// ("mclt", "cur-unacked-updates", ...): dhcpd 4.4 sends every value, an
// older or newer one may not.
func (f *FailoverState) Has(name string) bool {
	i := fieldIndex(name)
	return i >= 0 && f.present&(1<<i) != 0
}

// field is one value of the object: its OMAPI name and how it is stored
// (nil: sent, never decoded).
type field struct {
	name string
	set  func(f *FailoverState, b []byte) error
}

// fields are the object's values; a value's index is its bit in
// FailoverState.present.
var fields = [...]field{
	{"name", nil}, // decoded by decodeFailoverState itself
	{"local-state", u32(func(f *FailoverState, n uint32) { f.Local.setCode(n) })},
	{"partner-state", u32(func(f *FailoverState, n uint32) { f.Partner.setCode(n) })},
	{"local-stos", u32(func(f *FailoverState, n uint32) { f.Local.STOS = unixTime(n) })},
	{"partner-stos", u32(func(f *FailoverState, n uint32) { f.Partner.STOS = unixTime(n) })},
	{"hierarchy", u32(func(f *FailoverState, n uint32) { f.Hierarchy = n })},
	{"mclt", u32(func(f *FailoverState, n uint32) { f.MCLT = seconds(n) })},
	{"max-response-delay", u32(func(f *FailoverState, n uint32) { f.MaxResponseDelay = seconds(n) })},
	{"load-balance-max-secs", u32(func(f *FailoverState, n uint32) { f.LoadBalanceMax = seconds(n) })},
	{"load-balance-hba", setHBA},
	{"max-outstanding-updates", u32(func(f *FailoverState, n uint32) { f.MaxOutstandingUpdates = n })},
	{"cur-unacked-updates", u32(func(f *FailoverState, n uint32) { f.CurUnackedUpdates = n })},
	{"local-port", u32(func(f *FailoverState, n uint32) { f.LocalPort = n })},
	{"partner-port", u32(func(f *FailoverState, n uint32) { f.PartnerPort = n })},
	{"last-packet-sent", u32(func(f *FailoverState, n uint32) { f.LastPacketSent = n })},
	{"last-timestamp-received", u32(func(f *FailoverState, n uint32) { f.LastTimestampReceived = n })},
	{"skew", u32(func(f *FailoverState, n uint32) { f.Skew = n })},
	// dhcpd 4.4 sends pointer bytes in these.
	{"partner-address", nil},
	{"local-address", nil},
}

// required: without name, local-state, partner-state and hierarchy the
// observation means nothing.
const required = 1<<0 | 1<<1 | 1<<2 | 1<<5

func fieldIndex(name string) int {
	for i := range fields {
		if fields[i].name == name {
			return i
		}
	}
	return -1
}

// u32 stores a 4-byte big-endian integer, the form of every integer,
// time and duration of the object.
func u32(store func(f *FailoverState, n uint32)) func(*FailoverState, []byte) error {
	return func(f *FailoverState, b []byte) error {
		if len(b) != 4 {
			return protoErr("a value of %d bytes, want a 4-byte integer", len(b))
		}
		store(f, binary.BigEndian.Uint32(b))
		return nil
	}
}

func setHBA(f *FailoverState, b []byte) error {
	switch len(b) {
	case 0:
	case len(f.hba):
		copy(f.hba[:], b)
		f.LoadBalanceHBA = f.hba[:]
	default:
		return protoErr("load-balance-hba of %d bytes, want 32", len(b))
	}
	return nil
}

func (s *Side) setCode(n uint32) {
	s.Code, s.State, s.Known = n, failover.NoState, false
	if n <= 255 {
		s.State, s.Known = failover.StateFromWire(uint8(n))
	}
}

func unixTime(n uint32) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(int64(n), 0).UTC()
}

func seconds(n uint32) time.Duration { return time.Duration(n) * time.Second }

// DecodeFailoverState decodes the object values of an UPDATE for a
// failover-state object. Unknown values are skipped, and so are
// partner-address and local-address. Nothing of the result aliases vs.
func DecodeFailoverState(vs []Value) (*FailoverState, error) {
	return decodeFailoverState(vs, "")
}

// decodeFailoverState is DecodeFailoverState; a name equal to want is
// returned as want, without a copy.
func decodeFailoverState(vs []Value, want string) (*FailoverState, error) {
	f := &FailoverState{}
	for _, v := range vs {
		i := fieldIndex(v.Name)
		switch {
		case i < 0:
			continue // anything newer
		case i == 0:
			f.Name = want
			if string(v.Data) != want {
				f.Name = string(v.Data)
			}
		case fields[i].set != nil:
			if err := fields[i].set(f, v.Data); err != nil {
				return nil, fmt.Errorf("value %q: %w", v.Name, err)
			}
		}
		f.present |= 1 << i
	}
	for i := range fields {
		if required&(1<<i) != 0 && f.present&(1<<i) == 0 {
			return nil, protoErr("failover-state without %q", fields[i].name)
		}
	}
	return f, nil
}
