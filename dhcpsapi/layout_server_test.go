package dhcpsapi_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi/dhcpsapitest"
)

type layoutCase struct {
	field     string
	got, want uintptr
}

func checkLayout(t *testing.T, cases []layoutCase) {
	t.Helper()
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: ABI offset %d, decoder uses %d", c.field, c.got, c.want)
		}
	}
}

// The 64-bit (amd64, arm64) layouts, against the host's layout of the
// mirror structs (the ABI's on a 64-bit little-endian host).
func TestWinServerLayout64(t *testing.T) {
	needABIHost(t)
	var st dhcpsapitest.SuperScopeTableC
	var se dhcpsapitest.SuperScopeEntryC
	var mi dhcpsapitest.MibInfoV5C
	var sm dhcpsapitest.ScopeMibInfoV5C
	checkLayout(t, []layoutCase{
		{"DHCP_SUPER_SCOPE_TABLE.cEntries", unsafe.Offsetof(st.NumEntries), dhcpsapi.SSTOffNum},
		{"DHCP_SUPER_SCOPE_TABLE.pEntries", unsafe.Offsetof(st.Entries), dhcpsapi.SSTOffEntries},
		{"sizeof(DHCP_SUPER_SCOPE_TABLE)", unsafe.Sizeof(st), dhcpsapi.SSTSize},
		{"SubnetAddress", unsafe.Offsetof(se.SubnetAddress), dhcpsapi.SSEOffSubnet},
		{"SuperScopeNumber", unsafe.Offsetof(se.SuperScopeNumber), dhcpsapi.SSEOffNumber},
		{"NextInSuperScope", unsafe.Offsetof(se.NextInSuperScope), dhcpsapi.SSEOffNext},
		{"SuperScopeName", unsafe.Offsetof(se.SuperScopeName), dhcpsapi.SSEOffName},
		{"sizeof(DHCP_SUPER_SCOPE_TABLE_ENTRY)", unsafe.Sizeof(se), dhcpsapi.SSESize},
		{"Discovers", unsafe.Offsetof(mi.Discovers), dhcpsapi.MibOffDiscovers},
		{"Offers", unsafe.Offsetof(mi.Offers), dhcpsapi.MibOffOffers},
		{"Requests", unsafe.Offsetof(mi.Requests), dhcpsapi.MibOffRequests},
		{"Acks", unsafe.Offsetof(mi.Acks), dhcpsapi.MibOffAcks},
		{"Naks", unsafe.Offsetof(mi.Naks), dhcpsapi.MibOffNaks},
		{"Declines", unsafe.Offsetof(mi.Declines), dhcpsapi.MibOffDeclines},
		{"Releases", unsafe.Offsetof(mi.Releases), dhcpsapi.MibOffReleases},
		{"ServerStartTime", unsafe.Offsetof(mi.StartLow), dhcpsapi.MibOffStartTime},
		{"QtnNumLeases", unsafe.Offsetof(mi.Qtn), dhcpsapi.MibOffQtnNumLeases},
		{"DelayedOffers", unsafe.Offsetof(mi.DelayedOffers), dhcpsapi.MibOffDelayedOffers},
		{"ScopesWithDelayedOffers", unsafe.Offsetof(mi.ScopesWithDelayedOffers), dhcpsapi.MibOffScopesDelayed},
		{"Scopes", unsafe.Offsetof(mi.Scopes), dhcpsapi.MibOffScopes},
		{"ScopeInfo", unsafe.Offsetof(mi.ScopeInfo), dhcpsapi.MibOffScopeInfo},
		{"sizeof(DHCP_MIB_INFO_V5)", unsafe.Sizeof(mi), dhcpsapi.MibSize},
		{"Subnet", unsafe.Offsetof(sm.Subnet), dhcpsapi.SMibOffSubnet},
		{"NumAddressesInuse", unsafe.Offsetof(sm.NumAddressesInuse), dhcpsapi.SMibOffInUse},
		{"NumAddressesFree", unsafe.Offsetof(sm.NumAddressesFree), dhcpsapi.SMibOffFree},
		{"NumPendingOffers", unsafe.Offsetof(sm.NumPendingOffers), dhcpsapi.SMibOffPending},
		{"sizeof(SCOPE_MIB_INFO_V5)", unsafe.Sizeof(sm), dhcpsapi.SMibSize},
	})
}

