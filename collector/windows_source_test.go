package collector

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi/dhcpsapitest"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// needABIHost skips where the fake cannot lay out the 64-bit Windows ABI.
func needABIHost(t testing.TB) {
	t.Helper()
	if !dhcpsapitest.ABIHost() {
		t.Skip("the 64-bit Windows layout is mirrored only on 64-bit little-endian hosts")
	}
}

func fullSpec(i int) dhcpsapitest.Relationship {
	return dhcpsapitest.Relationship{
		Primary: 0x0A000001 + uint32(i), Secondary: 0x0A000101 + uint32(i),
		Mode: uint32(i % 2), ServerType: uint32(i/2) % 2,
		State: uint32(i % 14), Prev: uint32((i + 1) % 14),
		MCLT: 3600 + uint32(i), SafePeriod: uint32(i) * 60,
		Name:       dhcpsapitest.Str(fmt.Sprintf("rel-%02d", i)),
		PrimName:   dhcpsapitest.Str(fmt.Sprintf("dhcp-a-%d.example.net", i)),
		SecName:    dhcpsapitest.Str(fmt.Sprintf("dhcp-b-%d", i)),
		Percentage: uint8(i),
		Secret:     dhcpsapitest.Str(fmt.Sprintf("secret-%d", i)),
	}
}

func TestWinErrorClassification(t *testing.T) {
	for code, want := range map[dhcpsapi.Status]Reason{
		5: ReasonAuth, 1326: ReasonAuth, 1747: ReasonAuth, 1825: ReasonAuth,
		1722: ReasonConnect, 1753: ReasonConnect, 1717: ReasonConnect, 53: ReasonConnect, 1707: ReasonConnect, 1723: ReasonConnect, 1726: ReasonConnect, 1727: ReasonConnect,
		20114: ReasonNotFound, 20115: ReasonNotFound, 20005: ReasonNotFound,
		1460: ReasonTimeout, 258: ReasonTimeout, 121: ReasonTimeout, 1818: ReasonTimeout,
		1745: ReasonProtocol,
		87:   ReasonOther, 14: ReasonOther, 20000: ReasonOther, 0xffffffff: ReasonOther,
	} {
		err := winError("", &dhcpsapi.CallError{Func: "DhcpV4FailoverEnumRelationship", Status: code})
		if got := Classify(err); got != want {
			t.Errorf("code %d: %s, want %s", code, got, want)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("Win32 error %d", code)) || !strings.Contains(err.Error(), "this machine") {
			t.Errorf("code %d: %q", code, err)
		}
	}
	if e := winError("dhcp-b", &dhcpsapi.CallError{Func: "X", Status: 5}).Error(); !strings.Contains(e, `server "dhcp-b"`) || !strings.Contains(e, "DHCP Users") {
		t.Errorf("access denied reads %q", e)
	}
	for _, err := range []error{dhcpsapi.ErrNull, dhcpsapi.ErrPaging, fmt.Errorf("relationship 3: %w", dhcpsapi.ErrString)} {
		if got := Classify(winError("", err)); got != ReasonProtocol {
			t.Errorf("%v: %s, want protocol", err, got)
		}
	}
}

func newTestWinSource(api *dhcpsapitest.Server, rels ...string) *windowsSource {
	s := newWindowsSourceWith(api, "dhcp-a", rels, log.NewNopLogger())
	s.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	return s
}

