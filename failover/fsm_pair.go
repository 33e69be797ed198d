package failover

import (
	"sort"
	"time"
)

// Pair runs two Machines against each other: what one sends, the other
// receives, and the timers they arm fire when the pair is advanced past
// them. It is how a whole fault (partition, crash, restart) plays out with
// the real state machine on both ends, in process, with no clock of its
// own: the caller gives every time. It is not safe for concurrent use;
// simulations build one, run it, and throw it away.
type Pair struct {
	// Servers are the two ends, index 0 and 1.
	Servers [2]Machine
	// Down marks a crashed server: it receives nothing until Restart.
	Down [2]bool
	// Partitioned cuts the network between the two.
	Partitioned bool
	// BndUpdSent counts the BNDUPD bursts each side has sent (one per
	// ActionSendBndUpd), for callers that model the update backlog.
	BndUpdSent [2]int
	// LastContact is when each side last heard from the other.
	LastContact [2]time.Time

	timers []pairTimer
	queue  []pairMessage
}

// pairTimer is an armed timer, valid while its server is still in the
// state (and STOS) it was armed in: ISC cancels them on any state change.
type pairTimer struct {
	side  int
	at    time.Time
	kind  EventKind
	state State
	stos  time.Time
}

// pairMessage is a message in flight from side `from`, captured when sent.
type pairMessage struct {
	from    int
	kind    EventKind
	state   State
	startup bool
}

// maxPumpSteps bounds the messages handled for one input, so that a pair of
// machines that kept answering each other could not loop forever.
const maxPumpSteps = 1000

// NewPair builds a pair of connected-capable servers from two machines;
// neither is connected until Connect.
func NewPair(a, b Machine) *Pair {
	a.Connected, b.Connected = false, false
	return &Pair{Servers: [2]Machine{a, b}}
}

// linkPossible says whether a failover connection can exist.
func (p *Pair) linkPossible() bool { return !p.Partitioned && !p.Down[0] && !p.Down[1] }

// Advance fires, in time order, every timer due at or before t.
func (p *Pair) Advance(t time.Time) {
	for n := 0; n < maxPumpSteps; n++ {
		sort.SliceStable(p.timers, func(i, j int) bool { return p.timers[i].at.Before(p.timers[j].at) })
		if len(p.timers) == 0 || p.timers[0].at.After(t) {
			return
		}
		tm := p.timers[0]
		p.timers = p.timers[1:]
		m := p.Servers[tm.side]
		if p.Down[tm.side] || m.State != tm.state || !m.Stos.Equal(tm.stos) {
			continue // cancelled by a state change or a crash
		}
		p.step(tm.side, Event{Kind: tm.kind, At: tm.at})
	}
}

// Apply gives one server an event at ev.At (after firing the timers due
// before it) and delivers whatever follows between the two.
func (p *Pair) Apply(side int, ev Event) {
	p.Advance(ev.At)
	p.step(side, ev)
}

// Connect brings the failover connection up if the network and both
// servers allow it. As with ISC, the secondary's STATE (with its
// CONNECTACK) goes first, then the primary's.
func (p *Pair) Connect(at time.Time) {
	p.Advance(at)
	if !p.linkPossible() || p.Servers[0].Connected && p.Servers[1].Connected {
		return
	}
	first := 0
	if p.Servers[0].Role == RolePrimary {
		first = 1
	}
	// Both ends are connected before either STATE is delivered.
	p.handle(first, Event{Kind: EventConnect, At: at})
	p.handle(1-first, Event{Kind: EventConnect, At: at})
	p.pump(at)
}

// Partition cuts the network; both running servers lose the connection.
func (p *Pair) Partition(at time.Time) {
	p.Advance(at)
	p.Partitioned = true
	p.dropLink(at)
}

// Heal restores the network and reconnects if both servers run.
func (p *Pair) Heal(at time.Time) {
	p.Advance(at)
	p.Partitioned = false
	p.Connect(at)
}

