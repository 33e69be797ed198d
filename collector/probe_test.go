package collector

import (
	"context"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

// followSource is a polled source that follows something over time.
type followSource struct{ fakeSource }

func (*followSource) Follows() {}

func (f *followSource) Poll(context.Context) ([]failover.Relationship, error) {
	return []failover.Relationship{rel("followed", failover.Recover, failover.PartnerDown, t0, t0)}, nil
}

// A probe of a Follower (the leases file) serves the running view.
func TestRunningServesFollowers(t *testing.T) {
	setFake(t, "follow", &followSource{})
	a := NewAgent(log.NewNopLogger())
	defer a.Stop()
	if err := a.ApplyConfig(&config.Config{Targets: []config.Target{fakeTarget("f", "follow", time.Second)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first poll", 2*time.Second, func() bool {
		g, ok := a.Running("f")
		if !ok {
			t.Fatal("no running view of a Follower")
		}
		v, _ := seriesValue(t, g, "dhcp_failover_state_code", `relationship="followed"`)
		return v == float64(failover.Recover)
	})
}
