// Package omapi is a read-only client for ISC dhcpd's OMAPI management
// protocol: message codec, HMAC authentication, and the failover-state
// object (docs/protocol.md §3).
//
// The Client can only open and refresh objects: it has no way to send an
// update, a delete or a notify, which would change the server's state.
package omapi

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is. Timeouts and connection failures
// are left as the net package's errors.
var (
	// ErrProtocol: the server sent something this client cannot accept
	// (bad framing, a length over a bound, an unexpected reply).
	ErrProtocol = errors.New("omapi: protocol error")
	// ErrAuth: the key was refused (unknown key, bad signature, a server
	// that wants a key we do not have), or a reply was not signed with it.
	ErrAuth = errors.New("omapi: authentication failed")
	// ErrNotFound: no object matches the specification (an unknown
	// failover relationship name).
	ErrNotFound = errors.New("omapi: no object matches")
	// ErrClosed: the server closed the connection.
	ErrClosed = errors.New("omapi: connection closed by server")
)

// Result codes of a STATUS message (isc-dhcp includes/omapip/result.h; the
// DHCP class is 6 << 16).
const (
	ResultSuccess    uint32 = 0
	ResultNoPerm     uint32 = 6  // ISC_R_NOPERM
	ResultNotFound   uint32 = 23 // ISC_R_NOTFOUND
	resultDHCPClass  uint32 = 6 << 16
	ResultNoKeys            = resultDHCPClass + 9  // DHCP_R_NOKEYS
	ResultKeyUnknown        = resultDHCPClass + 10 // DHCP_R_KEY_UNKNOWN
	ResultInvalidKey        = resultDHCPClass + 11 // DHCP_R_INVALIDKEY
)

// StatusError is a STATUS reply with a failure result. It matches ErrAuth
// or ErrNotFound through errors.Is where the result says so.
type StatusError struct {
	Result  uint32
	Message string // the server's text, if any (never holds a secret)
}

func (e *StatusError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("omapi: server answered status %#x: %q", e.Result, e.Message)
	}
	return fmt.Sprintf("omapi: server answered status %#x", e.Result)
}

// Unwrap maps the result onto the package's sentinels.
func (e *StatusError) Unwrap() error {
	switch e.Result {
	case ResultNotFound:
		return ErrNotFound
	case ResultNoPerm, ResultNoKeys, ResultKeyUnknown, ResultInvalidKey:
		return ErrAuth
	}
	return nil
}

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
