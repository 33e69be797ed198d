package collector

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

// The mirror structs are the ABI only on a 64-bit little-endian host.
func needABIHost(t testing.TB) {
	t.Helper()
	var x uint16 = 1
	if unsafe.Sizeof(uintptr(0)) != 8 || *(*byte)(unsafe.Pointer(&x)) != 1 {
		t.Skip("the 64-bit Windows layout is mirrored only on 64-bit little-endian hosts")
	}
}

func TestWinLayoutOffsets(t *testing.T) {
	needABIHost(t)
	var r winRelC
	var a winArrC
	for _, c := range []struct {
		field     string
		got, want uintptr
	}{
		{"PrimaryServer", unsafe.Offsetof(r.PrimaryServer), relOffPrimaryServer},
		{"SecondaryServer", unsafe.Offsetof(r.SecondaryServer), relOffSecondaryServer},
		{"Mode", unsafe.Offsetof(r.Mode), relOffMode},
		{"ServerType", unsafe.Offsetof(r.ServerType), relOffServerType},
		{"State", unsafe.Offsetof(r.State), relOffState},
		{"PrevState", unsafe.Offsetof(r.PrevState), relOffPrevState},
		{"Mclt", unsafe.Offsetof(r.Mclt), relOffMclt},
		{"SafePeriod", unsafe.Offsetof(r.SafePeriod), relOffSafePeriod},
		{"RelationshipName", unsafe.Offsetof(r.RelationshipName), relOffName},
		{"PrimaryServerName", unsafe.Offsetof(r.PrimaryServerName), relOffPrimaryName},
		{"SecondaryServerName", unsafe.Offsetof(r.SecondaryServerName), relOffSecondaryName},
		{"pScopes", unsafe.Offsetof(r.PScopes), relOffScopes},
		{"Percentage", unsafe.Offsetof(r.Percentage), relOffPercentage},
		{"SharedSecret", unsafe.Offsetof(r.SharedSecret), relOffSharedSecret},
		{"sizeof(DHCP_FAILOVER_RELATIONSHIP)", unsafe.Sizeof(r), relSize},
		{"array NumElements", unsafe.Offsetof(a.NumElements), arrOffNum},
		{"array pointer", unsafe.Offsetof(a.Elements), arrOffElements},
		{"sizeof(array)", unsafe.Sizeof(a), arrSize},
	} {
		if c.got != c.want {
			t.Errorf("%s: ABI offset %d, decoder uses %d", c.field, c.got, c.want)
		}
	}
}

