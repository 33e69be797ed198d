package dhcpsapi_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi/dhcpsapitest"
)

func specs(from, n int) []dhcpsapitest.Relationship {
	var s []dhcpsapitest.Relationship
	for i := from; i < from+n; i++ {
		s = append(s, fullSpec(i))
	}
	return s
}

func TestRelationshipsEnumeration(t *testing.T) {
	needABIHost(t)
	type page = dhcpsapitest.Page
	for _, c := range []struct {
		name      string
		pages     []page
		wantRels  int
		wantCalls int
		status    dhcpsapi.Status // of the *CallError wanted
		malformed bool            // an error matching ErrMalformed wanted
		text      string
	}{
		{name: "no relationships: NO_MORE_ITEMS at once", pages: []page{{Null: true, Status: dhcpsapi.StatusNoMoreItems}}, wantCalls: 1},
		{name: "no relationships: empty success", pages: []page{{}}, wantCalls: 1},
		{name: "one page then NO_MORE_ITEMS", pages: []page{{Relationships: specs(0, 31)}}, wantRels: 31, wantCalls: 2},
		{name: "paged with resume handle", pages: []page{{Relationships: specs(0, 10), Status: dhcpsapi.StatusMoreData}, {Relationships: specs(10, 10), Status: dhcpsapi.StatusMoreData}, {Relationships: specs(20, 11)}}, wantRels: 31, wantCalls: 4},
		{name: "access denied", pages: []page{{Null: true, Status: dhcpsapi.StatusAccessDenied}}, wantCalls: 1, status: dhcpsapi.StatusAccessDenied, text: "DHCP Users group?) (Win32 error 5)"},
		{name: "RPC server unavailable", pages: []page{{Null: true, Status: dhcpsapi.StatusRPCServerUnavailable}}, wantCalls: 1, status: dhcpsapi.StatusRPCServerUnavailable, text: "RPC server unavailable"},
		{name: "error after a page: its buffers freed", pages: []page{{Relationships: specs(0, 2), Status: dhcpsapi.StatusMoreData}, {Relationships: specs(2, 1), Status: dhcpsapi.StatusRPCCallFailed}}, wantCalls: 2, status: dhcpsapi.StatusRPCCallFailed, text: "Win32 error 1726"},
		{name: "MORE_DATA without progress", pages: []page{{Status: dhcpsapi.StatusMoreData, ZeroRead: true}}, wantCalls: 1, malformed: true, text: "nothing read"},
		{name: "undecodable answer", pages: []page{{Relationships: []dhcpsapitest.Relationship{{}}}}, wantCalls: 1, malformed: true, text: "RelationshipName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := dhcpsapitest.NewServer(c.pages...)
			rels, err := dhcpsapi.Relationships(api)
			if err := api.CheckAllFreed(); err != nil {
				t.Error(err)
			}
			if n, _ := api.Calls(); n != c.wantCalls {
				t.Errorf("%d calls, want %d", n, c.wantCalls)
			}
			var ce *dhcpsapi.CallError
			switch {
			case c.status != 0:
				if !errors.As(err, &ce) || ce.Status != c.status || ce.Func != "DhcpV4FailoverEnumRelationship" || !strings.Contains(err.Error(), c.text) {
					t.Fatalf("error %v, want status %d containing %q", err, c.status, c.text)
				}
			case c.malformed:
				if !errors.Is(err, dhcpsapi.ErrMalformed) || errors.As(err, &ce) || !strings.Contains(err.Error(), c.text) {
					t.Fatalf("error %v, want ErrMalformed containing %q", err, c.text)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if len(rels) != c.wantRels {
					t.Fatalf("%d relationships, want %d", len(rels), c.wantRels)
				}
				for i, r := range rels {
					if want := fmt.Sprintf("rel-%02d", i); r.Name != want {
						t.Errorf("relationship %d is %q, want %q", i, r.Name, want)
					}
				}
			}
		})
	}
	// The resume handle goes back to the server as it returned it.
	api := dhcpsapitest.NewServer(dhcpsapitest.Page{Relationships: specs(0, 3), Status: dhcpsapi.StatusMoreData}, dhcpsapitest.Page{Relationships: specs(3, 2)})
	if _, err := dhcpsapi.Relationships(api); err != nil {
		t.Fatal(err)
	}
	if _, resumes := api.Calls(); fmt.Sprint(resumes) != "[0 3 5]" {
		t.Errorf("resume handles %v, want [0 3 5]", resumes)
	}
}

// A server that pages forever is cut off.
func TestRelationshipsEnumerationBounded(t *testing.T) {
	needABIHost(t)
	var pages []dhcpsapitest.Page
	for i := 0; i < 64+5; i++ {
		pages = append(pages, dhcpsapitest.Page{Relationships: []dhcpsapitest.Relationship{fullSpec(i % 31)}, Status: dhcpsapi.StatusMoreData})
	}
	api := dhcpsapitest.NewServer(pages...)
	_, err := dhcpsapi.Relationships(api)
	if !errors.Is(err, dhcpsapi.ErrPaging) || !errors.Is(err, dhcpsapi.ErrMalformed) {
		t.Fatalf("error %v", err)
	}
	if n, _ := api.Calls(); n != 64 {
		t.Errorf("%d calls", n)
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}
}

func TestStatusNames(t *testing.T) {
	for st, want := range map[dhcpsapi.Status]string{
		5:          "access denied (is the exporter's account in the DHCP Users group?) (Win32 error 5)",
		20114:      "failover relationship does not exist (Win32 error 20114)",
		20115:      "scope is not part of a failover relationship (Win32 error 20115)",
		14:         "Win32 error 14",
		0xffffffff: "Win32 error 4294967295",
	} {
		if got := st.Error(); got != want {
			t.Errorf("%d: %q, want %q", uint32(st), got, want)
		}
	}
	err := error(&dhcpsapi.CallError{Func: "DhcpV4FailoverGetSystemTime", Status: 1722})
	var st dhcpsapi.Status
	if !errors.As(err, &st) || st != 1722 || !strings.HasPrefix(err.Error(), "DhcpV4FailoverGetSystemTime: RPC server unavailable") {
		t.Errorf("%v", err)
	}
}

