package leases

// BindingState is the `binding state` of a lease (dhcpd.leases(5)), in the
// order of dhcpd's binding_state_names (common/tables.c).
type BindingState uint8

// The binding states dhcpd writes.
const (
	BindingFree BindingState = iota
	BindingActive
	BindingExpired
	BindingReleased
	BindingAbandoned
	BindingReset
	BindingBackup
	BindingReserved
	BindingBootp
	// NumBindingStates is the number of binding states.
	NumBindingStates
)

var bindingNames = [NumBindingStates]string{
	"free", "active", "expired", "released", "abandoned", "reset", "backup", "reserved", "bootp",
}

// String returns dhcpd's name of the state; it never panics.
func (s BindingState) String() string {
	if s < NumBindingStates {
		return bindingNames[s]
	}
	return "unknown"
}

// BindingStates returns every state in order.
func BindingStates() []BindingState {
	out := make([]BindingState, NumBindingStates)
	for i := range out {
		out[i] = BindingState(i)
	}
	return out
}

// bindingFromName maps dhcpd's name; ok is false for any other word.
func bindingFromName(b []byte) (BindingState, bool) {
	for i, n := range bindingNames {
		if string(b) == n {
			return BindingState(i), true
		}
	}
	return 0, false
}
