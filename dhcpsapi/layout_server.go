package dhcpsapi

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// The server-wide answers: the superscope table (DhcpGetSuperScopeInfoV4)
// and the MIB counters (DhcpGetMibInfoV5), decoded from raw bytes as
// layout.go decodes the failover structures. docs/windows.md lists them
// with their sources.
//
// Layouts (dhcpsapi.h; MS-DHCPM 2.2.1.2.85, 2.2.1.2.86, 2.2.1.2.95,
// 2.2.1.2.11; learn.microsoft.com "SCOPE_MIB_INFO_V5 structure"), for
// 64-bit (amd64, arm64) and 32-bit (386) Windows. The decoders read the
// 64-bit layout, the one dll_windows.go binds; the 32-bit offsets are
// written down, checked by the layout tests and by a 32-bit compile of the
// Wine test's C declarations (integration/testdata/wine/dhcpsapi.c), so
// that a 386 binding has them ready.
//
//	DHCP_SUPER_SCOPE_TABLE                 64-bit  32-bit
//	  cEntries  DWORD                          0       0
//	  pEntries  DHCP_SUPER_SCOPE_TABLE_ENTRY*  8       4   (64-bit: 4 bytes of padding before)
//	  size                                    16       8
//
//	DHCP_SUPER_SCOPE_TABLE_ENTRY           64-bit  32-bit
//	  SubnetAddress    DHCP_IP_ADDRESS         0       0
//	  SuperScopeNumber DWORD                   4       4
//	  NextInSuperScope DWORD                   8       8
//	  SuperScopeName   LPWSTR                 16      12   (64-bit: 4 bytes of padding before)
//	  size                                    24      16
//
//	DHCP_MIB_INFO_V5                       64-bit  32-bit
//	  Discovers, Offers, Requests, Acks,
//	  Naks, Declines, Releases  DWORD    0..24   0..24   (4 bytes apart)
//	  ServerStartTime DATE_TIME               28      28   (two DWORDs, low first)
//	  QtnNumLeases … QtnIASErrors DWORD  36..60  36..60  (seven, unused by the server)
//	  DelayedOffers DWORD                     64      64
//	  ScopesWithDelayedOffers DWORD           68      68
//	  Scopes DWORD                            72      72
//	  ScopeInfo LPSCOPE_MIB_INFO_V5           80      76   (64-bit: 4 bytes of padding before)
//	  size                                    88      80
//
//	SCOPE_MIB_INFO_V5 (16 bytes on both): Subnet 0, NumAddressesInuse 4,
//	NumAddressesFree 8, NumPendingOffers 12 (DWORDs).
const (
	sstOffNum     = 0
	sstOffEntries = 8
	sstSize       = 16

	sseOffSubnet = 0
	sseOffNumber = 4
	sseOffNext   = 8
	sseOffName   = 16
	sseSize      = 24

	mibOffDiscovers     = 0
	mibOffOffers        = 4
	mibOffRequests      = 8
	mibOffAcks          = 12
	mibOffNaks          = 16
	mibOffDeclines      = 20
	mibOffReleases      = 24
	mibOffStartTime     = 28
	mibOffQtnNumLeases  = 36
	mibOffDelayedOffers = 64
	mibOffScopesDelayed = 68
	mibOffScopes        = 72
	mibOffScopeInfo     = 80
	mibSize             = 88

	smibOffSubnet  = 0
	smibOffInUse   = 4
	smibOffFree    = 8
	smibOffPending = 12
	smibSize       = 16
)

// The same structures on 32-bit (386) Windows, where pointers are 4 bytes
// aligned on 4 and no padding precedes them.
const (
	sst32OffEntries = 4
	sst32Size       = 8

	sse32OffName = 12
	sse32Size    = 16

	mib32OffScopeInfo = 76
	mib32Size         = 80
)

// MaxServerScopes bounds the entries of the superscope table and of the
// MIB's per-scope array: the scopes of a whole server. Far beyond any real
// server; a count past it is a broken answer.
const MaxServerScopes = 1 << 16