// A DHCP_FAILOVER_STATISTICS written byte by byte, every field distinct.
func TestScopeStatisticsHandLaidOut(t *testing.T) {
	m := dhcpsapitest.NewMem()
	a := m.Alloc(le32(254, 200, 54, 90, 110, 20, 34))
	got, err := dhcpsapi.DecodeStatistics(m, a)
	if err != nil {
		t.Fatal(err)
	}
	want := dhcpsapi.ScopeStatistics{NumAddr: 254, AddrFree: 200, AddrInUse: 54, PartnerAddrFree: 90, ThisAddrFree: 110, PartnerAddrInUse: 20, ThisAddrInUse: 34}
	if got != want {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	if _, err := dhcpsapi.DecodeStatistics(m, m.Alloc(make([]byte, dhcpsapi.StatsSize-1))); err == nil {
		t.Error("a 27-byte block decoded")
	}
	if _, err := dhcpsapi.DecodeStatistics(m, 0); !errors.Is(err, dhcpsapi.ErrNull) {
		t.Errorf("NULL: %v", err)
	}
}

// A DHCP_SUBNET_INFO written byte by byte: the mask at 4, four string
// pointers (8, 16, 32, 40) freed before the structure.
func TestSubnetInfoHandLaidOut(t *testing.T) {
	m := dhcpsapitest.NewMem()
	name, comment := m.Alloc(dhcpsapitest.UTF16Z("lab")), m.Alloc(dhcpsapitest.UTF16Z(""))
	nb, host := m.Alloc(dhcpsapitest.UTF16Z("DHCP-A")), m.Alloc(dhcpsapitest.UTF16Z("dhcp-a.example.net"))
	b := le32(0xC0000200, 0xFFFFFF00)
	b = append(b, le64(uint64(name), uint64(comment))...)
	b = append(b, le32(0x010200C0, 0xaaaaaaaa)...) // host address (network order), padding
	b = append(b, le64(uint64(nb), uint64(host))...)
	b = append(b, le32(0, 0xaaaaaaaa)...) // SubnetState enabled, padding
	if len(b) != dhcpsapi.SubnetSize {
		t.Fatalf("hand layout is %d bytes", len(b))
	}
	info := m.Alloc(b)
	m.Points(info, name, comment, nb, host)
	mask, scopeName, blocks, err := dhcpsapi.DecodeSubnetInfo(m, info)
	for _, a := range blocks {
		m.Free(a)
	}
	if err != nil || mask != 0xFFFFFF00 || scopeName != "lab" {
		t.Fatalf("mask %#x, name %q, %v", mask, scopeName, err)
	}
	if err := m.CheckAllFreed(); err != nil {
		t.Error(err)
	}
}

func TestSubnetPrefix(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.0")
	for mask, want := range map[uint32]string{
		0xFFFFFF00: "192.0.2.0/24",
		0xFFFFFE00: "192.0.2.0/23",
		0xFFFFFFFF: "192.0.2.0/32",
		0:          "192.0.2.0/32", // no mask: the scope ID alone
		0xFF00FF00: "192.0.2.0/32", // not contiguous
	} {
		if got := dhcpsapi.PrefixOfMask(a, mask).String(); got != want {
			t.Errorf("%#x: %s, want %s", mask, got, want)
		}
	}
}

func TestScopeStatistics(t *testing.T) {
	needABIHost(t)
	api := dhcpsapitest.NewServer()
	api.Scopes[0xC0000200] = dhcpsapitest.Scope{Mask: 0xFFFFFF00, Name: "lab", Stats: dhcpsapitest.StatisticsC{NumAddr: 100, AddrFree: 60, AddrInUse: 40, PartnerAddrFree: 25, ThisAddrFree: 35, PartnerAddrInUse: 15, ThisAddrInUse: 25}}
	api.Scopes[0xC0000300] = dhcpsapitest.Scope{StatStatus: dhcpsapi.StatusAccessDenied}
	scope := netip.MustParseAddr("192.0.2.0")
	st, err := dhcpsapi.Statistics(api, scope)
	if err != nil {
		t.Fatal(err)
	}
	if st.NumAddr != 100 || st.ThisAddrFree != 35 || st.PartnerAddrInUse != 15 {
		t.Errorf("got %+v", st)
	}
	if p, err := dhcpsapi.SubnetPrefix(api, scope); err != nil || p.String() != "192.0.2.0/24" {
		t.Errorf("prefix %s, %v", p, err)
	}
	var ce *dhcpsapi.CallError
	if _, err := dhcpsapi.Statistics(api, netip.MustParseAddr("192.0.3.0")); !errors.As(err, &ce) || ce.Status != dhcpsapi.StatusAccessDenied {
		t.Errorf("access denied: %v", err)
	}
	if _, err := dhcpsapi.Statistics(api, netip.MustParseAddr("192.0.4.0")); !errors.As(err, &ce) || ce.Status != dhcpsapi.StatusFOScopeNotInRel {
		t.Errorf("unknown scope: %v", err)
	}
	if _, err := dhcpsapi.SubnetPrefix(api, netip.MustParseAddr("192.0.4.0")); !errors.As(err, &ce) || ce.Status != dhcpsapi.StatusSubnetNotPresent {
		t.Errorf("unknown subnet: %v", err)
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}
}
