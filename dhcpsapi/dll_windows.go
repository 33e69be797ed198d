//go:build windows && (amd64 || arm64)

package dhcpsapi

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Only 64-bit builds carry the DLL binding: layout.go decodes the 64-bit
// layout of the API's structures.

var (
	modDhcpsapi         = windows.NewLazySystemDLL("dhcpsapi.dll")
	procEnumRel         = modDhcpsapi.NewProc("DhcpV4FailoverEnumRelationship")
	procGetSystemTime   = modDhcpsapi.NewProc("DhcpV4FailoverGetSystemTime")
	procScopeStatistics = modDhcpsapi.NewProc("DhcpV4FailoverGetScopeStatistics")
	procSubnetInfo      = modDhcpsapi.NewProc("DhcpGetSubnetInfo")
	procSuperScopes     = modDhcpsapi.NewProc("DhcpGetSuperScopeInfoV4")
	procMibInfo         = modDhcpsapi.NewProc("DhcpGetMibInfoV5")
	procFreeMemory      = modDhcpsapi.NewProc("DhcpRpcFreeMemory")
)

// The decoder's offsets, checked against Go's own layout of the same
// structures, which on 64-bit Windows is the C layout: a wrong offset does
// not compile.
type relationshipC struct {
	PrimaryServer, SecondaryServer uint32
	Mode, ServerType               uint32
	State, PrevState               uint32
	Mclt, SafePeriod               uint32
	RelationshipName               *uint16
	PrimaryServerName              *uint16
	SecondaryServerName            *uint16
	PScopes                        unsafe.Pointer
	Percentage                     uint8
	SharedSecret                   *uint16
}

type arrayC struct {
	NumElements uint32
	Elements    unsafe.Pointer
}

type statisticsC struct {
	NumAddr, AddrFree, AddrInUse, PartnerAddrFree, ThisAddrFree, PartnerAddrInUse, ThisAddrInUse uint32
}

type hostInfoC struct {
	IpAddress   uint32
	NetBiosName *uint16
	HostName    *uint16
}

type subnetInfoC struct {
	SubnetAddress, SubnetMask uint32
	SubnetName, SubnetComment *uint16
	PrimaryHost               hostInfoC
	SubnetState               uint32
}

type superScopeTableC struct {
	NumEntries uint32
	Entries    unsafe.Pointer
}

type superScopeEntryC struct {
	SubnetAddress, SuperScopeNumber, NextInSuperScope uint32
	SuperScopeName                                    *uint16
}

type mibInfoV5C struct {
	Discovers, Offers, Requests, Acks, Naks, Declines, Releases uint32
	ServerStartTime                                             [2]uint32
	Qtn                                                         [7]uint32
	DelayedOffers, ScopesWithDelayedOffers, Scopes              uint32
	ScopeInfo                                                   unsafe.Pointer
}

type scopeMibInfoV5C struct {
	Subnet, NumAddressesInuse, NumAddressesFree, NumPendingOffers uint32
}

const (
	_ = uint(sstSize-unsafe.Sizeof(superScopeTableC{})) + uint(unsafe.Sizeof(superScopeTableC{})-sstSize)
	_ = uint(sstOffEntries-unsafe.Offsetof(superScopeTableC{}.Entries)) + uint(unsafe.Offsetof(superScopeTableC{}.Entries)-sstOffEntries)
	_ = uint(sseSize-unsafe.Sizeof(superScopeEntryC{})) + uint(unsafe.Sizeof(superScopeEntryC{})-sseSize)
	_ = uint(sseOffName-unsafe.Offsetof(superScopeEntryC{}.SuperScopeName)) + uint(unsafe.Offsetof(superScopeEntryC{}.SuperScopeName)-sseOffName)
	_ = uint(mibSize-unsafe.Sizeof(mibInfoV5C{})) + uint(unsafe.Sizeof(mibInfoV5C{})-mibSize)
	_ = uint(mibOffStartTime-unsafe.Offsetof(mibInfoV5C{}.ServerStartTime)) + uint(unsafe.Offsetof(mibInfoV5C{}.ServerStartTime)-mibOffStartTime)
	_ = uint(mibOffScopes-unsafe.Offsetof(mibInfoV5C{}.Scopes)) + uint(unsafe.Offsetof(mibInfoV5C{}.Scopes)-mibOffScopes)
	_ = uint(mibOffScopeInfo-unsafe.Offsetof(mibInfoV5C{}.ScopeInfo)) + uint(unsafe.Offsetof(mibInfoV5C{}.ScopeInfo)-mibOffScopeInfo)
	_ = uint(smibSize-unsafe.Sizeof(scopeMibInfoV5C{})) + uint(unsafe.Sizeof(scopeMibInfoV5C{})-smibSize)
)

