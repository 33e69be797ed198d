package peer

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// TestWriteTextFmt: WriteText writes what the summaries written with fmt
// were, for the real captures and for the members and values they lack.
func TestWriteTextFmt(t *testing.T) {
	reports := fixtureReports(t)
	f := func(v float64) *float64 { return &v }
	base := time.Date(2026, 11, 26, 17, 21, 13, 56883000, time.UTC)
	full := ConnReport{ID: 7, Client: "10.0.0.2:1024", Server: "10.0.0.1:647", Relationship: "fo-\"lab\"\x1b",
		FirstPacket: base, LastPacket: base.Add(time.Hour + 1234567), HandshakeSeen: true, Established: true, Closed: "evicted", Reconnect: 3}
	full.Sides[0] = SideReport{From: "[2001:db8::1234:5678:9abc]:65535", Vendor: "isc-4.4.3-P1", Messages: map[string]uint64{"STATE": 2, "BNDUPD": 5},
		Total: 7, States: []StateReport{{NativeState: "normal", Startup: true}, {NativeState: "code-99"}},
		LongestGapSeconds: 6.0005, PartnerReceiveTimer: f(5), MaxPendingUpdates: 10, PendingUpdatesAtEnd: -1,
		Rejects:         map[string]uint64{"connection_time_mismatch": 1, "a": 2},
		ClockOffsetLast: -1e-7, ClockOffsetMin: -2e21, ClockOffsetMax: 0.25, Holes: 1, UnframedBytes: 99}
	full.Sides[1] = SideReport{From: "10.0.0.1:647", Messages: map[string]uint64{"CONTACT": 1}, Total: 1,
		LongestGapSeconds: 1, PartnerReceiveTimer: f(1e-7), ClockOffsetLast: math.Copysign(0, -1), ClockOffsetMin: math.NaN(), ClockOffsetMax: math.Inf(1)}
	var mods []ConnReport
	for _, mod := range []func(c *ConnReport){
		func(c *ConnReport) {},
		func(c *ConnReport) { c.Relationship, c.Closed, c.HandshakeSeen = "", "", false },
		func(c *ConnReport) { c.Closed, c.Established, c.Reconnect = "", false, 0 },
		func(c *ConnReport) { c.Sides[0].Total, c.Sides[1].PartnerReceiveTimer = 0, f(1e30) },
		func(c *ConnReport) { c.Sides[0].Total, c.Sides[1].Total = 0, 0 },
		func(c *ConnReport) { c.Sides[1].ClockOffsetMin, c.Sides[1].ClockOffsetMax = math.Inf(-1), -0.0004 },
		func(c *ConnReport) {
			c.FirstPacket = base.In(time.FixedZone("X", 3600))
			c.LastPacket = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		func(c *ConnReport) { c.Sides[0].From = strings.Repeat("x", 30) },
	} {
		c := full
		mod(&c)
		mods = append(mods, c)
	}
	reports = append(reports, &Report{Connections: MakeConnReports(mods...), Packets: 1, Error: "peer: capture file ends inside a packet"}, &Report{})
	for i, r := range reports {
		var got, want bytes.Buffer
		if err := r.WriteText(&got); err != nil {
			t.Fatal(err)
		}
		if err := writeTextFmt(r, &want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("report %d:\n got %s\nwant %s", i, got.String(), want.String())
		}
	}
}

// writeTextFmt is WriteText as it was written with fmt: what
// WriteText must write.
func writeTextFmt(r *Report, w io.Writer) error {
	// Written as it goes, in one buffer reused: a capture may have many
	// connections.
	var b bytes.Buffer
	b.Grow(40 << 10)
	for _, c := range r.Connections.All() {
		if b.Len() >= 32<<10 {
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
			b.Reset()
		}
		fmt.Fprintf(&b, "\n== connection #%d: %s > %s", c.ID, c.Client, c.Server)
		if c.Relationship != "" {
			fmt.Fprintf(&b, ", relationship %q", c.Relationship)
		}
		b.WriteString("\n")
		how := "capture started mid-connection"
		if c.HandshakeSeen {
			how = "handshake seen"
		}
		end := "still open at the end of the capture"
		switch {
		case c.Closed != "":
			end = "closed by " + c.Closed
		case !c.Established:
			end = "never established"
		}
		fmt.Fprintf(&b, "   %s .. %s (%s), %s", c.FirstPacket.Format(timeLayout), c.LastPacket.Format(timeLayout),
			c.LastPacket.Sub(c.FirstPacket).Round(time.Millisecond), how)
		fmt.Fprintf(&b, "; %s", end)
		if c.Reconnect > 0 {
			fmt.Fprintf(&b, "; reconnect %d", c.Reconnect)
		}
		b.WriteString("\n")
		if c.Sides[0].Total+c.Sides[1].Total == 0 {
			b.WriteString("   no failover messages\n")
			continue
		}
		writeCountsFmt(&b, c)
		for _, s := range c.Sides {
			if s.Total == 0 {
				continue
			}
			fmt.Fprintf(&b, "   from %s:\n", s.From)
			if s.Vendor != "" {
				fmt.Fprintf(&b, "     vendor          %s\n", s.Vendor)
			}
			if len(s.States) > 0 {
				var parts []string
				for _, st := range s.States {
					p := st.NativeState
					if st.Startup {
						p += " (STARTUP)"
					}
					parts = append(parts, p)
				}
				fmt.Fprintf(&b, "     states          %s\n", strings.Join(parts, " > "))
			}
			gap := fmt.Sprintf("%.3fs", s.LongestGapSeconds)
			if s.PartnerReceiveTimer != nil {
				verdict := "within"
				if s.LongestGapSeconds > *s.PartnerReceiveTimer {
					verdict = "EXCEEDS"
				}
				gap += fmt.Sprintf(" (%s the partner's max-response-delay %gs)", verdict, *s.PartnerReceiveTimer)
			}
			fmt.Fprintf(&b, "     longest gap     %s\n", gap)
			if s.MaxPendingUpdates > 0 {
				fmt.Fprintf(&b, "     BNDUPD backlog  max %d, %d unacknowledged at the end\n", s.MaxPendingUpdates, s.PendingUpdatesAtEnd)
			}
			if len(s.Rejects) > 0 {
				fmt.Fprintf(&b, "     rejects         %s\n", formatCounts(s.Rejects))
			}
			fmt.Fprintf(&b, "     clock offset    %+.3fs (min %+.3fs, max %+.3fs; message time minus capture time)\n",
				s.ClockOffsetLast, s.ClockOffsetMin, s.ClockOffsetMax)
			if s.Holes > 0 || s.UnframedBytes > 0 {
				fmt.Fprintf(&b, "     capture         %d holes, %d bytes not framed\n", s.Holes, s.UnframedBytes)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d packets, %d on the failover ports, %d messages, %d connections, %d reconnects\n",
		r.Packets, r.FailoverSegments, r.Messages, r.Connections.Len(), r.Reconnects)
	if r.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Error)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeCountsFmt writes the message counts table of a connection: rows of
// fmt's "   %-12s %22s %22s", written with appends (a capture may have
// tens of thousands of connections).
func writeCountsFmt(b *bytes.Buffer, c *ConnReport) {
	row := func(name string, x, y []byte) {
		var line [80]byte
		l := append(line[:0], "   "...)
		l = append(l, name...)
		for i := len(name); i < 12; i++ {
			l = append(l, ' ')
		}
		for _, v := range [][]byte{x, y} {
			l = append(l, ' ')
			for i := len(v); i < 22; i++ {
				l = append(l, ' ')
			}
			l = append(l, v...)
		}
		b.Write(append(l, '\n'))
	}
	var x, y [24]byte
	num := func(n0, n1 uint64) ([]byte, []byte) {
		return strconv.AppendUint(x[:0], n0, 10), strconv.AppendUint(y[:0], n1, 10)
	}
	row("messages", []byte("from "+c.Sides[0].From), []byte("from "+c.Sides[1].From))
	for _, t := range failover.MessageTypes() {
		n := t.String()
		if n0, n1 := c.Sides[0].Messages[n], c.Sides[1].Messages[n]; n0+n1 > 0 {
			v0, v1 := num(n0, n1)
			row(n, v0, v1)
		}
	}
	v0, v1 := num(c.Sides[0].Total, c.Sides[1].Total)
	row("total", v0, v1)
}
