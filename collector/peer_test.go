package collector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func peerTarget(t *testing.T, file, local, relationship string) config.Target {
	t.Helper()
	s := &config.Peer{PcapFile: file, LocalAddress: local, Relationship: relationship}
	tg := config.Target{Name: "tap", Source: "peer", PollInterval: time.Second, Timeout: time.Second, Settings: s}
	if err := tg.Validate(); err != nil {
		t.Fatal(err)
	}
	return tg
}

// peerMetrics collects a MetricsSource into "name{labels} value" lines.
func peerMetrics(t *testing.T, ms MetricsSource) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(sourceMetrics{map[string]MetricsSource{"tap": ms}}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// TestPeerSourceReplay replays a real capture (secondary killed, primary
// forced to partner-down, secondary restarted) as the primary's tap.
func TestPeerSourceReplay(t *testing.T) {
	src, err := NewSource(peerTarget(t, "testdata/peer/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.1", "fo-lab"), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	rels, err := src.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 {
		t.Fatalf("%d relationships: %+v", len(rels), rels)
	}
	r := rels[0]
	if r.Name != "fo-lab" || r.Vendor != failover.VendorISC || r.Role != failover.RolePrimary {
		t.Errorf("relationship %+v", r)
	}
	if r.Local.State != failover.Normal || r.Partner.State != failover.Normal || r.Partner.Native != "normal" ||
		r.Local.StartTime.Unix() != 1795713712 || !r.Local.Reported || !r.Partner.Reported {
		t.Errorf("sides %+v %+v", r.Local, r.Partner)
	}
	if ci, _ := r.CommunicationInterrupted.Get(); ci {
		t.Error("communication interrupted with a connection up")
	}
	if v, _ := r.MCLT.Get(); v != time.Minute {
		t.Errorf("mclt %v", v)
	}
	if v, _ := r.MaxResponseDelay.Get(); v != 5*time.Second {
		t.Errorf("max-response-delay %v", v)
	}
	m := peerMetrics(t, src.(MetricsSource))
	for series, want := range map[string]float64{
		`dhcp_failover_peer_connection_up{local_address="10.250.0.1",partner_address="10.250.0.2",relationship="fo-lab",target="tap"}`: 1,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="fo-lab",target="tap"}`:                     41,
		`dhcp_failover_peer_messages_total{direction="sent",message="BNDUPD",relationship="fo-lab",target="tap"}`:                      103,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDACK",relationship="fo-lab",target="tap"}`:                  102,
		`dhcp_failover_peer_messages_total{direction="received",message="STATE",relationship="fo-lab",target="tap"}`:                   5,
		`dhcp_failover_peer_messages_total{direction="received",message="CONNECTACK",relationship="fo-lab",target="tap"}`:              1,
		`dhcp_failover_peer_messages_total{direction="sent",message="POOLREQ",relationship="fo-lab",target="tap"}`:                     0,
		`dhcp_failover_peer_pending_updates{direction="sent",relationship="fo-lab",target="tap"}`:                                      2,
		`dhcp_failover_peer_pending_updates{direction="received",relationship="fo-lab",target="tap"}`:                                  0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if last := m[`dhcp_failover_peer_last_message_timestamp_seconds{direction="received",relationship="fo-lab",target="tap"}`]; last < 1795713713.03 || last > 1795713713.04 {
		t.Errorf("last message received at %v", last)
	}
	off := m[`dhcp_failover_peer_clock_offset_seconds{direction="sent",relationship="fo-lab",target="tap"}`]
	if off > 0 || off < -1 {
		t.Errorf("clock offset %v", off)
	}
}

// TestPeerSourceUnnamed: a tap that starts mid-connection never sees the
// CONNECT; without a configured name the relationship is "unknown", and
// the connection is up from the capture's point of view.
func TestPeerSourceUnnamed(t *testing.T) {
	src, err := NewSource(peerTarget(t, "testdata/peer/isc-normal-lease.pcap", "10.250.0.2", ""), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	rels, err := src.Poll(context.Background())
	if err != nil || len(rels) != 1 || rels[0].Name != "unknown" || rels[0].Local.Reported {
		t.Fatalf("%+v %v", rels, err)
	}
	m := peerMetrics(t, src.(MetricsSource))
	// The secondary's view: its BNDACKs are sent, the primary's received.
	for series, want := range map[string]float64{
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="unknown",target="tap"}`:     12,
		`dhcp_failover_peer_messages_total{direction="received",message="CONTACT",relationship="unknown",target="tap"}`: 13,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDUPD",relationship="unknown",target="tap"}`:  9,
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// TestPeerSourceWatcherPushes runs the source as the agent does and
// checks that the replay pushes its observations.
func TestPeerSourceWatcherPushes(t *testing.T) {
	src, err := NewSource(peerTarget(t, "testdata/peer/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.2", "fo-lab"), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	ctx, cancel := context.WithCancel(context.Background())
	var pushes [][]failover.Relationship
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.(Watcher).Run(ctx, func(r []failover.Relationship, err error) {
			if err != nil {
				t.Error(err)
			}
			pushes = append(pushes, r)
		})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	// The secondary's local states, as pushed: STARTUP, then RECOVER,
	// RECOVER_WAIT, RECOVER_DONE, NORMAL.
	var seen []string
	for _, p := range pushes {
		if len(p) == 1 && p[0].Local.Reported {
			s := p[0].Local.State.String()
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
		}
	}
	if got := strings.Join(seen, " "); got != "STARTUP RECOVER RECOVER_WAIT RECOVER_DONE NORMAL" {
		t.Errorf("local states pushed: %s", got)
	}
	last := pushes[len(pushes)-1][0]
	if last.Role != failover.RoleSecondary || last.Partner.State != failover.Normal {
		t.Errorf("last push %+v", last)
	}
}

func TestPeerSourceErrors(t *testing.T) {
	if _, err := NewSource(peerTarget(t, "testdata/peer/missing.pcap", "10.250.0.1", ""), log.NewNopLogger()); err == nil {
		t.Error("missing file accepted")
	}
	tg := peerTarget(t, "x", "10.250.0.1", "")
	tg.Settings = &config.Peer{Interface: "dfe-no-such0", LocalAddress: "10.250.0.1", Ports: []uint16{647}}
	_, err := NewSource(tg, log.NewNopLogger())
	if err == nil || !strings.Contains(err.Error(), "dfe-no-such0") {
		t.Errorf("unknown interface: %v", err)
	}
	if errors.Is(err, peer.ErrNeedCapNetRaw) {
		t.Errorf("unknown interface reported as a capability problem: %v", err)
	}
}
