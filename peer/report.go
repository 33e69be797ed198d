package peer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Report is the analysis of a capture: per failover connection its ends
// and a summary of each side. The timeline is not part of it: Analyze
// hands each event to AnalyzeOptions.Timeline as it is read, and the
// output streams it (WriteText's caller, JSONStream).
type Report struct {
	Packets          uint64      `json:"packets"`
	FailoverSegments uint64      `json:"failover_segments"`
	Messages         uint64      `json:"messages"`
	Reconnects       int         `json:"reconnects"`
	Connections      ConnReports `json:"connections"`
	// Error is set when the capture could not be read to its end; the
	// report covers what was read.
	Error string `json:"error,omitempty"`
}

// ConnReport is one connection of a Report.
type ConnReport struct {
	ID            int       `json:"id"`
	Client        string    `json:"client"`
	Server        string    `json:"server"`
	Relationship  string    `json:"relationship,omitempty"`
	FirstPacket   time.Time `json:"first_packet"`
	LastPacket    time.Time `json:"last_packet"`
	HandshakeSeen bool      `json:"handshake_seen"`
	Established   bool      `json:"established"`
	Closed        string    `json:"closed,omitempty"` // FIN, RST, idle, evicted, reused
	// Reconnect is 0 for the first connection between two addresses
	// that carried messages, 1 for the next, and so on.
	Reconnect int           `json:"reconnect"`
	Sides     [2]SideReport `json:"sides"`

	// The addresses of the two ends (in order), and whether any message
	// was seen: what numbering reconnects needs.
	pair        [2]netip.Addr
	hasMessages bool
}

// SideReport is what one end of a connection sent.
type SideReport struct {
	From     string            `json:"from"`
	Vendor   string            `json:"vendor,omitempty"`
	Messages map[string]uint64 `json:"messages"`
	Total    uint64            `json:"total"`
	States   []StateReport     `json:"states,omitempty"`
	// LongestGap between two messages of this end; the other end drops
	// the connection past its receive-timer (its max-response-delay).
	LongestGapSeconds   float64           `json:"longest_gap_seconds"`
	LongestGapEnd       *time.Time        `json:"longest_gap_end,omitempty"`
	PartnerReceiveTimer *float64          `json:"partner_receive_timer_seconds,omitempty"`
	MCLTSeconds         *float64          `json:"mclt_seconds,omitempty"`
	MaxPendingUpdates   int               `json:"max_pending_updates"`
	PendingUpdatesAtEnd int               `json:"pending_updates_at_end"`
	Rejects             map[string]uint64 `json:"rejects,omitempty"`
	ClockOffsetLast     float64           `json:"clock_offset_seconds"`
	ClockOffsetMin      float64           `json:"clock_offset_min_seconds"`
	ClockOffsetMax      float64           `json:"clock_offset_max_seconds"`
	Holes               uint64            `json:"capture_holes"`
	UnframedBytes       uint64            `json:"unframed_bytes"`
}

// StateReport is one STATE message.
type StateReport struct {
	Time             time.Time `json:"time"`
	State            string    `json:"state"`
	NativeState      string    `json:"native_state"`
	Code             uint8     `json:"code"`
	Startup          bool      `json:"startup,omitempty"`
	StartTimeOfState time.Time `json:"start_time_of_state"`
}

// AnalyzeOptions configure Analyze.
type AnalyzeOptions struct {
	Ports []uint16
	// Timeline, if set, receives every event as it is read; the event is
	// valid only during the call. Nothing of the timeline is kept, so
	// the output streams it (text lines, JSONStream.Event).
	Timeline func(*Event)
	// EventSlot, if set, returns the Event the next event is filled
	// into, which Timeline then receives: a consumer that queues the
	// events hands out its queue's own slots and copies none (an Event is
	// some 300 bytes, two million of them in a large capture). Every
	// field of the slot is overwritten.
	EventSlot func() *Event
}

// analysis is the state of Analyze. Only connections in the tracker's
// table (at most its MaxConns) are held as *Conn, with their STATE
// messages; a connection that leaves the table is reduced to its
// summary. Memory grows with the connections of the capture (about a
// kilobyte of summary each), never with its messages.
type analysis struct {
	live map[*Conn]*[2][]StateReport
	// done holds the summaries in chunks, each in the place of its ID
	// (the tracker numbers connections 1, 2, ...): one slice grown by
	// append would copy them all again each time it doubles, and the
	// report comes out in order without a sort, in the same chunks
	// (ConnReports). taken has a bit per ID stored; extra holds any ID
	// out of that scheme.
	done  [][]ConnReport
	taken []uint64
	extra []ConnReport
	ndone int
	// addrs remembers the text of recent assigned addresses (a pool's
	// addresses come back in BNDUPD after BNDUPD, and in their BNDACK).
	addrs addrCache
}