// A relationship written byte by byte from the C declaration, independent
// of any Go struct: every field distinct, padding full of garbage.
func TestWinDecodeHandLaidOut(t *testing.T) {
	m := newWinFakeMem()
	name := m.alloc(utf16z("fo-lab"))
	prim := m.alloc(utf16z("dhcp-a.example.net"))
	sec := m.alloc(utf16z("DHCP-B"))
	secret := m.alloc(utf16z("s3cret"))
	m.secret[secret] = true
	scopeElems := m.alloc([]byte{0x00, 0x02, 0x00, 0xc0, 0x00, 0x64, 0x33, 0xc6}) // 192.0.2.0, 198.51.100.0
	scopes := m.alloc(append(le32(2, 0xdeadbeef), le64(uint64(scopeElems))...))
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
	elems := m.alloc(b)
	hdr := m.alloc(append(le32(1, 0x55555555), le64(uint64(elems))...))
	m.children[elems] = []uintptr{name, prim, sec, secret, scopes}
	m.children[scopes] = []uintptr{scopeElems}
	m.children[hdr] = []uintptr{elems}

	rels, blocks, err := decodeRelationshipArray(m, hdr)
	for _, a := range blocks {
		m.free(a)
	}
	if err != nil {
		t.Fatal(err)
	}
	m.checkAllFreed(t)
	want := winRelationship{
		PrimaryServer:   netip.MustParseAddr("192.0.2.1"),
		SecondaryServer: netip.MustParseAddr("192.0.2.2"),
		Mode:            1, ServerType: 1, State: 4, PrevState: 3,
		MCLT: 3600, SafePeriod: 7200,
		Name: "fo-lab", PrimaryName: "dhcp-a.example.net", SecondaryName: "DHCP-B",
		Scopes: 2, Percentage: 5,
	}
	if len(rels) != 1 || rels[0] != want {
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
func decodeAndFree(t *testing.T, m *winFakeMem, hdr uintptr) ([]winRelationship, error) {
	t.Helper()
	rels, blocks, err := decodeRelationshipArray(m, hdr)
	for _, a := range blocks {
		m.free(a)
	}
	m.checkAllFreed(t)
	return rels, err
}

func fullSpec(i int) winSpec {
	return winSpec{
		primary: 0x0A000001 + uint32(i), secondary: 0x0A000101 + uint32(i),
		mode: uint32(i % 2), serverType: uint32(i/2) % 2,
		state: uint32(i % 14), prev: uint32((i + 1) % 14),
		mclt: 3600 + uint32(i), safePeriod: uint32(i) * 60,
		name:       strp(fmt.Sprintf("rel-%02d", i)),
		primName:   strp(fmt.Sprintf("dhcp-a-%d.example.net", i)),
		secName:    strp(fmt.Sprintf("dhcp-b-%d", i)),
		scopes:     make([]uint32, i%5),
		percentage: uint8(i),
		secret:     strp(fmt.Sprintf("secret-%d", i)),
	}
}

func TestWinDecodeEveryField(t *testing.T) {
	needABIHost(t)
	m := newWinFakeMem()
	sp := winSpec{
		primary: 0xC0A80A01, secondary: 0xAC100002,
		mode: 0, serverType: 0, state: 3, prev: 9,
		mclt: 3600, safePeriod: 3600,
		name: strp("Ünïcode-𝔣ailover"), primName: strp("a"), secName: strp(""),
		scopes:     []uint32{0xC0A80A00, 0xC0A80B00, 0xC0A80C00},
		percentage: 50, secret: strp("topsecret"),
	}
	rels, err := decodeAndFree(t, m, m.relationshipArray([]winSpec{sp}))
	if err != nil {
		t.Fatal(err)
	}
	want := winRelationship{
		PrimaryServer: netip.MustParseAddr("192.168.10.1"), SecondaryServer: netip.MustParseAddr("172.16.0.2"),
		State: 3, PrevState: 9, MCLT: 3600, SafePeriod: 3600,
		Name: "Ünïcode-𝔣ailover", PrimaryName: "a", SecondaryName: "",
		Scopes: 3, Percentage: 50,
	}
	if len(rels) != 1 || rels[0] != want {
		t.Fatalf("got %+v\nwant %+v", rels, want)
	}
}

// Garbage in the padding after NumElements and after Percentage is
// ignored.
func TestWinDecodePaddingIgnored(t *testing.T) {
	needABIHost(t)
	m := newWinFakeMem()
	hdr := m.relationshipArray([]winSpec{fullSpec(3)})
	elems := uintptr(binary.LittleEndian.Uint64(m.blocks[hdr][8:]))
	for i := 4; i < 8; i++ {
		m.blocks[hdr][i] = 0xff
	}
	for i := relOffPercentage + 1; i < relOffSharedSecret; i++ {
		m.blocks[elems][i] = 0xff
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
		m := newWinFakeMem()
		sp := fullSpec(0)
		sp.state, sp.prev = v, v
		rels, err := decodeAndFree(t, m, m.relationshipArray([]winSpec{sp}))
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
	m := newWinFakeMem()
	sp := fullSpec(1)
	sp.primName, sp.secName, sp.secret, sp.nullScopes = nil, nil, nil, true
	sp.primary, sp.secondary = 0, 0
	rels, err := decodeAndFree(t, m, m.relationshipArray([]winSpec{sp}))
	if err != nil {
		t.Fatal(err)
	}
	r := rels[0]
	if r.PrimaryName != "" || r.SecondaryName != "" || r.Scopes != 0 || r.PrimaryServer.IsValid() || r.SecondaryServer.IsValid() {
		t.Errorf("NULLs decoded as %+v", r)
	}

	// A NULL array is "no relationships" (the API's answer when none is
	// configured).
	if rels, blocks, err := decodeRelationshipArray(m, 0); rels != nil || blocks != nil || err != nil {
		t.Errorf("NULL array: %v %v %v", rels, blocks, err)
	}
}

func TestWinDecodeZeroRelationships(t *testing.T) {
	m := newWinFakeMem()
	rels, err := decodeAndFree(t, m, m.relationshipArray(nil))
	if err != nil || len(rels) != 0 {
		t.Fatalf("got %v, %v", rels, err)
	}
	// NumElements 0 with an (empty) element block: both blocks freed.
	m = newWinFakeMem()
	elems := m.alloc(make([]byte, 16))
	hdr := m.alloc(append(le32(0, 0), le64(uint64(elems))...))
	m.children[hdr] = []uintptr{elems}
	if rels, err := decodeAndFree(t, m, hdr); err != nil || len(rels) != 0 {
		t.Fatalf("got %v, %v", rels, err)
	}
}

func TestWinDecode31Relationships(t *testing.T) {
	needABIHost(t)
	m := newWinFakeMem()
	var specs []winSpec
	for i := 0; i < 31; i++ {
		specs = append(specs, fullSpec(i))
	}
	rels, err := decodeAndFree(t, m, m.relationshipArray(specs))
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 31 {
		t.Fatalf("%d relationships", len(rels))
	}
	for i, r := range rels {
		sp := specs[i]
		if r.Name != *sp.name || r.PrimaryName != *sp.primName || r.SecondaryName != *sp.secName ||
			r.State != sp.state || r.PrevState != sp.prev || r.MCLT != sp.mclt || r.SafePeriod != sp.safePeriod ||
			r.Mode != sp.mode || r.ServerType != sp.serverType || r.Percentage != sp.percentage ||
			r.Scopes != len(sp.scopes) || r.PrimaryServer != dhcpIPAddress(sp.primary) {
			t.Errorf("relationship %d: %+v", i, r)
		}
	}
}

func TestWinDecodeErrors(t *testing.T) {
	needABIHost(t)
	long := strings.Repeat("x", maxWinStringUnits+1)
	for _, c := range []struct {
		name  string
		build func(m *winFakeMem) uintptr
		want  error
		text  string
	}{
		{"NULL relationship name", func(m *winFakeMem) uintptr {
			sp := fullSpec(0)
			sp.name = nil
			return m.relationshipArray([]winSpec{sp})
		}, errWinNull, "RelationshipName"},
		{"name too long", func(m *winFakeMem) uintptr {
			sp := fullSpec(0)
			sp.name = &long
			return m.relationshipArray([]winSpec{sp})
		}, errWinString, "RelationshipName"},
		{"name not terminated", func(m *winFakeMem) uintptr {
			sp := fullSpec(0)
			sp.rawName = []byte{'a', 0, 'b', 0}
			return m.relationshipArray([]winSpec{sp})
		}, nil, "unmapped read"},
		{"second of two bad: first still freed", func(m *winFakeMem) uintptr {
			bad := fullSpec(1)
			bad.rawName = []byte{'a'}
			return m.relationshipArray([]winSpec{fullSpec(0), bad})
		}, nil, "relationship 1"},
		{"too many relationships", func(m *winFakeMem) uintptr {
			elems := m.alloc(make([]byte, relSize))
			hdr := m.alloc(append(le32(maxWinRelationships+1, 0), le64(uint64(elems))...))
			m.children[hdr] = []uintptr{elems}
			return hdr
		}, errWinTooMany, "1025 relationships"},
		{"count without elements", func(m *winFakeMem) uintptr {
			return m.alloc(append(le32(2, 0), le64(0)...))
		}, errWinNull, "array of 2"},
		{"element array too short", func(m *winFakeMem) uintptr {
			elems := m.alloc(make([]byte, relSize))
			hdr := m.alloc(append(le32(2, 0), le64(uint64(elems))...))
			m.children[hdr] = []uintptr{elems}
			return hdr
		}, nil, "relationship 1: fake: unmapped"},
		{"too many scopes", func(m *winFakeMem) uintptr {
			sp := fullSpec(0)
			sp.nullScopes = true
			hdr := m.relationshipArray([]winSpec{sp})
			elems := uintptr(binary.LittleEndian.Uint64(m.blocks[hdr][8:]))
			se := m.alloc(make([]byte, 4))
			scopes := m.alloc(append(le32(maxWinScopes+1, 0), le64(uint64(se))...))
			m.children[scopes] = []uintptr{se}
			m.children[elems] = append(m.children[elems], scopes)
			binary.LittleEndian.PutUint64(m.blocks[elems][relOffScopes:], uint64(scopes))
			return hdr
		}, errWinTooMany, "pScopes"},
		{"scopes without elements", func(m *winFakeMem) uintptr {
			sp := fullSpec(0)
			sp.nullScopes = true
			hdr := m.relationshipArray([]winSpec{sp})
			elems := uintptr(binary.LittleEndian.Uint64(m.blocks[hdr][8:]))
			scopes := m.alloc(append(le32(3, 0), le64(0)...))
			m.children[elems] = append(m.children[elems], scopes)
			binary.LittleEndian.PutUint64(m.blocks[elems][relOffScopes:], uint64(scopes))
			return hdr
		}, errWinNull, "pScopes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newWinFakeMem()
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
		if got := dhcpIPAddress(v).String(); got != want {
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
	rel := winRelC{State: 3, PrevState: 4, Mclt: 3600, RelationshipName: 0x30000, PrimaryServerName: 0x30000, SecondaryServerName: 0x30002, PScopes: 0, SharedSecret: 0}
	f.Add(append(le32(1, 0), le64(0x20000)...), structBytes(&rel), utf16z("fo"))
	f.Add(append(le32(2, 0), le64(0x20000)...), append(structBytes(&rel), structBytes(&rel)...), []byte("f\x00"))
	f.Add(append(le32(1, 0), le64(0x20000)...), make([]byte, relSize), []byte{})
	seed, _ := hex.DecodeString("0100000000000000000001000000000001020304")
	f.Add(seed, seed, seed)
	f.Fuzz(func(t *testing.T, h, e, s []byte) {
		m := &winFakeMem{next: 0x10000, blocks: map[uintptr][]byte{}, secret: map[uintptr]bool{}, freed: map[uintptr]int{}, children: map[uintptr][]uintptr{}}
		// Three blocks at fixed addresses the fuzzer can aim pointers at.
		m.blocks[0x10000] = h
		m.blocks[0x20000] = e
		m.blocks[0x30000] = s
		rels, blocks, err := decodeRelationshipArray(m, 0x10000)
		if err == nil && len(rels) > maxWinRelationships {
			t.Fatalf("%d relationships accepted", len(rels))
		}
		if len(blocks) > 0 && blocks[len(blocks)-1] != 0x10000 {
			t.Fatalf("the header is not freed last: %#x", blocks)
		}
	})
}

// BenchmarkWinPoll31 decodes, frees and maps a full server's answer (31
// relationships) from the fake address space.
func BenchmarkWinPoll31(b *testing.B) {
	needABIHost(b)
	var specs []winSpec
	for i := 0; i < 31; i++ {
		specs = append(specs, fullSpec(i))
	}
	m := newWinFakeMem()
	hdr := m.relationshipArray(specs)
	h := winStates{}
	b.ReportAllocs()
	for b.Loop() {
		rels, _, err := decodeRelationshipArray(m, hdr)
		if err != nil {
			b.Fatal(err)
		}
		h.observe(rels, nil, winT0)
	}
}
