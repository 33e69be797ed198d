package dhcpsapi_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi/dhcpsapitest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// The mirror structs are the ABI only on a 64-bit little-endian host.
func needABIHost(t testing.TB) {
	t.Helper()
	if !dhcpsapitest.ABIHost() {
		t.Skip("the 64-bit Windows layout is mirrored only on 64-bit little-endian hosts")
	}
}

func TestWinLayoutOffsets(t *testing.T) {
	needABIHost(t)
	var r dhcpsapitest.RelationshipC
	var a dhcpsapitest.ArrayC
	for _, c := range []struct {
		field     string
		got, want uintptr
	}{
		{"PrimaryServer", unsafe.Offsetof(r.PrimaryServer), dhcpsapi.RelOffPrimaryServer},
		{"SecondaryServer", unsafe.Offsetof(r.SecondaryServer), dhcpsapi.RelOffSecondaryServer},
		{"Mode", unsafe.Offsetof(r.Mode), dhcpsapi.RelOffMode},
		{"ServerType", unsafe.Offsetof(r.ServerType), dhcpsapi.RelOffServerType},
		{"State", unsafe.Offsetof(r.State), dhcpsapi.RelOffState},
		{"PrevState", unsafe.Offsetof(r.PrevState), dhcpsapi.RelOffPrevState},
		{"Mclt", unsafe.Offsetof(r.Mclt), dhcpsapi.RelOffMclt},
		{"SafePeriod", unsafe.Offsetof(r.SafePeriod), dhcpsapi.RelOffSafePeriod},
		{"RelationshipName", unsafe.Offsetof(r.RelationshipName), dhcpsapi.RelOffName},
		{"PrimaryServerName", unsafe.Offsetof(r.PrimaryServerName), dhcpsapi.RelOffPrimaryName},
		{"SecondaryServerName", unsafe.Offsetof(r.SecondaryServerName), dhcpsapi.RelOffSecondaryName},
		{"pScopes", unsafe.Offsetof(r.PScopes), dhcpsapi.RelOffScopes},
		{"Percentage", unsafe.Offsetof(r.Percentage), dhcpsapi.RelOffPercentage},
		{"SharedSecret", unsafe.Offsetof(r.SharedSecret), dhcpsapi.RelOffSharedSecret},
		{"sizeof(DHCP_FAILOVER_RELATIONSHIP)", unsafe.Sizeof(r), dhcpsapi.RelSize},
		{"array NumElements", unsafe.Offsetof(a.NumElements), dhcpsapi.ArrOffNum},
		{"array pointer", unsafe.Offsetof(a.Elements), dhcpsapi.ArrOffElements},
		{"sizeof(array)", unsafe.Sizeof(a), dhcpsapi.ArrSize},
	} {
		if c.got != c.want {
			t.Errorf("%s: ABI offset %d, decoder uses %d", c.field, c.got, c.want)
		}
	}
}

