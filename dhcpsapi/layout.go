package dhcpsapi

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unicode/utf16"
)

// The API returns its answers as C structures in memory allocated by the
// RPC runtime. This file decodes them from raw bytes, read through Memory,
// so that the decoding is tested on every OS against byte buffers laid out
// exactly as the 64-bit Windows ABI lays them out; dll_windows.go only
// supplies the real memory.
//
// Layouts (dhcpsapi.h; MS-DHCPM 2.2.1.2.98, 2.2.1.2.99, 2.2.1.2.46,
// 2.2.1.2.100, 2.2.1.2.8, 2.2.1.2.7), 64-bit: DWORDs and enums are 4 bytes,
// pointers 8 bytes aligned on 8, a BYTE or DWORD followed by a pointer
// leaves padding. docs/windows.md lists them with their sources.
//
//	DHCP_FAILOVER_RELATIONSHIP (80 bytes)
//	   0 PrimaryServer    DHCP_IP_ADDRESS (DWORD, 192.0.2.1 = 0xC0000201)
//	   4 SecondaryServer  DHCP_IP_ADDRESS
//	   8 Mode             DHCP_FAILOVER_MODE (0 LoadBalance, 1 HotStandby)
//	  12 ServerType       DHCP_FAILOVER_SERVER (0 PrimaryServer, 1 SecondaryServer)
//	  16 State            FSM_STATE
//	  20 PrevState        FSM_STATE
//	  24 Mclt             DWORD seconds
//	  28 SafePeriod       DWORD seconds
//	  32 RelationshipName LPWSTR
//	  40 PrimaryServerName LPWSTR
//	  48 SecondaryServerName LPWSTR
//	  56 pScopes          LPDHCP_IP_ARRAY
//	  64 Percentage       BYTE, then 7 bytes of padding
//	  72 SharedSecret     LPWSTR (never read: only freed)
//
//	DHCP_FAILOVER_RELATIONSHIP_ARRAY and DHCP_IP_ARRAY (16 bytes)
//	   0 NumElements DWORD, then 4 bytes of padding
//	   8 pointer to NumElements elements
//
//	DHCP_FAILOVER_STATISTICS (28 bytes): seven DWORDs
//	   0 NumAddr  4 AddrFree  8 AddrInUse  12 PartnerAddrFree
//	  16 ThisAddrFree  20 PartnerAddrInUse  24 ThisAddrInUse
//
//	DHCP_SUBNET_INFO (56 bytes)
//	   0 SubnetAddress DHCP_IP_ADDRESS
//	   4 SubnetMask    DHCP_IP_MASK (DWORD)
//	   8 SubnetName    LPWSTR
//	  16 SubnetComment LPWSTR
//	  24 PrimaryHost   DHCP_HOST_INFO: 24 IpAddress DWORD (4 bytes padding),
//	                   32 NetBiosName LPWSTR, 40 HostName LPWSTR
//	  48 SubnetState   DHCP_SUBNET_STATE, then 4 bytes of padding
const (
	relOffPrimaryServer   = 0
	relOffSecondaryServer = 4
	relOffMode            = 8
	relOffServerType      = 12
	relOffState           = 16
	relOffPrevState       = 20
	relOffMclt            = 24
	relOffSafePeriod      = 28
	relOffName            = 32
	relOffPrimaryName     = 40
	relOffSecondaryName   = 48
	relOffScopes          = 56
	relOffPercentage      = 64
	relOffSharedSecret    = 72
	relSize               = 80

	arrOffNum      = 0
	arrOffElements = 8
	arrSize        = 16

	statsSize = 28

	subnetOffAddress     = 0
	subnetOffMask        = 4
	subnetOffName        = 8
	subnetOffComment     = 16
	subnetOffHostNetBios = 32
	subnetOffHostName    = 40
	subnetSize           = 56
)

