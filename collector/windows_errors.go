package collector

import (
	"fmt"
	"strconv"
)

// Win32 and RPC status codes the DHCP server management API returns
// (winerror.h; "DHCP Server Management API Error Codes"; MS-ERREF). They are
// plain numbers here so that the classification is tested on every OS.
const (
	winErrorSuccess          = 0
	winErrorAccessDenied     = 5
	winErrorBadNetpath       = 53
	winErrorInvalidParameter = 87
	winErrorSemTimeout       = 121
	winErrorMoreData         = 234
	winWaitTimeout           = 258
	winErrorNoMoreItems      = 259
	winErrorLogonFailure     = 1326
	winErrorTimeout          = 1460
	winRPCInvalidNetAddr     = 1707
	winRPCUnknownIf          = 1717
	winRPCServerUnavailable  = 1722
	winRPCServerTooBusy      = 1723
	winRPCCallFailed         = 1726
	winRPCCallFailedDNE      = 1727
	winRPCProcnumOutOfRange  = 1745
	winRPCUnknownAuthnSvc    = 1747
	winEPTNotRegistered      = 1753
	winRPCCallCancelled      = 1818
	winRPCSecPkgError        = 1825
	winErrorDHCPFONoRel      = 20115 // ERROR_DHCP_FO_RELATIONSHIP_DOES_NOT_EXIST
)

// winErrorNames names the codes an operator is likely to meet, with what
// they usually mean for this exporter.
var winErrorNames = map[uint32]string{
	winErrorAccessDenied:     "access denied (is the exporter's account in the DHCP Users group?)",
	winErrorBadNetpath:       "network path not found",
	winErrorInvalidParameter: "invalid parameter",
	winErrorSemTimeout:       "semaphore timeout",
	winErrorMoreData:         "more data",
	winWaitTimeout:           "wait timeout",
	winErrorNoMoreItems:      "no more items",
	winErrorLogonFailure:     "logon failure",
	winErrorTimeout:          "timeout",
	winRPCInvalidNetAddr:     "invalid network address",
	winRPCUnknownIf:          "the server does not offer the DHCP management interface",
	winRPCServerUnavailable:  "RPC server unavailable (DHCP server down, unreachable or firewalled?)",
	winRPCServerTooBusy:      "RPC server too busy",
	winRPCCallFailed:         "remote procedure call failed",
	winRPCCallFailedDNE:      "remote procedure call failed and did not execute",
	winRPCProcnumOutOfRange:  "procedure not supported by the server (failover needs Windows Server 2012 or later)",
	winRPCUnknownAuthnSvc:    "unknown authentication service",
	winEPTNotRegistered:      "no endpoint registered (is the DHCP Server service running?)",
	winRPCCallCancelled:      "remote procedure call cancelled",
	winRPCSecPkgError:        "security package error",
	winErrorDHCPFONoRel:      "failover relationship does not exist",
}

// winReasons classifies the codes; anything else is ReasonOther.
var winReasons = map[uint32]Reason{
	winErrorAccessDenied:    ReasonAuth,
	winErrorLogonFailure:    ReasonAuth,
	winRPCUnknownAuthnSvc:   ReasonAuth,
	winRPCSecPkgError:       ReasonAuth,
	winErrorBadNetpath:      ReasonConnect,
	winRPCInvalidNetAddr:    ReasonConnect,
	winRPCUnknownIf:         ReasonConnect,
	winRPCServerUnavailable: ReasonConnect,
	winRPCServerTooBusy:     ReasonConnect,
	winRPCCallFailed:        ReasonConnect,
	winRPCCallFailedDNE:     ReasonConnect,
	winEPTNotRegistered:     ReasonConnect,
	winErrorSemTimeout:      ReasonTimeout,
	winWaitTimeout:          ReasonTimeout,
	winErrorTimeout:         ReasonTimeout,
	winRPCCallCancelled:     ReasonTimeout,
	winRPCProcnumOutOfRange: ReasonProtocol,
	winErrorDHCPFONoRel:     ReasonNotFound,
}

// Win32Error is a status code returned by a dhcpsapi.dll function.
type Win32Error uint32

func (e Win32Error) Error() string {
	if n, ok := winErrorNames[uint32(e)]; ok {
		return n + " (Win32 error " + strconv.FormatUint(uint64(e), 10) + ")"
	}
	return "Win32 error " + strconv.FormatUint(uint64(e), 10)
}

// Reason classifies the code for dhcp_failover_poll_errors_total.
func (e Win32Error) Reason() Reason {
	if r, ok := winReasons[uint32(e)]; ok {
		return r
	}
	return ReasonOther
}

// winCallError turns a failed call's status into a classified error that
// names the function and the server (never anything the server returned).
func winCallError(fn, server string, code uint32) error {
	e := Win32Error(code)
	return Classified(e.Reason(), fmt.Errorf("windows: %s on %s: %w", fn, serverLabel(server), e))
}

// serverLabel is how errors name the polled server.
func serverLabel(server string) string {
	if server == "" {
		return "this machine"
	}
	return "server " + strconv.Quote(server)
}