func TestWinSourcePoll(t *testing.T) {
	needABIHost(t)
	pair := func(state, prev uint32) dhcpsapitest.Page {
		a, b := fullSpec(0), fullSpec(1)
		a.Name, b.Name = dhcpsapitest.Str("fo-lab"), dhcpsapitest.Str("fo-branch")
		a.Mode, a.ServerType = dhcpsapi.ModeHotStandby, dhcpsapi.ServerSecondary
		a.Primary, a.PrimName = 0xC0000201, dhcpsapitest.Str("dhcp-a.example.net")
		a.State, a.Prev, b.State, b.Prev = state, prev, 3, 3
		a.Secret = dhcpsapitest.Str("the-shared-secret")
		a.Scopes = []uint32{0xC0000200, 0xC6336400, 0xCB007100} // 192.0.2.0, 198.51.100.0, 203.0.113.0
		b.Scopes = []uint32{0x0A000000}
		return dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{a, b}}
	}
	api := dhcpsapitest.NewServer(pair(4, 3), dhcpsapitest.Page{Status: dhcpsapi.StatusNoMoreItems}, pair(5, 4), dhcpsapitest.Page{Status: dhcpsapi.StatusNoMoreItems})
	api.ServerTime, api.MaxDelta = 1_800_000_003, 60
	api.Scopes[0xC0000200] = dhcpsapitest.Scope{Mask: 0xFFFFFF00, Name: "lab", Stats: dhcpsapitest.StatisticsC{NumAddr: 200, AddrFree: 150, AddrInUse: 50, PartnerAddrFree: 75, ThisAddrFree: 75, PartnerAddrInUse: 20, ThisAddrInUse: 30}}
	api.Scopes[0xC6336400] = dhcpsapitest.Scope{Mask: 0xFFFFFE00, Stats: dhcpsapitest.StatisticsC{NumAddr: 500, AddrFree: 10, AddrInUse: 490, PartnerAddrFree: 8, ThisAddrFree: 2, PartnerAddrInUse: 245, ThisAddrInUse: 245}}
	// 203.0.113.0's statistics cannot be read: left out, the rest reported.
	api.Scopes[0xCB007100] = dhcpsapitest.Scope{StatStatus: dhcpsapi.StatusAccessDenied}
	api.Scopes[0x0A000000] = dhcpsapitest.Scope{Mask: 0xFF000000, Stats: dhcpsapitest.StatisticsC{NumAddr: 9}}
	// 192.0.2.0 is in superscope "campus"; 198.51.100.0 in none (the
	// table lists it with a NULL name), its own network.
	api.SuperScopeTable = []dhcpsapitest.SuperScope{
		{Subnet: 0xC0000200, Number: 0, Next: dhcpsapi.SuperScopeNone, Name: dhcpsapitest.Str("campus")},
		{Subnet: 0xC6336400, Number: dhcpsapi.SuperScopeNone, Next: dhcpsapi.SuperScopeNone},
		{Subnet: 0xAC100000, Number: 0, Next: 0, Name: dhcpsapitest.Str("campus")}, // a scope outside failover
	}
	lo, hi := dhcpsapi.DateTime(time.Unix(1_799_990_000, 500_000_000))
	api.Mib = &dhcpsapitest.Mib{
		Info: dhcpsapitest.MibInfoV5C{Discovers: 900, Offers: 880, Requests: 870, Acks: 850, Naks: 17, Declines: 3, Releases: 40, StartLow: lo, StartHigh: hi},
		Scopes: []dhcpsapitest.ScopeMibInfoV5C{
			{Subnet: 0xC0000200, NumAddressesInuse: 50, NumAddressesFree: 150, NumPendingOffers: 4},
			{Subnet: 0xC6336400, NumAddressesInuse: 490, NumAddressesFree: 10},
			{Subnet: 0xAC100000, NumPendingOffers: 9},
		},
	}
	s := newTestWinSource(api, "fo-lab")

	rels, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Name != "fo-lab" || rels[0].Role != failover.RoleStandby || rels[0].Local.State != failover.CommunicationInt {
		t.Fatalf("first poll: %+v", rels)
	}
	if len(rels[0].Transitions) != 1 {
		t.Errorf("first poll: %+v", rels[0].Transitions)
	}
	if rels[0].PartnerName != "dhcp-a.example.net" || rels[0].PartnerAddress != "192.0.2.1" {
		t.Errorf("partner: %q %q", rels[0].PartnerName, rels[0].PartnerAddress)
	}
	wantPools := []failover.Pool{
		{Name: "192.0.2.0/24", Subnet: "192.0.2.0/24", SharedNetwork: "campus", Size: failover.Some(200), LocalFree: failover.Some(75),
			Addresses: []failover.PoolAddresses{{State: "in_use", Count: 50}, {State: "free", Count: 150}}},
		{Name: "198.51.100.0/23", Subnet: "198.51.100.0/23", SharedNetwork: "198.51.100.0/23", Size: failover.Some(500), LocalFree: failover.Some(2),
			Addresses: []failover.PoolAddresses{{State: "in_use", Count: 490}, {State: "free", Count: 10}}},
	}
	if !reflect.DeepEqual(rels[0].Pools, wantPools) {
		t.Errorf("pools\n%+v\nwant\n%+v", rels[0].Pools, wantPools)
	}
	if want := []failover.Refusal{{Reason: failover.RefusedNAK, Count: 17}}; !reflect.DeepEqual(rels[0].Refusals, want) {
		t.Errorf("refusals %+v, want %+v", rels[0].Refusals, want)
	}
	want := `
# HELP dhcp_failover_windows_clock_offset_max_seconds Maximum time delta the Windows DHCP server allows between failover partners (DhcpV4FailoverGetSystemTime).
# TYPE dhcp_failover_windows_clock_offset_max_seconds gauge
dhcp_failover_windows_clock_offset_max_seconds{target="win"} 60
# HELP dhcp_failover_windows_clock_offset_seconds Windows DHCP server time (DhcpV4FailoverGetSystemTime) minus the exporter's time; 1 s resolution. The difference between two partners' offsets is their clock skew.
# TYPE dhcp_failover_windows_clock_offset_seconds gauge
dhcp_failover_windows_clock_offset_seconds{target="win"} 3
# HELP dhcp_failover_windows_declines_total DHCPDECLINE messages the Windows DHCP server received since it last started (DhcpGetMibInfoV5 Declines): clients that found their offered address in use.
# TYPE dhcp_failover_windows_declines_total counter
dhcp_failover_windows_declines_total{target="win"} 3
# HELP dhcp_failover_windows_pool_pending_offers Addresses of the failover scope offered to clients that have not yet sent their REQUEST (DhcpGetMibInfoV5 NumPendingOffers).
# TYPE dhcp_failover_windows_pool_pending_offers gauge
dhcp_failover_windows_pool_pending_offers{pool="192.0.2.0/24",relationship="fo-lab",target="win"} 4
dhcp_failover_windows_pool_pending_offers{pool="198.51.100.0/23",relationship="fo-lab",target="win"} 0
# HELP dhcp_failover_windows_pool_partner_free_addresses Free addresses of the failover scope that the partner may lease, as the polled Windows DHCP server sees them (DhcpV4FailoverGetScopeStatistics PartnerAddrFree).
# TYPE dhcp_failover_windows_pool_partner_free_addresses gauge
dhcp_failover_windows_pool_partner_free_addresses{pool="192.0.2.0/24",relationship="fo-lab",target="win"} 75
dhcp_failover_windows_pool_partner_free_addresses{pool="198.51.100.0/23",relationship="fo-lab",target="win"} 8
# HELP dhcp_failover_windows_scope_info The name of the failover scope the pool is (DhcpGetSubnetInfo SubnetName); always 1.
# TYPE dhcp_failover_windows_scope_info gauge
dhcp_failover_windows_scope_info{pool="192.0.2.0/24",relationship="fo-lab",scope_name="lab",target="win"} 1
# HELP dhcp_failover_windows_server_start_time_seconds When the Windows DHCP server last started, Unix time (DhcpGetMibInfoV5 ServerStartTime); its MIB counters, the NAK refusals included, count from then.
# TYPE dhcp_failover_windows_server_start_time_seconds gauge
dhcp_failover_windows_server_start_time_seconds{target="win"} 1.7999900005e+09
`
	if err := testutil.GatherAndCompare(sourceGatherer("win", s), strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	rels, err = s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rels[0].Transitions; len(got) != 1 || got[0].From != failover.CommunicationInt || got[0].To != failover.PartnerDown {
		t.Errorf("second poll: %+v", got)
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}

	// The secret is in the fake memory, and nowhere else.
	out := fmt.Sprintf("%+v %#v", rels, rels)
	if n, _ := testutil.GatherAndCount(sourceGatherer("win", s)); n == 0 || strings.Contains(out, "the-shared-secret") {
		t.Errorf("secret leaked or no metrics: %s", out)
	}
}

