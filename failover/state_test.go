package failover

import "testing"

// stateTable is the vocabulary of docs/protocol.md §2 and metrics.md:
// every FSM_STATE with its identifier, wire/ISC code, ISC name and
// PowerShell string. "-" marks a state with no counterpart.
var stateTable = []struct {
	state   State
	name    string
	wire    int // -1: none
	isc     string
	windows string
}{
	{NoState, "NO_STATE", 0, "unknown-state", "NoState"},
	{Init, "INIT", -1, "-", "Init"},
	{Startup, "STARTUP", 1, "startup", "Startup"},
	{Normal, "NORMAL", 2, "normal", "Normal"},
	{CommunicationInt, "COMMUNICATION_INT", 3, "communications-interrupted", "CommunicationInterrupted"},
	{PartnerDown, "PARTNER_DOWN", 4, "partner-down", "PartnerDown"},
	{PotentialConflict, "POTENTIAL_CONFLICT", 5, "potential-conflict", "PotentialConflict"},
	{ConflictDone, "CONFLICT_DONE", 11, "conflict-done", "ConflictDone"},
	{ResolutionInt, "RESOLUTION_INT", 10, "resolution-interrupted", "ResolutionInterrupted"},
	{Recover, "RECOVER", 6, "recover", "Recover"},
	{RecoverWait, "RECOVER_WAIT", 254, "recover-wait", "RecoverWait"},
	{RecoverDone, "RECOVER_DONE", 9, "recover-done", "RecoverDone"},
	{Paused, "PAUSED", 7, "paused", "Paused"},
	{Shutdown, "SHUTDOWN", 8, "shutdown", "Shutdown"},
}

func TestStateTableCoversEveryState(t *testing.T) {
	if len(stateTable) != NumStates {
		t.Fatalf("table has %d rows, want %d", len(stateTable), NumStates)
	}
	for i, row := range stateTable {
		if row.state != State(i) {
			t.Errorf("row %d is %v", i, row.state)
		}
		if !row.state.Valid() {
			t.Errorf("%v not Valid", row.state)
		}
	}
	if got := States(); len(got) != NumStates || got[0] != NoState || got[NumStates-1] != Shutdown {
		t.Errorf("States() = %v", got)
	}
}

func TestStateNames(t *testing.T) {
	for _, row := range stateTable {
		if got := row.state.String(); got != row.name {
			t.Errorf("%d.String() = %q, want %q", uint8(row.state), got, row.name)
		}
		if got, ok := ParseState(row.name); !ok || got != row.state {
			t.Errorf("ParseState(%q) = %v, %v", row.name, got, ok)
		}
	}
	for _, tc := range []struct {
		s    State
		want string
	}{{14, "unknown (14)"}, {100, "unknown (100)"}, {255, "unknown (255)"}} {
		if tc.s.Valid() {
			t.Errorf("%d Valid", uint8(tc.s))
		}
		if got := tc.s.String(); got != tc.want {
			t.Errorf("State(%d).String() = %q, want %q", uint8(tc.s), got, tc.want)
		}
	}
	for _, bad := range []string{"", "normal", "Normal", "NORMAL ", "unknown (3)"} {
		if got, ok := ParseState(bad); ok || got != NoState {
			t.Errorf("ParseState(%q) = %v, %v; want NO_STATE, false", bad, got, ok)
		}
	}
}

func TestStateWireCodes(t *testing.T) {
	seen := map[int]bool{}
	for _, row := range stateTable {
		code, ok := row.state.WireCode()
		if row.wire < 0 {
			if ok {
				t.Errorf("%v.WireCode() = %d, want none", row.state, code)
			}
			continue
		}
		seen[row.wire] = true
		if !ok || int(code) != row.wire {
			t.Errorf("%v.WireCode() = %d, %v; want %d", row.state, code, ok, row.wire)
		}
		if got, ok := StateFromWire(uint8(row.wire)); !ok || got != row.state {
			t.Errorf("StateFromWire(%d) = %v, %v; want %v", row.wire, got, ok, row.state)
		}
	}
	// The wire codes are exactly 0..11 and 254.
	for c := 0; c < 256; c++ {
		want := c <= 11 || c == 254
		if seen[c] != want {
			t.Errorf("wire code %d: in table %v, want %v", c, seen[c], want)
		}
		if !want {
			if got, ok := StateFromWire(uint8(c)); ok || got != NoState {
				t.Errorf("StateFromWire(%d) = %v, %v; want NO_STATE, false", c, got, ok)
			}
		}
	}
	if _, ok := State(14).WireCode(); ok {
		t.Error("State(14) has a wire code")
	}
}