// Bounds on what a decoder accepts from the API: a server holds at most 31
// failover relationships (ERROR_DHCP_FO_MAX_RELATIONSHIPS), so anything far
// beyond is a broken answer, not a big server.
const (
	MaxRelationships = 1024    // per array and per enumeration
	MaxScopes        = 1 << 16 // scopes of one relationship
	MaxStringUnits   = 1024    // UTF-16 code units of one string, NUL excluded
)

// DHCP_FAILOVER_MODE and DHCP_FAILOVER_SERVER values (MS-DHCPM 2.2.1.1.18,
// 2.2.1.1.19).
const (
	ModeLoadBalance = 0
	ModeHotStandby  = 1

	ServerPrimary   = 0
	ServerSecondary = 1
)

// Memory reads n bytes at addr in the address space the API answered in.
// The DLL's reads process memory; dhcpsapitest's is a fake address space.
// Address 0 is NULL and never readable.
type Memory interface {
	Read(addr uintptr, n int) ([]byte, error)
}

// Relationship is one DHCP_FAILOVER_RELATIONSHIP as decoded. The shared
// secret is deliberately absent: its pointer is only ever freed.
type Relationship struct {
	PrimaryServer   netip.Addr
	SecondaryServer netip.Addr
	Mode            uint32 // ModeLoadBalance, ModeHotStandby, or another value as sent
	ServerType      uint32 // ServerPrimary, ServerSecondary, or another value as sent
	// State and PrevState are FSM_STATE values as sent (failover.State
	// numbers them the same); a value outside the enumeration is kept.
	State      uint32
	PrevState  uint32
	MCLT       uint32 // seconds
	SafePeriod uint32 // seconds
	Name       string
	// PrimaryName and SecondaryName are the servers' host names.
	PrimaryName   string
	SecondaryName string
	// Scopes are the relationship's IPv4 subnets (scope IDs).
	Scopes     []netip.Addr
	Percentage uint8
}

// decodeRelationshipArray decodes the DHCP_FAILOVER_RELATIONSHIP_ARRAY at
// addr (NULL: no relationships). It always returns every block of the
// answer it found a pointer to, nested ones first, so that the caller frees
// them all with DhcpRpcFreeMemory even when decoding failed half-way.
func decodeRelationshipArray(m Memory, addr uintptr) (rels []Relationship, blocks []uintptr, err error) {
	if addr == 0 {
		return nil, nil, nil
	}
	hdr, err := m.Read(addr, arrSize)
	if err != nil {
		return nil, []uintptr{addr}, fmt.Errorf("relationship array: %w", err)
	}
	n := binary.LittleEndian.Uint32(hdr[arrOffNum:])
	elems := uintptr(binary.LittleEndian.Uint64(hdr[arrOffElements:]))
	// The element array and the header are freed last, after the blocks
	// their elements point to.
	defer func() {
		if elems != 0 {
			blocks = append(blocks, elems)
		}
		blocks = append(blocks, addr)
	}()
	switch {
	case n == 0:
		return nil, nil, nil
	case n > MaxRelationships:
		// Walking a garbage count would read garbage pointers: free the two
		// blocks known for sure and give up.
		return nil, nil, fmt.Errorf("%w: %d relationships in one answer (at most %d)", ErrTooMany, n, MaxRelationships)
	case elems == 0:
		return nil, nil, fmt.Errorf("relationship array of %d: %w", n, ErrNull)
	}
	// Collect every element's blocks before decoding any string, so that a
	// bad string in one element does not leak the others.
	raws := make([][]byte, n)
	for i := range raws {
		b, rerr := m.Read(elems+uintptr(i)*relSize, relSize)
		if rerr != nil {
			return nil, blocks, fmt.Errorf("relationship %d: %w", i, rerr)
		}
		raws[i] = b
		blocks = append(blocks, relationshipBlocks(m, b)...)
	}
	rels = make([]Relationship, 0, n)
	for i, b := range raws {
		r, derr := decodeRelationship(m, b)
		if derr != nil {
			return nil, blocks, fmt.Errorf("relationship %d: %w", i, derr)
		}
		rels = append(rels, r)
	}
	return rels, blocks, nil
}

