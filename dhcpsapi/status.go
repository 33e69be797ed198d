package dhcpsapi

import "strconv"

// Status is a Win32 or RPC status code a dhcpsapi.dll function returns
// (winerror.h; "DHCP Server Management API Error Codes"; MS-ERREF). They
// are plain numbers so that they are named and tested on every OS;
// dll_windows.go checks them against golang.org/x/sys/windows.
type Status uint32

// The statuses an operator is likely to meet.
const (
	StatusSuccess              Status = 0
	StatusAccessDenied         Status = 5
	StatusBadNetpath           Status = 53
	StatusInvalidParameter     Status = 87
	StatusSemTimeout           Status = 121
	StatusMoreData             Status = 234
	StatusWaitTimeout          Status = 258
	StatusNoMoreItems          Status = 259
	StatusLogonFailure         Status = 1326
	StatusTimeout              Status = 1460
	StatusRPCInvalidNetAddr    Status = 1707
	StatusRPCUnknownIf         Status = 1717
	StatusRPCServerUnavailable Status = 1722
	StatusRPCServerTooBusy     Status = 1723
	StatusRPCCallFailed        Status = 1726
	StatusRPCCallFailedDNE     Status = 1727
	StatusRPCProcnumOutOfRange Status = 1745
	StatusRPCUnknownAuthnSvc   Status = 1747
	StatusEPTNotRegistered     Status = 1753
	StatusRPCCallCancelled     Status = 1818
	StatusRPCSecPkgError       Status = 1825
	StatusSubnetNotPresent     Status = 20005 // ERROR_DHCP_SUBNET_NOT_PRESENT (0x4E25)
	StatusFONoRelationship     Status = 20114 // ERROR_DHCP_FO_RELATIONSHIP_DOES_NOT_EXIST (0x4E92)
	StatusFOScopeNotInRel      Status = 20115 // ERROR_DHCP_FO_SCOPE_NOT_IN_RELATIONSHIP (0x4E93)
)

// statusNames names the statuses, with what they usually mean for a
// reader of failover data.
var statusNames = map[Status]string{
	StatusAccessDenied:         "access denied (is the exporter's account in the DHCP Users group?)",
	StatusBadNetpath:           "network path not found",
	StatusInvalidParameter:     "invalid parameter",
	StatusSemTimeout:           "semaphore timeout",
	StatusMoreData:             "more data",
	StatusWaitTimeout:          "wait timeout",
	StatusNoMoreItems:          "no more items",
	StatusLogonFailure:         "logon failure",
	StatusTimeout:              "timeout",
	StatusRPCInvalidNetAddr:    "invalid network address",
	StatusRPCUnknownIf:         "the server does not offer the DHCP management interface",
	StatusRPCServerUnavailable: "RPC server unavailable (DHCP server down, unreachable or firewalled?)",
	StatusRPCServerTooBusy:     "RPC server too busy",
	StatusRPCCallFailed:        "remote procedure call failed",
	StatusRPCCallFailedDNE:     "remote procedure call failed and did not execute",
	StatusRPCProcnumOutOfRange: "procedure not supported by the server (failover needs Windows Server 2012 or later)",
	StatusRPCUnknownAuthnSvc:   "unknown authentication service",
	StatusEPTNotRegistered:     "no endpoint registered (is the DHCP Server service running?)",
	StatusRPCCallCancelled:     "remote procedure call cancelled",
	StatusRPCSecPkgError:       "security package error",
	StatusSubnetNotPresent:     "scope does not exist",
	StatusFONoRelationship:     "failover relationship does not exist",
	StatusFOScopeNotInRel:      "scope is not part of a failover relationship",
}

// Error names the status and gives its number.
func (s Status) Error() string {
	if n, ok := statusNames[s]; ok {
		return n + " (Win32 error " + strconv.FormatUint(uint64(s), 10) + ")"
	}
	return "Win32 error " + strconv.FormatUint(uint64(s), 10)
}