func (a *analysis) summarize(c *Conn) {
	states := a.live[c]
	delete(a.live, c)
	r := ConnReport{
		ID: c.ID, Client: c.endString(0), Server: c.endString(1), Relationship: c.Name,
		FirstPacket: c.FirstPacket.UTC(), LastPacket: c.LastPacket.UTC(), HandshakeSeen: c.FromSYN,
		Established: c.Established, Closed: c.CloseReason,
		pair: [2]netip.Addr{c.Ends[0].Addr, c.Ends[1].Addr}, hasMessages: c.Messages() > 0,
	}
	if r.pair[1].Less(r.pair[0]) {
		r.pair[0], r.pair[1] = r.pair[1], r.pair[0]
	}
	for i := range c.Ends {
		var st []StateReport
		if states != nil {
			st = states[i]
		}
		r.Sides[i] = sideReport(c, i, st)
	}
	a.put(&r)
	a.ndone++
}

// put stores a summary in its place.
func (a *analysis) put(r *ConnReport) {
	k := r.ID - 1
	if k < 0 {
		a.extra = append(a.extra, *r)
		return
	}
	ci := k / connChunk
	for len(a.done) <= ci {
		a.done = append(a.done, nil)
	}
	if a.done[ci] == nil {
		a.done[ci] = make([]ConnReport, connChunk)
	}
	// Whether the place is taken is a bit of its own: reading the
	// place would touch the chunk's fresh page before it is written,
	// and the kernel then maps that page twice (the zero page for the
	// read, a copy of it and a flush of every CPU's TLB for the write).
	w, bit := k/64, uint64(1)<<(k%64)
	for len(a.taken) <= w {
		a.taken = append(a.taken, 0)
	}
	if a.taken[w]&bit != 0 { // an ID seen twice: never from the tracker
		a.extra = append(a.extra, *r)
		return
	}
	a.taken[w] |= bit
	a.done[ci][k%connChunk] = *r
}

// reports returns the summaries in ID order. The chunks become the
// report's own when the IDs stored are 1 to n, as the tracker numbers
// connections; anything else is copied and sorted.
func (a *analysis) reports() ConnReports {
	var out ConnReports
	if n, ok := a.onlyFirst(); ok && len(a.extra) == 0 {
		for ci, d := range a.done {
			out.adopt(d, min(connChunk, n-ci*connChunk))
			a.done[ci] = nil
		}
		return out
	}
	all := make([]ConnReport, 0, a.ndone)
	for ci, d := range a.done {
		for i := range d {
			if d[i].ID != 0 {
				all = append(all, d[i])
			}
		}
		a.done[ci] = nil
	}
	all = append(all, a.extra...)
	slices.SortStableFunc(all, func(x, y ConnReport) int { return cmp.Compare(x.ID, y.ID) })
	return MakeConnReports(all...)
}

// onlyFirst returns n when the IDs stored are exactly 1 to n: the bits
// taken are all ones up to the last word, and the last word's ones are
// its lowest.
func (a *analysis) onlyFirst() (n int, ok bool) {
	for i, w := range a.taken {
		if w == ^uint64(0) {
			continue
		}
		if i < len(a.taken)-1 || w&(w+1) != 0 {
			return 0, false
		}
		return i*64 + bits.OnesCount64(w), true
	}
	return len(a.taken) * 64, true
}

// analyzeRecycle: Analyze reuses the connections that left the table
// (a test turns it off to compare).
var analyzeRecycle = true

