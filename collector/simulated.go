package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// The simulated source: one server of an in-process failover pair that
// plays a fault script on the failover state machine (docs/simulated.md).
// Nothing runs between polls: a poll replays the script from the start of
// the previous cycle up to now through failover.Pair, so the two targets of
// a pair agree without sharing anything, and there is nothing to stop.

func init() {
	registerSource("simulated", newSimulatedSource)
}

var errSimulatedDown = errors.New("simulated: server is down (crashed, not restarted yet)")

// The fault script, as fractions of the cycle. Server b fails; server a
// survives. Every phase lasts at least 5% of the cycle (1 s with the
// shortest cycle, config.MinSimulatedCycle) so that a 1 s poll sees each.
// With the default 10 minute cycle the survivor is in COMMUNICATION_INT
// for 3.5 min and in PARTNER_DOWN for 3 min or more: longer than the
// shipped alerts' for: (2m and 1m), as a real outage would be.
const (
	// Both NORMAL until the network between a and b fails: both
	// COMMUNICATION_INT, each still reporting the partner's last state.
	simPartition = 0.05
	// b crashes (and loses its lease file): its polls fail with connect.
	simCrash = 0.10
	// a's auto-partner-down delay: PARTNER_DOWN at 0.40.
	simAutoPartnerDown = 0.35
	// b starts again with no saved state: STARTUP (saved RECOVER).
	simRestart = 0.50
	// No partner within the startup period: b enters RECOVER.
	simStartupTimeout = 0.55
	// The network is back: b sends UPDREQALL, a answers BNDUPDs and
	// UPDDONE, b waits in RECOVER_WAIT until its restart + MCLT, then
	// RECOVER_DONE and both NORMAL (0.70 for -lb, 0.74 for -hs).
	simHeal = 0.62
)

// simRelationship describes one simulated relationship of a pair.
type simRelationship struct {
	suffix           string
	mode             failover.Mode
	roles            [2]failover.Role // reported roles of a and b
	mclt             float64          // fraction of the cycle
	maxResponseDelay time.Duration
	maxUnacked       int
}

// simRelationships: in load balance b is the secondary that fails; in hot
// standby b is the active primary and the standby a takes over.
var simRelationships = []simRelationship{
	{suffix: "-lb", mode: failover.ModeLoadBalance, roles: [2]failover.Role{failover.RolePrimary, failover.RoleSecondary},
		mclt: 0.20, maxResponseDelay: 5 * time.Second, maxUnacked: 10},
	{suffix: "-hs", mode: failover.ModeHotStandby, roles: [2]failover.Role{failover.RoleStandby, failover.RolePrimary},
		mclt: 0.24, maxResponseDelay: 6 * time.Second, maxUnacked: 20},
}

type simulatedSource struct {
	pair   string
	server int // 0 = a, 1 = b
	cycle  time.Duration
	offset time.Duration
	now    func() time.Time
	// created is the first poll's time: the refusal counters count
	// from it, as a log follower counts from its start.
	created time.Time
}

func newSimulatedSource(t config.Target, logger log.Logger) (Source, error) {
	s, ok := t.Settings.(*config.Simulated)
	if !ok {
		return nil, fmt.Errorf("simulated: settings of type %T", t.Settings)
	}
	src := &simulatedSource{
		pair:   s.Pair,
		cycle:  time.Duration(s.Cycle),
		offset: time.Duration(s.Offset),
		now:    time.Now,
	}
	if s.Server == "b" {
		src.server = 1
	}
	if src.cycle < config.MinSimulatedCycle {
		return nil, fmt.Errorf("simulated: cycle %s is shorter than %s", src.cycle, config.MinSimulatedCycle)
	}
	switch s.Emulate {
	case "kea":
		return newSimKeaSource(s, src.server, logger)
	case "windows":
		return newSimWindowsSource(s, src.server, logger)
	case "peer":
		return newSimPeerSource(s, logger)
	}
	return src, nil
}

// Poll implements Source.
func (s *simulatedSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	if s.created.IsZero() {
		s.created = now
	}
	var rels []failover.Relationship
	for _, rel := range simRelationships {
		p := simulate(rel, s.cycle, s.offset, now)
		if p.Down[s.server] {
			return nil, Classified(ReasonConnect, fmt.Errorf("%w: pair %s, server %s", errSimulatedDown, s.pair, serverName(s.server)))
		}
		rels = append(rels, s.observe(rel, p, now))
	}
	return rels, nil
}

func serverName(i int) string { return string(rune('a' + i)) }

// cycleStart is the start of the cycle that contains t: cycles follow each
// other from the Unix epoch shifted by offset.
func cycleStart(t time.Time, cycle, offset time.Duration) time.Time {
	origin := time.Unix(0, 0).Add(offset)
	d := t.Sub(origin)
	k := d / cycle
	if d < 0 && d%cycle != 0 {
		k-- // floor, for a clock before the origin
	}
	return origin.Add(k * cycle)
}

// simulate plays the script from the start of the previous cycle up to
// now, so that the cycle in progress starts from the state, start times
// and views the previous one left.
func simulate(rel simRelationship, cycle, offset time.Duration, now time.Time) *failover.Pair {
	start := cycleStart(now, cycle, offset).Add(-cycle)
	mclt := time.Duration(rel.mclt * float64(cycle))
	frac := func(base time.Time, f float64) time.Time { return base.Add(time.Duration(f * float64(cycle))) }

	var ms [2]failover.Machine
	for i := range ms {
		ms[i] = failover.Machine{
			Role: fsmRole(rel.roles[i]), MCLT: mclt,
			State: failover.Normal, Stos: start.Add(-cycle / 4),
			Partner: failover.Normal, PartnerStos: start.Add(-cycle / 4),
		}
	}
	ms[0].AutoPartnerDown = time.Duration(simAutoPartnerDown * float64(cycle))
	p := failover.NewPair(ms[0], ms[1])
	p.Connect(start)

	for c := 0; c < 2; c++ {
		base := start.Add(time.Duration(c) * cycle)
		script := []struct {
			at time.Time
			do func(time.Time)
		}{
			{frac(base, simPartition), p.Partition},
			{frac(base, simCrash), func(t time.Time) { p.Crash(1, t) }},
			{frac(base, simRestart), func(t time.Time) { p.Restart(1, true, t) }},
			{frac(base, simStartupTimeout), func(t time.Time) {
				p.Apply(1, failover.Event{Kind: failover.EventStartupTimeout, At: t})
			}},
			{frac(base, simHeal), p.Heal},
		}
		for _, step := range script {
			if step.at.After(now) {
				p.Advance(now)
				return p
			}
			step.do(step.at)
		}
	}
	p.Advance(now)
	return p
}

// fsmRole is the role the state machine plays: the standby resolves
// conflicts as the secondary does.
func fsmRole(r failover.Role) failover.Role {
	if r == failover.RolePrimary {
		return failover.RolePrimary
	}
	return failover.RoleSecondary
}

// observe renders what server s would report for one relationship.
func (s *simulatedSource) observe(rel simRelationship, p *failover.Pair, now time.Time) failover.Relationship {
	m := p.Servers[s.server]
	r := failover.Relationship{
		Name:   s.pair + rel.suffix,
		Vendor: failover.VendorSimulated,
		Role:   rel.roles[s.server],
		Mode:   rel.mode,
		Local:  simSide(m.State, m.Stos),
		// In COMMUNICATION_INT and PARTNER_DOWN this is the last state
		// seen, as ISC reports it.
		Partner:                  simSide(m.Partner, m.PartnerStos),
		MCLT:                     failover.Some(m.MCLT),
		MaxResponseDelay:         failover.Some(rel.maxResponseDelay),
		MaxUnackedUpdates:        failover.Some(rel.maxUnacked),
		UnackedUpdates:           failover.Some(s.unacked(rel, m, now)),
		CommunicationInterrupted: failover.Some(failover.CommunicationInterruptedFromState(m.State)),
	}
	if rel.mode == failover.ModeLoadBalance {
		// dhcpd.conf(5) recommends "load balance max seconds 3".
		r.Gauges = []failover.Gauge{{Name: gaugeLoadBalanceMax, Value: 3}}
	}
	_, f := s.cycleOf(now)
	r.Pools = s.pools(rel, m, f)
	r.Refusals = s.refusals(rel, now)
	switch {
	case m.Connected:
		// CONTACT every max-response-delay/3 or less: just now.
		r.PartnerLastContact = failover.Some(now.Truncate(time.Second))
	case !p.LastContact[s.server].IsZero():
		r.PartnerLastContact = failover.Some(p.LastContact[s.server])
	}
	return r
}

func simSide(st failover.State, start time.Time) failover.Side {
	native, _ := st.ISCName()
	return failover.Side{Reported: true, State: st, Native: native, StartTime: start}
}

// unacked makes up a plausible binding-update backlog: a few in flight in
// NORMAL, more while the survivor serves the whole pool and updates a
// recovering partner, none while disconnected (ISC moves unacked updates
// back to its queue and resets cur-unacked-updates on leaving NORMAL).
func (s *simulatedSource) unacked(rel simRelationship, m failover.Machine, now time.Time) int {
	if !m.Connected {
		return 0
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s%s/%d/%d", s.pair, rel.suffix, s.server, now.Unix())
	jitter := int(h.Sum32() % uint32(rel.maxUnacked/4+1))
	switch m.Partner {
	case failover.Recover, failover.RecoverWait:
		return rel.maxUnacked/2 + jitter
	}
	return jitter
}
