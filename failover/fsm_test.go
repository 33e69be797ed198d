package failover

import (
	"slices"
	"testing"
	"time"
)

// t0 is the lab's clock (shared lab README, P1): both NORMAL at 17:20:52.
var t0 = time.Date(2026, 11, 26, 17, 20, 52, 0, time.UTC)

const labMCLT = 60 * time.Second

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// mach builds a machine for the table: primary unless told, MCLT 60 s, STOS t0.
func mach(state, partner State, connected bool) Machine {
	return Machine{Role: RolePrimary, MCLT: labMCLT, State: state, Stos: t0, Partner: partner, PartnerStos: t0, Connected: connected}
}

func secondary(m Machine) Machine { m.Role = RoleSecondary; return m }

func saved(m Machine, s State) Machine { m.Saved = s; return m }

func withAPD(m Machine, d time.Duration) Machine { m.AutoPartnerDown = d; return m }

func pstate(s State) Event { return Event{Kind: EventPartnerState, At: at(10), PartnerState: s} }

func pstartup(s State) Event {
	return Event{Kind: EventPartnerState, At: at(10), PartnerState: s, PartnerStartup: true}
}

func ev(k EventKind, sec int) Event { return Event{Kind: k, At: at(sec)} }

func acts(a ...Action) []Action { return a }

