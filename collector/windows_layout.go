package collector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf16"
)

// The Windows DHCP server management API (dhcpsapi.dll) returns its answers
// as C structures in memory allocated by the RPC runtime. This file decodes
// them from raw bytes, read through memReader, so that the decoding is
// tested on every OS against byte buffers laid out exactly as the 64-bit
// Windows ABI lays them out; windows.go only supplies the real memory.
//
// Layouts (dhcpsapi.h; MS-DHCPM 2.2.1.2.98, 2.2.1.2.99, 2.2.1.2.46), 64-bit:
// DWORDs and enums are 4 bytes, pointers 8 bytes aligned on 8, a BYTE
// followed by a pointer leaves 7 bytes of padding.
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
)

// Bounds on what a decoder accepts from the API: a server holds at most 31
// failover relationships (ERROR_DHCP_FO_MAX_RELATIONSHIPS), so anything far
// beyond is a broken answer, not a big server.
const (
	maxWinRelationships = 1024    // per array and per enumeration
	maxWinScopes        = 1 << 16 // scopes of one relationship
	maxWinStringUnits   = 1024    // UTF-16 code units of one string, NUL excluded
)

// memReader reads n bytes at addr in the address space the API answered in.
// The real one (windows.go) reads process memory; tests use a fake address
// space. Address 0 is NULL and never readable.
type memReader interface {
	read(addr uintptr, n int) ([]byte, error)
}

// Decoding errors.
var (
	errWinNull    = errors.New("windows: NULL pointer where the API promises data")
	errWinTooMany = errors.New("windows: implausible element count")
	errWinString  = errors.New("windows: string not terminated within bounds")
)

// winRelationship is one DHCP_FAILOVER_RELATIONSHIP as decoded. The shared
// secret is deliberately absent: its pointer is only ever freed.
type winRelationship struct {
	PrimaryServer   netip.Addr
	SecondaryServer netip.Addr
	Mode            uint32
	ServerType      uint32
	State           uint32
	PrevState       uint32
	MCLT            uint32
	SafePeriod      uint32
	Name            string
	PrimaryName     string
	SecondaryName   string
	Scopes          int // number of IPv4 subnets in the relationship
	Percentage      uint8
}

// decodeRelationshipArray decodes the DHCP_FAILOVER_RELATIONSHIP_ARRAY at
// addr (NULL: no relationships). It always returns every block of the
// answer it found a pointer to, nested ones first, so that the caller frees
// them all with DhcpRpcFreeMemory even when decoding failed half-way.
func decodeRelationshipArray(m memReader, addr uintptr) (rels []winRelationship, blocks []uintptr, err error) {
	if addr == 0 {
		return nil, nil, nil
	}
	hdr, err := m.read(addr, arrSize)
	if err != nil {
		return nil, []uintptr{addr}, fmt.Errorf("windows: relationship array: %w", err)
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
	case n > maxWinRelationships:
		// Walking a garbage count would read garbage pointers: free the two
		// blocks known for sure and give up.
		return nil, nil, fmt.Errorf("%w: %d relationships in one answer (at most %d)", errWinTooMany, n, maxWinRelationships)
	case elems == 0:
		return nil, nil, fmt.Errorf("windows: relationship array of %d: %w", n, errWinNull)
	}
	// Collect every element's blocks before decoding any string, so that a
	// bad string in one element does not leak the others.
	raws := make([][]byte, n)
	for i := range raws {
		b, rerr := m.read(elems+uintptr(i)*relSize, relSize)
		if rerr != nil {
			return nil, blocks, fmt.Errorf("windows: relationship %d: %w", i, rerr)
		}
		raws[i] = b
		blocks = append(blocks, relationshipBlocks(m, b)...)
	}
	rels = make([]winRelationship, 0, n)
	for i, b := range raws {
		r, derr := decodeRelationship(m, b)
		if derr != nil {
			return nil, blocks, fmt.Errorf("windows: relationship %d: %w", i, derr)
		}
		rels = append(rels, r)
	}
	return rels, blocks, nil
}

// relationshipBlocks lists the blocks one relationship points to: its
// strings (the shared secret's too, unread), the scope list's element array
// and then the scope list itself.
func relationshipBlocks(m memReader, b []byte) []uintptr {
	var out []uintptr
	for _, off := range []int{relOffName, relOffPrimaryName, relOffSecondaryName, relOffSharedSecret} {
		if p := ptrAt(b, off); p != 0 {
			out = append(out, p)
		}
	}
	if scopes := ptrAt(b, relOffScopes); scopes != 0 {
		if hdr, err := m.read(scopes, arrSize); err == nil {
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
func decodeRelationship(m memReader, b []byte) (winRelationship, error) {
	if len(b) < relSize {
		return winRelationship{}, fmt.Errorf("windows: relationship of %d bytes", len(b))
	}
	le := binary.LittleEndian
	r := winRelationship{
		PrimaryServer:   dhcpIPAddress(le.Uint32(b[relOffPrimaryServer:])),
		SecondaryServer: dhcpIPAddress(le.Uint32(b[relOffSecondaryServer:])),
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
		return r, fmt.Errorf("RelationshipName: %w", errWinNull)
	}
	if r.PrimaryName, err = readUTF16(m, ptrAt(b, relOffPrimaryName)); err != nil {
		return r, fmt.Errorf("PrimaryServerName: %w", err)
	}
	if r.SecondaryName, err = readUTF16(m, ptrAt(b, relOffSecondaryName)); err != nil {
		return r, fmt.Errorf("SecondaryServerName: %w", err)
	}
	if r.Scopes, err = scopeCount(m, ptrAt(b, relOffScopes)); err != nil {
		return r, fmt.Errorf("pScopes: %w", err)
	}
	return r, nil
}

// scopeCount reads a DHCP_IP_ARRAY's NumElements (NULL: no scopes). The
// addresses themselves are not needed.
func scopeCount(m memReader, addr uintptr) (int, error) {
	if addr == 0 {
		return 0, nil
	}
	hdr, err := m.read(addr, arrSize)
	if err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint32(hdr[arrOffNum:])
	switch {
	case n > maxWinScopes:
		return 0, fmt.Errorf("%w: %d scopes (at most %d)", errWinTooMany, n, maxWinScopes)
	case n > 0 && ptrAt(hdr, arrOffElements) == 0:
		return 0, fmt.Errorf("%d scopes: %w", n, errWinNull)
	}
	return int(n), nil
}

// readUTF16 reads a NUL-terminated UTF-16LE string (NULL reads as ""). It
// reads one code unit at a time: the string's length is unknown and a wider
// read could run past the end of its block into unmapped memory.
func readUTF16(m memReader, addr uintptr) (string, error) {
	if addr == 0 {
		return "", nil
	}
	var units []uint16
	for i := 0; ; i++ {
		if i > maxWinStringUnits {
			return "", fmt.Errorf("%w (%d UTF-16 units)", errWinString, maxWinStringUnits)
		}
		b, err := m.read(addr+uintptr(2*i), 2)
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

// dhcpIPAddress converts a DHCP_IP_ADDRESS: a DWORD whose most significant
// byte is the first octet (192.0.2.1 is 0xC0000201). 0 means "not set".
func dhcpIPAddress(v uint32) netip.Addr {
	if v == 0 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
