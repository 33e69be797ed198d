package collector

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
)

func emulated(t *testing.T, emulate, server string) Source {
	t.Helper()
	src, err := NewSource(config.Target{Name: "emu", Source: "simulated",
		Settings: &config.Simulated{Pair: "emu", Server: server, Cycle: 600e9, Emulate: emulate}}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func gaugeOfRel(r failover.Relationship, name string) (float64, bool) {
	for _, g := range r.Gauges {
		if g.Name == name {
			return g.Value, true
		}
	}
	return 0, false
}

// The emulated Kea server's answers go through the Kea source: a
// load-balancing pair in touch, b's clock 1 s ahead, its subnets named.
func TestSimulatedKea(t *testing.T) {
	rels, err := emulated(t, "kea", "a").Poll(context.Background())
	if err != nil || len(rels) != 1 {
		t.Fatalf("%+v %v", rels, err)
	}
	r := rels[0]
	if r.Name != "emu-lb" || r.Vendor != failover.VendorSimulated || r.Role != failover.RolePrimary || r.Mode != failover.ModeLoadBalance ||
		r.Local.State != failover.Normal || r.Partner.State != failover.Normal || r.PartnerName != "emu-b" {
		t.Errorf("%+v", r)
	}
	if v, ok := gaugeOfRel(r, "kea_clock_skew_seconds"); !ok || v != 1 {
		t.Errorf("clock skew %v %v", v, ok)
	}
	if _, ok := gaugeOfRel(r, "kea_unsent_updates"); !ok {
		t.Error("no unsent updates (ha-heartbeat)")
	}
	if len(r.Pools) != 2 || r.Pools[0].SharedNetwork != "emu-campus" || len(r.Refusals) == 0 {
		t.Errorf("pools %+v, refusals %+v", r.Pools, r.Refusals)
	}
}

// The emulated Windows server's answers go through the dhcpsapi decoders
// and the Windows mapping: both relationships NORMAL, their Percentage.
func TestSimulatedWindows(t *testing.T) {
	needABIHost(t)
	src := emulated(t, "windows", "b")
	for range 2 { // a second poll lays out a fresh fake
		rels, err := src.Poll(context.Background())
		if err != nil || len(rels) != 2 {
			t.Fatalf("%+v %v", rels, err)
		}
		for _, r := range rels {
			if r.Vendor != failover.VendorSimulated || r.Local.State != failover.Normal || len(r.Pools) != 1 || r.PartnerName != "emu-a.example.net" {
				t.Errorf("%+v", r)
			}
		}
		if v, _ := gaugeOfRel(rels[0], gaugeWinLoadBalance); rels[0].Name != "emu-lb" || v != 0.5 {
			t.Errorf("%s load balance %v", rels[0].Name, v)
		}
		if v, _ := gaugeOfRel(rels[1], gaugeWinReserve); rels[1].Name != "emu-hs" || v != 0.05 {
			t.Errorf("%s reserve %v", rels[1].Name, v)
		}
	}
	m := peerMetrics(t, src.(MetricsSource))
	if v := m[`dhcp_failover_windows_clock_offset_max_seconds{target="tap"}`]; v != 60 {
		t.Errorf("max clock offset %v", v)
	}
}

// A minute of the emulated conversation through the real tracker, polled
// every second and once after a long pause: the connection stays up, no
// update stays unanswered, the counts are those of the script.
func TestSimulatedPeer(t *testing.T) {
	src := emulated(t, "peer", "a").(*simPeerSource)
	t0 := time.Unix(1_800_000_000, 0)
	now := t0
	src.now = func() time.Time { return now }
	var rels []failover.Relationship
	for d := time.Duration(0); d <= time.Minute; d += time.Second {
		now = t0.Add(d)
		var err error
		if rels, err = src.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(rels) != 1 {
		t.Fatalf("%+v", rels)
	}
	r := rels[0]
	ci, _ := r.CommunicationInterrupted.Get()
	if r.Name != "emu" || r.Vendor != failover.VendorSimulated || r.Role != failover.RolePrimary || ci ||
		r.Local.State != failover.Normal || r.Partner.State != failover.Normal {
		t.Errorf("%+v", r)
	}
	m := peerMetrics(t, src)
	// Ticks 1..59 are fed by t0+60s (tick 60 waits for its answers): a's
	// updates on the 30 odd ticks, b's on 7, 14, ..., 56.
	for series, want := range map[string]float64{
		`dhcp_failover_peer_messages_total{direction="sent",message="BNDUPD",relationship="emu",target="tap"}`:                                                                                            30,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDACK",relationship="emu",target="tap"}`:                                                                                        30,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDUPD",relationship="emu",target="tap"}`:                                                                                        8,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="emu",target="tap"}`:                                                                                           11,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONNECT",relationship="emu",target="tap"}`:                                                                                           1,
		`dhcp_failover_peer_rejects_total{reason="less_critical_binding_information",relationship="emu",target="tap"}`:                                                                                    3,
		`dhcp_failover_peer_pending_updates{direction="sent",relationship="emu",target="tap"}`:                                                                                                            0,
		`dhcp_failover_peer_connection_up{local_address="10.` + strconv.Itoa(simOctet("emu")) + `.30.2",partner_address="10.` + strconv.Itoa(simOctet("emu")) + `.30.3",relationship="emu",target="tap"}`: 1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	// A day's pause: at most simPeerCatchUp of it is fed, and the
	// conversation resumes on the same connection.
	now = now.Add(24 * time.Hour)
	if _, err := src.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	m = peerMetrics(t, src)
	if got := m[`dhcp_failover_peer_messages_total{direction="sent",message="BNDUPD",relationship="emu",target="tap"}`]; got < 300 || got > 340 {
		t.Errorf("after a day's pause, %v updates sent", got)
	}
	if got := m[`dhcp_failover_peer_unanswered_seconds{relationship="emu",target="tap"}`]; got != 0 {
		t.Errorf("unanswered for %v s", got)
	}
}
