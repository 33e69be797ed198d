package peer

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestConnJSON: appendConnJSON writes what JSONStream's encoding/json
// encoder writes, for every connection of the real captures and for
// the members they lack; what it hands back to encoding/json is said so.
func TestConnJSON(t *testing.T) {
	var conns []ConnReport
	for _, r := range fixtureReports(t) {
		for _, c := range r.Connections.All() {
			conns = append(conns, *c)
		}
	}
	fixtureConns := len(conns)
	f := func(v float64) *float64 { return &v }
	tp := func(v time.Time) *time.Time { return &v }
	base := time.Date(2026, 11, 26, 17, 21, 13, 56883000, time.UTC)
	full := ConnReport{ID: 7, Client: "10.0.0.2:1024", Server: "10.0.0.1:647", Relationship: "fo-lab",
		FirstPacket: base, LastPacket: base.Add(time.Hour), HandshakeSeen: true, Established: true, Closed: "evicted", Reconnect: 3}
	full.Sides[0] = SideReport{From: "10.0.0.2:1024", Vendor: "isc-4.4.3-P1", Messages: map[string]uint64{"STATE": 2, "BNDUPD": 5},
		Total: 7, States: []StateReport{{Time: base, State: "STARTUP", NativeState: "normal", Code: 2, Startup: true, StartTimeOfState: base.Truncate(time.Second)},
			{Time: base.Add(time.Second), State: "NORMAL", NativeState: "normal", Code: 2, StartTimeOfState: base}},
		LongestGapSeconds: 1.5, LongestGapEnd: tp(base), PartnerReceiveTimer: f(5), MCLTSeconds: f(3600),
		MaxPendingUpdates: 10, PendingUpdatesAtEnd: -1, Rejects: map[string]uint64{"connection_time_mismatch": 1, "a": 2},
		ClockOffsetLast: -1e-7, ClockOffsetMin: -2e21, ClockOffsetMax: 0.25, Holes: 1, UnframedBytes: 99}
	conns = append(conns, full, ConnReport{})
	for _, mod := range []func(c *ConnReport){
		func(c *ConnReport) { c.Relationship = "<b>&" },
		func(c *ConnReport) { c.Sides[1].Vendor = "é" },
		func(c *ConnReport) { c.FirstPacket = base.In(time.FixedZone("X", 3600)) },
		func(c *ConnReport) { c.Sides[0].ClockOffsetMax = math.NaN() },
		func(c *ConnReport) { c.Sides[0].Messages = map[string]uint64{"\"": 1} },
		func(c *ConnReport) { c.Sides[0].States = []StateReport{} },
	} {
		c := full
		c.Sides[0].States = append([]StateReport(nil), full.Sides[0].States...)
		mod(&c)
		conns = append(conns, c)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	for i := range conns {
		buf.Reset()
		werr := enc.Encode(&conns[i])
		got, ok := appendConnJSON([]byte("x"), &conns[i])
		if i < fixtureConns+2 && !ok {
			t.Errorf("connection %d (fixtures, full, zero): not encoded by hand", i)
		}
		if !ok || werr != nil {
			continue
		}
		if want := "x" + string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); string(got) != want {
			t.Errorf("connection %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
