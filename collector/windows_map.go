package collector

import (
	"strconv"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Gauges of the Windows source (rendered as dhcp_failover_<name>).
const (
	gaugeWinSafePeriod  = "safe_period_seconds"
	gaugeWinLoadBalance = "load_balance_primary_ratio"
	gaugeWinReserve     = "hot_standby_reserve_ratio"
	gaugeWinScopes      = "scopes"
)

func init() {
	registerGauge(gaugeWinSafePeriod, "Time the server stays in COMMUNICATION_INT before moving to PARTNER_DOWN on its own (Windows SafePeriod, StateSwitchInterval), as the server reports it.")
	registerGauge(gaugeWinLoadBalance, "Share of the clients served by the primary server of a load-balance relationship (Windows Percentage / 100).")
	registerGauge(gaugeWinReserve, "Share of the free addresses reserved for the standby server of a hot-standby relationship (Windows Percentage / 100).")
	registerGauge(gaugeWinScopes, "Number of scopes (IPv4 subnets) in the relationship.")
}

// winStates remembers, per relationship name, the raw State and PrevState
// of the previous poll, so that every change revealed by PrevState is
// counted exactly once.
type winStates map[string]winStatePair

type winStatePair struct{ state, prev uint32 }

// winState converts an FSM_STATE value as the API returns it (a 32-bit
// enum). Values outside the enumeration give NO_STATE and ok=false.
func winState(v uint32) (failover.State, bool) {
	if v >= failover.NumStates {
		return failover.NoState, false
	}
	return failover.State(v), true
}

// winNative is PowerShell's name for an FSM_STATE value (what
// Get-DhcpServerv4Failover prints), or "unknown (N)".
func winNative(v uint32) string {
	if s, ok := winState(v); ok {
		if n, ok := s.WindowsName(); ok {
			return n
		}
	}
	return "unknown (" + strconv.FormatUint(uint64(v), 10) + ")"
}

// mapWinRelationship turns one decoded relationship into an observation.
// last is what the previous poll saw of it (ok=false: first sighting);
// the transitions returned are exactly the changes not yet counted:
//
//   - first sighting: PrevState→State, once (the server's own history: the
//     last change it made, maybe long before the exporter started);
//   - State changed and PrevState is the old State: old→State;
//   - State changed and PrevState is something else: old→PrevState and
//     PrevState→State (at least two changes; any in between are invisible);
//   - State unchanged but PrevState changed: the state was left and entered
//     again between polls: State→PrevState and PrevState→State.
//
// Changes from a state to itself (after unknown values map to NO_STATE)
// are dropped.
func mapWinRelationship(w dhcpsapi.Relationship, last winStatePair, seen bool, now time.Time) failover.Relationship {
	state, known := winState(w.State)
	r := failover.Relationship{
		Name:   w.Name,
		Vendor: failover.VendorWindows,
		Local: failover.Side{
			Reported: true,
			State:    state,
			Native:   winNative(w.State),
		},
		// Windows reports nothing of the partner's state: render nothing.
		// An unknown value is logged once by the agent (sanitize).
		Partner:                  failover.Side{Reported: false},
		MCLT:                     failover.Some(time.Duration(w.MCLT) * time.Second),
		CommunicationInterrupted: failover.Some(failover.CommunicationInterruptedFromState(state)),
		HasHistory:               true,
	}
	if !known {
		r.Local.State = failover.UnknownState
	}
	r.PartnerName, r.PartnerAddress = winPartner(w)
	switch w.Mode {
	case dhcpsapi.ModeLoadBalance:
		r.Mode = failover.ModeLoadBalance
	case dhcpsapi.ModeHotStandby:
		r.Mode = failover.ModeHotStandby
	}
	switch {
	case w.ServerType == dhcpsapi.ServerPrimary:
		r.Role = failover.RolePrimary
	case w.ServerType == dhcpsapi.ServerSecondary && w.Mode == dhcpsapi.ModeHotStandby:
		// The secondary of a hot-standby pair is its standby server
		// (PowerShell ServerRole "Standby"), as Kea names it.
		r.Role = failover.RoleStandby
	case w.ServerType == dhcpsapi.ServerSecondary:
		r.Role = failover.RoleSecondary
	}

	var steps [][2]uint32
	switch {
	case !seen:
		steps = [][2]uint32{{w.PrevState, w.State}}
	case w.State == last.state && w.PrevState == last.prev:
		// nothing happened
	case w.State != last.state && w.PrevState == last.state:
		steps = [][2]uint32{{last.state, w.State}}
	default:
		steps = [][2]uint32{{last.state, w.PrevState}, {w.PrevState, w.State}}
	}
	for _, st := range steps {
		from, _ := winState(st[0])
		to, _ := winState(st[1])
		if from != to {
			r.Transitions = append(r.Transitions, failover.Transition{From: from, To: to, At: now})
		}
	}

	r.Gauges = append(r.Gauges,
		failover.Gauge{Name: gaugeWinSafePeriod, Value: float64(w.SafePeriod)},
		failover.Gauge{Name: gaugeWinScopes, Value: float64(len(w.Scopes))},
	)
	switch w.Mode {
	case dhcpsapi.ModeLoadBalance:
		r.Gauges = append(r.Gauges, failover.Gauge{Name: gaugeWinLoadBalance, Value: float64(w.Percentage) / 100})
	case dhcpsapi.ModeHotStandby:
		r.Gauges = append(r.Gauges, failover.Gauge{Name: gaugeWinReserve, Value: float64(w.Percentage) / 100})
	}
	return r
}

// winPartner returns the partner's name and address as the polled server
// knows them: the other end of the relationship from its ServerType.
func winPartner(w dhcpsapi.Relationship) (name, address string) {
	n, a := w.SecondaryName, w.SecondaryServer
	if w.ServerType == dhcpsapi.ServerSecondary {
		n, a = w.PrimaryName, w.PrimaryServer
	}
	if a.IsValid() {
		address = a.String()
	}
	return n, address
}

// observe maps a poll's relationships (those selected by want, all if want
// is empty) and moves the state memory forward; relationships no longer
// reported are forgotten, so that a recreated one counts as new.
func (h winStates) observe(ws []dhcpsapi.Relationship, want map[string]bool, now time.Time) []failover.Relationship {
	out := make([]failover.Relationship, 0, len(ws))
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		if (len(want) > 0 && !want[w.Name]) || seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		last, ok := h[w.Name]
		out = append(out, mapWinRelationship(w, last, ok, now))
		h[w.Name] = winStatePair{state: w.State, prev: w.PrevState}
	}
	for name := range h {
		if !seen[name] {
			delete(h, name)
		}
	}
	return out
}
