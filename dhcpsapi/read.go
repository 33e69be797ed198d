package dhcpsapi

import (
	"fmt"
	"net/netip"
)

// API is the part of dhcpsapi.dll this package calls, one method per
// function, with the status each returns. DLL implements it with the real
// DLL (Windows only); dhcpsapitest.Server with a fake address space. Its
// calls block (an RPC to an unreachable server can take tens of seconds):
// the caller bounds them.
type API interface {
	Memory
	// EnumRelationships calls DhcpV4FailoverEnumRelationship once; resume
	// is the resume handle, in and out.
	EnumRelationships(resume *uint32) (array uintptr, read, total uint32, status Status)
	// SystemTime calls DhcpV4FailoverGetSystemTime.
	SystemTime() (serverTime, maxDelta uint32, status Status)
	// ScopeStatistics calls DhcpV4FailoverGetScopeStatistics.
	ScopeStatistics(scope uint32) (stats uintptr, status Status)
	// SubnetInfo calls DhcpGetSubnetInfo.
	SubnetInfo(subnet uint32) (info uintptr, status Status)
	// SuperScopes calls DhcpGetSuperScopeInfoV4.
	SuperScopes() (table uintptr, status Status)
	// MibInfo calls DhcpGetMibInfoV5.
	MibInfo() (info uintptr, status Status)
	// Free calls DhcpRpcFreeMemory on one block.
	Free(addr uintptr)
}

// maxEnumCalls bounds the calls of one enumeration: a server holds at
// most 31 relationships and answers them in one or a few pages.
const maxEnumCalls = 64

// Relationships enumerates every failover relationship of the server,
// freeing every block the API returned (nested ones first), on success and
// on every error path.
func Relationships(api API) ([]Relationship, error) {
	var (
		all    []Relationship
		resume uint32
	)
	for call := 0; ; call++ {
		if call == maxEnumCalls {
			return nil, fmt.Errorf("%w (%d calls)", ErrPaging, maxEnumCalls)
		}
		arr, read, _, st := api.EnumRelationships(&resume)
		rels, blocks, err := decodeRelationshipArray(api, arr)
		free(api, blocks)
		switch st {
		case StatusSuccess, StatusMoreData:
		case StatusNoMoreItems:
			return all, nil
		default:
			return nil, &CallError{Func: "DhcpV4FailoverEnumRelationship", Status: st}
		}
		if err != nil {
			return nil, malformed(err)
		}
		all = append(all, rels...)
		if len(all) > MaxRelationships {
			return nil, fmt.Errorf("%w: more than %d relationships", ErrTooMany, MaxRelationships)
		}
		if read == 0 || len(rels) == 0 {
			if st == StatusMoreData {
				return nil, fmt.Errorf("%w (ERROR_MORE_DATA with nothing read)", ErrPaging)
			}
			return all, nil
		}
	}
}

// SystemTime reads the server's time (seconds since 1970) and the largest
// clock difference it allows between partners (seconds).
func SystemTime(api API) (serverTime, maxDelta uint32, err error) {
	t, d, st := api.SystemTime()
	if st != StatusSuccess {
		return 0, 0, &CallError{Func: "DhcpV4FailoverGetSystemTime", Status: st}
	}
	return t, d, nil
}

// Statistics reads a failover scope's address statistics
// (DhcpV4FailoverGetScopeStatistics), freeing what the API returned.
func Statistics(api API, scope netip.Addr) (ScopeStatistics, error) {
	addr, st := api.ScopeStatistics(IPAddress(scope))
	if st != StatusSuccess {
		free(api, []uintptr{addr})
		return ScopeStatistics{}, &CallError{Func: "DhcpV4FailoverGetScopeStatistics", Status: st}
	}
	stats, err := decodeStatistics(api, addr)
	free(api, []uintptr{addr})
	return stats, malformed(err)
}

// SubnetPrefix reads a scope's subnet (DhcpGetSubnetInfo): the scope ID
// with its mask's length, 192.0.2.0/24; a mask that is not contiguous
// ones gives the scope ID alone (/32).
func SubnetPrefix(api API, scope netip.Addr) (netip.Prefix, error) {
	p, _, err := Subnet(api, scope)
	return p, err
}

// Subnet reads a scope's subnet as SubnetPrefix does, and its name
// (SubnetName, "" if none).
func Subnet(api API, scope netip.Addr) (netip.Prefix, string, error) {
	info, st := api.SubnetInfo(IPAddress(scope))
	if st != StatusSuccess {
		free(api, []uintptr{info})
		return netip.Prefix{}, "", &CallError{Func: "DhcpGetSubnetInfo", Status: st}
	}
	mask, name, blocks, err := decodeSubnetInfo(api, info)
	free(api, blocks)
	if err != nil {
		return netip.Prefix{}, "", malformed(err)
	}
	return subnetPrefix(scope, mask), name, nil
}

// subnetPrefix is the scope ID with the mask's length; a mask that is not
// contiguous ones gives the scope ID alone.
func subnetPrefix(scope netip.Addr, mask uint32) netip.Prefix {
	ones := 0
	for m := mask; m&(1<<31) != 0; m <<= 1 {
		ones++
	}
	if ones == 0 || (ones < 32 && mask<<ones != 0) {
		ones = 32
	}
	p, err := scope.Prefix(ones)
	if err != nil {
		return netip.PrefixFrom(scope, 32)
	}
	return p
}

// SuperScopes reads the superscope table (DhcpGetSuperScopeInfoV4): every
// scope of the server with the superscope it is in, freeing what the API
// returned.
func SuperScopes(api API) ([]SuperScopeEntry, error) {
	table, st := api.SuperScopes()
	entries, blocks, err := decodeSuperScopeTable(api, table)
	free(api, blocks)
	if st != StatusSuccess {
		return nil, &CallError{Func: "DhcpGetSuperScopeInfoV4", Status: st}
	}
	return entries, malformed(err)
}

// Mib reads the server's counters and per-scope address counts
// (DhcpGetMibInfoV5), freeing what the API returned.
func Mib(api API) (MibInfo, error) {
	info, st := api.MibInfo()
	if st != StatusSuccess {
		free(api, []uintptr{info})
		return MibInfo{}, &CallError{Func: "DhcpGetMibInfoV5", Status: st}
	}
	mib, blocks, err := decodeMibInfo(api, info)
	free(api, blocks)
	return mib, malformed(err)
}

func free(api API, blocks []uintptr) {
	for _, b := range blocks {
		if b != 0 {
			api.Free(b)
		}
	}
}

// malformed makes a decoding error match ErrMalformed (a fake's unmapped
// read does not by itself).
func malformed(err error) error {
	if err == nil || isMalformed(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
