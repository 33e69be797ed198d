package failover

import (
	"strconv"
	"time"
)

// The server state machine of draft-ietf-dhc-failover-12 §9.2, as ISC
// dhcpd 4.4 implements it (server/failover.c: the "disconnect"/"startup"
// transitions, the peer-state-changed handler, the UPDDONE handler and the
// set-state side effects). Where ISC and the draft differ, ISC wins: it is
// the implementation the exporter's users run, and the lab measured it
// (shared lab README, "What the ISC states look like").
//
// Machine is a value: Step returns the next machine and the messages the
// server would send, and changes nothing else. Unknown (state, event)
// combinations leave the machine as it is and send nothing; no input makes
// Step panic. Where ISC would abort the process (log_fatal on a transition
// it calls impossible) the machine stays where it is instead.

// EventKind is what happens to a server.
type EventKind uint8

// Event kinds.
const (
	// EventConnect: the failover connection is up (CONNECT/CONNECTACK
	// exchanged). ISC then sends its STATE and changes nothing yet: the
	// state change comes from the partner's STATE (lab: "peer moves from
	// normal to normal" is logged before "I move from
	// communications-interrupted to normal").
	EventConnect EventKind = iota + 1
	// EventDisconnect: the connection is lost (FIN/RST, or nothing within
	// max-response-delay). Nothing can be sent.
	EventDisconnect
	// EventPartnerState: a STATE message (or the state options of a
	// CONNECT/CONNECTACK) arrived: PartnerState, PartnerStartup.
	EventPartnerState
	// EventUpdReq / EventUpdReqAll: the partner asked for pending / all
	// binding updates; they are answered with BNDUPDs then UPDDONE in any
	// state (ISC process_update_request[_all]).
	EventUpdReq
	EventUpdReqAll
	// EventUpdDone: the partner has sent every binding update asked for.
	EventUpdDone
	// EventMCLTElapsed: the recover-wait timer fired (my STOS + MCLT).
	EventMCLTElapsed
	// EventOperatorPartnerDown: an operator sets local-state partner-down
	// (omshell / OMAPI update: ISC obeys in any state).
	EventOperatorPartnerDown
	// EventAutoPartnerDown: the auto-partner-down timer armed on entering
	// COMMUNICATION_INT fired.
	EventAutoPartnerDown
	// EventStartup: the server process starts; it enters STARTUP and
	// remembers the state it had saved (ISC "startup" transition).
	EventStartup
	// EventStartupTimeout: no STATE from the partner within the startup
	// period (ISC: 15 s); handled as a disconnect out of STARTUP.
	EventStartupTimeout
	// EventShutdown: a clean, announced shutdown (ISC with
	// ENABLE_GENTLE_SHUTDOWN; Debian's build just exits, lab P3).
	EventShutdown
	// EventPause: the server is paused for a short maintenance (§9.2
	// PAUSED).
	EventPause
)

var eventNames = [...]string{
	EventConnect: "connect", EventDisconnect: "disconnect", EventPartnerState: "partner-state",
	EventUpdReq: "updreq", EventUpdReqAll: "updreqall", EventUpdDone: "upddone",
	EventMCLTElapsed: "mclt-elapsed", EventOperatorPartnerDown: "operator-partner-down",
	EventAutoPartnerDown: "auto-partner-down", EventStartup: "startup",
	EventStartupTimeout: "startup-timeout", EventShutdown: "shutdown", EventPause: "pause",
}

// String names the event kind; "unknown (N)" outside the enumeration.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown (" + strconv.Itoa(int(k)) + ")"
}

// Event is one input of the machine.
type Event struct {
	Kind EventKind
	// At is when it happens: it becomes the start time of a state entered
	// now, and decides whether MCLT has passed since my STOS.
	At time.Time
	// PartnerState and PartnerStartup are the server-state and the STARTUP
	// bit of server-flags of a received STATE (EventPartnerState only).
	PartnerState   State
	PartnerStartup bool
}

// Action is a message the server sends, or a timer it arms, as the result
// of a step. It is not the wire codec's message type on purpose: the
// machine says what to do, the codec how to write it.
type Action uint8