// relationshipBlocks lists the blocks one relationship points to: its
// strings (the shared secret's too, unread), the scope list's element array
// and then the scope list itself.
func relationshipBlocks(m Memory, b []byte) []uintptr {
	var out []uintptr
	for _, off := range []int{relOffName, relOffPrimaryName, relOffSecondaryName, relOffSharedSecret} {
		if p := ptrAt(b, off); p != 0 {
			out = append(out, p)
		}
	}
	if scopes := ptrAt(b, relOffScopes); scopes != 0 {
		if hdr, err := m.Read(scopes, arrSize); err == nil {
			if e := ptrAt(hdr, arrOffElements); e != 0 {
				out = append(out, e)
			}
		}
		out = append(out, scopes)
	}
	return out
}

// decodeRelationship decodes one DHCP_FAILOVER_RELATIONSHIP from its 80
// bytes, following its pointers through m.
func decodeRelationship(m Memory, b []byte) (Relationship, error) {
	if len(b) < relSize {
		return Relationship{}, fmt.Errorf("%w: relationship of %d bytes", ErrMalformed, len(b))
	}
	le := binary.LittleEndian
	r := Relationship{
		PrimaryServer:   ipAddress(le.Uint32(b[relOffPrimaryServer:])),
		SecondaryServer: ipAddress(le.Uint32(b[relOffSecondaryServer:])),
		Mode:            le.Uint32(b[relOffMode:]),
		ServerType:      le.Uint32(b[relOffServerType:]),
		State:           le.Uint32(b[relOffState:]),
		PrevState:       le.Uint32(b[relOffPrevState:]),
		MCLT:            le.Uint32(b[relOffMclt:]),
		SafePeriod:      le.Uint32(b[relOffSafePeriod:]),
		Percentage:      b[relOffPercentage],
	}
	var err error
	if r.Name, err = readUTF16(m, ptrAt(b, relOffName)); err != nil {
		return r, fmt.Errorf("RelationshipName: %w", err)
	}
	if r.Name == "" {
		return r, fmt.Errorf("RelationshipName: %w", ErrNull)
	}
	if r.PrimaryName, err = readUTF16(m, ptrAt(b, relOffPrimaryName)); err != nil {
		return r, fmt.Errorf("PrimaryServerName: %w", err)
	}
	if r.SecondaryName, err = readUTF16(m, ptrAt(b, relOffSecondaryName)); err != nil {
		return r, fmt.Errorf("SecondaryServerName: %w", err)
	}
	if r.Scopes, err = decodeIPArray(m, ptrAt(b, relOffScopes)); err != nil {
		return r, fmt.Errorf("pScopes: %w", err)
	}
	return r, nil
}