// Analyze reads a whole capture and reports on every failover connection
// in it. A read error ends the analysis early: the report covers what was
// read and carries the error, which is also returned.
func Analyze(ctx context.Context, c *Capture, o AnalyzeOptions) (*Report, error) {
	a := &analysis{live: map[*Conn]*[2][]StateReport{}}
	var e Event
	tr := NewTracker(Options{Ports: o.Ports, MaxHistory: -1, recycle: analyzeRecycle,
		OnConn: func(c *Conn) {
			// First called when the tracker creates c.
			if _, ok := a.live[c]; !ok {
				a.live[c] = nil
			}
		},
		// A connection leaves the table a while after it closed (or
		// when its four-tuple is reused): only then are its counters
		// final, the last ACKs of the close included.
		OnRemove: a.summarize,
		OnMessage: func(c *Conn, from int, ts time.Time, m *failover.Message) {
			if m.Type == failover.MsgState {
				x := a.live[c]
				if x == nil {
					x = new([2][]StateReport)
					a.live[c] = x
				}
				s := c.Dir[from].State
				st, _ := s.FSM()
				x[from] = append(x[from], StateReport{Time: ts.UTC(), State: st.String(), NativeState: nativeName(s.Code), Code: s.Code, Startup: s.Startup, StartTimeOfState: s.STOS.UTC()})
			}
			if o.Timeline != nil {
				ep := &e
				if o.EventSlot != nil {
					ep = o.EventSlot()
				}
				ep.fill(c, from, ts, m, &a.addrs)
				o.Timeline(ep)
			}
		},
	})
	err := Replay(ctx, c, tr)
	for c := range a.live {
		a.summarize(c)
	}
	st := tr.Stats()
	r := &Report{Packets: st.Packets, FailoverSegments: st.TCP, Messages: st.Messages, Connections: a.reports()}
	if err != nil {
		r.Error = err.Error()
	}
	seen := map[[2]netip.Addr]int{}
	for _, c := range r.Connections.All() {
		if c.hasMessages {
			c.Reconnect = seen[c.pair]
			if seen[c.pair] > 0 {
				r.Reconnects++
			}
			seen[c.pair]++
		}
	}
	return r, err
}

// JSONStream writes the JSON document of an analysis while it runs, so
// that a capture of any size is written in memory bounded by its
// connections rather than its messages. The timeline is one array of
// events in capture order, each written as it is read (one compact
// object per line, with its connection's id); the report follows it:
//
//	{
//	  "timeline": [
//	    {"time":"...","connection":1,"from":"...","message":"CONTACT",...},
//	    ...
//	  ],
//	  "packets": 186,
//	  ...
//	  "connections": [ ... ]
//	}
//
// The document is valid JSON whenever Close was called, also after a read
// error (the report's "error" says so).
type JSONStream struct {
	w        io.Writer
	buf      bytes.Buffer
	enc      *json.Encoder
	line     []byte // an event, as Event writes it
	timeline bool
	events   uint64
	err      error // sticky: the first write error
}

// NewJSONStream starts the document on w; with timeline it opens the
// "timeline" array for Event.
func NewJSONStream(w io.Writer, timeline bool) *JSONStream {
	s := &JSONStream{w: w, timeline: timeline}
	s.enc = json.NewEncoder(&s.buf)
	head := "{\n"
	if timeline {
		head = "{\n  \"timeline\": ["
	}
	s.write([]byte(head))
	return s
}

func (s *JSONStream) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

// Event writes e as the next element of the timeline. It returns the
// first write error, after which nothing more is written.
func (s *JSONStream) Event(e *Event) error {
	if s.err != nil {
		return s.err
	}
	if !s.timeline {
		return errors.New("peer: JSONStream without a timeline")
	}
	line := s.line[:0]
	if s.events == 0 {
		line = append(line, "\n    "...)
	} else {
		line = append(line, ",\n    "...)
	}
	line, err := e.AppendJSON(line)
	if err != nil {
		s.err = err
		return err
	}
	s.line = line
	s.events++
	s.write(line)
	return s.err
}

// Close ends the timeline and writes the report after it, one
// connection at a time.
func (s *JSONStream) Close(r *Report) error {
	if s.timeline {
		if s.events == 0 {
			s.write([]byte("],\n"))
		} else {
			s.write([]byte("\n  ],\n"))
		}
	}
	// The members of Report, in its order and with its names.
	s.buf.Reset()
	fmt.Fprintf(&s.buf, "  \"packets\": %d,\n  \"failover_segments\": %d,\n  \"messages\": %d,\n  \"reconnects\": %d,\n  \"connections\": [",
		r.Packets, r.FailoverSegments, r.Messages, r.Reconnects)
	s.write(s.buf.Bytes())
	if s.err == nil {
		s.err = writeFormatted(s.w, r.Connections.Len(), func(b []byte, i int) ([]byte, error) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    "...)
			c := r.Connections.At(i)
			if out, ok := appendConnJSON(b, c); ok {
				return out, nil
			}
			// What appendConnJSON does not write itself, encoding/json
			// does, indented as Encoder.SetIndent("    ", "  ") would.
			j, err := json.MarshalIndent(c, "    ", "  ")
			return append(b, j...), err
		})
	}
	s.buf.Reset()
	if r.Connections.Len() > 0 {
		s.buf.WriteString("\n  ")
	}
	s.buf.WriteString("]")
	if r.Error != "" {
		s.buf.WriteString(",\n  \"error\": ")
		if err := s.enc.Encode(r.Error); err != nil && s.err == nil {
			s.err = err
		}
		s.buf.Truncate(s.buf.Len() - 1)
	}
	s.buf.WriteString("\n}\n")
	s.write(s.buf.Bytes())
	return s.err
}