// Actions, in the order a step emits them.
const (
	ActionSendState     Action = iota + 1 // STATE with my new state
	ActionSendUpdReq                      // UPDREQ: send me what I have not seen
	ActionSendUpdReqAll                   // UPDREQALL: send me every binding
	ActionSendBndUpd                      // send the pending BNDUPDs
	ActionSendUpdDone                     // UPDDONE after the BNDUPDs asked for
	// ActionStartAutoPartnerDownTimer: arm EventAutoPartnerDown at
	// At + AutoPartnerDown (entering COMMUNICATION_INT with the feature on).
	ActionStartAutoPartnerDownTimer
	// ActionStartMCLTTimer: arm EventMCLTElapsed at MCLTDeadline().
	ActionStartMCLTTimer
)

var actionNames = [...]string{
	ActionSendState: "STATE", ActionSendUpdReq: "UPDREQ", ActionSendUpdReqAll: "UPDREQALL",
	ActionSendBndUpd: "BNDUPD", ActionSendUpdDone: "UPDDONE",
	ActionStartAutoPartnerDownTimer: "start-auto-partner-down-timer",
	ActionStartMCLTTimer:            "start-mclt-timer",
}

// String names the action; "unknown (N)" outside the enumeration.
func (a Action) String() string {
	if int(a) < len(actionNames) && actionNames[a] != "" {
		return actionNames[a]
	}
	return "unknown (" + strconv.Itoa(int(a)) + ")"
}

// Machine is one server's failover state for one relationship: what ISC
// keeps in its dhcp_failover_state_t (me, partner, saved_state).
type Machine struct {
	// Role decides who resolves a conflict: the primary asks (UPDREQ) and
	// enters CONFLICT_DONE first. Anything but RolePrimary acts as the
	// secondary.
	Role Role
	// MCLT bounds RECOVER_WAIT; AutoPartnerDown (0 = off, ISC's default)
	// is the delay from COMMUNICATION_INT to PARTNER_DOWN.
	MCLT            time.Duration
	AutoPartnerDown time.Duration

	State State
	// Stos is the start time of State as ISC keeps it: not reset when
	// entering RECOVER_WAIT or entering or leaving STARTUP, so that
	// RECOVER_WAIT lasts until the last real change + MCLT (lab P1: 39 s).
	Stos time.Time
	// Saved is the state before STARTUP, resumed when STARTUP ends.
	Saved State

	// Partner is the partner's last state received, PartnerStos when this
	// server saw it change (ISC partner-stos), PartnerStartup its STARTUP
	// flag. While disconnected they keep the last state seen.
	Partner        State
	PartnerStos    time.Time
	PartnerStartup bool

	Connected bool
}

// Fresh is a server with no saved state: ISC starts it in RECOVER with its
// partner NO_STATE and STOS = now (lab P2: RECOVER_WAIT lasted a full MCLT
// after a start with an empty lease file).
func Fresh(role Role, mclt time.Duration, at time.Time) Machine {
	return Machine{Role: role, MCLT: mclt, State: Recover, Stos: at, Partner: NoState}
}

// MCLTDeadline is when RECOVER_WAIT may end: my STOS + MCLT (ISC
// process_update_done / set_state(recover_wait)).
func (m Machine) MCLTDeadline() time.Time { return m.Stos.Add(m.MCLT) }

func (m Machine) primary() bool { return m.Role == RolePrimary }

// effective is the state that decides a transition: while in STARTUP, the
// state saved before it (ISC switches on saved_state in that case).
func (m Machine) effective() State {
	if m.State == Startup {
		return m.Saved
	}
	return m.State
}