func TestWinSourceFailures(t *testing.T) {
	needABIHost(t)
	t.Run("missing relationship is not_found", func(t *testing.T) {
		api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{fullSpec(0)}})
		s := newTestWinSource(api, "rel-00", "gone")
		_, err := s.Poll(context.Background())
		if Classify(err) != ReasonNotFound || !strings.Contains(err.Error(), `"gone"`) {
			t.Fatalf("error %v", err)
		}
		if len(s.states) != 0 {
			t.Errorf("state memory moved on a failed poll: %v", s.states)
		}
		if n, _ := testutil.GatherAndCount(sourceGatherer("win", s)); n != 0 {
			t.Errorf("%d metrics after a failed poll", n)
		}
	})
	t.Run("server time unavailable", func(t *testing.T) {
		api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{fullSpec(0)}})
		api.TimeStatus = dhcpsapi.StatusAccessDenied
		s := newTestWinSource(api)
		if _, err := s.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, _ := testutil.GatherAndCount(sourceGatherer("win", s), "dhcp_failover_windows_clock_offset_seconds"); n != 0 {
			t.Errorf("clock rendered without a time")
		}
	})
	t.Run("hung RPC: timeout, then busy, then recovery", func(t *testing.T) {
		api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{fullSpec(0)}})
		api.Block = make(chan struct{})
		s := newTestWinSource(api)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Poll(ctx)
		if Classify(err) != ReasonTimeout || time.Since(start) > 2*time.Second {
			t.Fatalf("error %v after %s", err, time.Since(start))
		}
		_, err = s.Poll(context.Background())
		if !errors.Is(err, errWinBusy) || Classify(err) != ReasonTimeout {
			t.Fatalf("second poll while hung: %v", err)
		}
		close(api.Block) // the RPC returns at last; its late answer is dropped
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err = s.Poll(context.Background())
			if !errors.Is(err, errWinBusy) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if err := api.CheckAllFreed(); err != nil {
			t.Error(err)
		}
	})
}

