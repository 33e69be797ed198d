package failover

import (
	"testing"
	"time"
)

// labPair is the lab's ISC pair (fo-lab): a primary, b secondary, MCLT 60,
// both NORMAL and connected at t0.
func labPair(apd time.Duration) *Pair {
	a := Machine{Role: RolePrimary, MCLT: labMCLT, AutoPartnerDown: apd, State: Normal, Stos: t0, Partner: Normal, PartnerStos: t0}
	b := a
	b.Role = RoleSecondary
	p := NewPair(a, b)
	p.Connect(t0)
	return p
}

func wantStates(t *testing.T, p *Pair, when string, a, b State) {
	t.Helper()
	if p.Servers[0].State != a || p.Servers[1].State != b {
		t.Fatalf("%s: a=%v b=%v, want a=%v b=%v", when, p.Servers[0].State, p.Servers[1].State, a, b)
	}
}

func TestPairConnectNormal(t *testing.T) {
	p := labPair(0)
	wantStates(t, p, "connected", Normal, Normal)
	if !p.Servers[0].Connected || !p.Servers[1].Connected {
		t.Fatal("not connected")
	}
}

// Lab "fresh up": both start with no saved state, RECOVER -> RECOVER_DONE
// -> NORMAL with no MCLT wait (0.7 s).
func TestPairFreshUp(t *testing.T) {
	p := NewPair(Fresh(RolePrimary, labMCLT, t0), Fresh(RoleSecondary, labMCLT, t0))
	p.Down = [2]bool{true, true}
	p.Restart(0, true, t0)
	wantStates(t, p, "a alone", Startup, Recover)
	p.Restart(1, true, at(0))
	wantStates(t, p, "both up", Normal, Normal)
	if len(p.timers) != 0 {
		t.Errorf("timers armed: %+v", p.timers)
	}
}

// Lab P1: SIGKILL secondary, omshell partner-down on the primary, restart
// the secondary with its lease file: it goes RECOVER -> RECOVER_WAIT until
// its last STOS (t0) + MCLT, then both NORMAL.
func TestPairP1KillPartnerDownRestart(t *testing.T) {
	p := labPair(0)
	p.Crash(1, at(6))
	wantStates(t, p, "after kill", CommunicationInt, Normal)
	if p.Servers[0].Partner != Normal {
		t.Errorf("a's view of b %v, want the last state seen, NORMAL", p.Servers[0].Partner)
	}
	p.Apply(0, Event{Kind: EventOperatorPartnerDown, At: at(14)})
	wantStates(t, p, "partner-down", PartnerDown, Normal)
	p.Restart(1, false, at(21))
	wantStates(t, p, "restart", PartnerDown, RecoverWait)
	if got := p.Servers[1].MCLTDeadline(); !got.Equal(at(60)) {
		t.Errorf("recover-wait until %v, want %v", got, at(60))
	}
	if p.BndUpdSent[0] == 0 {
		t.Error("a never answered the UPDREQALL with BNDUPDs")
	}
	p.Advance(at(59))
	wantStates(t, p, "just before MCLT", PartnerDown, RecoverWait)
	p.Advance(at(60))
	wantStates(t, p, "MCLT elapsed", Normal, Normal)
	if !p.Servers[0].Stos.Equal(at(60)) || !p.Servers[1].Stos.Equal(at(60)) {
		t.Errorf("stos a %v b %v, want %v", p.Servers[0].Stos, p.Servers[1].Stos, at(60))
	}
}

// Lab P2: the restarted secondary has an empty lease file: a full MCLT
// from its restart.
func TestPairP2FreshSecondary(t *testing.T) {
	p := labPair(0)
	p.Crash(1, at(3))
	p.Apply(0, Event{Kind: EventOperatorPartnerDown, At: at(6)})
	p.Restart(1, true, at(9))
	wantStates(t, p, "restart", PartnerDown, RecoverWait)
	if p.Servers[1].Partner != PartnerDown {
		t.Errorf("b's view of a %v", p.Servers[1].Partner)
	}
	p.Advance(at(68))
	wantStates(t, p, "before", PartnerDown, RecoverWait)
	p.Advance(at(69))
	wantStates(t, p, "after", Normal, Normal)
}

// The same with the roles the other way round (index 0 the secondary):
// the order of the two ends must not matter.
func TestPairP2RolesSwapped(t *testing.T) {
	a := Machine{Role: RoleSecondary, MCLT: labMCLT, State: Normal, Stos: t0, Partner: Normal}
	b := a
	b.Role = RolePrimary
	p := NewPair(a, b)
	p.Connect(t0)
	p.Crash(1, at(3))
	p.Apply(0, Event{Kind: EventOperatorPartnerDown, At: at(6)})
	p.Restart(1, true, at(9))
	wantStates(t, p, "restart", PartnerDown, RecoverWait)
	p.Advance(at(69))
	wantStates(t, p, "after", Normal, Normal)
}

