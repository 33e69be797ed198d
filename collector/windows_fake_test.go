package collector

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"testing"
	"unicode/utf16"
	"unsafe"
)

// winFakeMem is a fake address space holding the blocks an RPC answer of
// dhcpsapi.dll would consist of, each laid out as on 64-bit Windows. It
// records frees, and any read of a block marked secret.
type winFakeMem struct {
	mu         sync.Mutex
	next       uintptr
	blocks     map[uintptr][]byte
	secret     map[uintptr]bool
	freed      map[uintptr]int
	freeOrder  []uintptr
	children   map[uintptr][]uintptr // parent block → blocks it points to
	secretRead int
	badFree    []uintptr
}

func newWinFakeMem() *winFakeMem {
	return &winFakeMem{
		next:     0x10000,
		blocks:   map[uintptr][]byte{},
		secret:   map[uintptr]bool{},
		freed:    map[uintptr]int{},
		children: map[uintptr][]uintptr{},
	}
}

// alloc places b in a fresh block, 16-aligned, with an unmapped gap after
// it so that reading past its end fails as it could on Windows.
func (m *winFakeMem) alloc(b []byte) uintptr {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.next
	m.blocks[a] = append([]byte(nil), b...)
	m.next += (uintptr(len(b))+15)&^15 + 0x100
	return a
}

func (m *winFakeMem) read(addr uintptr, n int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr == 0 {
		return nil, errWinNull
	}
	if n < 0 || addr+uintptr(n) < addr {
		return nil, fmt.Errorf("fake: read of %d bytes at %#x wraps", n, addr)
	}
	for base, b := range m.blocks {
		if addr >= base && addr+uintptr(n) <= base+uintptr(len(b)) {
			if m.freed[base] > 0 {
				return nil, fmt.Errorf("fake: read of freed block %#x", base)
			}
			if m.secret[base] {
				m.secretRead++
			}
			return append([]byte(nil), b[addr-base:addr-base+uintptr(n)]...), nil
		}
	}
	return nil, fmt.Errorf("fake: unmapped read of %d bytes at %#x", n, addr)
}

func (m *winFakeMem) free(addr uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blocks[addr]; !ok {
		m.badFree = append(m.badFree, addr)
		return
	}
	m.freed[addr]++
	m.freeOrder = append(m.freeOrder, addr)
}

// checkAllFreed fails the test unless every block was freed exactly once,
// every child before its parent, and the secret never read.
func (m *winFakeMem) checkAllFreed(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.badFree) > 0 {
		t.Errorf("freed addresses that are no block: %#x", m.badFree)
	}
	var leaked []uintptr
	for a := range m.blocks {
		switch m.freed[a] {
		case 0:
			leaked = append(leaked, a)
		case 1:
		default:
			t.Errorf("block %#x freed %d times", a, m.freed[a])
		}
	}
	if len(leaked) > 0 {
		sort.Slice(leaked, func(i, j int) bool { return leaked[i] < leaked[j] })
		t.Errorf("%d blocks never freed: %#x", len(leaked), leaked)
	}
	pos := map[uintptr]int{}
	for i, a := range m.freeOrder {
		pos[a] = i
	}
	for parent, kids := range m.children {
		for _, k := range kids {
			if pos[k] > pos[parent] {
				t.Errorf("block %#x freed after its parent %#x", k, parent)
			}
		}
	}
	if m.secretRead > 0 {
		t.Errorf("the shared secret was read %d times", m.secretRead)
	}
}

// winRelC mirrors DHCP_FAILOVER_RELATIONSHIP with 64-bit pointers as
// integers. Go lays this struct out on a 64-bit host exactly as the C
// compiler does on 64-bit Windows (natural alignment, 7 bytes of padding
// after Percentage), so its bytes are the ABI's bytes.
type winRelC struct {
	PrimaryServer, SecondaryServer uint32
	Mode, ServerType               uint32
	State, PrevState               uint32
	Mclt, SafePeriod               uint32
	RelationshipName               uint64
	PrimaryServerName              uint64
	SecondaryServerName            uint64
	PScopes                        uint64
	Percentage                     uint8
	SharedSecret                   uint64
}

// winArrC mirrors DHCP_FAILOVER_RELATIONSHIP_ARRAY and DHCP_IP_ARRAY.
type winArrC struct {
	NumElements uint32
	Elements    uint64
}

func structBytes[T any](v *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))...)
}