// BenchmarkWinMap31 maps a full server's decoded answer (31
// relationships); dhcpsapi's BenchmarkWinDecode31 measures the decoding.
func BenchmarkWinMap31(b *testing.B) {
	var rels []dhcpsapi.Relationship
	for i := 0; i < 31; i++ {
		rels = append(rels, dhcpsapi.Relationship{Name: fmt.Sprintf("rel-%02d", i), State: uint32(i % 14), PrevState: uint32((i + 1) % 14), MCLT: 3600})
	}
	h := winStates{}
	b.ReportAllocs()
	for b.Loop() {
		h.observe(rels, nil, winT0)
	}
}

// The superscope table or the MIB unavailable: the relationship and its
// pools are still reported, the pools' network unknown (not "alone"), and
// no refusal or MIB series made up.
func TestWinSourceServerReadsFail(t *testing.T) {
	needABIHost(t)
	spec := fullSpec(0)
	spec.Scopes = []uint32{0xC0000200}
	api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{spec}})
	api.Scopes[0xC0000200] = dhcpsapitest.Scope{Mask: 0xFFFFFF00, Stats: dhcpsapitest.StatisticsC{NumAddr: 10, AddrFree: 10, ThisAddrFree: 5}}
	api.SuperScopeStatus = dhcpsapi.StatusAccessDenied
	api.MibStatus = dhcpsapi.StatusRPCServerUnavailable
	s := newTestWinSource(api)
	rels, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || len(rels[0].Pools) != 1 {
		t.Fatalf("relationships %+v", rels)
	}
	if p := rels[0].Pools[0]; p.Subnet != "192.0.2.0/24" || p.SharedNetwork != "" {
		t.Errorf("pool %+v: want the subnet and no network", p)
	}
	if len(rels[0].Refusals) != 0 {
		t.Errorf("refusals without a MIB: %+v", rels[0].Refusals)
	}
	for _, name := range []string{"dhcp_failover_windows_declines_total", "dhcp_failover_windows_server_start_time_seconds", "dhcp_failover_windows_pool_pending_offers"} {
		if n, _ := testutil.GatherAndCount(sourceGatherer("win", s), name); n != 0 {
			t.Errorf("%s rendered without a MIB", name)
		}
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}
}

// The NAKs go to the first relationship by name, once, whatever the
// server's order.
func TestWinRefusalsFirstRelationship(t *testing.T) {
	rels := []failover.Relationship{{Name: "fo-z"}, {Name: "fo-a"}, {Name: "fo-m"}}
	winAttachRefusals(rels, dhcpsapi.MibInfo{Naks: 5})
	for _, r := range rels {
		want := 0
		if r.Name == "fo-a" {
			want = 1
		}
		if len(r.Refusals) != want {
			t.Errorf("%s: %+v", r.Name, r.Refusals)
		}
	}
	if r := rels[1].Refusals[0]; r.Reason != failover.RefusedNAK || r.Count != 5 || r.Subnet != "" || r.SharedNetwork != "" {
		t.Errorf("refusal %+v", r)
	}
	winAttachRefusals(nil, dhcpsapi.MibInfo{Naks: 5}) // no relationship: nothing, no panic
}

