package peer

import (
	"slices"
	"strconv"
	"time"
)

// appendConnJSON appends c as JSONStream.Close's encoder writes it
// (encoding/json with prefix "    " and indent "  ", no final newline),
// by hand: a capture may have tens of thousands of connections.
// report_json_test.go compares the two. ok is false for what it leaves to
// encoding/json (see appendJSON).
func appendConnJSON(b []byte, c *ConnReport) ([]byte, bool) {
	w := jsonIndenter{b: b, ok: true}
	w.open('{')
	w.key("id")
	w.b = strconv.AppendInt(w.b, int64(c.ID), 10)
	w.str("client", c.Client)
	w.str("server", c.Server)
	if c.Relationship != "" {
		w.str("relationship", c.Relationship)
	}
	w.time("first_packet", c.FirstPacket)
	w.time("last_packet", c.LastPacket)
	w.bool("handshake_seen", c.HandshakeSeen)
	w.bool("established", c.Established)
	if c.Closed != "" {
		w.str("closed", c.Closed)
	}
	w.key("reconnect")
	w.b = strconv.AppendInt(w.b, int64(c.Reconnect), 10)
	w.key("sides")
	w.open('[')
	for i := range c.Sides {
		w.elem()
		w.side(&c.Sides[i])
	}
	w.close(']')
	w.close('}')
	return w.b, w.ok
}

// jsonIndenter writes indented JSON as encoding/json's Indent does.
type jsonIndenter struct {
	b     []byte
	depth int
	first bool // no member written yet at this depth
	ok    bool
}

func (w *jsonIndenter) newline() {
	w.b = append(w.b, "\n    "...)
	for range w.depth {
		w.b = append(w.b, "  "...)
	}
}

func (w *jsonIndenter) open(c byte) {
	w.b = append(w.b, c)
	w.depth++
	w.first = true
}

func (w *jsonIndenter) close(c byte) {
	w.depth--
	if !w.first {
		w.newline()
	}
	w.first = false
	w.b = append(w.b, c)
}

// elem starts an element of an array or object.
func (w *jsonIndenter) elem() {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.newline()
}

func (w *jsonIndenter) key(k string) {
	w.elem()
	w.quote(k)
	w.b = append(w.b, ": "...)
}

func (w *jsonIndenter) quote(s string) {
	var ok bool
	w.b, ok = appendJSONString(w.b, s)
	w.ok = w.ok && ok
}

func (w *jsonIndenter) str(k, v string) {
	w.key(k)
	w.quote(v)
}

func (w *jsonIndenter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonIndenter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonIndenter) float(k string, v float64) {
	w.key(k)
	var ok bool
	w.b, ok = appendJSONFloat(w.b, v)
	w.ok = w.ok && ok
}

func (w *jsonIndenter) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	var ok bool
	w.b, ok = appendRFC3339Nano(w.b, t)
	w.ok = w.ok && ok
	w.b = append(w.b, '"')
}

func (w *jsonIndenter) counts(k string, m map[string]uint64) {
	w.key(k)
	if m == nil {
		w.b = append(w.b, "null"...)
		return
	}
	keys := make([]string, 0, len(m))
	for n := range m {
		keys = append(keys, n)
	}
	slices.Sort(keys)
	w.open('{')
	for _, n := range keys {
		w.uint(n, m[n])
	}
	w.close('}')
}

func (w *jsonIndenter) side(s *SideReport) {
	w.open('{')
	w.str("from", s.From)
	if s.Vendor != "" {
		w.str("vendor", s.Vendor)
	}
	w.counts("messages", s.Messages)
	w.uint("total", s.Total)
	if len(s.States) > 0 {
		w.key("states")
		w.open('[')
		for i := range s.States {
			st := &s.States[i]
			w.elem()
			w.open('{')
			w.time("time", st.Time)
			w.str("state", st.State)
			w.str("native_state", st.NativeState)
			w.uint("code", uint64(st.Code))
			if st.Startup {
				w.bool("startup", true)
			}
			w.time("start_time_of_state", st.StartTimeOfState)
			w.close('}')
		}
		w.close(']')
	}
	w.float("longest_gap_seconds", s.LongestGapSeconds)
	if s.LongestGapEnd != nil {
		w.time("longest_gap_end", *s.LongestGapEnd)
	}
	if s.PartnerReceiveTimer != nil {
		w.float("partner_receive_timer_seconds", *s.PartnerReceiveTimer)
	}
	if s.MCLTSeconds != nil {
		w.float("mclt_seconds", *s.MCLTSeconds)
	}
	w.key("max_pending_updates")
	w.b = strconv.AppendInt(w.b, int64(s.MaxPendingUpdates), 10)
	w.key("pending_updates_at_end")
	w.b = strconv.AppendInt(w.b, int64(s.PendingUpdatesAtEnd), 10)
	if len(s.Rejects) > 0 {
		w.counts("rejects", s.Rejects)
	}
	w.float("clock_offset_seconds", s.ClockOffsetLast)
	w.float("clock_offset_min_seconds", s.ClockOffsetMin)
	w.float("clock_offset_max_seconds", s.ClockOffsetMax)
	w.uint("capture_holes", s.Holes)
	w.uint("unframed_bytes", s.UnframedBytes)
	w.close('}')
}