// The 32-bit (386) layouts: the mirrors hold only 4-byte fields, so every
// host lays them out as 32-bit Windows does. Runs everywhere.
func TestWinServerLayout386(t *testing.T) {
	var st dhcpsapitest.SuperScopeTable32C
	var se dhcpsapitest.SuperScopeEntry32C
	var mi dhcpsapitest.MibInfoV5_32C
	checkLayout(t, []layoutCase{
		{"386 DHCP_SUPER_SCOPE_TABLE.pEntries", unsafe.Offsetof(st.Entries), dhcpsapi.SST32OffEntries},
		{"386 sizeof(DHCP_SUPER_SCOPE_TABLE)", unsafe.Sizeof(st), dhcpsapi.SST32Size},
		{"386 NextInSuperScope", unsafe.Offsetof(se.NextInSuperScope), dhcpsapi.SSEOffNext},
		{"386 SuperScopeName", unsafe.Offsetof(se.SuperScopeName), dhcpsapi.SSE32OffName},
		{"386 sizeof(DHCP_SUPER_SCOPE_TABLE_ENTRY)", unsafe.Sizeof(se), dhcpsapi.SSE32Size},
		{"386 ServerStartTime", unsafe.Offsetof(mi.StartLow), dhcpsapi.MibOffStartTime},
		{"386 Scopes", unsafe.Offsetof(mi.Scopes), dhcpsapi.MibOffScopes},
		{"386 ScopeInfo", unsafe.Offsetof(mi.ScopeInfo), dhcpsapi.Mib32OffScopeInfo},
		{"386 sizeof(DHCP_MIB_INFO_V5)", unsafe.Sizeof(mi), dhcpsapi.Mib32Size},
	})
}

