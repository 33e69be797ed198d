// Package dhcpsapi reads Windows DHCP Server failover relationships,
// failover scope statistics, superscopes and MIB counters through
// dhcpsapi.dll (docs/windows.md).
//
// The structures the API answers with are decoded from raw bytes through
// Memory, so the decoding and the freeing of every block are tested on
// every OS (dhcpsapitest fakes the API); only dll_windows.go calls the DLL.
package dhcpsapi

import (
	"errors"
	"fmt"
)

// Errors. A failed call gives a *CallError; an answer that cannot be
// decoded gives an error matching ErrMalformed (and one of ErrNull,
// ErrTooMany, ErrString where it says so).
var (
	ErrMalformed = errors.New("dhcpsapi: malformed answer")
	ErrNull      = fmt.Errorf("%w: NULL pointer where the API promises data", ErrMalformed)
	ErrTooMany   = fmt.Errorf("%w: implausible element count", ErrMalformed)
	ErrString    = fmt.Errorf("%w: string not terminated within bounds", ErrMalformed)
	// ErrPaging: an enumeration that did not end (ERROR_MORE_DATA with
	// nothing read, or more pages than any server has).
	ErrPaging = fmt.Errorf("%w: enumeration did not progress or end", ErrMalformed)
)

// CallError is a call that returned a status other than ERROR_SUCCESS.
type CallError struct {
	Func   string // the function, "DhcpV4FailoverEnumRelationship"
	Status Status
}

func (e *CallError) Error() string { return e.Func + ": " + e.Status.Error() }

// Unwrap returns the status, so that errors.As finds it.
func (e *CallError) Unwrap() error { return e.Status }

func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }
