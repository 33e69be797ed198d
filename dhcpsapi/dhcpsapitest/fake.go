// Package dhcpsapitest is a scriptable fake of dhcpsapi.dll, for tests of
// the dhcpsapi decoder and of the exporter's windows source on any OS: a
// fake address space holding the blocks an RPC answer consists of, each
// laid out as on 64-bit Windows, that records every free.
package dhcpsapitest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"
	"unsafe"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
)

// Mem is a fake address space. It records frees, and any read of a block
// marked secret.
type Mem struct {
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

// NewMem returns an empty address space.
func NewMem() *Mem {
	return &Mem{
		next:     0x10000,
		blocks:   map[uintptr][]byte{},
		secret:   map[uintptr]bool{},
		freed:    map[uintptr]int{},
		children: map[uintptr][]uintptr{},
	}
}

// Alloc places b in a fresh block, 16-aligned, with an unmapped gap after
// it so that reading past its end fails as it could on Windows.
func (m *Mem) Alloc(b []byte) uintptr {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.next
	m.blocks[a] = append([]byte(nil), b...)
	m.next += (uintptr(len(b))+15)&^15 + 0x100
	return a
}

// Place puts b at addr (for fuzzing: blocks at addresses a fuzzer can aim
// pointers at). It must not overlap another block.
func (m *Mem) Place(addr uintptr, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocks[addr] = b
}

// Block returns the bytes of the block at addr, to corrupt in place.
func (m *Mem) Block(addr uintptr) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.blocks[addr]
}

// Points records that block parent points to the blocks kids: they must
// be freed before it.
func (m *Mem) Points(parent uintptr, kids ...uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.children[parent] = append(m.children[parent], kids...)
}

// MarkSecret marks a block that must never be read.
func (m *Mem) MarkSecret(addr uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secret[addr] = true
}

