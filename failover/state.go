package failover

import "strconv"

// State is an FSM_STATE value, numbered exactly as Microsoft's dhcpsapi.h
// numbers it. It is the one vocabulary every source maps onto; the wire
// code of draft-12 (and ISC) is a different numbering, see WireState.
type State uint8

// FSM_STATE values (dhcpsapi.h).
const (
	NoState           State = 0
	Init              State = 1
	Startup           State = 2
	Normal            State = 3
	CommunicationInt  State = 4
	PartnerDown       State = 5
	PotentialConflict State = 6
	ConflictDone      State = 7
	ResolutionInt     State = 8
	Recover           State = 9
	RecoverWait       State = 10
	RecoverDone       State = 11
	Paused            State = 12
	Shutdown          State = 13
)

// NumStates is the number of FSM_STATE values; States() lists them in order.
const NumStates = 14

var stateNames = [NumStates]string{
	"NO_STATE", "INIT", "STARTUP", "NORMAL", "COMMUNICATION_INT", "PARTNER_DOWN",
	"POTENTIAL_CONFLICT", "CONFLICT_DONE", "RESOLUTION_INT", "RECOVER",
	"RECOVER_WAIT", "RECOVER_DONE", "PAUSED", "SHUTDOWN",
}

// States returns every FSM_STATE value in numeric order.
func States() []State {
	s := make([]State, NumStates)
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// Valid reports whether s is one of the 14 FSM_STATE values.
func (s State) Valid() bool { return s < NumStates }

// String returns the dhcpsapi.h identifier ("COMMUNICATION_INT"), or
// "unknown (N)" for a value outside the enumeration. It never panics.
func (s State) String() string {
	if s.Valid() {
		return stateNames[s]
	}
	return "unknown (" + strconv.Itoa(int(s)) + ")"
}

// ParseState parses an FSM_STATE identifier as String prints it.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return NoState, false
}
