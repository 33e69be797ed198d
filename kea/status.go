package kea

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the High Availability part of a status-get answer.
type Status struct {
	// Relationships has one entry per HA relationship, in the server's
	// order: one for a pair, several for the hub of a hub-and-spoke
	// setup (Kea 2.5.5+).
	Relationships []Relationship
}

// Relationship is one entry of status-get's `high-availability` list.
type Relationship struct {
	// Mode is Kea's ha-mode: load-balancing, hot-standby or
	// passive-backup; empty where not reported (Kea before 1.7.8).
	Mode   string
	Local  Local
	Remote *Remote // nil where Kea reports no partner (passive-backup)
}

// Local is what the polled server says of itself (`ha-servers.local`).
type Local struct {
	Role       string // primary, secondary, standby, backup
	State      string // Kea HA state name ("hot-standby", "partner-down"...)
	Scopes     []string
	ServerName string    // Kea 2.6+; empty before
	SystemTime time.Time // Kea 3.0+; zero before
}

// Remote is the polled server's view of its partner (`ha-servers.remote`).
// Pointer fields are nil where the Kea version does not report them.
type Remote struct {
	Role       string
	LastState  string // empty while never in touch (the server is waiting)
	LastScopes []string
	ServerName string    // Kea 2.6+
	SystemTime time.Time // Kea 3.0+: the partner's clock at the last contact

	// Age is the number of seconds since the last contact with the partner.
	Age     *int64
	InTouch *bool
	// CommunicationInterrupted is Kea's own flag: no answer from the
	// partner for longer than max-response-delay (Kea 1.7.8+).
	CommunicationInterrupted *bool
	// The failure-detection counters of the communication-interrupted
	// state (Kea 1.7.8+), all reset to 0 when the state is left.
	ConnectingClients  *int64
	UnackedClients     *int64
	UnackedClientsLeft *int64
	AnalyzedPackets    *int64
	// ClockSkew is the difference in seconds between the two servers'
	// clocks (Kea 3.0+).
	ClockSkew *int64
}

// The JSON shapes, as the Kea HA hook writes them
// (src/hooks/dhcp/high_availability/ha_service.cc, status-get handler;
// src/share/api/status-get.json). Unknown keys are ignored.
type wireStatusArgs struct {
	HA []wireRelationship `json:"high-availability"`
	// Kea before 1.7.8 put one relationship's ha-servers (and ha-mode)
	// directly in the arguments.
	HAServers *wireServers `json:"ha-servers"`
	HAMode    string       `json:"ha-mode"`
}

type wireRelationship struct {
	HAMode    string       `json:"ha-mode"`
	HAServers *wireServers `json:"ha-servers"`
}

type wireServers struct {
	Local  *wireLocal  `json:"local"`
	Remote *wireRemote `json:"remote"`
}

type wireLocal struct {
	Role       string   `json:"role"`
	State      string   `json:"state"`
	Scopes     []string `json:"scopes"`
	ServerName string   `json:"server-name"`
	SystemTime string   `json:"system-time"`
}

type wireRemote struct {
	Role                     string   `json:"role"`
	LastState                string   `json:"last-state"`
	LastScopes               []string `json:"last-scopes"`
	ServerName               string   `json:"server-name"`
	SystemTime               string   `json:"system-time"`
	Age                      *int64   `json:"age"`
	InTouch                  *bool    `json:"in-touch"`
	CommunicationInterrupted *bool    `json:"communication-interrupted"`
	ConnectingClients        *int64   `json:"connecting-clients"`
	UnackedClients           *int64   `json:"unacked-clients"`
	UnackedClientsLeft       *int64   `json:"unacked-clients-left"`
	AnalyzedPackets          *int64   `json:"analyzed-packets"`
	ClockSkew                *int64   `json:"clock-skew"`
}

// systemTimeLayout is Kea's system-time format: '%Y-%m-%d %H:%M:%S' in UTC
// (status-get.json, Kea 3.0).
const systemTimeLayout = "2006-01-02 15:04:05"

// ParseStatusGet decodes a complete status-get answer as any transport
// returns it (bare object, or a one-element list over HTTP) from every Kea
// version since 1.7.3. An answer without HA information is ErrNotFound.
func ParseStatusGet(b []byte) (*Status, error) {
	args, err := parseAnswer("status-get", b)
	if err != nil {
		return nil, err
	}
	return parseStatusArgs(args)
}

func parseStatusArgs(args json.RawMessage) (*Status, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: status-get: no arguments (is this a DHCP daemon with the HA hook library loaded?)", ErrNotFound)
	}
	var w wireStatusArgs
	if err := json.Unmarshal(args, &w); err != nil {
		return nil, fmt.Errorf("%w: status-get: %v", ErrProtocol, err)
	}
	var rels []wireRelationship
	switch {
	case w.HA != nil:
		rels = w.HA
	case w.HAServers != nil:
		rels = []wireRelationship{{HAMode: w.HAMode, HAServers: w.HAServers}}
	default:
		return nil, fmt.Errorf("%w: status-get: no high-availability status (is the HA hook library loaded, and the service right?)", ErrNotFound)
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("%w: status-get: empty high-availability list", ErrNotFound)
	}
	st := &Status{Relationships: make([]Relationship, 0, len(rels))}
	for i, wr := range rels {
		r, err := wr.convert()
		if err != nil {
			return nil, fmt.Errorf("%w: status-get: high-availability[%d]: %v", ErrProtocol, i, err)
		}
		st.Relationships = append(st.Relationships, r)
	}
	return st, nil
}

func (wr wireRelationship) convert() (Relationship, error) {
	if wr.HAServers == nil || wr.HAServers.Local == nil {
		return Relationship{}, fmt.Errorf("no ha-servers.local")
	}
	wl := wr.HAServers.Local
	if wl.State == "" {
		return Relationship{}, fmt.Errorf("no ha-servers.local.state")
	}
	r := Relationship{
		Mode: wr.HAMode,
		Local: Local{
			Role:       wl.Role,
			State:      wl.State,
			Scopes:     wl.Scopes,
			ServerName: wl.ServerName,
		},
	}
	var err error
	if r.Local.SystemTime, err = parseSystemTime(wl.SystemTime); err != nil {
		return Relationship{}, fmt.Errorf("local.system-time: %v", err)
	}
	if wrm := wr.HAServers.Remote; wrm != nil {
		rm := &Remote{
			Role:                     wrm.Role,
			LastState:                wrm.LastState,
			LastScopes:               wrm.LastScopes,
			ServerName:               wrm.ServerName,
			Age:                      wrm.Age,
			InTouch:                  wrm.InTouch,
			CommunicationInterrupted: wrm.CommunicationInterrupted,
			ConnectingClients:        wrm.ConnectingClients,
			UnackedClients:           wrm.UnackedClients,
			UnackedClientsLeft:       wrm.UnackedClientsLeft,
			AnalyzedPackets:          wrm.AnalyzedPackets,
			ClockSkew:                wrm.ClockSkew,
		}
		if rm.SystemTime, err = parseSystemTime(wrm.SystemTime); err != nil {
			return Relationship{}, fmt.Errorf("remote.system-time: %v", err)
		}
		r.Remote = rm
	}
	return r, nil
}

// parseSystemTime parses Kea's UTC system-time; empty gives the zero time.
func parseSystemTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(systemTimeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", cleanText(s))
	}
	return t, nil
}
