package failover

// Conversions between FSM_STATE and the other numberings and names the
// sources meet. They are different enumerations: never cast one into
// another (docs/protocol.md §2).

// wireToState maps draft-12 §12.24 server-state codes (as ISC sends them
// on the wire and reports them through OMAPI) to FSM_STATE.
var wireToState = map[uint8]State{
	0:   NoState,
	1:   Startup, // ISC sends the STARTUP flag instead; OMAPI local-state can be 1
	2:   Normal,
	3:   CommunicationInt,
	4:   PartnerDown,
	5:   PotentialConflict,
	6:   Recover,
	7:   Paused,
	8:   Shutdown,
	9:   RecoverDone,
	10:  ResolutionInt,
	11:  ConflictDone,
	254: RecoverWait, // ISC's code, seen on the wire after a restart
}

// StateFromWire converts a draft-12/ISC wire state code. Unknown codes give
// NO_STATE and ok=false.
func StateFromWire(code uint8) (State, bool) {
	s, ok := wireToState[code]
	return s, ok
}

// WireCode converts an FSM_STATE to its draft-12/ISC wire code. INIT has no
// wire code (ok=false).
func (s State) WireCode() (uint8, bool) {
	for c, st := range wireToState {
		if st == s {
			return c, true
		}
	}
	return 0, false
}

// iscNames are the names ISC dhcpd writes in the leases file and omshell
// prints (server/failover.c, dhcp_failover_state_name_print).
var iscNames = map[string]State{
	"unknown-state":              NoState,
	"startup":                    Startup,
	"normal":                     Normal,
	"communications-interrupted": CommunicationInt,
	"partner-down":               PartnerDown,
	"potential-conflict":         PotentialConflict,
	"conflict-done":              ConflictDone,
	"resolution-interrupted":     ResolutionInt,
	"recover":                    Recover,
	"recover-wait":               RecoverWait,
	"recover-done":               RecoverDone,
	"paused":                     Paused,
	"shutdown":                   Shutdown,
}

// StateFromISCName converts an ISC state name ("communications-interrupted").
func StateFromISCName(name string) (State, bool) {
	s, ok := iscNames[name]
	return s, ok
}

// ISCName returns ISC's name for s; INIT has none (ok=false).
func (s State) ISCName() (string, bool) {
	for n, st := range iscNames {
		if st == s {
			return n, true
		}
	}
	return "", false
}

// keaStates maps Kea HA hook state names (docs/protocol.md §5).
var keaStates = map[string]State{
	"load-balancing":         Normal,
	"hot-standby":            Normal,
	"backup":                 Normal,
	"passive-backup":         Normal,
	"communication-recovery": CommunicationInt,
	"partner-down":           PartnerDown,
	"waiting":                Startup,
	"syncing":                Recover,
	"ready":                  RecoverDone,
	"partner-in-maintenance": PartnerDown,
	"in-maintenance":         Paused,
	"terminated":             Shutdown,
	"unavailable":            NoState,
}

// StateFromKea maps a Kea HA state name. commInterrupted is the
// `communication-interrupted` flag Kea reports for the partner: a server in
// one of the NORMAL-like states with the flag set has in fact lost contact,
// and is reported as COMMUNICATION_INT. Unknown names give NO_STATE, ok=false.
func StateFromKea(name string, commInterrupted bool) (State, bool) {
	s, ok := keaStates[name]
	if !ok {
		return NoState, false
	}
	if s == Normal && commInterrupted {
		return CommunicationInt, true
	}
	return s, true
}

// windowsNames are the strings PowerShell's Get-DhcpServerv4Failover prints
// for FSM_STATE values.
var windowsNames = [NumStates]string{
	"NoState", "Init", "Startup", "Normal", "CommunicationInterrupted", "PartnerDown",
	"PotentialConflict", "ConflictDone", "ResolutionInterrupted", "Recover",
	"RecoverWait", "RecoverDone", "Paused", "Shutdown",
}

// StateFromWindowsName converts a PowerShell state string ("PartnerDown").
func StateFromWindowsName(name string) (State, bool) {
	for i, n := range windowsNames {
		if n == name {
			return State(i), true
		}
	}
	return NoState, false
}

// WindowsName returns the PowerShell string for s; ok=false if s is unknown.
func (s State) WindowsName() (string, bool) {
	if !s.Valid() {
		return "", false
	}
	return windowsNames[s], true
}