// A superscope table written byte by byte from the C declaration, with
// garbage in the padding: two scopes of superscope "campus", one in none.
func TestWinDecodeSuperScopeHandLaidOut(t *testing.T) {
	m := dhcpsapitest.NewMem()
	campus1 := m.Alloc(dhcpsapitest.UTF16Z("campus"))
	campus2 := m.Alloc(dhcpsapitest.UTF16Z("campus"))
	var e []byte
	e = append(e, le32(0xC0000200, 0, 1, 0xeeeeeeee)...) // 192.0.2.0, superscope 0, next 1, padding
	e = append(e, le64(uint64(campus1))...)
	e = append(e, le32(0xC6336400, 0, dhcpsapi.SuperScopeNone, 0xeeeeeeee)...) // 198.51.100.0, last
	e = append(e, le64(uint64(campus2))...)
	e = append(e, le32(0xCB007100, dhcpsapi.SuperScopeNone, dhcpsapi.SuperScopeNone, 0xeeeeeeee)...) // 203.0.113.0, none
	e = append(e, le64(0)...)
	if len(e) != 3*24 {
		t.Fatalf("hand layout is %d bytes", len(e))
	}
	elems := m.Alloc(e)
	hdr := m.Alloc(append(le32(3, 0x55555555), le64(uint64(elems))...))
	m.Points(elems, campus1, campus2)
	m.Points(hdr, elems)
	got, blocks, err := dhcpsapi.DecodeSuperScopeTable(m, hdr)
	for _, b := range blocks {
		m.Free(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckAllFreed(); err != nil {
		t.Error(err)
	}
	want := []dhcpsapi.SuperScopeEntry{
		{Subnet: netip.MustParseAddr("192.0.2.0"), Number: 0, Next: 1, Name: "campus"},
		{Subnet: netip.MustParseAddr("198.51.100.0"), Number: 0, Next: dhcpsapi.SuperScopeNone, Name: "campus"},
		{Subnet: netip.MustParseAddr("203.0.113.0"), Number: dhcpsapi.SuperScopeNone, Next: dhcpsapi.SuperScopeNone},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

// A DHCP_MIB_INFO_V5 written byte by byte: every counter distinct, the
// Qtn fields and the padding full of garbage.
func TestWinDecodeMibHandLaidOut(t *testing.T) {
	m := dhcpsapitest.NewMem()
	start := time.Date(2026, 11, 30, 6, 15, 0, 123456700, time.UTC)
	lo, hi := dhcpsapi.DateTime(start)
	scopes := m.Alloc(le32(0xC0000200, 50, 150, 3, 0xC6336400, 490, 10, 0))
	var b []byte
	b = append(b, le32(1001, 1002, 1003, 1004, 1005, 1006, 1007)...)
	b = append(b, le32(lo, hi)...)
	b = append(b, le32(0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7)...)
	b = append(b, le32(11, 1, 2, 0xdddddddd)...) // DelayedOffers, ScopesWithDelayedOffers, Scopes, padding
	b = append(b, le64(uint64(scopes))...)
	if len(b) != 88 {
		t.Fatalf("hand layout is %d bytes", len(b))
	}
	info := m.Alloc(b)
	m.Points(info, scopes)
	got, blocks, err := dhcpsapi.DecodeMibInfo(m, info)
	for _, a := range blocks {
		m.Free(a)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckAllFreed(); err != nil {
		t.Error(err)
	}
	want := dhcpsapi.MibInfo{
		Discovers: 1001, Offers: 1002, Requests: 1003, Acks: 1004, Naks: 1005, Declines: 1006, Releases: 1007,
		ServerStartTime: start, DelayedOffers: 11, ScopesWithDelayedOffers: 1,
		Scopes: []dhcpsapi.ScopeMib{
			{Subnet: netip.MustParseAddr("192.0.2.0"), InUse: 50, Free: 150, PendingOffers: 3},
			{Subnet: netip.MustParseAddr("198.51.100.0"), InUse: 490, Free: 10},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestWinDateTime(t *testing.T) {
	if !dhcpsapi.DateTimeToTime(0, 0).IsZero() {
		t.Error("DATE_TIME 0 is not the zero time")
	}
	// 1970-01-01 is 116444736000000000 intervals after 1601-01-01.
	const unixEpoch = 116444736000000000
	if got := dhcpsapi.DateTimeToTime(uint32(unixEpoch&0xffffffff), uint32(unixEpoch>>32)); !got.Equal(time.Unix(0, 0)) {
		t.Errorf("the Unix epoch decoded as %v", got)
	}
	if got := dhcpsapi.DateTimeToTime(0xffffffff, 0xffffffff); got.IsZero() || got.Year() < 30000 {
		t.Errorf("the largest DATE_TIME decoded as %v", got)
	}
}

func TestWinDecodeServerErrors(t *testing.T) {
	needABIHost(t)
	long := strings.Repeat("y", dhcpsapi.MaxStringUnits+1)
	for _, c := range []struct {
		name  string
		build func(m *dhcpsapitest.Mem) uintptr
		mib   bool
		want  error
		text  string
	}{
		{"superscope: too many entries", func(m *dhcpsapitest.Mem) uintptr {
			e := m.Alloc(make([]byte, dhcpsapi.SSESize))
			h := m.Alloc(append(le32(dhcpsapi.MaxServerScopes+1, 0), le64(uint64(e))...))
			m.Points(h, e)
			return h
		}, false, dhcpsapi.ErrTooMany, "65537 superscope table entries"},
		{"superscope: count without entries", func(m *dhcpsapitest.Mem) uintptr {
			return m.Alloc(append(le32(2, 0), le64(0)...))
		}, false, dhcpsapi.ErrNull, "superscope table of 2"},
		{"superscope: entries too short", func(m *dhcpsapitest.Mem) uintptr {
			e := m.Alloc(make([]byte, dhcpsapi.SSESize))
			h := m.Alloc(append(le32(2, 0), le64(uint64(e))...))
			m.Points(h, e)
			return h
		}, false, nil, "fake: unmapped"},
		{"superscope: name too long, the other names still freed", func(m *dhcpsapitest.Mem) uintptr {
			return m.SuperScopeTableAt([]dhcpsapitest.SuperScope{{Subnet: 1, Name: &long}, {Subnet: 2, Name: dhcpsapitest.Str("ok")}})
		}, false, dhcpsapi.ErrString, "entry 0: SuperScopeName"},
		{"MIB: NULL", func(m *dhcpsapitest.Mem) uintptr { return 0 }, true, dhcpsapi.ErrNull, "MIB info"},
		{"MIB: too many scopes", func(m *dhcpsapitest.Mem) uintptr {
			a := m.MibAt(dhcpsapitest.Mib{Scopes: make([]dhcpsapitest.ScopeMibInfoV5C, 1)})
			binary.LittleEndian.PutUint32(m.Block(a)[dhcpsapi.MibOffScopes:], dhcpsapi.MaxServerScopes+1)
			return a
		}, true, dhcpsapi.ErrTooMany, "65537 scopes in the MIB"},
		{"MIB: scopes without ScopeInfo", func(m *dhcpsapitest.Mem) uintptr {
			a := m.MibAt(dhcpsapitest.Mib{})
			binary.LittleEndian.PutUint32(m.Block(a)[dhcpsapi.MibOffScopes:], 4)
			return a
		}, true, dhcpsapi.ErrNull, "ScopeInfo of 4"},
		{"MIB: ScopeInfo too short", func(m *dhcpsapitest.Mem) uintptr {
			a := m.MibAt(dhcpsapitest.Mib{Scopes: make([]dhcpsapitest.ScopeMibInfoV5C, 2)})
			binary.LittleEndian.PutUint32(m.Block(a)[dhcpsapi.MibOffScopes:], 3)
			return a
		}, true, nil, "fake: unmapped"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := dhcpsapitest.NewMem()
			addr := c.build(m)
			var blocks []uintptr
			var err error
			if c.mib {
				_, blocks, err = dhcpsapi.DecodeMibInfo(m, addr)
			} else {
				_, blocks, err = dhcpsapi.DecodeSuperScopeTable(m, addr)
			}
			for _, b := range blocks {
				m.Free(b)
			}
			if err := m.CheckAllFreed(); err != nil {
				t.Error(err)
			}
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not say %q", err, c.text)
			}
		})
	}
}

func TestWinServerReads(t *testing.T) {
	needABIHost(t)
	api := dhcpsapitest.NewServer()
	api.SuperScopeTable = []dhcpsapitest.SuperScope{{Subnet: 0xC0000200, Next: dhcpsapi.SuperScopeNone, Name: dhcpsapitest.Str("campus")}, {Subnet: 0x0A000000, Number: dhcpsapi.SuperScopeNone, Next: dhcpsapi.SuperScopeNone}}
	api.Mib = &dhcpsapitest.Mib{Info: dhcpsapitest.MibInfoV5C{Naks: 7, Declines: 2}, Scopes: []dhcpsapitest.ScopeMibInfoV5C{{Subnet: 0xC0000200, NumPendingOffers: 4}}}
	ss, err := dhcpsapi.SuperScopes(api)
	if err != nil || len(ss) != 2 || ss[0].Name != "campus" || ss[1].Name != "" {
		t.Fatalf("superscopes %+v, %v", ss, err)
	}
	mib, err := dhcpsapi.Mib(api)
	if err != nil || mib.Naks != 7 || mib.Declines != 2 || len(mib.Scopes) != 1 || mib.Scopes[0].PendingOffers != 4 {
		t.Fatalf("MIB %+v, %v", mib, err)
	}
	if err := api.CheckAllFreed(); err != nil {
		t.Error(err)
	}

	// No superscope table at all: no scopes. A NULL MIB: malformed.
	api.SuperScopeTable, api.Mib = nil, nil
	if ss, err := dhcpsapi.SuperScopes(api); err != nil || ss != nil {
		t.Errorf("NULL table: %+v, %v", ss, err)
	}
	if _, err := dhcpsapi.Mib(api); !errors.Is(err, dhcpsapi.ErrMalformed) {
		t.Errorf("NULL MIB: %v", err)
	}

	api.SuperScopeStatus, api.MibStatus = dhcpsapi.StatusAccessDenied, dhcpsapi.StatusRPCServerUnavailable
	var ce *dhcpsapi.CallError
	if _, err := dhcpsapi.SuperScopes(api); !errors.As(err, &ce) || ce.Func != "DhcpGetSuperScopeInfoV4" || ce.Status != dhcpsapi.StatusAccessDenied {
		t.Errorf("superscopes: %v", err)
	}
	if _, err := dhcpsapi.Mib(api); !errors.As(err, &ce) || ce.Func != "DhcpGetMibInfoV5" || ce.Status != dhcpsapi.StatusRPCServerUnavailable {
		t.Errorf("MIB: %v", err)
	}
}

// FuzzWinDecodeServer feeds arbitrary bytes as the superscope table or
// MIB structure and as the blocks they point to: never a panic, never more
// entries than the bound, the header always freed last.
func FuzzWinDecodeServer(f *testing.F) {
	f.Add(append(le32(1, 0), le64(0x20000)...), append(le32(0xC0000200, 0, dhcpsapi.SuperScopeNone, 0), le64(0x30000)...), dhcpsapitest.UTF16Z("campus"))
	f.Add(append(le32(3, 0), le64(0x20000)...), make([]byte, 24), []byte{})
	mib := make([]byte, 88)
	binary.LittleEndian.PutUint32(mib[72:], 1)
	binary.LittleEndian.PutUint64(mib[80:], 0x20000)
	f.Add(mib, le32(0xC0000200, 1, 2, 3), []byte{})
	f.Fuzz(func(t *testing.T, h, e, s []byte) {
		m := dhcpsapitest.NewMem()
		m.Place(0x10000, h)
		m.Place(0x20000, e)
		m.Place(0x30000, s)
		ss, blocks, err := dhcpsapi.DecodeSuperScopeTable(m, 0x10000)
		if err == nil && len(ss) > dhcpsapi.MaxServerScopes {
			t.Fatalf("%d entries accepted", len(ss))
		}
		if len(blocks) > 0 && blocks[len(blocks)-1] != 0x10000 {
			t.Fatalf("the table is not freed last: %#x", blocks)
		}
		mi, blocks, err := dhcpsapi.DecodeMibInfo(m, 0x10000)
		if err == nil && len(mi.Scopes) > dhcpsapi.MaxServerScopes {
			t.Fatalf("%d MIB scopes accepted", len(mi.Scopes))
		}
		if len(blocks) > 0 && blocks[len(blocks)-1] != 0x10000 {
			t.Fatalf("the MIB is not freed last: %#x", blocks)
		}
	})
}