const (
	_ = uint(relSize-unsafe.Sizeof(relationshipC{})) + uint(unsafe.Sizeof(relationshipC{})-relSize)
	_ = uint(relOffName-unsafe.Offsetof(relationshipC{}.RelationshipName)) + uint(unsafe.Offsetof(relationshipC{}.RelationshipName)-relOffName)
	_ = uint(relOffScopes-unsafe.Offsetof(relationshipC{}.PScopes)) + uint(unsafe.Offsetof(relationshipC{}.PScopes)-relOffScopes)
	_ = uint(relOffPercentage-unsafe.Offsetof(relationshipC{}.Percentage)) + uint(unsafe.Offsetof(relationshipC{}.Percentage)-relOffPercentage)
	_ = uint(relOffSharedSecret-unsafe.Offsetof(relationshipC{}.SharedSecret)) + uint(unsafe.Offsetof(relationshipC{}.SharedSecret)-relOffSharedSecret)
	_ = uint(arrSize-unsafe.Sizeof(arrayC{})) + uint(unsafe.Sizeof(arrayC{})-arrSize)
	_ = uint(arrOffElements-unsafe.Offsetof(arrayC{}.Elements)) + uint(unsafe.Offsetof(arrayC{}.Elements)-arrOffElements)
	_ = uint(statsSize-unsafe.Sizeof(statisticsC{})) + uint(unsafe.Sizeof(statisticsC{})-statsSize)
	_ = uint(subnetSize-unsafe.Sizeof(subnetInfoC{})) + uint(unsafe.Sizeof(subnetInfoC{})-subnetSize)
	_ = uint(subnetOffMask-unsafe.Offsetof(subnetInfoC{}.SubnetMask)) + uint(unsafe.Offsetof(subnetInfoC{}.SubnetMask)-subnetOffMask)
	_ = uint(subnetOffComment-unsafe.Offsetof(subnetInfoC{}.SubnetComment)) + uint(unsafe.Offsetof(subnetInfoC{}.SubnetComment)-subnetOffComment)
	_ = uint(subnetOffHostNetBios-unsafe.Offsetof(subnetInfoC{}.PrimaryHost)-unsafe.Offsetof(hostInfoC{}.NetBiosName)) + uint(unsafe.Offsetof(subnetInfoC{}.PrimaryHost)+unsafe.Offsetof(hostInfoC{}.NetBiosName)-subnetOffHostNetBios)
	_ = uint(subnetOffHostName-unsafe.Offsetof(subnetInfoC{}.PrimaryHost)-unsafe.Offsetof(hostInfoC{}.HostName)) + uint(unsafe.Offsetof(subnetInfoC{}.PrimaryHost)+unsafe.Offsetof(hostInfoC{}.HostName)-subnetOffHostName)

	// The statuses status.go names, checked likewise.
	_ = uint(uint32(windows.ERROR_ACCESS_DENIED)-uint32(StatusAccessDenied)) + uint(uint32(StatusAccessDenied)-uint32(windows.ERROR_ACCESS_DENIED))
	_ = uint(uint32(windows.RPC_S_SERVER_UNAVAILABLE)-uint32(StatusRPCServerUnavailable)) + uint(uint32(StatusRPCServerUnavailable)-uint32(windows.RPC_S_SERVER_UNAVAILABLE))
	_ = uint(uint32(windows.ERROR_NO_MORE_ITEMS)-uint32(StatusNoMoreItems)) + uint(uint32(StatusNoMoreItems)-uint32(windows.ERROR_NO_MORE_ITEMS))
	_ = uint(uint32(windows.ERROR_MORE_DATA)-uint32(StatusMoreData)) + uint(uint32(StatusMoreData)-uint32(windows.ERROR_MORE_DATA))
)

