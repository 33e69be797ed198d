package kea

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// answer is the envelope of every control channel answer.
type answer struct {
	Result    *int            `json:"result"`
	Text      string          `json:"text"`
	Arguments json.RawMessage `json:"arguments"`
}

// parseAnswer decodes one answer to command and returns its arguments.
// HTTP answers come as a one-element list: the Control Agent's (one
// element per service asked for) and, as recorded from Kea 3.0.4, the
// daemon's own HTTP socket's too (kea/testdata/recorded/*-http-*); the
// UNIX socket and the Control Agent's authentication errors answer a bare
// object. Both shapes are accepted from every transport. A non-zero result
// becomes a *ResultError.
func parseAnswer(command string, b []byte) (json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s: empty answer", ErrProtocol, command)
	}
	if b[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrProtocol, command, err)
		}
		if len(list) != 1 {
			return nil, fmt.Errorf("%w: %s: answer is a list of %d elements, want 1", ErrProtocol, command, len(list))
		}
		b = bytes.TrimSpace(list[0])
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: %s: answer is not a JSON object", ErrProtocol, command)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrProtocol, command, err)
	}
	if a.Result == nil {
		return nil, fmt.Errorf("%w: %s: answer has no result", ErrProtocol, command)
	}
	if *a.Result != resultSuccess {
		return nil, &ResultError{Command: command, Result: *a.Result, Text: cleanText(a.Text), kind: classifyResult(*a.Result, a.Text)}
	}
	return a.Arguments, nil
}
