package integration

// The lease resync of a restarted partner, seen by polling. With HA
// through the Control Agent or the daemon's socket and multi-threading
// off, Kea runs the whole sync without answering its control channel
// (TestKeaHotStandby keeps the sync short for that reason). With
// multi-threading and HA on its dedicated listener the control channel
// keeps answering, and `syncing` (RECOVER) is visible.

import (
	"fmt"
	"testing"
	"time"
)

const (
	// keaHAListenerPort is the HA hook's dedicated listener, partners only.
	keaHAListenerPort = 8010
	// keaResyncLeases makes the sync last a few seconds with 25-lease
	// pages (2000 pages), long enough for 1 s polls to see it on a fast
	// Kea 3.0 (20,000 leases in 50-lease pages were missed one run in three).
	keaResyncLeases = 50000
)

// TestKeaResyncVisible: Kea with multi-threading and the dedicated
// HA listener; the standby, killed and restarted, is seen in RECOVER by
// the exporter polling its UNIX socket, then both return to NORMAL.
func TestKeaResyncVisible(t *testing.T) {
	forEachKea(t, func(t *testing.T, rt *keaRuntime) {
		p := &keaPair{t: t, rt: rt, mode: "hot-standby", scenario: newScenario("resync-mt"), mt: true, haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
		p.lab = newKeaLab(t)
		p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
		p.B = newKeaNode(t, rt, "kea-b", p.lab.AddHost("b", "10.251.9.2/24"), false)
		p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
		peers := []haPeer{{"kea-a", "10.251.9.1", "primary"}, {"kea-b", "10.251.9.2", "standby"}}
		subnets := []map[string]any{{"id": 1, "subnet": "10.251.0.0/16", "pools": []any{map[string]any{"pool": "10.251.100.0 - 10.251.200.255"}}}}
		p.writeKeaConfig(p.A, []map[string]any{p.haEntry("kea-a", p.mode, peers...)}, subnets)
		// kea-b starts without syncing (sync-leases false), so that only
		// the restart below pays for the long sync.
		noSync := p.haEntry("kea-b", p.mode, peers...)
		noSync["sync-leases"] = false
		p.writeKeaConfig(p.B, []map[string]any{noSync}, subnets)
		p.writeLeases(p.A, keaResyncLeases)
		startRecorder(t, p)
		p.Start(p.A)
		p.Start(p.B)
		srv := func(s string) string {
			if rt.namesServers() {
				return s
			}
			return ""
		}
		waitKeaStates(t, 90*time.Second, map[*keaNode]map[string]string{p.A: {srv("kea-a"): "hot-standby"}, p.B: {srv("kea-b"): "hot-standby"}})
		e := startExporter(t, p.Mon, fmt.Sprintf(`targets:
- {name: kea-a, source: kea, socket: %s, relationship: pair, poll_interval: 1s, timeout: 900ms}
- {name: kea-b, source: kea, socket: %s, relationship: pair, poll_interval: 1s, timeout: 900ms}
`, p.A.Socket, p.B.Socket))
		e.Wait(20*time.Second, "both NORMAL", func(m metrics) error {
			for _, tg := range []string{"kea-a", "kea-b"} {
				if err := wantState(m, tg, "local", "NORMAL"); err != nil {
					return err
				}
			}
			return nil
		})
		p.Kill(p.B)
		e.Wait(30*time.Second, "kea-a PARTNER_DOWN", func(m metrics) error { return wantState(m, "kea-a", "local", "PARTNER_DOWN") })
		p.writeKeaConfig(p.B, []map[string]any{p.haEntry("kea-b", p.mode, peers...)}, subnets)
		restarted := time.Now()
		p.Start(p.B)
		seen := map[string]bool{}
		m := e.Wait(120*time.Second, "both NORMAL after the resync", func(m metrics) error {
			seen[m.State("kea-b", "local")] = true
			for _, tg := range []string{"kea-a", "kea-b"} {
				if err := wantState(m, tg, "local", "NORMAL"); err != nil {
					return err
				}
			}
			return nil
		})
		t.Logf("resync of %d leases: both NORMAL %s after the restart; kea-b states seen: %v", keaResyncLeases, time.Since(restarted).Round(time.Millisecond), seen)
		if v := m.Sum("dhcp_failover_state_transitions_total", "target", "kea-b", "side", "local", "to", "RECOVER"); v < 1 && !seen["RECOVER"] {
			t.Errorf("kea-b never seen in RECOVER (syncing) during the resync (states seen %v)", seen)
		}
	})
}
