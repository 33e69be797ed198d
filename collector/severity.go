package collector

import "github.com/dhcpfailover/dhcp_failover_exporter/failover"

// Severity is how worrying a failover state is, for the landing page's
// colours. It follows the shipped alerts: PARTNER_DOWN (one server serves
// alone) and POTENTIAL_CONFLICT (neither serves) are critical; losing
// contact, the rest of conflict resolution, PAUSED and SHUTDOWN warn; the
// states a pair passes through while it (re)synchronises are info.
type Severity string

// Severities, from good to bad; SeverityUnknown for NO_STATE.
const (
	SeverityOK       Severity = "ok"
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
	SeverityUnknown  Severity = "unknown"
)

// stateSeverity has an entry for every FSM_STATE (TestEveryStateHasASeverity).
var stateSeverity = map[failover.State]Severity{
	failover.NoState:           SeverityUnknown,
	failover.Init:              SeverityInfo,
	failover.Startup:           SeverityInfo,
	failover.Normal:            SeverityOK,
	failover.CommunicationInt:  SeverityWarning,
	failover.PartnerDown:       SeverityCritical,
	failover.PotentialConflict: SeverityCritical,
	failover.ConflictDone:      SeverityWarning,
	failover.ResolutionInt:     SeverityWarning,
	failover.Recover:           SeverityInfo,
	failover.RecoverWait:       SeverityInfo,
	failover.RecoverDone:       SeverityInfo,
	failover.Paused:            SeverityWarning,
	failover.Shutdown:          SeverityWarning,
}

// SeverityOf returns a state's severity; SeverityUnknown for a value
// outside FSM_STATE.
func SeverityOf(s failover.State) Severity {
	if v, ok := stateSeverity[s]; ok {
		return v
	}
	return SeverityUnknown
}