func nativeName(code uint8) string {
	return wireStates[code].native
}

func sideReport(c *Conn, i int, states []StateReport) SideReport {
	d := &c.Dir[i]
	s := SideReport{
		From: c.endString(i), Vendor: d.Vendor, Messages: map[string]uint64{}, Total: d.Total,
		States: states, LongestGapSeconds: d.LongestGap.Seconds(),
		MaxPendingUpdates: d.MaxPending, PendingUpdatesAtEnd: d.Pending,
		ClockOffsetLast: d.ClockOffset.Seconds(), ClockOffsetMin: d.MinClockOffset.Seconds(), ClockOffsetMax: d.MaxClockOffset.Seconds(),
	}
	for t, n := range d.Messages {
		if n > 0 {
			s.Messages[failover.MessageType(t).String()] = n
		}
	}
	if !d.LongestGapEnd.IsZero() {
		t := d.LongestGapEnd.UTC()
		s.LongestGapEnd = &t
	}
	if v, ok := c.Dir[Other(i)].ReceiveTimer.Get(); ok {
		f := v.Seconds()
		s.PartnerReceiveTimer = &f
	}
	if v, ok := d.MCLT.Get(); ok {
		f := v.Seconds()
		s.MCLTSeconds = &f
	}
	if len(d.Rejects) > 0 {
		s.Rejects = map[string]uint64{}
		for r, n := range d.Rejects {
			s.Rejects[r.Name()] += n
		}
	}
	s.Holes, s.UnframedBytes = c.Gaps(i)
	return s
}

// WriteText writes the summaries of a report (the timeline is streamed
// separately, before them). The lines are appended by hand into one
// buffer reused (a capture may have tens of thousands of connections);
// text_test.go compares them with what fmt writes.
func (r *Report) WriteText(w io.Writer) error {
	err := writeFormatted(w, r.Connections.Len(), func(b []byte, i int) ([]byte, error) {
		return appendConnText(b, r.Connections.At(i)), nil
	})
	if err != nil {
		return err
	}
	b := make([]byte, 0, 256)
	b = append(b, '\n')
	b = strconv.AppendUint(b, r.Packets, 10)
	b = append(b, " packets, "...)
	b = strconv.AppendUint(b, r.FailoverSegments, 10)
	b = append(b, " on the failover ports, "...)
	b = strconv.AppendUint(b, r.Messages, 10)
	b = append(b, " messages, "...)
	b = strconv.AppendInt(b, int64(r.Connections.Len()), 10)
	b = append(b, " connections, "...)
	b = strconv.AppendInt(b, int64(r.Reconnects), 10)
	b = append(b, " reconnects\n"...)
	if r.Error != "" {
		b = append(b, "error: "...)
		b = append(b, r.Error...)
		b = append(b, '\n')
	}
	_, err = w.Write(b)
	return err
}