// SuperScopeNone is the NextInSuperScope value of the last subnet of a
// superscope (dhcpsapi.h: "this table entry is the last one"), and the
// SuperScopeNumber of a subnet in none as servers answer it.
const SuperScopeNone = 0xFFFFFFFF

// SuperScopeEntry is one DHCP_SUPER_SCOPE_TABLE_ENTRY: a scope of the
// server and the superscope it belongs to. The table lists every scope of
// the server (learn.microsoft.com, DhcpGetSuperScopeInfoV4, Remarks);
// Name is "" for a scope in no superscope.
type SuperScopeEntry struct {
	Subnet netip.Addr // the scope ID
	Number uint32     // SuperScopeNumber, as sent
	Next   uint32     // NextInSuperScope, as sent
	Name   string     // SuperScopeName; "" for NULL
}

// decodeSuperScopeTable decodes the DHCP_SUPER_SCOPE_TABLE at addr (NULL:
// no scopes). Like decodeRelationshipArray it returns every block it found
// a pointer to, nested ones first, also when decoding failed.
func decodeSuperScopeTable(m Memory, addr uintptr) (entries []SuperScopeEntry, blocks []uintptr, err error) {
	if addr == 0 {
		return nil, nil, nil
	}
	hdr, err := m.Read(addr, sstSize)
	if err != nil {
		return nil, []uintptr{addr}, fmt.Errorf("superscope table: %w", err)
	}
	n := binary.LittleEndian.Uint32(hdr[sstOffNum:])
	elems := ptrAt(hdr, sstOffEntries)
	defer func() {
		if elems != 0 {
			blocks = append(blocks, elems)
		}
		blocks = append(blocks, addr)
	}()
	switch {
	case n == 0:
		return nil, nil, nil
	case n > MaxServerScopes:
		return nil, nil, fmt.Errorf("%w: %d superscope table entries (at most %d)", ErrTooMany, n, MaxServerScopes)
	case elems == 0:
		return nil, nil, fmt.Errorf("superscope table of %d: %w", n, ErrNull)
	}
	b, err := m.Read(elems, int(n)*sseSize)
	if err != nil {
		return nil, nil, fmt.Errorf("superscope table of %d: %w", n, err)
	}
	// Every name block is listed before any is decoded, so that a bad
	// name leaks none of the others.
	for i := 0; i < int(n); i++ {
		if p := ptrAt(b, i*sseSize+sseOffName); p != 0 {
			blocks = append(blocks, p)
		}
	}
	le := binary.LittleEndian
	entries = make([]SuperScopeEntry, n)
	for i := range entries {
		e := b[i*sseSize : (i+1)*sseSize]
		entries[i] = SuperScopeEntry{
			Subnet: ipAddress(le.Uint32(e[sseOffSubnet:])),
			Number: le.Uint32(e[sseOffNumber:]),
			Next:   le.Uint32(e[sseOffNext:]),
		}
		if entries[i].Name, err = readUTF16(m, ptrAt(e, sseOffName)); err != nil {
			return nil, blocks, fmt.Errorf("superscope table entry %d: SuperScopeName: %w", i, err)
		}
	}
	return entries, blocks, nil
}

// MibInfo is a DHCP_MIB_INFO_V5: the server's message counters since it
// last started, and its scopes' address counts.
type MibInfo struct {
	// Message counters since ServerStartTime (MS-DHCPM 2.2.1.2.95: "since
	// the DHCP server was last started"). DWORDs: they also wrap at 2^32.
	Discovers, Offers, Requests, Acks, Naks, Declines, Releases uint32
	// ServerStartTime is when the DHCP server last started; the zero Time
	// if the server sent 0.
	ServerStartTime time.Time
	// DelayedOffers: offers sent with a configured delay;
	// ScopesWithDelayedOffers: scopes with a delay above 0.
	DelayedOffers, ScopesWithDelayedOffers uint32
	// Scopes are the per-scope counts, every scope of the server.
	Scopes []ScopeMib
}

