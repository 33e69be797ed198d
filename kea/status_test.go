package kea

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func i64(v int64) *int64 { return &v }
func boolp(v bool) *bool { return &v }

func TestParseStatusGet(t *testing.T) {
	tests := []struct {
		file string
		want []Relationship
	}{
		{"status-get-2.2-ca-primary.json", []Relationship{{
			Mode:  "hot-standby",
			Local: Local{Role: "primary", State: "hot-standby", Scopes: []string{"kea-a"}},
			Remote: &Remote{Role: "standby", LastState: "hot-standby", LastScopes: []string{},
				Age: i64(1), InTouch: boolp(true), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		{"status-get-2.2-unix-primary.json", []Relationship{{
			Mode:  "hot-standby",
			Local: Local{Role: "primary", State: "hot-standby", Scopes: []string{"kea-a"}},
			Remote: &Remote{Role: "standby", LastState: "hot-standby", LastScopes: []string{},
				Age: i64(1), InTouch: boolp(true), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		{"status-get-2.2-unix-waiting.json", []Relationship{{
			Mode:  "hot-standby",
			Local: Local{Role: "standby", State: "waiting", Scopes: []string{}},
			Remote: &Remote{Role: "primary", LastScopes: []string{},
				Age: i64(0), InTouch: boolp(false), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		{"status-get-1.7.3-toplevel-ha-servers.json", []Relationship{{
			Local: Local{Role: "primary", State: "load-balancing", Scopes: []string{"server1"}},
			Remote: &Remote{Role: "secondary", LastState: "load-balancing", LastScopes: []string{"server2"},
				Age: i64(3), InTouch: boolp(true)},
		}}},
		// Recorded from real servers (testdata/recorded): the fields
		// the hand-written 2.6/3.0 answers got wrong or left out.
		{"recorded/status-get-2.6-load-balancing-kill-unix-kea-b-kea-b_load-balancing_partner_load-balancing.json", []Relationship{{
			Mode:  "load-balancing",
			Local: Local{Role: "secondary", State: "load-balancing", Scopes: []string{"kea-b"}, ServerName: "kea-b"},
			Remote: &Remote{Role: "primary", LastState: "load-balancing", LastScopes: []string{"kea-a"}, ServerName: "kea-a",
				Age: i64(0), InTouch: boolp(true), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		{"recorded/status-get-2.6-hot-standby-hub-spoke-a-killed-unix-kea-c-hub-a_partner-down_partner_unavailable-hub-b_hot-standby_partner_hot-standby.json", []Relationship{{
			Mode:  "hot-standby",
			Local: Local{Role: "standby", State: "partner-down", Scopes: []string{"kea-a"}, ServerName: "hub-a"},
			Remote: &Remote{Role: "primary", LastState: "unavailable", LastScopes: []string{"kea-a"}, ServerName: "kea-a",
				Age: i64(4), InTouch: boolp(true), CommunicationInterrupted: boolp(true),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(1), AnalyzedPackets: i64(0)},
		}, {
			Mode:  "hot-standby",
			Local: Local{Role: "standby", State: "hot-standby", Scopes: []string{}, ServerName: "hub-b"},
			Remote: &Remote{Role: "primary", LastState: "hot-standby", LastScopes: []string{"kea-b"}, ServerName: "kea-b",
				Age: i64(2), InTouch: boolp(true), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		// Kea 3.0.4 in touch: system-time and clock-skew set.
		{"recorded/status-get-3.0-hot-standby-kill-unix-kea-a-kea-a_hot-standby_partner_hot-standby.json", []Relationship{{
			Mode: "hot-standby",
			Local: Local{Role: "primary", State: "hot-standby", Scopes: []string{"kea-a"}, ServerName: "kea-a",
				SystemTime: time.Date(2026, 12, 2, 1, 39, 10, 0, time.UTC)},
			Remote: &Remote{Role: "standby", LastState: "hot-standby", LastScopes: []string{}, ServerName: "kea-b",
				SystemTime: time.Date(2026, 12, 2, 1, 39, 10, 0, time.UTC),
				Age:        i64(0), InTouch: boolp(true), CommunicationInterrupted: boolp(false), ClockSkew: i64(0),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		// Kea 3.0.4 while the partner is out of touch: "system-time": null
		// (local and remote) and "clock-skew": null.
		{"recorded/status-get-3.0-load-balancing-kill-unix-kea-a-kea-a_communication-recovery_partner_unavailable.json", []Relationship{{
			Mode:  "load-balancing",
			Local: Local{Role: "primary", State: "communication-recovery", Scopes: []string{"kea-a"}, ServerName: "kea-a"},
			Remote: &Remote{Role: "secondary", LastState: "unavailable", LastScopes: []string{"kea-b"}, ServerName: "kea-b",
				Age: i64(1), InTouch: boolp(true), CommunicationInterrupted: boolp(false),
				ConnectingClients: i64(0), UnackedClients: i64(0), UnackedClientsLeft: i64(0), AnalyzedPackets: i64(0)},
		}}},
		// Kea 3.0.4's own HTTP socket: a one-element list.
		{"recorded/status-get-3.0-passive-backup-pair-http-kea-a-kea-a_passive-backup.json", []Relationship{{
			Mode:  "passive-backup",
			Local: Local{Role: "primary", State: "passive-backup", Scopes: []string{"kea-a"}, ServerName: "kea-a"},
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			st, err := ParseStatusGet(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := dump(st.Relationships), dump(tc.want); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestParseStatusGetLabEntries parses every high-availability entry the lab
// recorded during its fault runs (Kea 2.2), wrapped as the UNIX socket
// answers, and checks the fields the source maps.
func TestParseStatusGetLabEntries(t *testing.T) {
	files, err := filepath.Glob("testdata/ha-entry-2.2-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lab entries: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			entry, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b := []byte(`{"result":0,"arguments":{"high-availability":[` + string(entry) + `]}}`)
			st, err := ParseStatusGet(b)
			if err != nil {
				t.Fatal(err)
			}
			r := st.Relationships[0]
			// The file name says mode-role-state.
			name := strings.TrimPrefix(filepath.Base(f), "ha-entry-2.2-")
			if !strings.HasPrefix(name, r.Mode+"-"+r.Local.Role+"-"+r.Local.State+"-") {
				t.Errorf("%s parsed as mode=%s role=%s state=%s", name, r.Mode, r.Local.Role, r.Local.State)
			}
			if r.Remote == nil || r.Remote.Age == nil || r.Remote.CommunicationInterrupted == nil || r.Remote.LastState == "" {
				t.Errorf("remote fields missing: %+v", r.Remote)
			}
		})
	}
}

func TestParseStatusGetErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		text string // in the error
	}{
		{"no HA", string(readTestdata(t, "status-get-2.2-unix-no-ha.json")), ErrNotFound, "HA hook"},
		{"dhcp4 offline behind CA", string(readTestdata(t, "answer-2.2-ca-dhcp4-offline.json")), ErrUnavailable, "likely to be offline"},
		{"CA without socket for service", `[{"result":1,"text":"forwarding socket is not configured for the server type dhcp4"}]`, ErrNotFound, "forwarding socket"},
		{"unsupported command", `[{"result":2,"text":"'status-get' command not supported."}]`, ErrNotFound, "not supported"},
		{"empty result", `{"result":3,"text":"nothing"}`, ErrNotFound, "result 3"},
		{"auth in body, not wrapped", `{"result":401,"text":"Unauthorized"}`, ErrAuth, "Unauthorized"},
		{"forbidden in body", `{"result":403,"text":"Forbidden"}`, ErrAuth, "Forbidden"},
		{"generic error", `{"result":1,"text":"something broke"}`, ErrCommand, "something broke"},
		{"conflict", `{"result":4,"text":"conflict"}`, ErrCommand, "result 4"},
		{"empty", ``, ErrProtocol, "empty"},
		{"not json", `<html>`, ErrProtocol, "not a JSON object"},
		{"two elements", `[{"result":0},{"result":0}]`, ErrProtocol, "2 elements"},
		{"empty list", `[]`, ErrProtocol, "0 elements"},
		{"no result", `{"arguments":{}}`, ErrProtocol, "no result"},
		{"result is a string", `{"result":"0"}`, ErrProtocol, ""},
		{"truncated", `{"result":0,"arguments":{"high-availability":[`, ErrProtocol, ""},
		{"null arguments", `{"result":0,"arguments":null}`, ErrNotFound, ""},
		{"no arguments", `{"result":0}`, ErrNotFound, ""},
		{"empty HA list", `{"result":0,"arguments":{"high-availability":[]}}`, ErrNotFound, "empty"},
		{"entry without local", `{"result":0,"arguments":{"high-availability":[{"ha-mode":"hot-standby","ha-servers":{}}]}}`, ErrProtocol, "local"},
		{"entry without ha-servers", `{"result":0,"arguments":{"high-availability":[{"ha-mode":"hot-standby"}]}}`, ErrProtocol, "local"},
		{"local without state", `{"result":0,"arguments":{"high-availability":[{"ha-servers":{"local":{"role":"primary"}}}]}}`, ErrProtocol, "state"},
		{"age not a number", `{"result":0,"arguments":{"high-availability":[{"ha-servers":{"local":{"state":"hot-standby"},"remote":{"age":"x"}}}]}}`, ErrProtocol, ""},
		{"bad system-time", `{"result":0,"arguments":{"high-availability":[{"ha-servers":{"local":{"state":"hot-standby","system-time":"yesterday"}}}]}}`, ErrProtocol, "system-time"},
		{"HA is an object", `{"result":0,"arguments":{"high-availability":{}}}`, ErrProtocol, ""},
		{"control characters in text", "{\"result\":1,\"text\":\"a\\nforged log line\"}", ErrCommand, "a forged log line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatusGet([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not contain %q", err, tc.text)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error has a line break: %q", err)
			}
		})
	}
}

func TestParseStatusGetIgnoresUnknownFields(t *testing.T) {
	b := []byte(`{"result":0,"future":{"x":[1,2]},"arguments":{"new-thing":true,"high-availability":[
		{"ha-mode":"hot-standby","relationship-name":"r1","ha-servers":{
		"local":{"state":"hot-standby","role":"primary","new-local":{"a":1}},
		"remote":{"last-state":"hot-standby","new-remote":[null]}}}]}}`)
	st, err := ParseStatusGet(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Relationships[0].Local.State != "hot-standby" || st.Relationships[0].Remote.LastState != "hot-standby" {
		t.Errorf("got %+v", st.Relationships[0])
	}
}

func TestParseHAHeartbeat(t *testing.T) {
	hb, err := ParseHAHeartbeat(readTestdata(t, "ha-heartbeat-2.2-ca-standby.json"))
	if err != nil {
		t.Fatal(err)
	}
	if hb.State != "hot-standby" || hb.UnsentUpdateCount == nil || *hb.UnsentUpdateCount != 0 || hb.DateTime != "Thu, 26 Nov 2026 17:26:02 GMT" {
		t.Errorf("got %+v", hb)
	}
	_, err = ParseHAHeartbeat(readTestdata(t, "answer-ha-heartbeat-unsupported.json"))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unsupported: got %v", err)
	}
	for _, in := range []string{`{"result":0}`, `{"result":0,"arguments":{}}`, `{"result":0,"arguments":[]}`} {
		if _, err := ParseHAHeartbeat([]byte(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: got %v, want protocol error", in, err)
		}
	}
}

func BenchmarkParseStatusGet(b *testing.B) {
	in := readTestdata(b, "recorded/status-get-3.0-hot-standby-hub-http-kea-c-hub-a_hot-standby_partner_hot-standby-hub-b_hot-standby_partner_hot-standby.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseStatusGet(in); err != nil {
			b.Fatal(err)
		}
	}
}