// Step applies one event and returns the next machine and what the server
// sends or arms, in order. The receiver is not modified.
func (m Machine) Step(ev Event) (Machine, []Action) {
	s := stepper{m: m, at: ev.At}
	switch ev.Kind {
	case EventConnect:
		s.connect()
	case EventDisconnect:
		s.disconnect()
	case EventStartupTimeout:
		// ISC dhcp_failover_startup_timeout: the "disconnect" transition,
		// which leaves STARTUP for the saved state (or the interrupted
		// state it implies).
		if s.m.State == Startup {
			s.disconnect()
		}
	case EventPartnerState:
		s.partnerState(ev.PartnerState, ev.PartnerStartup)
	case EventUpdReq, EventUpdReqAll:
		// ISC process_update_request[_all]: queue the bindings (all of
		// them for UPDREQALL) and send UPDDONE once the last is acked.
		if s.m.Connected {
			s.emit(ActionSendBndUpd, ActionSendUpdDone)
		}
	case EventUpdDone:
		s.updDone()
	case EventMCLTElapsed:
		// ISC dhcp_failover_recover_done, armed on entering RECOVER_WAIT.
		if s.m.State == RecoverWait {
			s.set(RecoverDone)
		}
	case EventOperatorPartnerDown:
		// ISC's OMAPI local-state setter calls set_state unconditionally.
		s.set(PartnerDown)
	case EventAutoPartnerDown:
		// ISC dhcp_failover_auto_partner_down acts only if still in
		// communications-interrupted (any change cancels the timer).
		if s.m.State == CommunicationInt {
			s.set(PartnerDown)
		}
	case EventStartup:
		// ISC "startup" transition: saved_state = current state, STOS kept.
		s.m.Connected = false
		s.set(Startup)
	case EventShutdown:
		s.set(Shutdown)
	case EventPause:
		s.set(Paused)
	}
	return s.m, s.acts
}

type stepper struct {
	m    Machine
	at   time.Time
	acts []Action
}

func (s *stepper) emit(a ...Action) { s.acts = append(s.acts, a...) }

// set is ISC dhcp_failover_set_state: record the state (and STOS), tell
// the partner, then do what entering the state implies.
func (s *stepper) set(next State) {
	prev := s.m.State
	if next == prev || !next.Valid() {
		return // a Saved state outside the vocabulary is never entered
	}
	// STOS is kept going into RECOVER_WAIT and into or out of STARTUP.
	if next != RecoverWait && next != Startup && prev != Startup {
		s.m.Stos = s.at
	}
	s.m.State = next
	if next == Startup {
		s.m.Saved = prev
	}
	if s.m.Connected {
		s.emit(ActionSendState)
	}
	switch next {
	case CommunicationInt:
		if s.m.AutoPartnerDown > 0 {
			s.emit(ActionStartAutoPartnerDownTimer)
		}
	case Normal:
		// §9.2 / ISC: entering NORMAL retransmits every pending update.
		if s.m.Connected {
			s.emit(ActionSendBndUpd)
		}
	case PotentialConflict:
		// ISC: the primary starts conflict resolution by asking for the
		// secondary's updates.
		if s.m.primary() && s.m.Connected {
			s.emit(ActionSendUpdReq)
		}
	case RecoverWait:
		if s.at.Before(s.m.MCLTDeadline()) {
			s.emit(ActionStartMCLTTimer)
		} else {
			s.set(RecoverDone)
		}
	case Recover:
		// ISC always asks for everything on entering RECOVER.
		if s.m.Connected {
			s.emit(ActionSendUpdReqAll)
		}
	}
}

func (s *stepper) connect() {
	if s.m.Connected {
		return
	}
	s.m.Connected = true
	s.emit(ActionSendState)
}

// disconnect is ISC's "disconnect" transition: the states that already
// mean "no partner" stay (or, from STARTUP, resume the saved one); NORMAL
// and the conflict states become their interrupted variants.
func (s *stepper) disconnect() {
	s.m.Connected = false
	switch eff := s.m.effective(); eff {
	case CommunicationInt, ConflictDone, PartnerDown, Paused, Recover,
		RecoverDone, RecoverWait, ResolutionInt, Shutdown:
		if s.m.State == Startup {
			s.set(eff)
		}
	case PotentialConflict, NoState:
		s.set(ResolutionInt)
	case Normal:
		s.set(CommunicationInt)
	}
}