// The Windows pools and NAKs through the contract's renderers: pool_info
// with the subnet and the superscope, the superscope's sums, and the NAKs
// as a server-wide refusal.
func TestWinPoolsRendered(t *testing.T) {
	pools := []failover.Pool{
		windowsPool(netip.MustParsePrefix("192.0.2.0/24"), dhcpsapi.ScopeStatistics{NumAddr: 200, AddrFree: 150, AddrInUse: 50, ThisAddrFree: 75}, "campus"),
		windowsPool(netip.MustParsePrefix("192.0.3.0/24"), dhcpsapi.ScopeStatistics{NumAddr: 100, AddrFree: 0, AddrInUse: 100, ThisAddrFree: 0}, "campus"),
	}
	fs := &families{byFamily: map[*family]*dto.MetricFamily{}}
	tl, rl := labelPair("target", "win"), labelPair("relationship", "fo-lab")
	renderPools(fs, tl, rl, pools)
	renderRefusals(fs, tl, rl, []failover.Refusal{{Reason: failover.RefusedNAK, Count: 17}}, time.Unix(1_800_000_000, 0))
	got := map[string]string{}
	for _, mf := range fs.sorted() {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = fmt.Sprint(v)
		}
	}
	for k, v := range map[string]string{
		"dhcp_failover_pool_info{pool=192.0.2.0/24,relationship=fo-lab,shared_network=campus,subnet=192.0.2.0/24,target=win}": "1",
		"dhcp_failover_shared_network_size{relationship=fo-lab,shared_network=campus,target=win}":                             "300",
		"dhcp_failover_shared_network_addresses{relationship=fo-lab,shared_network=campus,state=free,target=win}":             "150",
		"dhcp_failover_shared_network_local_free_addresses{relationship=fo-lab,shared_network=campus,target=win}":             "75",
		"dhcp_failover_clients_refused_total{reason=nak,relationship=fo-lab,shared_network=,subnet=,target=win}":              "17",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
}

// TestWinGoldenSuperscope runs the fake server's answer (two failover
// scopes, one in superscope "campus", NAKs in the MIB) through the real
// source and the target state, and compares the contract's rendering with
// testdata/windows-superscope-naks.prom (-update rewrites it).
func TestWinGoldenSuperscope(t *testing.T) {
	needABIHost(t)
	lab := fullSpec(0)
	lab.Name, lab.Mode, lab.ServerType = dhcpsapitest.Str("fo-lab"), dhcpsapi.ModeHotStandby, dhcpsapi.ServerSecondary
	lab.State, lab.Prev = 3, 3
	lab.Scopes = []uint32{0xC0000200, 0xC6336400}
	api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{lab}})
	api.Scopes[0xC0000200] = dhcpsapitest.Scope{Mask: 0xFFFFFF00, Name: "lab", Stats: dhcpsapitest.StatisticsC{NumAddr: 200, AddrFree: 150, AddrInUse: 50, PartnerAddrFree: 142, ThisAddrFree: 8}}
	api.Scopes[0xC6336400] = dhcpsapitest.Scope{Mask: 0xFFFFFE00, Name: "lab-wifi", Stats: dhcpsapitest.StatisticsC{NumAddr: 500, AddrFree: 10, AddrInUse: 490, PartnerAddrFree: 9, ThisAddrFree: 1}}
	api.SuperScopeTable = []dhcpsapitest.SuperScope{
		{Subnet: 0xC0000200, Next: dhcpsapi.SuperScopeNone, Name: dhcpsapitest.Str("campus")},
		{Subnet: 0xC6336400, Number: dhcpsapi.SuperScopeNone, Next: dhcpsapi.SuperScopeNone},
	}
	api.Mib = &dhcpsapitest.Mib{Info: dhcpsapitest.MibInfoV5C{Naks: 17, Declines: 3}}
	s := newTestWinSource(api)
	rels, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts := newTargetState("dhcp-b", t0)
	ts.observe(t0, time.Millisecond, rels, nil)
	path := filepath.Join("testdata", "windows-superscope-naks.prom")
	if *update {
		var sb strings.Builder
		for _, mf := range ts.snapshot() {
			if err := writeText(&sb, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(stateGatherer(ts), f); err != nil {
		t.Error(err)
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}
}