// DLL calls the real dhcpsapi.dll for one server.
type DLL struct {
	server *uint16 // NULL: this machine
}

// OpenDLL finds the functions this package calls in dhcpsapi.dll; server
// "" is this machine, else a host name or address.
func OpenDLL(server string) (*DLL, error) {
	for _, p := range []*windows.LazyProc{procEnumRel, procGetSystemTime, procScopeStatistics, procSubnetInfo, procSuperScopes, procMibInfo, procFreeMemory} {
		if err := p.Find(); err != nil {
			return nil, fmt.Errorf("dhcpsapi.dll has no %s (failover needs Windows Server 2012 / Windows 8 or later): %w", p.Name, err)
		}
	}
	d := &DLL{}
	if server != "" {
		p, err := windows.UTF16PtrFromString(server)
		if err != nil {
			return nil, fmt.Errorf("server name: %w", err)
		}
		d.server = p
	}
	return d, nil
}

// preferredMaximum asks for every relationship in one answer; Relationships
// follows the resume handle if the server pages.
const preferredMaximum = 0xFFFFFFFF

// EnumRelationships implements API.
func (d *DLL) EnumRelationships(resume *uint32) (array uintptr, read, total uint32, status Status) {
	r, _, _ := procEnumRel.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(unsafe.Pointer(resume)),
		uintptr(preferredMaximum),
		uintptr(unsafe.Pointer(&array)),
		uintptr(unsafe.Pointer(&read)),
		uintptr(unsafe.Pointer(&total)),
	)
	return array, read, total, Status(r)
}

// SystemTime implements API.
func (d *DLL) SystemTime() (serverTime, maxDelta uint32, status Status) {
	r, _, _ := procGetSystemTime.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(unsafe.Pointer(&serverTime)),
		uintptr(unsafe.Pointer(&maxDelta)),
	)
	return serverTime, maxDelta, Status(r)
}

// ScopeStatistics implements API.
func (d *DLL) ScopeStatistics(scope uint32) (stats uintptr, status Status) {
	r, _, _ := procScopeStatistics.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(scope),
		uintptr(unsafe.Pointer(&stats)),
	)
	return stats, Status(r)
}

// SubnetInfo implements API.
func (d *DLL) SubnetInfo(subnet uint32) (info uintptr, status Status) {
	r, _, _ := procSubnetInfo.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(subnet),
		uintptr(unsafe.Pointer(&info)),
	)
	return info, Status(r)
}

// SuperScopes implements API.
func (d *DLL) SuperScopes() (table uintptr, status Status) {
	r, _, _ := procSuperScopes.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(unsafe.Pointer(&table)),
	)
	return table, Status(r)
}

// MibInfo implements API.
func (d *DLL) MibInfo() (info uintptr, status Status) {
	r, _, _ := procMibInfo.Call(
		uintptr(unsafe.Pointer(d.server)),
		uintptr(unsafe.Pointer(&info)),
	)
	return info, Status(r)
}

// Free implements API.
func (d *DLL) Free(addr uintptr) {
	if addr != 0 {
		procFreeMemory.Call(addr)
	}
}

// Read implements Memory: it copies n bytes of an RPC-allocated block. The
// address comes from the API's own answer and the block lives until Free,
// so reading it is safe; the copy outlives the block.
func (d *DLL) Read(addr uintptr, n int) ([]byte, error) {
	if addr == 0 {
		return nil, ErrNull
	}
	// Reinterpret the integer as a pointer without a uintptr→unsafe.Pointer
	// conversion: the memory is not Go's, and go vet's unsafeptr check
	// rightly flags such conversions for Go memory.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(p), n))
	return out, nil
}
