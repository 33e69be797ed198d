//go:build windows && (amd64 || arm64)

// The Windows source reads failover relationships through dhcpsapi.dll
// (docs/windows.md). Only 64-bit builds carry it: windows_layout.go decodes
// the 64-bit layout of the API's structures.

package collector

import (
	"fmt"
	"unsafe"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
	"golang.org/x/sys/windows"
)

var (
	modDhcpsapi       = windows.NewLazySystemDLL("dhcpsapi.dll")
	procEnumRel       = modDhcpsapi.NewProc("DhcpV4FailoverEnumRelationship")
	procGetSystemTime = modDhcpsapi.NewProc("DhcpV4FailoverGetSystemTime")
	procFreeMemory    = modDhcpsapi.NewProc("DhcpRpcFreeMemory")
)

// The decoder's offsets, checked against Go's own layout of the same
// structure, which on 64-bit Windows is the C layout: a wrong offset does
// not compile.
type winRelationshipC struct {
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

type winArrayC struct {
	NumElements uint32
	Elements    unsafe.Pointer
}

const (
	_ = uint(relSize-unsafe.Sizeof(winRelationshipC{})) + uint(unsafe.Sizeof(winRelationshipC{})-relSize)
	_ = uint(relOffName-unsafe.Offsetof(winRelationshipC{}.RelationshipName)) + uint(unsafe.Offsetof(winRelationshipC{}.RelationshipName)-relOffName)
	_ = uint(relOffScopes-unsafe.Offsetof(winRelationshipC{}.PScopes)) + uint(unsafe.Offsetof(winRelationshipC{}.PScopes)-relOffScopes)
	_ = uint(relOffPercentage-unsafe.Offsetof(winRelationshipC{}.Percentage)) + uint(unsafe.Offsetof(winRelationshipC{}.Percentage)-relOffPercentage)
	_ = uint(relOffSharedSecret-unsafe.Offsetof(winRelationshipC{}.SharedSecret)) + uint(unsafe.Offsetof(winRelationshipC{}.SharedSecret)-relOffSharedSecret)
	_ = uint(arrSize-unsafe.Sizeof(winArrayC{})) + uint(unsafe.Sizeof(winArrayC{})-arrSize)
	_ = uint(arrOffElements-unsafe.Offsetof(winArrayC{}.Elements)) + uint(unsafe.Offsetof(winArrayC{}.Elements)-arrOffElements)

	// The status codes windows_errors.go classifies, checked likewise.
	_ = uint(windows.ERROR_ACCESS_DENIED-winErrorAccessDenied) + uint(winErrorAccessDenied-windows.ERROR_ACCESS_DENIED)
	_ = uint(windows.RPC_S_SERVER_UNAVAILABLE-winRPCServerUnavailable) + uint(winRPCServerUnavailable-windows.RPC_S_SERVER_UNAVAILABLE)
	_ = uint(windows.ERROR_NO_MORE_ITEMS-winErrorNoMoreItems) + uint(winErrorNoMoreItems-windows.ERROR_NO_MORE_ITEMS)
	_ = uint(windows.ERROR_MORE_DATA-winErrorMoreData) + uint(winErrorMoreData-windows.ERROR_MORE_DATA)
)

func init() {
	registerSource("windows", newWindowsSource)
}

func newWindowsSource(t config.Target, logger log.Logger) (Source, error) {
	w, ok := t.Settings.(*config.Windows)
	if !ok {
		return nil, fmt.Errorf("windows: settings of type %T", t.Settings)
	}
	for _, p := range []*windows.LazyProc{procEnumRel, procGetSystemTime, procFreeMemory} {
		if err := p.Find(); err != nil {
			return nil, fmt.Errorf("windows: dhcpsapi.dll has no %s (failover needs Windows Server 2012 / Windows 8 or later): %w", p.Name, err)
		}
	}
	api := &dllAPI{}
	if w.Server != "" {
		p, err := windows.UTF16PtrFromString(w.Server)
		if err != nil {
			return nil, fmt.Errorf("windows: field server: %w", err)
		}
		api.server = p
	}
	return newWindowsSourceWith(api, w.Server, w.Relationships, logger), nil
}

// dllAPI calls the real dhcpsapi.dll. Its calls block; windowsSource runs
// them in a goroutine of their own.
type dllAPI struct {
	server *uint16 // NULL: this machine
}

// preferredMaximum asks for every relationship in one answer; the loop in
// readWinRelationships follows the resume handle if the server pages.
const preferredMaximum = 0xFFFFFFFF

func (a *dllAPI) enumRelationships(resume *uint32) (array uintptr, read, total uint32, code uint32) {
	r, _, _ := procEnumRel.Call(
		uintptr(unsafe.Pointer(a.server)),
		uintptr(unsafe.Pointer(resume)),
		uintptr(preferredMaximum),
		uintptr(unsafe.Pointer(&array)),
		uintptr(unsafe.Pointer(&read)),
		uintptr(unsafe.Pointer(&total)),
	)
	return array, read, total, uint32(r)
}

func (a *dllAPI) systemTime() (serverTime, maxDelta uint32, code uint32) {
	r, _, _ := procGetSystemTime.Call(
		uintptr(unsafe.Pointer(a.server)),
		uintptr(unsafe.Pointer(&serverTime)),
		uintptr(unsafe.Pointer(&maxDelta)),
	)
	return serverTime, maxDelta, uint32(r)
}

func (a *dllAPI) free(addr uintptr) {
	if addr != 0 {
		procFreeMemory.Call(addr)
	}
}

// read copies n bytes of an RPC-allocated block. The address comes from
// the API's own answer and the block lives until free, so reading it is
// safe; the copy outlives the block.
func (a *dllAPI) read(addr uintptr, n int) ([]byte, error) {
	if addr == 0 {
		return nil, errWinNull
	}
	// Reinterpret the integer as a pointer without a uintptr→unsafe.Pointer
	// conversion: the memory is not Go's, and go vet's unsafeptr check
	// rightly flags such conversions for Go memory.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(p), n))
	return out, nil
}
