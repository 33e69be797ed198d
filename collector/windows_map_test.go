package collector

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

var winT0 = time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)

func TestWinMapFields(t *testing.T) {
	w := dhcpsapi.Relationship{
		PrimaryServer: netip.MustParseAddr("192.0.2.1"), SecondaryServer: netip.MustParseAddr("192.0.2.2"),
		Mode: dhcpsapi.ModeLoadBalance, ServerType: dhcpsapi.ServerPrimary,
		State: 4, PrevState: 3, MCLT: 3600, SafePeriod: 7200,
		Name: "fo-lab", PrimaryName: "dhcp-a", SecondaryName: "dhcp-b", Scopes: make([]netip.Addr, 3), Percentage: 50,
	}
	got := mapWinRelationship(w, winStatePair{}, false, winT0)
	want := failover.Relationship{
		Name: "fo-lab", Vendor: failover.VendorWindows, Role: failover.RolePrimary, Mode: failover.ModeLoadBalance,
		Local:                    failover.Side{Reported: true, State: failover.CommunicationInt, Native: "CommunicationInterrupted"},
		MCLT:                     failover.Some(time.Hour),
		CommunicationInterrupted: failover.Some(true),
		PartnerName:              "dhcp-b",
		PartnerAddress:           "192.0.2.2",
		HasHistory:               true,
		Transitions:              []failover.Transition{{From: failover.Normal, To: failover.CommunicationInt, At: winT0}},
		Gauges: []failover.Gauge{
			{Name: "safe_period_seconds", Value: 7200},
			{Name: "scopes", Value: 3},
			{Name: "load_balance_primary_ratio", Value: 0.5},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	if name, addr := winPartner(w); name != "dhcp-b" || addr != "192.0.2.2" {
		t.Errorf("partner of the primary: %q %q", name, addr)
	}
	w.ServerType = dhcpsapi.ServerSecondary
	if name, addr := winPartner(w); name != "dhcp-a" || addr != "192.0.2.1" {
		t.Errorf("partner of the secondary: %q %q", name, addr)
	}
	w.PrimaryServer = netip.Addr{}
	if _, addr := winPartner(w); addr != "" {
		t.Errorf("unset partner address rendered as %q", addr)
	}
}

func TestWinMapModeAndRole(t *testing.T) {
	for _, c := range []struct {
		mode, serverType uint32
		wantMode         failover.Mode
		wantRole         failover.Role
		gauge            string
	}{
		{0, 0, failover.ModeLoadBalance, failover.RolePrimary, "load_balance_primary_ratio"},
		{0, 1, failover.ModeLoadBalance, failover.RoleSecondary, "load_balance_primary_ratio"},
		{1, 0, failover.ModeHotStandby, failover.RolePrimary, "hot_standby_reserve_ratio"},
		{1, 1, failover.ModeHotStandby, failover.RoleStandby, "hot_standby_reserve_ratio"},
		{7, 9, "", "", ""},
	} {
		r := mapWinRelationship(dhcpsapi.Relationship{Name: "r", Mode: c.mode, ServerType: c.serverType, State: 3, PrevState: 3, Percentage: 5}, winStatePair{}, false, winT0)
		if r.Mode != c.wantMode || r.Role != c.wantRole {
			t.Errorf("mode %d type %d: %q %q", c.mode, c.serverType, r.Mode, r.Role)
		}
		var ratio string
		for _, g := range r.Gauges {
			if g.Name == "load_balance_primary_ratio" || g.Name == "hot_standby_reserve_ratio" {
				ratio = g.Name
				if g.Value != 0.05 {
					t.Errorf("%s = %v", g.Name, g.Value)
				}
			}
		}
		if ratio != c.gauge {
			t.Errorf("mode %d: ratio gauge %q, want %q", c.mode, ratio, c.gauge)
		}
	}
}

func TestWinMapEveryState(t *testing.T) {
	natives := []string{"NoState", "Init", "Startup", "Normal", "CommunicationInterrupted", "PartnerDown",
		"PotentialConflict", "ConflictDone", "ResolutionInterrupted", "Recover", "RecoverWait", "RecoverDone", "Paused", "Shutdown"}
	for v := uint32(0); v < 14; v++ {
		r := mapWinRelationship(dhcpsapi.Relationship{Name: "r", State: v, PrevState: v}, winStatePair{}, false, winT0)
		if r.Local.State != failover.State(v) || r.Local.Native != natives[v] || !r.Local.Reported {
			t.Errorf("FSM_STATE %d: %+v", v, r.Local)
		}
		if r.Partner.Reported {
			t.Errorf("FSM_STATE %d: partner reported", v)
		}
		ci, _ := r.CommunicationInterrupted.Get()
		if ci != (v == 4 || v == 8) {
			t.Errorf("FSM_STATE %d: communication interrupted %v", v, ci)
		}
	}
	for _, v := range []uint32{14, 254, 256, 0xffffffff} {
		r := mapWinRelationship(dhcpsapi.Relationship{Name: "r", State: v, PrevState: 3}, winStatePair{}, false, winT0)
		if r.Local.State != failover.UnknownState || r.Local.Native != "unknown ("+strconv.FormatUint(uint64(v), 10)+")" {
			t.Errorf("unknown %d: %+v", v, r.Local)
		}
		want := []failover.Transition{{From: failover.Normal, To: failover.NoState, At: winT0}}
		if !reflect.DeepEqual(r.Transitions, want) {
			t.Errorf("unknown %d: transitions %+v", v, r.Transitions)
		}
	}
}

func TestWinTransitions(t *testing.T) {
	N, C, P, R, RW := uint32(3), uint32(4), uint32(5), uint32(9), uint32(10)
	tr := func(from, to uint32) failover.Transition {
		return failover.Transition{From: failover.State(from), To: failover.State(to), At: winT0}
	}
	for _, c := range []struct {
		name        string
		last        *winStatePair
		state, prev uint32
		want        []failover.Transition
	}{
		{"first sighting counts PrevState once", nil, C, N, []failover.Transition{tr(N, C)}},
		{"first sighting, Prev = State", nil, N, N, nil},
		{"first sighting, unknown Prev → NO_STATE", nil, N, 77, []failover.Transition{tr(0, N)}},
		{"unchanged", &winStatePair{C, N}, C, N, nil},
		{"one change", &winStatePair{N, C}, C, N, []failover.Transition{tr(N, C)}},
		{"two changes, middle revealed", &winStatePair{N, R}, P, C, []failover.Transition{tr(N, C), tr(C, P)}},
		{"left and re-entered", &winStatePair{N, RW}, N, C, []failover.Transition{tr(N, C), tr(C, N)}},
		{"unknown to unknown is no change", &winStatePair{99, N}, 98, 99, nil},
	} {
		var got []failover.Transition
		if c.last == nil {
			got = mapWinRelationship(dhcpsapi.Relationship{Name: "r", State: c.state, PrevState: c.prev}, winStatePair{}, false, winT0).Transitions
		} else {
			got = mapWinRelationship(dhcpsapi.Relationship{Name: "r", State: c.state, PrevState: c.prev}, *c.last, true, winT0).Transitions
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Over several polls, every change is counted once and only once, and a
// relationship that disappears and comes back counts as new.
func TestWinStatesAcrossPolls(t *testing.T) {
	h := winStates{}
	poll := func(state, prev uint32, names ...string) []failover.Relationship {
		var ws []dhcpsapi.Relationship
		for _, n := range names {
			ws = append(ws, dhcpsapi.Relationship{Name: n, State: state, PrevState: prev})
		}
		return h.observe(ws, nil, winT0)
	}
	count := func(rs []failover.Relationship) (n int) {
		for _, r := range rs {
			n += len(r.Transitions)
			if !r.HasHistory {
				t.Error("HasHistory not set")
			}
		}
		return n
	}
	steps := []struct {
		state, prev uint32
		names       []string
		want        int
	}{
		{4, 3, []string{"a", "b"}, 2}, // first sighting: NORMAL→COMM_INT once each
		{4, 3, []string{"a", "b"}, 0}, // nothing new
		{5, 4, []string{"a", "b"}, 2}, // COMM_INT→PARTNER_DOWN
		{5, 4, []string{"a"}, 0},      // b gone
		{5, 4, []string{"a", "b"}, 1}, // b back: counted as new
	}
	for i, s := range steps {
		if got := count(poll(s.state, s.prev, s.names...)); got != s.want {
			t.Errorf("poll %d: %d transitions, want %d", i, got, s.want)
		}
	}
	// A filter drops the others and a duplicate name is kept once.
	rs := h.observe([]dhcpsapi.Relationship{{Name: "a", State: 5, PrevState: 4}, {Name: "c"}, {Name: "a", State: 3}}, map[string]bool{"a": true}, winT0)
	if len(rs) != 1 || rs[0].Name != "a" || len(h) != 1 {
		t.Errorf("filtered: %+v, memory %v", rs, h)
	}
}

// Rendered through the agent's target state: the Windows gauges exist, the
// partner side renders nothing, PrevState counts once.
func TestWinRendered(t *testing.T) {
	h := winStates{}
	ws := []dhcpsapi.Relationship{{Name: "fo-lab", Mode: dhcpsapi.ModeHotStandby, ServerType: dhcpsapi.ServerSecondary, State: 5, PrevState: 4, MCLT: 3600, SafePeriod: 600, Scopes: make([]netip.Addr, 2), Percentage: 5}}
	ts := newTargetState("win", winT0)
	ts.observe(winT0, time.Second, h.observe(ws, nil, winT0), nil)
	ts.observe(winT0.Add(10*time.Second), time.Second, h.observe(ws, nil, winT0), nil)
	got := map[string]float64{}
	for _, mf := range ts.snapshot() {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "side", "from", "to", "role":
					key += "," + l.GetName() + "=" + l.GetValue()
				}
			}
			if mf.GetName() == "dhcp_failover_state" {
				continue // the state set is 14 series under one key
			}
			got[key] += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	for k, v := range map[string]float64{
		"dhcp_failover_safe_period_seconds":            600,
		"dhcp_failover_scopes":                         2,
		"dhcp_failover_hot_standby_reserve_ratio":      0.05,
		"dhcp_failover_mclt_seconds":                   3600,
		"dhcp_failover_communication_interrupted":      0,
		"dhcp_failover_state_code,side=local":          5,
		"dhcp_failover_relationship_info,role=standby": 1,
		"dhcp_failover_state_transitions_total,from=COMMUNICATION_INT,side=local,to=PARTNER_DOWN": 1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.Contains(k, "side=partner") {
			t.Errorf("partner side rendered: %s", k)
		}
	}
}
