package omapi

import (
	"encoding/binary"
	"time"
)

// FailoverState is ISC dhcpd's failover-state object (server/failover.c,
// dhcp_failover_state_stuff_values). States are ISC wire codes
// (draft-12 §12.24 plus 254 for recover-wait): the caller maps them.
type FailoverState struct {
	Name string

	LocalState   uint32
	PartnerState uint32
	// LocalSTOS, PartnerSTOS: start time of the current state. The
	// partner's is the local time at which its change was seen.
	LocalSTOS   time.Time
	PartnerSTOS time.Time

	// Hierarchy is 0 for the primary, 1 for the secondary.
	Hierarchy uint32

	MCLT             time.Duration
	MaxResponseDelay time.Duration
	LoadBalanceMax   time.Duration
	// LoadBalanceHBA is the 256-bit hash bucket assignment (32 bytes).
	LoadBalanceHBA []byte

	MaxOutstandingUpdates uint32
	CurUnackedUpdates     uint32

	LocalPort   uint32
	PartnerPort uint32

	// Always 0 in dhcpd 4.4, decoded for completeness.
	LastPacketSent        uint32
	LastTimestampReceived uint32
	Skew                  uint32

	// Present records which values the server sent (by OMAPI name).
	Present map[string]bool
}

// IsPrimary reports whether the server is the relationship's primary.
func (f *FailoverState) IsPrimary() bool { return f.Hierarchy == 0 }

// requiredValues must be in every failover-state object: without them the
// observation means nothing.
var requiredValues = []string{"name", "local-state", "partner-state", "hierarchy"}

// DecodeFailoverState decodes the object values of an UPDATE for a
// failover-state object. Unknown values are skipped; partner-address and
// local-address are ignored (dhcpd 4.4 sends pointer bytes in them).
func DecodeFailoverState(vs []Value) (*FailoverState, error) {
	f := &FailoverState{Present: map[string]bool{}}
	for _, v := range vs {
		var u32 *uint32
		var dur *time.Duration
		var at *time.Time
		switch v.Name {
		case "name":
			f.Name = string(v.Data)
		case "local-state":
			u32 = &f.LocalState
		case "partner-state":
			u32 = &f.PartnerState
		case "local-stos":
			at = &f.LocalSTOS
		case "partner-stos":
			at = &f.PartnerSTOS
		case "hierarchy":
			u32 = &f.Hierarchy
		case "mclt":
			dur = &f.MCLT
		case "max-response-delay":
			dur = &f.MaxResponseDelay
		case "load-balance-max-secs":
			dur = &f.LoadBalanceMax
		case "load-balance-hba":
			if len(v.Data) != 32 && len(v.Data) != 0 {
				return nil, protoErr("load-balance-hba of %d bytes, want 32", len(v.Data))
			}
			f.LoadBalanceHBA = v.Data
		case "max-outstanding-updates":
			u32 = &f.MaxOutstandingUpdates
		case "cur-unacked-updates":
			u32 = &f.CurUnackedUpdates
		case "local-port":
			u32 = &f.LocalPort
		case "partner-port":
			u32 = &f.PartnerPort
		case "last-packet-sent":
			u32 = &f.LastPacketSent
		case "last-timestamp-received":
			u32 = &f.LastTimestampReceived
		case "skew":
			u32 = &f.Skew
		default:
			continue // partner-address, local-address, and anything newer
		}
		if u32 != nil || dur != nil || at != nil {
			if len(v.Data) != 4 {
				return nil, protoErr("value %q of %d bytes, want a 4-byte integer", v.Name, len(v.Data))
			}
			n := binary.BigEndian.Uint32(v.Data)
			switch {
			case u32 != nil:
				*u32 = n
			case dur != nil:
				*dur = time.Duration(n) * time.Second
			case n != 0:
				*at = time.Unix(int64(n), 0).UTC()
			}
		}
		f.Present[v.Name] = true
	}
	for _, n := range requiredValues {
		if !f.Present[n] {
			return nil, protoErr("failover-state without %q", n)
		}
	}
	return f, nil
}