// Lab P5: auto-partner-down 10 s after COMMUNICATION_INT.
func TestPairAutoPartnerDown(t *testing.T) {
	p := labPair(10 * time.Second)
	p.Crash(1, at(1))
	p.Advance(at(10))
	wantStates(t, p, "9 s", CommunicationInt, Normal)
	p.Advance(at(11))
	wantStates(t, p, "10 s", PartnerDown, Normal)
	if !p.Servers[0].Stos.Equal(at(11)) {
		t.Errorf("stos %v", p.Servers[0].Stos)
	}
}

// A timer armed in COMMUNICATION_INT is void once the state changed.
func TestPairAutoPartnerDownCancelled(t *testing.T) {
	p := labPair(10 * time.Second)
	p.Partition(at(1))
	wantStates(t, p, "partition", CommunicationInt, CommunicationInt)
	p.Heal(at(5))
	wantStates(t, p, "heal", Normal, Normal)
	p.Advance(at(30))
	wantStates(t, p, "later", Normal, Normal)
}

// Lab: restart of the secondary while the primary is COMMUNICATION_INT:
// STARTUP -> NORMAL on both at once.
func TestPairRestartDuringCommInt(t *testing.T) {
	p := labPair(0)
	p.Crash(1, at(2))
	p.Restart(1, false, at(5))
	wantStates(t, p, "restart", Normal, Normal)
}

// Split brain: both sides go PARTNER_DOWN during a partition; on healing
// they resolve through POTENTIAL_CONFLICT and CONFLICT_DONE to NORMAL.
func TestPairSplitBrainResolves(t *testing.T) {
	p := labPair(10 * time.Second)
	p.Partition(at(1))
	p.Advance(at(20))
	wantStates(t, p, "split brain", PartnerDown, PartnerDown)
	p.Heal(at(30))
	wantStates(t, p, "resolved", Normal, Normal)
	if p.BndUpdSent[0] == 0 || p.BndUpdSent[1] == 0 {
		t.Errorf("updates exchanged %v, want both ways", p.BndUpdSent)
	}
}

// A clean shutdown: the partner goes PARTNER_DOWN at once.
func TestPairShutdown(t *testing.T) {
	p := labPair(0)
	p.Apply(1, Event{Kind: EventShutdown, At: at(3)})
	wantStates(t, p, "shutdown", PartnerDown, Shutdown)
}

// Every machine state, saved state, partner state, role and connection,
// under every event: no panic, and an unknown event changes nothing.
func TestMachineNeverPanics(t *testing.T) {
	var events []Event
	for k := EventKind(0); k <= EventPause+1; k++ {
		events = append(events, Event{Kind: k, At: at(30)})
	}
	for s := 0; s <= NumStates+1; s++ {
		for _, startup := range []bool{false, true} {
			events = append(events, Event{Kind: EventPartnerState, At: at(30), PartnerState: State(s), PartnerStartup: startup})
		}
	}
	events = append(events, Event{Kind: EventPartnerState, At: at(30), PartnerState: 255})
	for st := 0; st <= NumStates; st++ {
		for sv := 0; sv <= NumStates; sv++ {
			if State(st) != Startup && sv > 0 {
				continue
			}
			for ps := 0; ps <= NumStates; ps++ {
				for _, role := range []Role{RolePrimary, RoleSecondary, ""} {
					for _, conn := range []bool{false, true} {
						m := Machine{Role: role, MCLT: labMCLT, AutoPartnerDown: time.Second,
							State: State(st), Saved: State(sv), Stos: t0, Partner: State(ps), Connected: conn}
						for _, e := range events {
							next, acts := m.Step(e)
							if e.Kind == 0 || e.Kind > EventPause {
								if next != m || acts != nil {
									t.Fatalf("%+v under unknown %v: changed to %+v %v", m, e.Kind, next, acts)
								}
							}
							if !next.State.Valid() && next.State != m.State {
								t.Fatalf("%+v under %+v: invalid state %v", m, e, next.State)
							}
						}
					}
				}
			}
		}
	}
}

// FuzzPair drives a pair with arbitrary inputs: it must never panic and
// every state must stay in the vocabulary.
func FuzzPair(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{2, 7, 1, 9, 9, 3, 5})
	f.Fuzz(func(t *testing.T, in []byte) {
		p := labPair(5 * time.Second)
		now := t0
		for i, b := range in {
			if i > 200 {
				break
			}
			now = now.Add(time.Duration(b%16) * time.Second)
			side := int(b>>7) & 1
			switch b >> 4 & 7 {
			case 0:
				p.Partition(now)
			case 1:
				p.Heal(now)
			case 2:
				p.Crash(side, now)
			case 3:
				p.Restart(side, b&1 == 0, now)
			case 4:
				p.Apply(side, Event{Kind: EventOperatorPartnerDown, At: now})
			case 5:
				p.Apply(side, Event{Kind: EventKind(b & 15), At: now, PartnerState: State(b & 15)})
			default:
				p.Advance(now)
			}
			for _, m := range p.Servers {
				if !m.State.Valid() {
					t.Fatalf("invalid state %v", m.State)
				}
			}
		}
	})
}