// decodeIPArray decodes a DHCP_IP_ARRAY (NULL: no addresses).
func decodeIPArray(m Memory, addr uintptr) ([]netip.Addr, error) {
	if addr == 0 {
		return nil, nil
	}
	hdr, err := m.Read(addr, arrSize)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[arrOffNum:])
	elems := ptrAt(hdr, arrOffElements)
	switch {
	case n == 0:
		return nil, nil
	case n > MaxScopes:
		return nil, fmt.Errorf("%w: %d scopes (at most %d)", ErrTooMany, n, MaxScopes)
	case elems == 0:
		return nil, fmt.Errorf("%d scopes: %w", n, ErrNull)
	}
	b, err := m.Read(elems, 4*int(n))
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = ipAddress(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// ScopeStatistics is one DHCP_FAILOVER_STATISTICS: the addresses of a
// failover scope as the polled server sees them.
type ScopeStatistics struct {
	// NumAddr: addresses of the scope that can be leased.
	NumAddr uint32
	// AddrFree, AddrInUse: free and leased addresses of the scope.
	AddrFree, AddrInUse uint32
	// PartnerAddrFree, ThisAddrFree: free addresses the partner and this
	// server may lease (the split of the free pool between them).
	PartnerAddrFree, ThisAddrFree uint32
	// PartnerAddrInUse, ThisAddrInUse: leased addresses on each server.
	PartnerAddrInUse, ThisAddrInUse uint32
}

// decodeStatistics decodes the DHCP_FAILOVER_STATISTICS at addr.
func decodeStatistics(m Memory, addr uintptr) (ScopeStatistics, error) {
	if addr == 0 {
		return ScopeStatistics{}, fmt.Errorf("statistics: %w", ErrNull)
	}
	b, err := m.Read(addr, statsSize)
	if err != nil {
		return ScopeStatistics{}, fmt.Errorf("statistics: %w", err)
	}
	le := binary.LittleEndian
	return ScopeStatistics{
		NumAddr: le.Uint32(b[0:]), AddrFree: le.Uint32(b[4:]), AddrInUse: le.Uint32(b[8:]),
		PartnerAddrFree: le.Uint32(b[12:]), ThisAddrFree: le.Uint32(b[16:]),
		PartnerAddrInUse: le.Uint32(b[20:]), ThisAddrInUse: le.Uint32(b[24:]),
	}, nil
}

// decodeSubnetMask decodes the SubnetMask of the DHCP_SUBNET_INFO at addr,
// and lists the blocks the answer consists of (its strings, then the
// structure) for the caller to free.
func decodeSubnetMask(m Memory, addr uintptr) (mask uint32, blocks []uintptr, err error) {
	mask, _, blocks, err = decodeSubnetInfo(m, addr)
	return mask, blocks, err
}

// decodeSubnetInfo decodes the SubnetMask and SubnetName (the scope's
// name, "" for NULL) of the DHCP_SUBNET_INFO at addr, and lists its
// blocks as decodeSubnetMask does.
func decodeSubnetInfo(m Memory, addr uintptr) (mask uint32, name string, blocks []uintptr, err error) {
	if addr == 0 {
		return 0, "", nil, fmt.Errorf("subnet info: %w", ErrNull)
	}
	b, err := m.Read(addr, subnetSize)
	if err != nil {
		return 0, "", []uintptr{addr}, fmt.Errorf("subnet info: %w", err)
	}
	for _, off := range []int{subnetOffName, subnetOffComment, subnetOffHostNetBios, subnetOffHostName} {
		if p := ptrAt(b, off); p != 0 {
			blocks = append(blocks, p)
		}
	}
	blocks = append(blocks, addr)
	if name, err = readUTF16(m, ptrAt(b, subnetOffName)); err != nil {
		return 0, "", blocks, fmt.Errorf("subnet info: SubnetName: %w", err)
	}
	return binary.LittleEndian.Uint32(b[subnetOffMask:]), name, blocks, nil
}

// readUTF16 reads a NUL-terminated UTF-16LE string (NULL reads as ""). It
// reads one code unit at a time: the string's length is unknown and a wider
// read could run past the end of its block into unmapped memory.
func readUTF16(m Memory, addr uintptr) (string, error) {
	if addr == 0 {
		return "", nil
	}
	var units []uint16
	for i := 0; ; i++ {
		if i > MaxStringUnits {
			return "", fmt.Errorf("%w (%d UTF-16 units)", ErrString, MaxStringUnits)
		}
		b, err := m.Read(addr+uintptr(2*i), 2)
		if err != nil {
			return "", err
		}
		u := binary.LittleEndian.Uint16(b)
		if u == 0 {
			break
		}
		units = append(units, u)
	}
	// utf16.Decode turns unpaired surrogates into U+FFFD, so the result is
	// always valid UTF-8 (a valid label value).
	return string(utf16.Decode(units)), nil
}

func ptrAt(b []byte, off int) uintptr {
	return uintptr(binary.LittleEndian.Uint64(b[off:]))
}

// ipAddress converts a DHCP_IP_ADDRESS: a DWORD whose most significant
// byte is the first octet (192.0.2.1 is 0xC0000201). 0 means "not set".
func ipAddress(v uint32) netip.Addr {
	if v == 0 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// IPAddress returns a as a DHCP_IP_ADDRESS (0 for anything but IPv4).
func IPAddress(a netip.Addr) uint32 {
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