// Read implements dhcpsapi.Memory.
func (m *Mem) Read(addr uintptr, n int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if addr == 0 {
		return nil, dhcpsapi.ErrNull
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

// Free records DhcpRpcFreeMemory of one block.
func (m *Mem) Free(addr uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blocks[addr]; !ok {
		m.badFree = append(m.badFree, addr)
		return
	}
	m.freed[addr]++
	m.freeOrder = append(m.freeOrder, addr)
}

// CheckAllFreed returns an error unless every block was freed exactly
// once, every child before its parent, and no secret block was read.
func (m *Mem) CheckAllFreed() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []string
	if len(m.badFree) > 0 {
		errs = append(errs, fmt.Sprintf("freed addresses that are no block: %#x", m.badFree))
	}
	var leaked []uintptr
	for a := range m.blocks {
		switch m.freed[a] {
		case 0:
			leaked = append(leaked, a)
		case 1:
		default:
			errs = append(errs, fmt.Sprintf("block %#x freed %d times", a, m.freed[a]))
		}
	}
	if len(leaked) > 0 {
		sort.Slice(leaked, func(i, j int) bool { return leaked[i] < leaked[j] })
		errs = append(errs, fmt.Sprintf("%d blocks never freed: %#x", len(leaked), leaked))
	}
	pos := map[uintptr]int{}
	for i, a := range m.freeOrder {
		pos[a] = i
	}
	for parent, kids := range m.children {
		for _, k := range kids {
			if pos[k] > pos[parent] {
				errs = append(errs, fmt.Sprintf("block %#x freed after its parent %#x", k, parent))
			}
		}
	}
	if m.secretRead > 0 {
		errs = append(errs, fmt.Sprintf("the shared secret was read %d times", m.secretRead))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// RelationshipC mirrors DHCP_FAILOVER_RELATIONSHIP with 64-bit pointers
// as integers. Go lays this struct out on a 64-bit host exactly as the C
// compiler does on 64-bit Windows (natural alignment, 7 bytes of padding
// after Percentage), so its bytes are the ABI's bytes.
type RelationshipC struct {
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

// ArrayC mirrors DHCP_FAILOVER_RELATIONSHIP_ARRAY and DHCP_IP_ARRAY.
type ArrayC struct {
	NumElements uint32
	Elements    uint64
}

// StatisticsC mirrors DHCP_FAILOVER_STATISTICS.
type StatisticsC struct {
	NumAddr, AddrFree, AddrInUse, PartnerAddrFree, ThisAddrFree, PartnerAddrInUse, ThisAddrInUse uint32
}

// SubnetInfoC mirrors DHCP_SUBNET_INFO, DHCP_HOST_INFO inlined.
type SubnetInfoC struct {
	SubnetAddress, SubnetMask uint32
	SubnetName, SubnetComment uint64
	HostIPAddress             uint32
	HostNetBiosName           uint64
	HostName                  uint64
	SubnetState               uint32
}

// SuperScopeTableC mirrors DHCP_SUPER_SCOPE_TABLE (the same shape as
// ArrayC).
type SuperScopeTableC struct {
	NumEntries uint32
	Entries    uint64
}

// SuperScopeEntryC mirrors DHCP_SUPER_SCOPE_TABLE_ENTRY: 4 bytes of
// padding before the name on a 64-bit host, as on 64-bit Windows.
type SuperScopeEntryC struct {
	SubnetAddress, SuperScopeNumber, NextInSuperScope uint32
	SuperScopeName                                    uint64
}

// MibInfoV5C mirrors DHCP_MIB_INFO_V5, DATE_TIME as two DWORDs.
type MibInfoV5C struct {
	Discovers, Offers, Requests, Acks, Naks, Declines, Releases uint32
	StartLow, StartHigh                                         uint32
	Qtn                                                         [7]uint32
	DelayedOffers, ScopesWithDelayedOffers, Scopes              uint32
	ScopeInfo                                                   uint64
}

// ScopeMibInfoV5C mirrors SCOPE_MIB_INFO_V5.
type ScopeMibInfoV5C struct {
	Subnet, NumAddressesInuse, NumAddressesFree, NumPendingOffers uint32
}

// The 32-bit (386) layouts: pointers as uint32, so that every host lays
// these out as 32-bit Windows does (4-byte alignment throughout).
type (
	SuperScopeTable32C struct {
		NumEntries uint32
		Entries    uint32
	}
	SuperScopeEntry32C struct {
		SubnetAddress, SuperScopeNumber, NextInSuperScope uint32
		SuperScopeName                                    uint32
	}
	MibInfoV5_32C struct {
		Discovers, Offers, Requests, Acks, Naks, Declines, Releases uint32
		StartLow, StartHigh                                         uint32
		Qtn                                                         [7]uint32
		DelayedOffers, ScopesWithDelayedOffers, Scopes              uint32
		ScopeInfo                                                   uint32
	}
)

// Bytes returns a mirror struct's bytes (the ABI's bytes on a 64-bit
// little-endian host).
func Bytes[T any](v *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))...)
}

// ABIHost reports whether this host lays the mirror structs out as 64-bit
// Windows does (64-bit, little-endian).
func ABIHost() bool {
	var x uint16 = 1
	return unsafe.Sizeof(uintptr(0)) == 8 && *(*byte)(unsafe.Pointer(&x)) == 1
}

// Relationship describes one relationship to lay out.
type Relationship struct {
	Primary, Secondary      uint32
	Mode, ServerType        uint32
	State, Prev             uint32
	MCLT, SafePeriod        uint32
	Name, PrimName, SecName *string // nil: NULL pointer
	Scopes                  []uint32
	NullScopes              bool
	Percentage              uint8
	Secret                  *string
	RawName                 []byte // if set, the name block's bytes as is
}

// Str returns &s, for Relationship's string fields.
func Str(s string) *string { return &s }

// UTF16Z encodes s as a NUL-terminated UTF-16LE string.
func UTF16Z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func (m *Mem) allocString(s *string) uint64 {
	if s == nil {
		return 0
	}
	return uint64(m.Alloc(UTF16Z(*s)))
}

// relationship lays out one DHCP_FAILOVER_RELATIONSHIP's pointed-to blocks
// and returns the structure itself (for an element array) and its blocks.
func (m *Mem) relationship(sp Relationship) (RelationshipC, []uintptr) {
	c := RelationshipC{
		PrimaryServer: sp.Primary, SecondaryServer: sp.Secondary,
		Mode: sp.Mode, ServerType: sp.ServerType,
		State: sp.State, PrevState: sp.Prev,
		Mclt: sp.MCLT, SafePeriod: sp.SafePeriod,
		Percentage: sp.Percentage,
	}
	if sp.RawName != nil {
		c.RelationshipName = uint64(m.Alloc(sp.RawName))
	} else {
		c.RelationshipName = m.allocString(sp.Name)
	}
	c.PrimaryServerName = m.allocString(sp.PrimName)
	c.SecondaryServerName = m.allocString(sp.SecName)
	c.SharedSecret = m.allocString(sp.Secret)
	if c.SharedSecret != 0 {
		m.MarkSecret(uintptr(c.SharedSecret))
	}
	var kids []uintptr
	for _, p := range []uint64{c.RelationshipName, c.PrimaryServerName, c.SecondaryServerName, c.SharedSecret} {
		if p != 0 {
			kids = append(kids, uintptr(p))
		}
	}
	if !sp.NullScopes {
		arr := ArrayC{NumElements: uint32(len(sp.Scopes))}
		if len(sp.Scopes) > 0 {
			e := make([]byte, 4*len(sp.Scopes))
			for i, s := range sp.Scopes {
				binary.LittleEndian.PutUint32(e[4*i:], s)
			}
			arr.Elements = uint64(m.Alloc(e))
		}
		c.PScopes = uint64(m.Alloc(Bytes(&arr)))
		if arr.Elements != 0 {
			m.Points(uintptr(c.PScopes), uintptr(arr.Elements))
		}
		kids = append(kids, uintptr(c.PScopes))
	}
	return c, kids
}

// RelationshipArray lays out a whole answer of
// DhcpV4FailoverEnumRelationship: the array header, the element array
// and everything the elements point to; it returns the header's address.
func (m *Mem) RelationshipArray(specs []Relationship) uintptr {
	elems := make([]byte, 0, len(specs)*int(unsafe.Sizeof(RelationshipC{})))
	var kids []uintptr
	for _, sp := range specs {
		c, k := m.relationship(sp)
		elems = append(elems, Bytes(&c)...)
		kids = append(kids, k...)
	}
	arr := ArrayC{NumElements: uint32(len(specs))}
	if len(specs) > 0 {
		arr.Elements = uint64(m.Alloc(elems))
		m.Points(uintptr(arr.Elements), kids...)
	}
	hdr := m.Alloc(Bytes(&arr))
	if arr.Elements != 0 {
		m.Points(hdr, uintptr(arr.Elements))
	}
	return hdr
}

// Server answers the API's calls from a script, over a Mem.
type Server struct {
	*Mem

	mu sync.Mutex
	// Pages answer DhcpV4FailoverEnumRelationship, one per call; after
	// the last, ERROR_NO_MORE_ITEMS.
	Pages   []Page
	calls   int
	resumes []uint32
	// TimeStatus, ServerTime, MaxDelta answer DhcpV4FailoverGetSystemTime.
	TimeStatus           dhcpsapi.Status
	ServerTime, MaxDelta uint32
	// Scopes answer DhcpV4FailoverGetScopeStatistics and
	// DhcpGetSubnetInfo, by scope ID; a scope not in the map gives
	// ERROR_DHCP_FO_SCOPE_NOT_IN_RELATIONSHIP.
	Scopes map[uint32]Scope
	// SuperScopeTable answers DhcpGetSuperScopeInfoV4 with
	// SuperScopeStatus; nil answers a NULL table.
	SuperScopeTable  []SuperScope
	SuperScopeStatus dhcpsapi.Status
	// Mib answers DhcpGetMibInfoV5 with MibStatus; nil answers a NULL
	// pointer.
	Mib       *Mib
	MibStatus dhcpsapi.Status
	// Block, if set, makes every call wait for it.
	Block chan struct{}
}

// Page is one answer of DhcpV4FailoverEnumRelationship.
type Page struct {
	Relationships []Relationship
	Null          bool // answer a NULL array
	Status        dhcpsapi.Status
	// ZeroRead makes RelationshipRead 0 whatever the page holds.
	ZeroRead bool
}

// Scope is a failover scope's statistics and subnet mask.
type Scope struct {
	Stats      StatisticsC
	Mask       uint32
	Name       string
	StatStatus dhcpsapi.Status // status of DhcpV4FailoverGetScopeStatistics
}

// SuperScope is one entry of the superscope table; Name nil is a NULL
// SuperScopeName.
type SuperScope struct {
	Subnet, Number, Next uint32
	Name                 *string
}

// Mib is an answer of DhcpGetMibInfoV5; Scopes fill ScopeInfo.
type Mib struct {
	Info   MibInfoV5C
	Scopes []ScopeMibInfoV5C
}

// SuperScopeTableAt lays out a DHCP_SUPER_SCOPE_TABLE and returns its
// address.
func (m *Mem) SuperScopeTableAt(entries []SuperScope) uintptr {
	var elems []byte
	var kids []uintptr
	for _, e := range entries {
		c := SuperScopeEntryC{SubnetAddress: e.Subnet, SuperScopeNumber: e.Number, NextInSuperScope: e.Next}
		c.SuperScopeName = m.allocString(e.Name)
		if c.SuperScopeName != 0 {
			kids = append(kids, uintptr(c.SuperScopeName))
		}
		elems = append(elems, Bytes(&c)...)
	}
	t := SuperScopeTableC{NumEntries: uint32(len(entries))}
	if len(entries) > 0 {
		t.Entries = uint64(m.Alloc(elems))
		m.Points(uintptr(t.Entries), kids...)
	}
	a := m.Alloc(Bytes(&t))
	if t.Entries != 0 {
		m.Points(a, uintptr(t.Entries))
	}
	return a
}

// MibAt lays out a DHCP_MIB_INFO_V5 (Scopes and ScopeInfo set from
// mib.Scopes) and returns its address.
func (m *Mem) MibAt(mib Mib) uintptr {
	c := mib.Info
	c.Scopes = uint32(len(mib.Scopes))
	c.ScopeInfo = 0
	if len(mib.Scopes) > 0 {
		var b []byte
		for i := range mib.Scopes {
			b = append(b, Bytes(&mib.Scopes[i])...)
		}
		c.ScopeInfo = uint64(m.Alloc(b))
	}
	a := m.Alloc(Bytes(&c))
	if c.ScopeInfo != 0 {
		m.Points(a, uintptr(c.ScopeInfo))
	}
	return a
}

// NewServer returns a server answering pages.
func NewServer(pages ...Page) *Server {
	return &Server{Mem: NewMem(), Pages: pages, Scopes: map[uint32]Scope{}}
}

func (s *Server) wait() {
	if s.Block != nil {
		<-s.Block
	}
}

// EnumRelationships implements dhcpsapi.API.
func (s *Server) EnumRelationships(resume *uint32) (uintptr, uint32, uint32, dhcpsapi.Status) {
	s.wait()
	s.mu.Lock()
	s.resumes = append(s.resumes, *resume)
	i := s.calls
	s.calls++
	s.mu.Unlock()
	if i >= len(s.Pages) {
		return 0, 0, 0, dhcpsapi.StatusNoMoreItems
	}
	p := s.Pages[i]
	var arr uintptr
	if !p.Null {
		arr = s.RelationshipArray(p.Relationships)
	}
	read := uint32(len(p.Relationships))
	if p.ZeroRead {
		read = 0
	}
	*resume += read
	return arr, read, 0, p.Status
}

// Calls returns how many times EnumRelationships was called and the
// resume handles it was given.
func (s *Server) Calls() (int, []uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]uint32(nil), s.resumes...)
}