// A relationship written byte by byte from the C declaration, independent
// of any Go struct: every field distinct, padding full of garbage.
func TestWinDecodeHandLaidOut(t *testing.T) {
	m := dhcpsapitest.NewMem()
	name := m.Alloc(dhcpsapitest.UTF16Z("fo-lab"))
	prim := m.Alloc(dhcpsapitest.UTF16Z("dhcp-a.example.net"))
	sec := m.Alloc(dhcpsapitest.UTF16Z("DHCP-B"))
	secret := m.Alloc(dhcpsapitest.UTF16Z("s3cret"))
	m.MarkSecret(secret)
	scopeElems := m.Alloc([]byte{0x00, 0x02, 0x00, 0xc0, 0x00, 0x64, 0x33, 0xc6}) // 192.0.2.0, 198.51.100.0
	scopes := m.Alloc(append(le32(2, 0xdeadbeef), le64(uint64(scopeElems))...))
	b := []byte{}
	b = append(b, le32(
		0xC0000201, // PrimaryServer 192.0.2.1
		0xC0000202, // SecondaryServer 192.0.2.2
		1,          // Mode HotStandby
		1,          // ServerType SecondaryServer
		4,          // State COMMUNICATION_INT
		3,          // PrevState NORMAL
		3600,       // Mclt
		7200,       // SafePeriod
	)...)
	b = append(b, le64(uint64(name), uint64(prim), uint64(sec), uint64(scopes))...)
	b = append(b, 5, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa) // Percentage 5 + padding
	b = append(b, le64(uint64(secret))...)
	if len(b) != 80 {
		t.Fatalf("hand layout is %d bytes", len(b))
	}
	elems := m.Alloc(b)
	hdr := m.Alloc(append(le32(1, 0x55555555), le64(uint64(elems))...))
	m.Points(elems, name, prim, sec, secret, scopes)
	m.Points(scopes, scopeElems)
	m.Points(hdr, elems)

	rels, blocks, err := dhcpsapi.DecodeRelationshipArray(m, hdr)
	for _, a := range blocks {
		m.Free(a)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckAllFreed(); err != nil {
		t.Error(err)
	}
	want := dhcpsapi.Relationship{
		PrimaryServer:   netip.MustParseAddr("192.0.2.1"),
		SecondaryServer: netip.MustParseAddr("192.0.2.2"),
		Mode:            1, ServerType: 1, State: 4, PrevState: 3,
		MCLT: 3600, SafePeriod: 7200,
		Name: "fo-lab", PrimaryName: "dhcp-a.example.net", SecondaryName: "DHCP-B",
		Scopes:     []netip.Addr{netip.MustParseAddr("192.0.2.0"), netip.MustParseAddr("198.51.100.0")},
		Percentage: 5,
	}
	if len(rels) != 1 || !reflect.DeepEqual(rels[0], want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", rels, want)
	}
	if strings.Contains(fmt.Sprintf("%+v %#v", rels, rels), "s3cret") {
		t.Error("the shared secret reached the decoded relationship")
	}
}

func le32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func le64(vs ...uint64) []byte {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// decodeAndFree decodes an answer, frees what the decoder lists, and
// checks that nothing leaked.
func decodeAndFree(t *testing.T, m *dhcpsapitest.Mem, hdr uintptr) ([]dhcpsapi.Relationship, error) {
	t.Helper()
	rels, blocks, err := dhcpsapi.DecodeRelationshipArray(m, hdr)
	for _, a := range blocks {
		m.Free(a)
	}
	if err := m.CheckAllFreed(); err != nil {
		t.Error(err)
	}
	return rels, err
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
		Scopes:     make([]uint32, i%5),
		Percentage: uint8(i),
		Secret:     dhcpsapitest.Str(fmt.Sprintf("secret-%d", i)),
	}
}

func TestWinDecodeEveryField(t *testing.T) {
	needABIHost(t)
	m := dhcpsapitest.NewMem()
	sp := dhcpsapitest.Relationship{
		Primary: 0xC0A80A01, Secondary: 0xAC100002,
		Mode: 0, ServerType: 0, State: 3, Prev: 9,
		MCLT: 3600, SafePeriod: 3600,
		Name: dhcpsapitest.Str("Ünïcode-𝔣ailover"), PrimName: dhcpsapitest.Str("a"), SecName: dhcpsapitest.Str(""),
		Scopes:     []uint32{0xC0A80A00, 0xC0A80B00, 0xC0A80C00},
		Percentage: 50, Secret: dhcpsapitest.Str("topsecret"),
	}
	rels, err := decodeAndFree(t, m, m.RelationshipArray([]dhcpsapitest.Relationship{sp}))
	if err != nil {
		t.Fatal(err)
	}
	want := dhcpsapi.Relationship{
		PrimaryServer: netip.MustParseAddr("192.168.10.1"), SecondaryServer: netip.MustParseAddr("172.16.0.2"),
		State: 3, PrevState: 9, MCLT: 3600, SafePeriod: 3600,
		Name: "Ünïcode-𝔣ailover", PrimaryName: "a", SecondaryName: "",
		Scopes:     []netip.Addr{netip.MustParseAddr("192.168.10.0"), netip.MustParseAddr("192.168.11.0"), netip.MustParseAddr("192.168.12.0")},
		Percentage: 50,
	}
	if len(rels) != 1 || !reflect.DeepEqual(rels[0], want) {
		t.Fatalf("got %+v\nwant %+v", rels, want)
	}
}

// Garbage in the padding after NumElements and after Percentage is
// ignored.
func TestWinDecodePaddingIgnored(t *testing.T) {
	needABIHost(t)
	m := dhcpsapitest.NewMem()
	hdr := m.RelationshipArray([]dhcpsapitest.Relationship{fullSpec(3)})
	elems := uintptr(binary.LittleEndian.Uint64(m.Block(hdr)[8:]))
	for i := 4; i < 8; i++ {
		m.Block(hdr)[i] = 0xff
	}
	for i := dhcpsapi.RelOffPercentage + 1; i < dhcpsapi.RelOffSharedSecret; i++ {
		m.Block(elems)[i] = 0xff
	}
	rels, err := decodeAndFree(t, m, hdr)
	if err != nil || len(rels) != 1 || rels[0].Percentage != 3 || rels[0].Name != "rel-03" {
		t.Fatalf("got %+v, %v", rels, err)
	}
}

func TestWinDecodeEveryStateValue(t *testing.T) {
	needABIHost(t)
	values := []uint32{14, 15, 254, 255, 256, 0x7fffffff, 0xffffffff}
	for v := uint32(0); v < 14; v++ {
		values = append(values, v)
	}
	for _, v := range values {
		m := dhcpsapitest.NewMem()
		sp := fullSpec(0)
		sp.State, sp.Prev = v, v
		rels, err := decodeAndFree(t, m, m.RelationshipArray([]dhcpsapitest.Relationship{sp}))
		if err != nil || len(rels) != 1 {
			t.Fatalf("state %d: %v", v, err)
		}
		if rels[0].State != v || rels[0].PrevState != v {
			t.Errorf("state %d decoded as %d/%d", v, rels[0].State, rels[0].PrevState)
		}
	}
}

func TestWinDecodeNullPointers(t *testing.T) {
	needABIHost(t)
	m := dhcpsapitest.NewMem()
	sp := fullSpec(1)
	sp.PrimName, sp.SecName, sp.Secret, sp.NullScopes = nil, nil, nil, true
	sp.Primary, sp.Secondary = 0, 0
	rels, err := decodeAndFree(t, m, m.RelationshipArray([]dhcpsapitest.Relationship{sp}))
	if err != nil {
		t.Fatal(err)
	}
	r := rels[0]
	if r.PrimaryName != "" || r.SecondaryName != "" || len(r.Scopes) != 0 || r.PrimaryServer.IsValid() || r.SecondaryServer.IsValid() {
		t.Errorf("NULLs decoded as %+v", r)
	}

	// A NULL array is "no relationships" (the API's answer when none is
	// configured).
	if rels, blocks, err := dhcpsapi.DecodeRelationshipArray(m, 0); rels != nil || blocks != nil || err != nil {
		t.Errorf("NULL array: %v %v %v", rels, blocks, err)
	}
}

func TestWinDecodeZeroRelationships(t *testing.T) {
	m := dhcpsapitest.NewMem()
	rels, err := decodeAndFree(t, m, m.RelationshipArray(nil))
	if err != nil || len(rels) != 0 {
		t.Fatalf("got %v, %v", rels, err)
	}
	// NumElements 0 with an (empty) element block: both blocks freed.
	m = dhcpsapitest.NewMem()
	elems := m.Alloc(make([]byte, 16))
	hdr := m.Alloc(append(le32(0, 0), le64(uint64(elems))...))
	m.Points(hdr, elems)
	if rels, err := decodeAndFree(t, m, hdr); err != nil || len(rels) != 0 {
		t.Fatalf("got %v, %v", rels, err)
	}
}

func TestWinDecode31Relationships(t *testing.T) {
	needABIHost(t)
	m := dhcpsapitest.NewMem()
	var specs []dhcpsapitest.Relationship
	for i := 0; i < 31; i++ {
		specs = append(specs, fullSpec(i))
	}
	rels, err := decodeAndFree(t, m, m.RelationshipArray(specs))
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 31 {
		t.Fatalf("%d relationships", len(rels))
	}
	for i, r := range rels {
		sp := specs[i]
		if r.Name != *sp.Name || r.PrimaryName != *sp.PrimName || r.SecondaryName != *sp.SecName ||
			r.State != sp.State || r.PrevState != sp.Prev || r.MCLT != sp.MCLT || r.SafePeriod != sp.SafePeriod ||
			r.Mode != sp.Mode || r.ServerType != sp.ServerType || r.Percentage != sp.Percentage ||
			len(r.Scopes) != len(sp.Scopes) || r.PrimaryServer != dhcpsapi.IPAddressToAddr(sp.Primary) {
			t.Errorf("relationship %d: %+v", i, r)
		}
	}
}

func TestWinDecodeErrors(t *testing.T) {
	needABIHost(t)
	long := strings.Repeat("x", dhcpsapi.MaxStringUnits+1)
	for _, c := range []struct {
		name  string
		build func(m *dhcpsapitest.Mem) uintptr
		want  error
		text  string
	}{
		{"NULL relationship name", func(m *dhcpsapitest.Mem) uintptr {
			sp := fullSpec(0)
			sp.Name = nil
			return m.RelationshipArray([]dhcpsapitest.Relationship{sp})
		}, dhcpsapi.ErrNull, "RelationshipName"},
		{"name too long", func(m *dhcpsapitest.Mem) uintptr {
			sp := fullSpec(0)
			sp.Name = &long
			return m.RelationshipArray([]dhcpsapitest.Relationship{sp})
		}, dhcpsapi.ErrString, "RelationshipName"},
		{"name not terminated", func(m *dhcpsapitest.Mem) uintptr {
			sp := fullSpec(0)
			sp.RawName = []byte{'a', 0, 'b', 0}
			return m.RelationshipArray([]dhcpsapitest.Relationship{sp})
		}, nil, "unmapped read"},
		{"second of two bad: first still freed", func(m *dhcpsapitest.Mem) uintptr {
			bad := fullSpec(1)
			bad.RawName = []byte{'a'}
			return m.RelationshipArray([]dhcpsapitest.Relationship{fullSpec(0), bad})
		}, nil, "relationship 1"},
		{"too many relationships", func(m *dhcpsapitest.Mem) uintptr {
			elems := m.Alloc(make([]byte, dhcpsapi.RelSize))
			hdr := m.Alloc(append(le32(dhcpsapi.MaxRelationships+1, 0), le64(uint64(elems))...))
			m.Points(hdr, elems)
			return hdr
		}, dhcpsapi.ErrTooMany, "1025 relationships"},
		{"count without elements", func(m *dhcpsapitest.Mem) uintptr {
			return m.Alloc(append(le32(2, 0), le64(0)...))
		}, dhcpsapi.ErrNull, "array of 2"},
		{"element array too short", func(m *dhcpsapitest.Mem) uintptr {
			elems := m.Alloc(make([]byte, dhcpsapi.RelSize))
			hdr := m.Alloc(append(le32(2, 0), le64(uint64(elems))...))
			m.Points(hdr, elems)
			return hdr
		}, nil, "relationship 1: fake: unmapped"},
		{"too many scopes", func(m *dhcpsapitest.Mem) uintptr {
			sp := fullSpec(0)
			sp.NullScopes = true
			hdr := m.RelationshipArray([]dhcpsapitest.Relationship{sp})
			elems := uintptr(binary.LittleEndian.Uint64(m.Block(hdr)[8:]))
			se := m.Alloc(make([]byte, 4))
			scopes := m.Alloc(append(le32(dhcpsapi.MaxScopes+1, 0), le64(uint64(se))...))
			m.Points(scopes, se)
			m.Points(elems, scopes)
			binary.LittleEndian.PutUint64(m.Block(elems)[dhcpsapi.RelOffScopes:], uint64(scopes))
			return hdr
		}, dhcpsapi.ErrTooMany, "pScopes"},
		{"scopes without elements", func(m *dhcpsapitest.Mem) uintptr {
			sp := fullSpec(0)
			sp.NullScopes = true
			hdr := m.RelationshipArray([]dhcpsapitest.Relationship{sp})
			elems := uintptr(binary.LittleEndian.Uint64(m.Block(hdr)[8:]))
			scopes := m.Alloc(append(le32(3, 0), le64(0)...))
			m.Points(elems, scopes)
			binary.LittleEndian.PutUint64(m.Block(elems)[dhcpsapi.RelOffScopes:], uint64(scopes))
			return hdr
		}, dhcpsapi.ErrNull, "pScopes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := dhcpsapitest.NewMem()
			rels, err := decodeAndFree(t, m, c.build(m))
			if err == nil {
				t.Fatalf("decoded %+v, want an error", rels)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q does not say %q", err, c.text)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Errorf("error %q carries the secret", err)
			}
		})
	}
}