// winSpec describes one relationship to lay out in the fake memory.
type winSpec struct {
	primary, secondary      uint32
	mode, serverType        uint32
	state, prev             uint32
	mclt, safePeriod        uint32
	name, primName, secName *string // nil: NULL pointer
	scopes                  []uint32
	nullScopes              bool
	percentage              uint8
	secret                  *string
	rawName                 []byte // if set, the name block's bytes as is
}

func strp(s string) *string { return &s }

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func (m *winFakeMem) allocString(s *string) uint64 {
	if s == nil {
		return 0
	}
	return uint64(m.alloc(utf16z(*s)))
}

// relationship lays out one DHCP_FAILOVER_RELATIONSHIP's pointed-to blocks
// and returns the structure itself (for an element array) and its blocks.
func (m *winFakeMem) relationship(sp winSpec) (winRelC, []uintptr) {
	c := winRelC{
		PrimaryServer: sp.primary, SecondaryServer: sp.secondary,
		Mode: sp.mode, ServerType: sp.serverType,
		State: sp.state, PrevState: sp.prev,
		Mclt: sp.mclt, SafePeriod: sp.safePeriod,
		Percentage: sp.percentage,
	}
	if sp.rawName != nil {
		c.RelationshipName = uint64(m.alloc(sp.rawName))
	} else {
		c.RelationshipName = m.allocString(sp.name)
	}
	c.PrimaryServerName = m.allocString(sp.primName)
	c.SecondaryServerName = m.allocString(sp.secName)
	c.SharedSecret = m.allocString(sp.secret)
	if c.SharedSecret != 0 {
		m.secret[uintptr(c.SharedSecret)] = true
	}
	var kids []uintptr
	for _, p := range []uint64{c.RelationshipName, c.PrimaryServerName, c.SecondaryServerName, c.SharedSecret} {
		if p != 0 {
			kids = append(kids, uintptr(p))
		}
	}
	if !sp.nullScopes {
		arr := winArrC{NumElements: uint32(len(sp.scopes))}
		if len(sp.scopes) > 0 {
			e := make([]byte, 4*len(sp.scopes))
			for i, s := range sp.scopes {
				binary.LittleEndian.PutUint32(e[4*i:], s)
			}
			arr.Elements = uint64(m.alloc(e))
		}
		c.PScopes = uint64(m.alloc(structBytes(&arr)))
		if arr.Elements != 0 {
			m.children[uintptr(c.PScopes)] = []uintptr{uintptr(arr.Elements)}
		}
		kids = append(kids, uintptr(c.PScopes))
	}
	return c, kids
}

// relationshipArray lays out a whole answer: the array header, the
// element array and everything the elements point to; it returns the
// header's address.
func (m *winFakeMem) relationshipArray(specs []winSpec) uintptr {
	elems := make([]byte, 0, len(specs)*relSize)
	var kids []uintptr
	for _, sp := range specs {
		c, k := m.relationship(sp)
		elems = append(elems, structBytes(&c)...)
		kids = append(kids, k...)
	}
	arr := winArrC{NumElements: uint32(len(specs))}
	if len(specs) > 0 {
		arr.Elements = uint64(m.alloc(elems))
		m.children[uintptr(arr.Elements)] = kids
	}
	hdr := m.alloc(structBytes(&arr))
	if arr.Elements != 0 {
		m.children[hdr] = []uintptr{uintptr(arr.Elements)}
	}
	return hdr
}

// winFakeAPI answers DhcpV4FailoverEnumRelationship from a script of
// pages, over a winFakeMem.
type winFakeAPI struct {
	*winFakeMem
	pages      []winFakePage
	calls      int
	resumes    []uint32
	timeCode   uint32
	serverTime uint32
	maxDelta   uint32
	block      chan struct{} // if set, every call waits for it
}

type winFakePage struct {
	specs []winSpec
	null  bool // answer a NULL array
	code  uint32
	// zeroRead makes RelationshipRead 0 whatever the page holds.
	zeroRead bool
}

func (a *winFakeAPI) enumRelationships(resume *uint32) (uintptr, uint32, uint32, uint32) {
	if a.block != nil {
		<-a.block
	}
	a.resumes = append(a.resumes, *resume)
	i := a.calls
	a.calls++
	if i >= len(a.pages) {
		return 0, 0, 0, winErrorNoMoreItems
	}
	p := a.pages[i]
	var arr uintptr
	if !p.null {
		arr = a.relationshipArray(p.specs)
	}
	read := uint32(len(p.specs))
	if p.zeroRead {
		read = 0
	}
	*resume += read
	return arr, read, 0, p.code
}

func (a *winFakeAPI) systemTime() (uint32, uint32, uint32) {
	return a.serverTime, a.maxDelta, a.timeCode
}