func TestStateISCNames(t *testing.T) {
	for _, row := range stateTable {
		name, ok := row.state.ISCName()
		if row.isc == "-" {
			if ok {
				t.Errorf("%v.ISCName() = %q, want none", row.state, name)
			}
			continue
		}
		if !ok || name != row.isc {
			t.Errorf("%v.ISCName() = %q, %v; want %q", row.state, name, ok, row.isc)
		}
		if got, ok := StateFromISCName(row.isc); !ok || got != row.state {
			t.Errorf("StateFromISCName(%q) = %v, %v", row.isc, got, ok)
		}
	}
	for _, bad := range []string{"", "NORMAL", "Normal", "communication-interrupted", "recover_wait", "init"} {
		if got, ok := StateFromISCName(bad); ok || got != NoState {
			t.Errorf("StateFromISCName(%q) = %v, %v; want NO_STATE, false", bad, got, ok)
		}
	}
}

func TestStateWindowsNames(t *testing.T) {
	for _, row := range stateTable {
		name, ok := row.state.WindowsName()
		if !ok || name != row.windows {
			t.Errorf("%v.WindowsName() = %q, %v; want %q", row.state, name, ok, row.windows)
		}
		if got, ok := StateFromWindowsName(row.windows); !ok || got != row.state {
			t.Errorf("StateFromWindowsName(%q) = %v, %v", row.windows, got, ok)
		}
	}
	if name, ok := State(14).WindowsName(); ok || name != "" {
		t.Errorf("State(14).WindowsName() = %q, %v", name, ok)
	}
	for _, bad := range []string{"", "normal", "NORMAL", "Communication Interrupted", "PartnerDown "} {
		if got, ok := StateFromWindowsName(bad); ok || got != NoState {
			t.Errorf("StateFromWindowsName(%q) = %v, %v; want NO_STATE, false", bad, got, ok)
		}
	}
}

func TestStateFromKea(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commOK State // communication-interrupted false
		commIn State // communication-interrupted true
	}{
		{"load-balancing", Normal, CommunicationInt},
		{"hot-standby", Normal, CommunicationInt},
		{"backup", Normal, CommunicationInt},
		{"passive-backup", Normal, CommunicationInt},
		{"communication-recovery", CommunicationInt, CommunicationInt},
		{"partner-down", PartnerDown, PartnerDown},
		{"waiting", Startup, Startup},
		{"syncing", Recover, Recover},
		{"ready", RecoverDone, RecoverDone},
		{"partner-in-maintenance", PartnerDown, PartnerDown},
		{"in-maintenance", Paused, Paused},
		{"terminated", Shutdown, Shutdown},
		{"unavailable", NoState, NoState},
	} {
		if got, ok := StateFromKea(tc.name, false); !ok || got != tc.commOK {
			t.Errorf("StateFromKea(%q, false) = %v, %v; want %v", tc.name, got, ok, tc.commOK)
		}
		if got, ok := StateFromKea(tc.name, true); !ok || got != tc.commIn {
			t.Errorf("StateFromKea(%q, true) = %v, %v; want %v", tc.name, got, ok, tc.commIn)
		}
	}
	for _, bad := range []string{"", "normal", "Load-Balancing", "hot_standby", "HOT-STANDBY"} {
		for _, flag := range []bool{false, true} {
			if got, ok := StateFromKea(bad, flag); ok || got != NoState {
				t.Errorf("StateFromKea(%q, %v) = %v, %v; want NO_STATE, false", bad, flag, got, ok)
			}
		}
	}
}

func TestCommunicationInterruptedFromState(t *testing.T) {
	for _, s := range States() {
		want := s == CommunicationInt || s == ResolutionInt
		if got := CommunicationInterruptedFromState(s); got != want {
			t.Errorf("CommunicationInterruptedFromState(%v) = %v", s, got)
		}
	}
}