// Crash kills a server: it stops, its partner sees the connection drop
// (ISC: FIN from the dead process's socket, 5–8 ms in the lab).
func (p *Pair) Crash(side int, at time.Time) {
	p.Advance(at)
	p.Down[side] = true // it keeps the state it had, as its lease file does
	p.dropLink(at)
}

// Restart starts a crashed server again, from the state it had saved, or
// with no saved state at all if fresh (a replaced server: RECOVER, lab P2),
// and connects if the network allows.
func (p *Pair) Restart(side int, fresh bool, at time.Time) {
	p.Advance(at)
	m := p.Servers[side]
	if fresh {
		f := Fresh(m.Role, m.MCLT, at)
		f.AutoPartnerDown = m.AutoPartnerDown
		m = f
	}
	m.Connected = false
	p.Servers[side] = m
	p.Down[side] = false
	p.step(side, Event{Kind: EventStartup, At: at})
	p.Connect(at)
}

func (p *Pair) dropLink(at time.Time) {
	for side := range p.Servers {
		if p.Servers[side].Connected {
			// CONTACT kept the connection busy up to now.
			p.LastContact[side] = at
		}
		if !p.Down[side] && p.Servers[side].Connected {
			p.step(side, Event{Kind: EventDisconnect, At: at})
		}
	}
	p.queue = p.queue[:0]
}

// step applies one event to one side, then delivers messages until none
// are left in flight.
func (p *Pair) step(side int, ev Event) {
	p.handle(side, ev)
	p.pump(ev.At)
}

// pump delivers the messages in flight, in order, until none are left.
func (p *Pair) pump(at time.Time) {
	for n := 0; len(p.queue) > 0 && n < maxPumpSteps; n++ {
		msg := p.queue[0]
		p.queue = p.queue[1:]
		to := 1 - msg.from
		if p.Down[to] || !p.linkPossible() || !p.Servers[to].Connected {
			continue
		}
		p.LastContact[to] = at
		p.handle(to, Event{Kind: msg.kind, At: at, PartnerState: msg.state, PartnerStartup: msg.startup})
	}
	p.queue = p.queue[:0]
}

func (p *Pair) handle(side int, ev Event) {
	if p.Down[side] {
		return
	}
	m, acts := p.Servers[side].Step(ev)
	p.Servers[side] = m
	lastState := -1
	for i, a := range acts {
		if a == ActionSendState {
			lastState = i
		}
	}
	for i, a := range acts {
		switch a {
		case ActionSendState:
			// One step can pass through two states (RECOVER_WAIT straight
			// to RECOVER_DONE); only the state it ends in is sent, once:
			// the partner reacts to the second as it would to both.
			if i == lastState {
				p.send(side, EventPartnerState, m.State, m.State == Startup)
			}
		case ActionSendUpdReq:
			p.send(side, EventUpdReq, 0, false)
		case ActionSendUpdReqAll:
			p.send(side, EventUpdReqAll, 0, false)
		case ActionSendUpdDone:
			p.send(side, EventUpdDone, 0, false)
		case ActionSendBndUpd:
			p.BndUpdSent[side]++
		case ActionStartAutoPartnerDownTimer:
			p.arm(side, EventAutoPartnerDown, ev.At.Add(m.AutoPartnerDown), m)
		case ActionStartMCLTTimer:
			p.arm(side, EventMCLTElapsed, m.MCLTDeadline(), m)
		}
	}
}

func (p *Pair) send(from int, kind EventKind, st State, startup bool) {
	p.queue = append(p.queue, pairMessage{from: from, kind: kind, state: st, startup: startup})
}

func (p *Pair) arm(side int, kind EventKind, at time.Time, m Machine) {
	p.timers = append(p.timers, pairTimer{side: side, at: at, kind: kind, state: m.State, stos: m.Stos})
}