// partnerState is ISC dhcp_failover_peer_state_changed.
func (s *stepper) partnerState(next State, startup bool) {
	if !next.Valid() || next == Init {
		// ISC shuts down on a state code it does not know; a state the
		// machine cannot name is treated as noise instead.
		return
	}
	prev := s.m.Partner
	s.m.PartnerStartup = startup
	if prev == next && s.m.State != NoState {
		switch s.m.State {
		case Startup:
			s.set(s.m.Saved)
			return
		case Normal, PotentialConflict, RecoverDone, Shutdown, Paused, RecoverWait:
			return
		}
		// PARTNER_DOWN, COMMUNICATION_INT, RESOLUTION_INT, RECOVER,
		// CONFLICT_DONE: a repeated state is processed again.
	}
	if prev != next {
		s.m.Partner = next
		s.m.PartnerStos = s.at
	}

	inStartup := s.m.State == Startup
	switch s.m.effective() {
	case Normal:
		switch next {
		case PartnerDown:
			// The partner took over while I was away: recover from it.
			// Still running, I may have served: potential conflict.
			if inStartup {
				s.set(Recover)
			} else {
				s.set(PotentialConflict)
			}
		case PotentialConflict, ResolutionInt, ConflictDone:
			// ISC: "Invalid state transition", shuts down.
			s.set(Shutdown)
		case Recover, Shutdown:
			s.set(PartnerDown)
		case Paused:
			s.set(CommunicationInt)
		}
	case Recover:
		switch next {
		case Recover, PartnerDown, CommunicationInt:
			// Not from STARTUP: leaving STARTUP for RECOVER below sends it.
			if s.m.State == Recover && s.m.Connected {
				s.emit(ActionSendUpdReqAll)
			}
		case PotentialConflict, ResolutionInt, ConflictDone, Normal:
			s.set(PotentialConflict)
		case Shutdown:
			s.set(PartnerDown)
		}
	case PotentialConflict:
		switch next {
		case Normal:
			// ISC: "moves to normal during conflict resolution - panic".
			s.set(Shutdown)
		case ConflictDone:
			// The primary is done with my updates: now I ask for its.
			if prev == PotentialConflict && s.m.Connected {
				s.emit(ActionSendUpdReq)
			}
		case Recover:
			s.set(Recover)
		case Shutdown:
			s.set(PartnerDown)
		}
	case ConflictDone:
		// Any other partner state is log_fatal in ISC: stay.
		if next == Normal || next == Shutdown {
			s.set(next)
		}
	case PartnerDown:
		// ISC: no action while the partner is only starting up: its first
		// STATE carries the state saved before its restart.
		if startup {
			break
		}
		switch next {
		case RecoverDone:
			s.set(Normal)
		case Normal, PotentialConflict, PartnerDown, CommunicationInt, ResolutionInt, ConflictDone:
			// Both may have served the whole pool: resolve.
			s.set(PotentialConflict)
		}
		// RECOVER, RECOVER_WAIT: the partner is catching up, as it should.
	case CommunicationInt:
		switch next {
		case Recover:
			// An amnesic partner: it cannot have served, take over.
			s.set(PartnerDown)
		case Normal, CommunicationInt, RecoverDone, RecoverWait:
			if s.m.Connected {
				s.emit(ActionSendBndUpd)
			}
			s.set(Normal)
		case PotentialConflict, PartnerDown, ResolutionInt, ConflictDone:
			s.set(PotentialConflict)
		case Shutdown:
			s.set(PartnerDown)
		}
	case ResolutionInt:
		switch next {
		case Normal, Recover, PotentialConflict, PartnerDown, CommunicationInt,
			ResolutionInt, ConflictDone, RecoverDone, RecoverWait:
			s.set(PotentialConflict)
		case Shutdown:
			s.set(PartnerDown)
		}
	case RecoverDone:
		switch next {
		case RecoverDone, Normal:
			s.set(Normal)
		case Shutdown:
			s.set(PartnerDown)
		}
	}
	// RECOVER_WAIT waits; SHUTDOWN, PAUSED and NO_STATE make no automatic
	// transitions.

	// A STATE from the partner ends STARTUP if nothing above did.
	if s.m.State == Startup && s.m.Saved != Startup {
		s.set(s.m.Saved)
	}
}

// updDone is ISC dhcp_failover_process_update_done.
func (s *stepper) updDone() {
	switch s.m.State {
	case PotentialConflict:
		switch {
		case s.m.Partner == ConflictDone && !s.m.primary():
			// The secondary has the primary's updates too: resolved.
			s.set(Normal)
		case s.m.Partner == ConflictDone:
			// ISC: a secondary in conflict-done is illegal.
			s.set(Shutdown)
		case s.m.primary():
			s.set(ConflictDone)
		}
		// A secondary's UPDDONE before the primary is done: spurious.
	case Recover:
		// Wait MCLT since my STOS, unless both came up in RECOVER (a new
		// pair: nothing to protect), lab "fresh up": no wait.
		if s.at.Before(s.m.MCLTDeadline()) && s.m.Partner != Recover && s.m.Partner != RecoverDone {
			s.set(RecoverWait)
		} else {
			s.set(RecoverDone)
		}
	}
}
