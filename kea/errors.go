package kea

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error this package returns wraps one of them (or
// a network error from the transport), so that callers classify with
// errors.Is.
var (
	// ErrAuth: the server refused our credentials (HTTP 401/403, or a
	// result 401/403 in the body).
	ErrAuth = errors.New("kea: not authorised")
	// ErrNotFound: the command or the service is not there: an unknown
	// command (result 2, typically the HA hook library is not loaded), a
	// Control Agent with no socket for the service, or a status-get answer
	// without high-availability information.
	ErrNotFound = errors.New("kea: not found")
	// ErrUnavailable: the Control Agent answered but could not reach the
	// DHCP daemon behind it (the daemon is down).
	ErrUnavailable = errors.New("kea: service unavailable behind the control agent")
	// ErrProtocol: the answer is not what the control channel protocol
	// says (not JSON, wrong shape, unexpected HTTP status, missing fields).
	ErrProtocol = errors.New("kea: protocol error")
	// ErrTooLarge: the answer exceeded the size bound (MaxResponseSize).
	ErrTooLarge = errors.New("kea: answer too large")
	// ErrClosed: the server closed the connection before sending
	// anything of an answer (a Control Agent or daemon killed during the
	// poll, a listener that accepts and hangs up): the server is not
	// reachable, as a refused connection is not.
	ErrClosed = errors.New("kea: connection closed before an answer")
	// ErrCommand: the server answered with another non-zero result.
	ErrCommand = errors.New("kea: command failed")
)

// Kea's control channel result codes (src/lib/cc/command_interpreter.h).
const (
	resultSuccess     = 0
	resultError       = 1
	resultUnsupported = 2
	resultEmpty       = 3
)

// ResultError is a non-zero result in a Kea answer. Text is Kea's own text,
// shortened and stripped of control characters; Kea never puts secrets in
// it for the commands this package sends.
type ResultError struct {
	Command string
	Result  int
	Text    string
	kind    error
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("%v: %s: result %d: %s", e.kind, e.Command, e.Result, e.Text)
}

// Unwrap returns the sentinel this result is classified as.
func (e *ResultError) Unwrap() error { return e.kind }

// classifyResult maps a non-zero result code and Kea's text to a sentinel.
// The Control Agent reports a dead daemon and a service it has no socket
// for as result 1 with a text; the texts below are those of Kea 1.8–2.6
// (src/bin/agent/ctrl_agent_command_mgr.cc), observed on Kea 2.2 in the lab.
func classifyResult(result int, text string) error {
	switch result {
	case resultUnsupported, resultEmpty:
		return ErrNotFound
	case 401, 403:
		return ErrAuth
	case resultError:
		t := strings.ToLower(text)
		switch {
		case strings.Contains(t, "unable to forward command"), strings.Contains(t, "likely to be offline"):
			return ErrUnavailable
		case strings.Contains(t, "forwarding socket is not configured"), strings.Contains(t, "not supported"):
			return ErrNotFound
		}
	}
	return ErrCommand
}

// maxErrorText bounds how much of a server's text goes into an error.
const maxErrorText = 200

// cleanText shortens s and replaces control characters, so that a hostile
// server cannot flood or forge log lines through an error.
func cleanText(s string) string {
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