func TestMachineStep(t *testing.T) {
	const (
		N   = Normal
		CI  = CommunicationInt
		PD  = PartnerDown
		PC  = PotentialConflict
		CD  = ConflictDone
		RI  = ResolutionInt
		R   = Recover
		RW  = RecoverWait
		RD  = RecoverDone
		SD  = Shutdown
		PS  = Paused
		SU  = Startup
		NOS = NoState
	)
	tests := []struct {
		name  string
		m     Machine
		ev    Event
		want  State
		acts  []Action
		check func(t *testing.T, m Machine)
	}{
		// --- connection lost: §9.2 (NORMAL/POTENTIAL-CONFLICT on losing communication); ISC dhcp_failover_state_transition("disconnect") ---
		{name: "NORMAL lost connection -> COMMUNICATION_INT, nothing sent (lab: 5-8 ms after SIGKILL)",
			m: mach(N, N, true), ev: ev(EventDisconnect, 6), want: CI},
		{name: "NORMAL lost connection with auto-partner-down arms the timer",
			m: withAPD(mach(N, N, true), 10*time.Second), ev: ev(EventDisconnect, 6), want: CI,
			acts: acts(ActionStartAutoPartnerDownTimer)},
		{name: "POTENTIAL_CONFLICT lost connection -> RESOLUTION_INT",
			m: mach(PC, PD, true), ev: ev(EventDisconnect, 6), want: RI},
		{name: "NO_STATE lost connection -> RESOLUTION_INT (ISC unknown_state)",
			m: mach(NOS, NOS, true), ev: ev(EventDisconnect, 6), want: RI},
		{name: "PARTNER_DOWN lost connection stays", m: mach(PD, R, true), ev: ev(EventDisconnect, 6), want: PD},
		{name: "RECOVER_WAIT lost connection stays", m: mach(RW, PD, true), ev: ev(EventDisconnect, 6), want: RW},
		{name: "COMMUNICATION_INT lost connection again stays", m: mach(CI, N, false), ev: ev(EventDisconnect, 6), want: CI},
		{name: "STARTUP (saved NORMAL) lost connection -> COMMUNICATION_INT",
			m: saved(mach(SU, N, true), N), ev: ev(EventDisconnect, 6), want: CI},
		{name: "STARTUP (saved PARTNER_DOWN) lost connection resumes PARTNER_DOWN",
			m: saved(mach(SU, N, true), PD), ev: ev(EventDisconnect, 6), want: PD},

		// --- §9.2 STARTUP; ISC "startup" transition and dhcp_failover_startup_timeout (15 s) ---
		{name: "start from saved NORMAL -> STARTUP, STOS kept",
			m: mach(N, N, false), ev: ev(EventStartup, 20), want: SU,
			check: func(t *testing.T, m Machine) {
				if m.Saved != N || !m.Stos.Equal(t0) {
					t.Errorf("saved %v stos %v, want NORMAL %v", m.Saved, m.Stos, t0)
				}
			}},
		{name: "startup timeout, saved RECOVER -> RECOVER (not connected: no UPDREQALL)",
			m: saved(mach(SU, NOS, false), R), ev: ev(EventStartupTimeout, 15), want: R},
		{name: "startup timeout, saved NORMAL -> COMMUNICATION_INT",
			m: saved(mach(SU, N, false), N), ev: ev(EventStartupTimeout, 15), want: CI},
		{name: "startup timeout outside STARTUP is ignored", m: mach(N, N, true), ev: ev(EventStartupTimeout, 15), want: N},

		// --- connection up: ISC CONNECTACK handling sends its STATE; changes follow the partner's STATE (lab log order) ---
		{name: "COMMUNICATION_INT connects: send STATE, stay until the partner's STATE",
			m: mach(CI, N, false), ev: ev(EventConnect, 30), want: CI, acts: acts(ActionSendState)},
		{name: "connect twice sends nothing more", m: mach(N, N, true), ev: ev(EventConnect, 30), want: N},

		// --- §9.2 COMMUNICATIONS-INTERRUPTED -> PARTNER-DOWN: ISC OMAPI local-state setter, dhcp_failover_auto_partner_down ---
		{name: "operator partner-down from COMMUNICATION_INT (lab: omshell local-state = 4)",
			m: mach(CI, N, false), ev: ev(EventOperatorPartnerDown, 14), want: PD,
			check: func(t *testing.T, m Machine) {
				if !m.Stos.Equal(at(14)) {
					t.Errorf("stos %v, want %v", m.Stos, at(14))
				}
			}},
		{name: "auto partner-down from COMMUNICATION_INT (lab P5: exactly 10.0 s)",
			m: mach(CI, N, false), ev: ev(EventAutoPartnerDown, 10), want: PD},
		{name: "auto partner-down after leaving COMMUNICATION_INT is void",
			m: mach(N, N, true), ev: ev(EventAutoPartnerDown, 10), want: N},
		{name: "operator partner-down while connected tells the partner",
			m: mach(N, N, true), ev: ev(EventOperatorPartnerDown, 10), want: PD, acts: acts(ActionSendState)},
		{name: "operator partner-down in PARTNER_DOWN is a no-op",
			m: mach(PD, N, false), ev: ev(EventOperatorPartnerDown, 10), want: PD},

		// --- §9.2 COMMUNICATIONS-INTERRUPTED; ISC dhcp_failover_peer_state_changed, case communications_interrupted ---
		{name: "COMMUNICATION_INT, partner NORMAL (even with STARTUP flag) -> NORMAL + updates (lab: < 25 ms)",
			m: mach(CI, N, true), ev: pstartup(N), want: N,
			acts: acts(ActionSendBndUpd, ActionSendState, ActionSendBndUpd)},
		{name: "COMMUNICATION_INT, partner COMMUNICATION_INT -> NORMAL",
			m: mach(CI, N, true), ev: pstate(CI), want: N, acts: acts(ActionSendBndUpd, ActionSendState, ActionSendBndUpd)},
		{name: "COMMUNICATION_INT, partner RECOVER_DONE -> NORMAL",
			m: mach(CI, N, true), ev: pstate(RD), want: N, acts: acts(ActionSendBndUpd, ActionSendState, ActionSendBndUpd)},
		{name: "COMMUNICATION_INT, amnesic partner in RECOVER -> PARTNER_DOWN",
			m: mach(CI, N, true), ev: pstate(R), want: PD, acts: acts(ActionSendState)},
		{name: "COMMUNICATION_INT, partner PARTNER_DOWN -> POTENTIAL_CONFLICT, primary sends UPDREQ",
			m: mach(CI, N, true), ev: pstate(PD), want: PC, acts: acts(ActionSendState, ActionSendUpdReq)},
		{name: "COMMUNICATION_INT, partner PARTNER_DOWN -> POTENTIAL_CONFLICT, secondary waits",
			m: secondary(mach(CI, N, true)), ev: pstate(PD), want: PC, acts: acts(ActionSendState)},
		{name: "COMMUNICATION_INT, partner SHUTDOWN -> PARTNER_DOWN",
			m: mach(CI, N, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},
		{name: "COMMUNICATION_INT, partner PAUSED stays", m: mach(CI, N, true), ev: pstate(PS), want: CI},

		// --- §9.2 NORMAL; ISC dhcp_failover_peer_state_changed, case normal ---
		{name: "NORMAL, partner NORMAL again: nothing", m: mach(N, N, true), ev: pstate(N), want: N},
		{name: "NORMAL, partner SHUTDOWN -> PARTNER_DOWN (§9.2; ISC gentle shutdown)",
			m: mach(N, N, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},
		{name: "NORMAL, partner RECOVER -> PARTNER_DOWN",
			m: mach(N, N, true), ev: pstate(R), want: PD, acts: acts(ActionSendState)},
		{name: "NORMAL, partner PAUSED -> COMMUNICATION_INT",
			m: mach(N, N, true), ev: pstate(PS), want: CI, acts: acts(ActionSendState)},
		{name: "NORMAL, partner PARTNER_DOWN -> POTENTIAL_CONFLICT",
			m: mach(N, N, true), ev: pstate(PD), want: PC, acts: acts(ActionSendState, ActionSendUpdReq)},
		{name: "NORMAL, partner POTENTIAL_CONFLICT is invalid: ISC shuts down",
			m: mach(N, N, true), ev: pstate(PC), want: SD, acts: acts(ActionSendState)},

		// --- §9.2 STARTUP; ISC peer_state_changed switches on saved_state, then leaves startup ---
		{name: "STARTUP (saved NORMAL), partner PARTNER_DOWN -> RECOVER + UPDREQALL (lab P1)",
			m: saved(mach(SU, N, true), N), ev: pstate(PD), want: R, acts: acts(ActionSendState, ActionSendUpdReqAll),
			check: func(t *testing.T, m Machine) {
				if !m.Stos.Equal(t0) {
					t.Errorf("stos %v, want kept %v (RECOVER_WAIT counts from it)", m.Stos, t0)
				}
			}},
		{name: "STARTUP (saved NORMAL), partner NORMAL unchanged -> NORMAL",
			m: saved(mach(SU, N, true), N), ev: pstate(N), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "STARTUP (saved NORMAL), partner COMMUNICATION_INT -> NORMAL (lab: restart during comm-int)",
			m: saved(mach(SU, N, true), N), ev: pstate(CI), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "STARTUP (saved RECOVER), partner RECOVER -> RECOVER, one UPDREQALL",
			m: saved(mach(SU, NOS, true), R), ev: pstartup(R), want: R, acts: acts(ActionSendState, ActionSendUpdReqAll)},

		// --- §9.2 PARTNER-DOWN; ISC peer_state_changed, case partner_down (STARTUP flag: no action) ---
		{name: "PARTNER_DOWN, partner restarts with STARTUP flag: not a real change yet (lab P1)",
			m: mach(PD, N, true), ev: pstartup(N), want: PD},
		{name: "PARTNER_DOWN, partner PARTNER_DOWN with STARTUP flag: no action",
			m: mach(PD, N, true), ev: pstartup(PD), want: PD},
		{name: "PARTNER_DOWN, partner RECOVER: stay, it catches up",
			m: mach(PD, N, true), ev: pstate(R), want: PD},
		{name: "PARTNER_DOWN, partner RECOVER_WAIT: stay",
			m: mach(PD, R, true), ev: pstate(RW), want: PD},
		{name: "PARTNER_DOWN, partner RECOVER_DONE -> NORMAL (lab: < 2 ms)",
			m: mach(PD, RW, true), ev: pstate(RD), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "PARTNER_DOWN, partner PARTNER_DOWN without flag: split brain -> POTENTIAL_CONFLICT",
			m: mach(PD, N, true), ev: pstate(PD), want: PC, acts: acts(ActionSendState, ActionSendUpdReq)},
		{name: "PARTNER_DOWN, partner NORMAL without flag -> POTENTIAL_CONFLICT",
			m: secondary(mach(PD, CI, true)), ev: pstate(N), want: PC, acts: acts(ActionSendState)},
		{name: "PARTNER_DOWN, partner SHUTDOWN: stay", m: mach(PD, N, true), ev: pstate(SD), want: PD},

		// --- UPDREQ/UPDREQALL received; ISC dhcp_failover_process_update_request[_all], any state ---
		{name: "UPDREQALL received: BNDUPDs then UPDDONE",
			m: mach(PD, R, true), ev: ev(EventUpdReqAll, 11), want: PD, acts: acts(ActionSendBndUpd, ActionSendUpdDone)},
		{name: "UPDREQ received: BNDUPDs then UPDDONE",
			m: secondary(mach(PC, PD, true)), ev: ev(EventUpdReq, 11), want: PC, acts: acts(ActionSendBndUpd, ActionSendUpdDone)},
		{name: "UPDREQ while disconnected: nothing", m: mach(PD, R, false), ev: ev(EventUpdReq, 11), want: PD},

		// --- §9.2 RECOVER / RECOVER-WAIT / RECOVER-DONE; ISC process_update_done, dhcp_failover_recover_done ---
		{name: "RECOVER, UPDDONE within MCLT of STOS, partner PARTNER_DOWN -> RECOVER_WAIT, STOS kept",
			m: mach(R, PD, true), ev: ev(EventUpdDone, 21), want: RW, acts: acts(ActionSendState, ActionStartMCLTTimer),
			check: func(t *testing.T, m Machine) {
				if !m.Stos.Equal(t0) || !m.MCLTDeadline().Equal(at(60)) {
					t.Errorf("stos %v deadline %v, want %v and %v", m.Stos, m.MCLTDeadline(), t0, at(60))
				}
			}},
		{name: "RECOVER, UPDDONE after MCLT -> RECOVER_DONE at once (lab isc-06: 6 ms)",
			m: mach(R, PD, true), ev: ev(EventUpdDone, 61), want: RD, acts: acts(ActionSendState)},
		{name: "RECOVER, UPDDONE, partner RECOVER too (fresh pair) -> RECOVER_DONE without MCLT wait",
			m: mach(R, R, true), ev: ev(EventUpdDone, 1), want: RD, acts: acts(ActionSendState)},
		{name: "RECOVER, UPDDONE, partner RECOVER_DONE -> RECOVER_DONE",
			m: mach(R, RD, true), ev: ev(EventUpdDone, 1), want: RD, acts: acts(ActionSendState)},
		{name: "RECOVER_WAIT, MCLT elapsed -> RECOVER_DONE",
			m: mach(RW, PD, true), ev: ev(EventMCLTElapsed, 60), want: RD, acts: acts(ActionSendState)},
		{name: "MCLT elapsed outside RECOVER_WAIT is ignored", m: mach(N, N, true), ev: ev(EventMCLTElapsed, 60), want: N},
		{name: "RECOVER_WAIT ignores the partner's states", m: mach(RW, PD, true), ev: pstate(N), want: RW},
		{name: "RECOVER_DONE, partner NORMAL -> NORMAL",
			m: mach(RD, PD, true), ev: pstate(N), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "RECOVER_DONE, partner RECOVER_DONE too -> NORMAL (fresh pair)",
			m: mach(RD, R, true), ev: pstate(RD), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "RECOVER_DONE, partner SHUTDOWN -> PARTNER_DOWN",
			m: mach(RD, PD, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},
		{name: "RECOVER, partner PARTNER_DOWN: ask again for everything",
			m: mach(R, NOS, true), ev: pstate(PD), want: R, acts: acts(ActionSendUpdReqAll)},
		{name: "RECOVER, partner NORMAL -> POTENTIAL_CONFLICT",
			m: mach(R, PD, true), ev: pstate(N), want: PC, acts: acts(ActionSendState, ActionSendUpdReq)},
		{name: "RECOVER, partner SHUTDOWN -> PARTNER_DOWN",
			m: mach(R, PD, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},

		// --- §9.2 POTENTIAL-CONFLICT / CONFLICT-DONE / RESOLUTION-INTERRUPTED; ISC process_update_done and peer_state_changed ---
		{name: "primary POTENTIAL_CONFLICT, UPDDONE -> CONFLICT_DONE",
			m: mach(PC, PC, true), ev: ev(EventUpdDone, 12), want: CD, acts: acts(ActionSendState)},
		{name: "secondary POTENTIAL_CONFLICT, partner CONFLICT_DONE -> send UPDREQ",
			m: secondary(mach(PC, PC, true)), ev: pstate(CD), want: PC, acts: acts(ActionSendUpdReq)},
		{name: "secondary POTENTIAL_CONFLICT, partner CONFLICT_DONE, UPDDONE -> NORMAL",
			m: secondary(mach(PC, CD, true)), ev: ev(EventUpdDone, 13), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "primary CONFLICT_DONE, partner NORMAL -> NORMAL",
			m: mach(CD, PC, true), ev: pstate(N), want: N, acts: acts(ActionSendState, ActionSendBndUpd)},
		{name: "CONFLICT_DONE, partner SHUTDOWN -> SHUTDOWN (ISC copies it)",
			m: mach(CD, PC, true), ev: pstate(SD), want: SD, acts: acts(ActionSendState)},
		{name: "CONFLICT_DONE, partner PARTNER_DOWN: ISC aborts, the machine stays",
			m: mach(CD, PC, true), ev: pstate(PD), want: CD},
		{name: "secondary POTENTIAL_CONFLICT, UPDDONE before the primary is done: spurious",
			m: secondary(mach(PC, PC, true)), ev: ev(EventUpdDone, 12), want: PC},
		{name: "primary POTENTIAL_CONFLICT, partner CONFLICT_DONE, UPDDONE: illegal -> SHUTDOWN",
			m: mach(PC, CD, true), ev: ev(EventUpdDone, 12), want: SD, acts: acts(ActionSendState)},
		{name: "POTENTIAL_CONFLICT, partner NORMAL: ISC panics into SHUTDOWN",
			m: mach(PC, PC, true), ev: pstate(N), want: SD, acts: acts(ActionSendState)},
		{name: "POTENTIAL_CONFLICT, partner RECOVER -> RECOVER",
			m: mach(PC, PC, true), ev: pstate(R), want: R, acts: acts(ActionSendState, ActionSendUpdReqAll)},
		{name: "POTENTIAL_CONFLICT, partner SHUTDOWN -> PARTNER_DOWN",
			m: mach(PC, PC, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},
		{name: "RESOLUTION_INT, partner back in POTENTIAL_CONFLICT -> POTENTIAL_CONFLICT",
			m: mach(RI, PC, true), ev: pstate(PC), want: PC, acts: acts(ActionSendState, ActionSendUpdReq)},
		{name: "RESOLUTION_INT, partner SHUTDOWN -> PARTNER_DOWN",
			m: mach(RI, PC, true), ev: pstate(SD), want: PD, acts: acts(ActionSendState)},
		{name: "RESOLUTION_INT, operator partner-down (§9.2)",
			m: mach(RI, PC, false), ev: ev(EventOperatorPartnerDown, 12), want: PD},

		// --- §9.2 SHUTDOWN, PAUSED: entered on request, no automatic way out (ISC peer_state_changed: "dead in the water") ---
		{name: "clean shutdown -> SHUTDOWN, told to the partner",
			m: mach(N, N, true), ev: ev(EventShutdown, 5), want: SD, acts: acts(ActionSendState)},
		{name: "pause -> PAUSED, told to the partner",
			m: mach(N, N, true), ev: ev(EventPause, 5), want: PS, acts: acts(ActionSendState)},
		{name: "SHUTDOWN makes no automatic transition", m: mach(SD, N, true), ev: pstate(PD), want: SD},
		{name: "PAUSED makes no automatic transition", m: mach(PS, N, true), ev: pstate(CI), want: PS},
		{name: "STARTUP (saved SHUTDOWN), partner PARTNER_DOWN resumes SHUTDOWN: leaving it takes an operator",
			m: saved(mach(SU, PD, true), SD), ev: pstate(PD), want: SD, acts: acts(ActionSendState)},

		// --- unknown combinations and bad input: stay, no action (ISC would log_fatal or shut down) ---
		{name: "partner state outside the vocabulary is ignored",
			m: mach(N, N, true), ev: Event{Kind: EventPartnerState, At: at(1), PartnerState: 200}, want: N},
		{name: "partner INIT (no wire code) is ignored",
			m: mach(CI, N, true), ev: pstate(Init), want: CI},
		{name: "unknown event kind", m: mach(N, N, true), ev: Event{Kind: 99, At: at(1)}, want: N},
		{name: "zero event", m: mach(PD, N, true), ev: Event{}, want: PD},
		{name: "UPDDONE in NORMAL is ignored", m: mach(N, N, true), ev: ev(EventUpdDone, 1), want: N},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.m
			got, gotActs := tc.m.Step(tc.ev)
			if got.State != tc.want {
				t.Errorf("state %v, want %v", got.State, tc.want)
			}
			if !slices.Equal(gotActs, tc.acts) {
				t.Errorf("actions %v, want %v", gotActs, tc.acts)
			}
			if tc.m != before {
				t.Error("Step modified its receiver")
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}