// SystemTime implements dhcpsapi.API.
func (s *Server) SystemTime() (uint32, uint32, dhcpsapi.Status) {
	s.wait()
	return s.ServerTime, s.MaxDelta, s.TimeStatus
}

// ScopeStatistics implements dhcpsapi.API.
func (s *Server) ScopeStatistics(scope uint32) (uintptr, dhcpsapi.Status) {
	s.wait()
	sc, ok := s.Scopes[scope]
	switch {
	case !ok:
		return 0, dhcpsapi.StatusFOScopeNotInRel
	case sc.StatStatus != dhcpsapi.StatusSuccess:
		return 0, sc.StatStatus
	}
	return s.Alloc(Bytes(&sc.Stats)), dhcpsapi.StatusSuccess
}

// SubnetInfo implements dhcpsapi.API.
func (s *Server) SubnetInfo(subnet uint32) (uintptr, dhcpsapi.Status) {
	s.wait()
	sc, ok := s.Scopes[subnet]
	if !ok {
		return 0, dhcpsapi.StatusSubnetNotPresent
	}
	info := SubnetInfoC{SubnetAddress: subnet, SubnetMask: sc.Mask, SubnetState: 0}
	info.SubnetName = s.allocString(&sc.Name)
	info.SubnetComment = s.allocString(Str(""))
	a := s.Alloc(Bytes(&info))
	s.Points(a, uintptr(info.SubnetName), uintptr(info.SubnetComment))
	return a, dhcpsapi.StatusSuccess
}

// SuperScopes implements dhcpsapi.API.
func (s *Server) SuperScopes() (uintptr, dhcpsapi.Status) {
	s.wait()
	if s.SuperScopeStatus != dhcpsapi.StatusSuccess {
		return 0, s.SuperScopeStatus
	}
	if s.SuperScopeTable == nil {
		return 0, dhcpsapi.StatusSuccess
	}
	return s.SuperScopeTableAt(s.SuperScopeTable), dhcpsapi.StatusSuccess
}

// MibInfo implements dhcpsapi.API.
func (s *Server) MibInfo() (uintptr, dhcpsapi.Status) {
	s.wait()
	if s.MibStatus != dhcpsapi.StatusSuccess {
		return 0, s.MibStatus
	}
	if s.Mib == nil {
		return 0, dhcpsapi.StatusSuccess
	}
	return s.MibAt(*s.Mib), dhcpsapi.StatusSuccess
}
