package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
)

// ISC wire state codes (docs/protocol.md §2).
const (
	iscNormal      = 2
	iscCommInt     = 3
	iscPartnerDown = 4
)

func stateSeries(target, side, state string) string {
	return series("dhcp_failover_state", "relationship", iscRelationship, "side", side, "state", state, "target", target)
}

func transitionSeries(target, side, from, to string) string {
	return series("dhcp_failover_state_transitions_total", "from", from, "relationship", iscRelationship, "side", side, "target", target, "to", to)
}

func errorSeries(target, reason string) string {
	return series("dhcp_failover_poll_errors_total", "reason", reason, "target", target)
}

// TestISCPair runs the ISC scenarios in order on one pair and one
// exporter that polls both servers (and three misconfigured targets)
// every second.
func TestISCPair(t *testing.T) {
	p := startISCPair(t, iscOptions{})
	wrongSecret := randomSecret(t)
	e := p.StartExporter(p.ExporterConfig(fmt.Sprintf(`  - name: isc-wrongkey
    source: omapi
    address: 10.251.7.1
    relationships: [%[1]s]
    key: {name: %[2]s, algorithm: %[3]s, secret: %[4]q}
    poll_interval: 1s
    timeout: 800ms
  - name: isc-nokey
    source: omapi
    address: 10.251.7.1:7911
    relationships: [%[1]s]
    poll_interval: 1s
    timeout: 800ms
  - name: isc-nosuch
    source: omapi
    address: 10.251.7.2
    relationships: [%[1]s, nosuch]
    key: {name: %[2]s, algorithm: %[3]s, secret: %[5]q}
    poll_interval: 1s
    timeout: 800ms
  - name: isc-noport
    source: omapi
    address: 10.251.7.1:7912
    relationships: [%[1]s]
    poll_interval: 1s
    timeout: 800ms
`, iscRelationship, iscKeyName, p.KeyAlgorithm, wrongSecret, p.Secret)))

	t.Run("1 pair up", func(t *testing.T) {
		e.WaitMetric(stateSeries("isc-a", "local", "NORMAL"), 1, 10*time.Second)
		m := e.WaitMetric(stateSeries("isc-b", "local", "NORMAL"), 1, 10*time.Second)
		for _, want := range []struct {
			series string
			value  float64
		}{
			{series("dhcp_failover_up", "target", "isc-a"), 1},
			{series("dhcp_failover_up", "target", "isc-b"), 1},
			{stateSeries("isc-a", "partner", "NORMAL"), 1},
			{stateSeries("isc-b", "partner", "NORMAL"), 1},
			{stateSeries("isc-a", "local", "PARTNER_DOWN"), 0},
			{series("dhcp_failover_state_code", "relationship", iscRelationship, "side", "local", "target", "isc-a"), 3},
			{series("dhcp_failover_relationship_info", "mode", "load-balance", "relationship", iscRelationship, "role", "primary", "target", "isc-a", "vendor", "isc"), 1},
			{series("dhcp_failover_relationship_info", "mode", "load-balance", "relationship", iscRelationship, "role", "secondary", "target", "isc-b", "vendor", "isc"), 1},
			{series("dhcp_failover_native_state_info", "relationship", iscRelationship, "side", "local", "state", "normal", "target", "isc-a"), 1},
			{series("dhcp_failover_mclt_seconds", "relationship", iscRelationship, "target", "isc-a"), 15},
			{series("dhcp_failover_mclt_seconds", "relationship", iscRelationship, "target", "isc-b"), 15},
			{series("dhcp_failover_max_response_delay_seconds", "relationship", iscRelationship, "target", "isc-a"), 5},
			{series("dhcp_failover_load_balance_max_seconds", "relationship", iscRelationship, "target", "isc-a"), 3},
			{series("dhcp_failover_communication_interrupted", "relationship", iscRelationship, "target", "isc-a"), 0},
		} {
			if got := m.Get(want.series); got != want.value {
				t.Errorf("%s = %v, want %v", want.series, got, want.value)
			}
		}
		// dhcpd's own start time of the state, not the exporter's.
		stos := m.Get(series("dhcp_failover_state_start_time_seconds", "relationship", iscRelationship, "side", "local", "target", "isc-a"))
		fs, err := p.State(p.Primary)
		if err != nil || stos != float64(fs.Local.STOS.Unix()) {
			t.Errorf("start time %v, dhcpd says %v (%v)", stos, fs, err)
		}
	})

	t.Run("6 misconfigured targets", func(t *testing.T) {
		for target, reason := range map[string]string{
			"isc-wrongkey": "auth", "isc-nokey": "auth", "isc-nosuch": "not_found", "isc-noport": "connect",
		} {
			waitFor(t, 10*time.Second, target+" failing with "+reason, func() error {
				m, _ := e.Scrape()
				if m.Get(series("dhcp_failover_up", "target", target)) != 0 || m.Get(errorSeries(target, reason)) < 1 {
					return fmt.Errorf("up=%v %s errors=%v", m.Get(series("dhcp_failover_up", "target", target)), reason, m.Get(errorSeries(target, reason)))
				}
				return nil
			})
		}
	})

	t.Run("5 SIGSTOP", func(t *testing.T) {
		before, _ := e.Scrape()
		lastA := before.Get(series("dhcp_failover_last_poll_timestamp_seconds", "target", "isc-a"))
		timeouts := before.Get(errorSeries("isc-b", "timeout"))
		p.PauseNode(p.Secondary)
		stopped := time.Now()
		// poll interval + timeout, and the scrape's own granularity: about
		// 2.1 s at worst on an idle machine; 8 s leaves room for a loaded
		// one. The scrape itself must stay under 1 s all along (a scrape never
		// waits on a server): that is what this scenario measures.
		waitFor(t, 8*time.Second, "isc-b timing out", func() error {
			m, took := e.Scrape()
			if took > time.Second {
				t.Errorf("scrape took %s while a server hangs", took)
			}
			if m.Get(errorSeries("isc-b", "timeout")) <= timeouts || m.Get(series("dhcp_failover_up", "target", "isc-b")) != 0 {
				return fmt.Errorf("no timeout yet")
			}
			return nil
		})
		t.Logf("isc-b reported timeout %s after SIGSTOP", time.Since(stopped).Round(100*time.Millisecond))
		m, took := e.Scrape()
		if took > time.Second {
			t.Errorf("scrape took %s", took)
		}
		if got := m.Get(series("dhcp_failover_last_poll_timestamp_seconds", "target", "isc-a")); got <= lastA {
			t.Errorf("isc-a was not polled while isc-b hung (last poll %v, before %v)", got, lastA)
		}
		if m.Get(series("dhcp_failover_up", "target", "isc-a")) != 1 {
			t.Error("isc-a went down while isc-b hung")
		}
		p.ResumeNode(p.Secondary)
		// The next poll succeeds: at most timeout + poll interval (1.8 s).
		e.WaitMetric(series("dhcp_failover_up", "target", "isc-b"), 1, 10*time.Second)
		// The pause was shorter than max-response-delay, but the pair may
		// still have noticed it: let it settle before the next scenario.
		p.WaitStates(p.Primary, iscNormal, iscNormal, 30*time.Second)
		e.WaitMetric(stateSeries("isc-a", "local", "NORMAL"), 1, 5*time.Second)
	})

	t.Run("2 SIGKILL the secondary", func(t *testing.T) {
		before, _ := e.Scrape()
		trans := transitionSeries("isc-a", "local", "NORMAL", "COMMUNICATION_INT")
		n0 := before.Get(trans)
		if n0 != n0 { // absent: NaN
			n0 = 0
		}
		connectErrs := before.Get(errorSeries("isc-b", "connect"))
		otherErrs := before.Get(errorSeries("isc-b", "other")) + before.Get(errorSeries("isc-b", "protocol"))
		p.KillNode(p.Secondary)
		killed := time.Now()
		// At worst max-response-delay (5 s) and a poll (1 s); usually
		// at once, as the kernel closes the connection. Three times the
		// worst case, for a loaded machine.
		e.WaitMetric(stateSeries("isc-a", "local", "COMMUNICATION_INT"), 1, 3*(5*time.Second+time.Second))
		t.Logf("isc-a COMMUNICATION_INT %s after SIGKILL", time.Since(killed).Round(100*time.Millisecond))
		// The next poll is refused: within a poll interval or so.
		e.WaitMetric(series("dhcp_failover_up", "target", "isc-b"), 0, 5*time.Second)
		time.Sleep(2 * time.Second) // a few more polls: still counted once
		m, _ := e.Scrape()
		if got := m.Get(trans); got != n0+1 {
			t.Errorf("%s = %v, want %v", trans, got, n0+1)
		}
		if m.Get(errorSeries("isc-b", "connect")) <= connectErrs {
			t.Error("isc-b's failures are not counted as connect")
		}
		if got := m.Get(errorSeries("isc-b", "other")) + m.Get(errorSeries("isc-b", "protocol")); got != otherErrs {
			t.Errorf("isc-b failed with reasons other/protocol %v times, want connect only", got-otherErrs)
		}
		if m.Get(series("dhcp_failover_communication_interrupted", "relationship", iscRelationship, "target", "isc-a")) != 1 {
			t.Error("communication_interrupted is not 1")
		}
	})

	t.Run("3 partner-down by the operator", func(t *testing.T) {
		trans := transitionSeries("isc-a", "local", "COMMUNICATION_INT", "PARTNER_DOWN")
		p.SetLocalState(p.Primary, iscPartnerDown)
		e.WaitMetric(stateSeries("isc-a", "local", "PARTNER_DOWN"), 1, 5*time.Second)
		time.Sleep(1500 * time.Millisecond)
		m, _ := e.Scrape()
		if got := m.Get(trans); got != 1 {
			t.Errorf("%s = %v, want 1", trans, got)
		}
	})

	t.Run("4 restart the secondary", func(t *testing.T) {
		p.StartNode(p.Secondary)
		// RECOVER, RECOVER_WAIT for one MCLT, RECOVER_DONE, NORMAL.
		m := e.WaitMetric(stateSeries("isc-a", "local", "NORMAL"), 1, p.Opts.MCLT+45*time.Second)
		e.WaitMetric(stateSeries("isc-b", "local", "NORMAL"), 1, 10*time.Second)
		if n := m.Sum("dhcp_failover_state_transitions_total", "target", "isc-a", "side", "local", "from", "PARTNER_DOWN"); n < 1 {
			t.Errorf("isc-a: no transition out of PARTNER_DOWN counted")
		}
		if n := m.Sum("dhcp_failover_state_transitions_total", "target", "isc-a", "side", "local", "to", "NORMAL"); n < 1 {
			t.Errorf("isc-a: no transition back to NORMAL counted")
		}
		if m.Get(series("dhcp_failover_up", "target", "isc-b")) != 1 {
			t.Error("isc-b is not up again")
		}
	})

	t.Run("6 no secret in metrics or log", func(t *testing.T) {
		_, body, err := e.scrape()
		if err != nil {
			t.Fatal(err)
		}
		if testing.Verbose() {
			for _, l := range strings.Split(body, "\n") {
				if strings.Contains(l, "transitions_total{") || strings.Contains(l, "poll_errors_total{") {
					t.Log(l)
				}
			}
		}
		log := e.Proc.Log()
		if testing.Verbose() {
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "reason=timeout") {
					t.Log(l)
				}
			}
		}
		if !strings.Contains(log, "isc-wrongkey") {
			t.Error("the exporter's debug log does not mention the failing target: is it logging at all?")
		}
		for _, s := range []string{p.Secret, wrongSecret} {
			if strings.Contains(body, s) || strings.Contains(log, s) {
				t.Fatal("a secret appears in /metrics or the exporter's log")
			}
		}
	})
}

// BenchmarkISCRefreshRoundTrip measures a REFRESH of the failover-state
// object on a kept, authenticated connection to a real dhcpd.
func BenchmarkISCRefreshRoundTrip(b *testing.B) {
	for _, alg := range []string{"hmac-md5", "hmac-sha256"} {
		b.Run(alg, func(b *testing.B) {
			p := startISCPair(b, iscOptions{NoSecondary: true, Algorithm: alg})
			c := p.OMAPIClient(p.Primary)
			defer c.Close()
			ctx := context.Background()
			if _, err := c.FailoverState(ctx, iscRelationship); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.FailoverState(ctx, iscRelationship); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if s := c.Sent(); s[omapi.OpRefresh] < b.N {
				b.Fatalf("sent %v", s)
			}
		})
	}
}
