package collector

import (
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Every FSM_STATE has a severity of its own (the landing page colours all
// 14), and only NO_STATE and values outside FSM_STATE are unknown.
func TestEveryStateHasASeverity(t *testing.T) {
	if len(failover.States()) != 14 {
		t.Fatalf("%d states", len(failover.States()))
	}
	for _, s := range failover.States() {
		sev, ok := stateSeverity[s]
		if !ok {
			t.Errorf("%s has no severity", s)
		}
		if (sev == SeverityUnknown) != (s == failover.NoState) {
			t.Errorf("%s: severity %s", s, sev)
		}
	}
	if SeverityOf(failover.State(99)) != SeverityUnknown {
		t.Error("a state outside FSM_STATE must be unknown")
	}
	for s, want := range map[failover.State]Severity{failover.Normal: SeverityOK, failover.PartnerDown: SeverityCritical, failover.CommunicationInt: SeverityWarning, failover.Recover: SeverityInfo} {
		if got := SeverityOf(s); got != want {
			t.Errorf("%s: %s, want %s", s, got, want)
		}
	}
}