// ScopeMib is one SCOPE_MIB_INFO_V5.
type ScopeMib struct {
	Subnet netip.Addr // the scope ID
	// InUse, Free: addresses leased and free; PendingOffers: addresses
	// offered whose client has not yet sent its REQUEST.
	InUse, Free, PendingOffers uint32
}

// decodeMibInfo decodes the DHCP_MIB_INFO_V5 at addr and lists its blocks
// (ScopeInfo, then the structure) for the caller to free.
func decodeMibInfo(m Memory, addr uintptr) (mib MibInfo, blocks []uintptr, err error) {
	if addr == 0 {
		return MibInfo{}, nil, fmt.Errorf("MIB info: %w", ErrNull)
	}
	b, err := m.Read(addr, mibSize)
	if err != nil {
		return MibInfo{}, []uintptr{addr}, fmt.Errorf("MIB info: %w", err)
	}
	le := binary.LittleEndian
	n := le.Uint32(b[mibOffScopes:])
	elems := ptrAt(b, mibOffScopeInfo)
	if elems != 0 {
		blocks = append(blocks, elems)
	}
	blocks = append(blocks, addr)
	mib = MibInfo{
		Discovers: le.Uint32(b[mibOffDiscovers:]), Offers: le.Uint32(b[mibOffOffers:]),
		Requests: le.Uint32(b[mibOffRequests:]), Acks: le.Uint32(b[mibOffAcks:]),
		Naks: le.Uint32(b[mibOffNaks:]), Declines: le.Uint32(b[mibOffDeclines:]),
		Releases:                le.Uint32(b[mibOffReleases:]),
		ServerStartTime:         dateTime(le.Uint32(b[mibOffStartTime:]), le.Uint32(b[mibOffStartTime+4:])),
		DelayedOffers:           le.Uint32(b[mibOffDelayedOffers:]),
		ScopesWithDelayedOffers: le.Uint32(b[mibOffScopesDelayed:]),
	}
	switch {
	case n == 0:
		return mib, blocks, nil
	case n > MaxServerScopes:
		return MibInfo{}, blocks, fmt.Errorf("%w: %d scopes in the MIB (at most %d)", ErrTooMany, n, MaxServerScopes)
	case elems == 0:
		return MibInfo{}, blocks, fmt.Errorf("MIB ScopeInfo of %d: %w", n, ErrNull)
	}
	s, err := m.Read(elems, int(n)*smibSize)
	if err != nil {
		return MibInfo{}, blocks, fmt.Errorf("MIB ScopeInfo of %d: %w", n, err)
	}
	mib.Scopes = make([]ScopeMib, n)
	for i := range mib.Scopes {
		e := s[i*smibSize:]
		mib.Scopes[i] = ScopeMib{
			Subnet:        ipAddress(le.Uint32(e[smibOffSubnet:])),
			InUse:         le.Uint32(e[smibOffInUse:]),
			Free:          le.Uint32(e[smibOffFree:]),
			PendingOffers: le.Uint32(e[smibOffPending:]),
		}
	}
	return mib, blocks, nil
}

// fileTimeEpoch is 1601-01-01 UTC, DATE_TIME's epoch, in Unix seconds
// (MS-DHCPM 2.2.1.2.11: 100-nanosecond intervals since January 1, 1601
// UTC).
const fileTimeEpoch = -11644473600

// dateTime converts a DATE_TIME; 0 gives the zero Time. Every other
// value fits: 2^64 intervals are about 58,000 years.
func dateTime(low, high uint32) time.Time {
	v := uint64(high)<<32 | uint64(low)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(fileTimeEpoch+int64(v/1e7), int64(v%1e7)*100).UTC()
}

// DateTime returns t as a DATE_TIME's (low, high) DWORDs, for fakes.
func DateTime(t time.Time) (low, high uint32) {
	v := uint64(t.Unix()-fileTimeEpoch)*1e7 + uint64(t.Nanosecond()/100)
	return uint32(v), uint32(v >> 32)
}