// appendConnText appends the summary of one connection.
func appendConnText(b []byte, c *ConnReport) []byte {
	b = append(b, "\n== connection #"...)
	b = strconv.AppendInt(b, int64(c.ID), 10)
	b = append(b, ": "...)
	b = append(b, c.Client...)
	b = append(b, " > "...)
	b = append(b, c.Server...)
	if c.Relationship != "" {
		b = append(b, ", relationship "...)
		b = strconv.AppendQuote(b, c.Relationship)
	}
	b = append(b, "\n   "...)
	b = appendTimeText(b, c.FirstPacket)
	b = append(b, " .. "...)
	b = appendTimeText(b, c.LastPacket)
	b = append(b, " ("...)
	b = append(b, c.LastPacket.Sub(c.FirstPacket).Round(time.Millisecond).String()...)
	b = append(b, "), "...)
	if c.HandshakeSeen {
		b = append(b, "handshake seen"...)
	} else {
		b = append(b, "capture started mid-connection"...)
	}
	b = append(b, "; "...)
	switch {
	case c.Closed != "":
		b = append(b, "closed by "...)
		b = append(b, c.Closed...)
	case !c.Established:
		b = append(b, "never established"...)
	default:
		b = append(b, "still open at the end of the capture"...)
	}
	if c.Reconnect > 0 {
		b = append(b, "; reconnect "...)
		b = strconv.AppendInt(b, int64(c.Reconnect), 10)
	}
	b = append(b, '\n')
	if c.Sides[0].Total+c.Sides[1].Total == 0 {
		return append(b, "   no failover messages\n"...)
	}
	b = appendCounts(b, c)
	for i := range c.Sides {
		s := &c.Sides[i]
		if s.Total == 0 {
			continue
		}
		b = append(b, "   from "...)
		b = append(b, s.From...)
		b = append(b, ":\n"...)
		if s.Vendor != "" {
			b = append(b, "     vendor          "...)
			b = append(b, s.Vendor...)
			b = append(b, '\n')
		}
		if len(s.States) > 0 {
			b = append(b, "     states          "...)
			for j, st := range s.States {
				if j > 0 {
					b = append(b, " > "...)
				}
				b = append(b, st.NativeState...)
				if st.Startup {
					b = append(b, " (STARTUP)"...)
				}
			}
			b = append(b, '\n')
		}
		b = append(b, "     longest gap     "...)
		b = strconv.AppendFloat(b, s.LongestGapSeconds, 'f', 3, 64)
		b = append(b, 's')
		if s.PartnerReceiveTimer != nil {
			b = append(b, " ("...)
			if s.LongestGapSeconds > *s.PartnerReceiveTimer {
				b = append(b, "EXCEEDS"...)
			} else {
				b = append(b, "within"...)
			}
			b = append(b, " the partner's max-response-delay "...)
			b = strconv.AppendFloat(b, *s.PartnerReceiveTimer, 'g', -1, 64)
			b = append(b, "s)"...)
		}
		b = append(b, '\n')
		if s.MaxPendingUpdates > 0 {
			b = append(b, "     BNDUPD backlog  max "...)
			b = strconv.AppendInt(b, int64(s.MaxPendingUpdates), 10)
			b = append(b, ", "...)
			b = strconv.AppendInt(b, int64(s.PendingUpdatesAtEnd), 10)
			b = append(b, " unacknowledged at the end\n"...)
		}
		if len(s.Rejects) > 0 {
			b = append(b, "     rejects         "...)
			b = append(b, formatCounts(s.Rejects)...)
			b = append(b, '\n')
		}
		b = append(b, "     clock offset    "...)
		b = appendSignedSeconds(b, s.ClockOffsetLast)
		b = append(b, " (min "...)
		b = appendSignedSeconds(b, s.ClockOffsetMin)
		b = append(b, ", max "...)
		b = appendSignedSeconds(b, s.ClockOffsetMax)
		b = append(b, "; message time minus capture time)\n"...)
		if s.Holes > 0 || s.UnframedBytes > 0 {
			b = append(b, "     capture         "...)
			b = strconv.AppendUint(b, s.Holes, 10)
			b = append(b, " holes, "...)
			b = strconv.AppendUint(b, s.UnframedBytes, 10)
			b = append(b, " bytes not framed\n"...)
		}
	}
	return b
}

// appendSignedSeconds appends v as fmt's "%+.3fs".
func appendSignedSeconds(b []byte, v float64) []byte {
	start := len(b)
	b = append(b, '+')
	b = strconv.AppendFloat(b, v, 'f', 3, 64)
	if c := b[start+1]; c == '-' || c == '+' {
		b = append(b[:start], b[start+1:]...)
	}
	return append(b, 's')
}

// appendCounts appends the message counts table of a connection: rows
// of fmt's "   %-12s %22s %22s".
func appendCounts(b []byte, c *ConnReport) []byte {
	row := func(name string, x, y []byte) {
		b = append(b, "   "...)
		b = append(b, name...)
		for i := len(name); i < 12; i++ {
			b = append(b, ' ')
		}
		for _, v := range [2][]byte{x, y} {
			b = append(b, ' ')
			for i := len(v); i < 22; i++ {
				b = append(b, ' ')
			}
			b = append(b, v...)
		}
		b = append(b, '\n')
	}
	var x, y [24]byte
	num := func(n0, n1 uint64) ([]byte, []byte) {
		return strconv.AppendUint(x[:0], n0, 10), strconv.AppendUint(y[:0], n1, 10)
	}
	var f0, f1 [80]byte
	row("messages", append(append(f0[:0], "from "...), c.Sides[0].From...), append(append(f1[:0], "from "...), c.Sides[1].From...))
	for _, t := range failover.MessageTypes() {
		n := t.String()
		if n0, n1 := c.Sides[0].Messages[n], c.Sides[1].Messages[n]; n0+n1 > 0 {
			v0, v1 := num(n0, n1)
			row(n, v0, v1)
		}
	}
	v0, v1 := num(c.Sides[0].Total, c.Sides[1].Total)
	row("total", v0, v1)
	return b
}

func formatCounts(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