func TestDHCPIPAddress(t *testing.T) {
	for v, want := range map[uint32]string{0xC0000201: "192.0.2.1", 0x0A000001: "10.0.0.1", 0xFFFFFFFF: "255.255.255.255", 0: "invalid IP"} {
		if got := dhcpsapi.IPAddressToAddr(v).String(); got != want {
			t.Errorf("%#x: %s, want %s", v, got, want)
		}
	}
}

// FuzzWinDecode feeds arbitrary bytes as the array header, the element
// array, and a string block: the decoder must never panic, whatever the
// pointers say, and must list every block it can reach.
func FuzzWinDecode(f *testing.F) {
	// A valid answer aimed at the fixed addresses: one relationship whose
	// strings all point at the string block.
	rel := dhcpsapitest.RelationshipC{State: 3, PrevState: 4, Mclt: 3600, RelationshipName: 0x30000, PrimaryServerName: 0x30000, SecondaryServerName: 0x30002, PScopes: 0, SharedSecret: 0}
	f.Add(append(le32(1, 0), le64(0x20000)...), dhcpsapitest.Bytes(&rel), dhcpsapitest.UTF16Z("fo"))
	f.Add(append(le32(2, 0), le64(0x20000)...), append(dhcpsapitest.Bytes(&rel), dhcpsapitest.Bytes(&rel)...), []byte("f\x00"))
	f.Add(append(le32(1, 0), le64(0x20000)...), make([]byte, dhcpsapi.RelSize), []byte{})
	// pScopes aimed at the string block read as a DHCP_IP_ARRAY.
	scoped := rel
	scoped.PScopes = 0x30000
	f.Add(append(le32(1, 0), le64(0x20000)...), dhcpsapitest.Bytes(&scoped), append(le32(1, 0), le64(0x30000)...))
	seed, _ := hex.DecodeString("0100000000000000000001000000000001020304")
	f.Add(seed, seed, seed)
	f.Fuzz(func(t *testing.T, h, e, s []byte) {
		m := dhcpsapitest.NewMem()
		// Three blocks at fixed addresses the fuzzer can aim pointers at.
		m.Place(0x10000, h)
		m.Place(0x20000, e)
		m.Place(0x30000, s)
		rels, blocks, err := dhcpsapi.DecodeRelationshipArray(m, 0x10000)
		if err == nil && len(rels) > dhcpsapi.MaxRelationships {
			t.Fatalf("%d relationships accepted", len(rels))
		}
		for _, r := range rels {
			if len(r.Scopes) > dhcpsapi.MaxScopes {
				t.Fatalf("%d scopes accepted", len(r.Scopes))
			}
		}
		if len(blocks) > 0 && blocks[len(blocks)-1] != 0x10000 {
			t.Fatalf("the header is not freed last: %#x", blocks)
		}
		// The same bytes as statistics and subnet info never panic either.
		dhcpsapi.DecodeStatistics(m, 0x10000)
		dhcpsapi.DecodeSubnetMask(m, 0x20000)
	})
}

// BenchmarkWinDecode31 decodes and frees a full server's answer (31
// relationships) from the fake address space.
func BenchmarkWinDecode31(b *testing.B) {
	if !dhcpsapitest.ABIHost() {
		b.Skip("the 64-bit Windows layout is mirrored only on 64-bit little-endian hosts")
	}
	var specs []dhcpsapitest.Relationship
	for i := 0; i < 31; i++ {
		specs = append(specs, fullSpec(i))
	}
	m := dhcpsapitest.NewMem()
	hdr := m.RelationshipArray(specs)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := dhcpsapi.DecodeRelationshipArray(m, hdr); err != nil {
			b.Fatal(err)
		}
	}
}
