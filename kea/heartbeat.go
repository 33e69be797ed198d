package kea

import (
	"encoding/json"
	"fmt"
)

// Heartbeat is the answer to ha-heartbeat (Kea 1.4+; unsent-update-count
// since 1.9.x): the server's HA state and its count of lease updates not
// sent to the partner.
type Heartbeat struct {
	State  string
	Scopes []string
	// DateTime is the server's clock as Kea prints it (RFC 1123, GMT).
	DateTime string
	// UnsentUpdateCount counts leases allocated without sending an update
	// to the partner (partner-down); nil where the version lacks it.
	UnsentUpdateCount *int64
}

type wireHeartbeat struct {
	State             string   `json:"state"`
	Scopes            []string `json:"scopes"`
	DateTime          string   `json:"date-time"`
	UnsentUpdateCount *int64   `json:"unsent-update-count"`
}

// ParseHAHeartbeat decodes a complete ha-heartbeat answer.
func ParseHAHeartbeat(b []byte) (*Heartbeat, error) {
	args, err := parseAnswer("ha-heartbeat", b)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: ha-heartbeat: no arguments", ErrProtocol)
	}
	var w wireHeartbeat
	if err := json.Unmarshal(args, &w); err != nil {
		return nil, fmt.Errorf("%w: ha-heartbeat: %v", ErrProtocol, err)
	}
	if w.State == "" {
		return nil, fmt.Errorf("%w: ha-heartbeat: no state", ErrProtocol)
	}
	return &Heartbeat{State: w.State, Scopes: w.Scopes, DateTime: w.DateTime, UnsentUpdateCount: w.UnsentUpdateCount}, nil
}
