package peer

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Event is one message of a connection's timeline with the options that
// matter to an operator (draft-12 §7: what each message type carries).
type Event struct {
	Time    time.Time `json:"time"`
	Conn    int       `json:"connection"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Message string    `json:"message"`
	XID     uint32    `json:"xid"`
	// ClockOffset is the message's time field minus its capture time.
	ClockOffset float64 `json:"clock_offset_seconds"`

	Relationship string   `json:"relationship,omitempty"`
	Vendor       string   `json:"vendor,omitempty"`
	MCLT         *float64 `json:"mclt_seconds,omitempty"`
	ReceiveTimer *float64 `json:"receive_timer_seconds,omitempty"`
	MaxUnacked   *uint32  `json:"max_unacked_bndupd,omitempty"`

	State            string     `json:"state,omitempty"`        // FSM_STATE of the wire code
	NativeState      string     `json:"native_state,omitempty"` // ISC's name of the wire code
	StateCode        *uint8     `json:"state_code,omitempty"`   // as sent
	Startup          bool       `json:"startup,omitempty"`      // server-flags STARTUP
	StartTimeOfState *time.Time `json:"start_time_of_state,omitempty"`

	Address       string  `json:"address,omitempty"`
	BindingStatus string  `json:"binding_status,omitempty"`
	Addresses     *uint32 `json:"addresses_transferred,omitempty"`

	RejectReason string `json:"reject_reason,omitempty"`
	Text         string `json:"text,omitempty"` // the message option

	// date is Time's "2006-01-02T15:04:05" if Time is in its second
	// (shared by the events of one second, never changed once made).
	date *eventDate
	// offsetNS is ClockOffset in nanoseconds, exact, when offsetSet: the
	// JSON writer formats it without strconv's float search.
	offsetNS  int64
	offsetSet bool
}

// eventDate is the text of one second of capture time.
type eventDate struct {
	sec  int64
	text []byte
}

// dateOf returns the text of e.Time's date and time of day, ok false if
// not known already.
func (e *Event) dateOf() ([]byte, bool) {
	if e.date == nil || e.date.sec != e.Time.Unix() || e.Time.Location() != time.UTC {
		return nil, false
	}
	return e.date.text, true
}

// NewEvent describes message m, sent by end from of c at capture time ts.
func NewEvent(c *Conn, from int, ts time.Time, m *failover.Message) Event {
	var e Event
	e.fill(c, from, ts, m, nil)
	return e
}

// wireStates holds, per wire code of server-state, the event's state and
// native_state texts (ISCName searches a map: once per code here).
var wireStates = func() (t [256]struct{ state, native string }) {
	for code := range t {
		if st, ok := failover.StateFromWire(uint8(code)); ok {
			t[code].state = st.String()
			t[code].native, _ = st.ISCName()
		} else {
			t[code].state = failover.NoState.String()
			t[code].native = "code-" + strconv.Itoa(code)
		}
	}
	return t
}()

// The addresses an addrCache holds: a few pools' worth.
const (
	addrCacheBits = 12
	addrCacheSize = 1 << addrCacheBits
)

// addrCache holds the text of recently seen addresses, direct-mapped,
// and the last message option (ISC repeats the same few texts, such as
// BNDACK's "incoming update is less critical than outgoing update").
type addrCache struct {
	addrs [addrCacheSize]struct {
		addr netip.Addr
		text string
	}
	lastRaw  string // the message option's bytes as sent
	lastText string // ... cleaned
	date     *eventDate
}

// dateFor returns the text of t's second, made once per second.
func (ac *addrCache) dateFor(t time.Time) *eventDate {
	if ac == nil {
		return nil
	}
	if sec := t.Unix(); ac.date == nil || ac.date.sec != sec {
		text, ok := appendDate(nil, t)
		if !ok {
			return nil
		}
		ac.date = &eventDate{sec: sec, text: text}
	}
	return ac.date
}

// messageText returns the message option, cleaned.
func (ac *addrCache) messageText(m *failover.Message) (string, bool) {
	if ac == nil || m.Microsoft() {
		t, ok := m.MessageText()
		return cleanText(t), ok
	}
	raw, ok := m.Option(failover.OptMessage)
	if !ok {
		return "", false
	}
	if string(raw) != ac.lastRaw || ac.lastText == "" {
		t, _ := m.MessageText()
		ac.lastRaw, ac.lastText = string(raw), cleanText(t)
	}
	return ac.lastText, true
}

func (ac *addrCache) String(a netip.Addr) string {
	if ac == nil || !a.Is4() {
		return a.String()
	}
	b := a.As4()
	e := &ac.addrs[(binary.BigEndian.Uint32(b[:])*0x9e3779b1)>>(32-addrCacheBits)]
	if e.addr != a || e.text == "" {
		e.addr, e.text = a, a.String()
	}
	return e.text
}

// fill makes e describe message m (NewEvent), in place: an event is a
// few hundred bytes, and the timeline makes one per message.
func (e *Event) fill(c *Conn, from int, ts time.Time, m *failover.Message, ac *addrCache) {
	*e = Event{
		Time: ts.UTC(), Conn: c.ID, From: c.endString(from), To: c.endString(Other(from)),
		Message: m.Type.String(), XID: m.XID,
	}
	// The offset in whole nanoseconds, then one division: the double
	// nearest the exact offset (both integers are below 2^63 until 2262).
	e.offsetNS, e.offsetSet = int64(m.Time)*1e9-ts.UnixNano(), true
	e.ClockOffset = float64(e.offsetNS) / 1e9
	secs := func(d time.Duration, ok bool) *float64 {
		if !ok {
			return nil
		}
		v := d.Seconds()
		return &v
	}
	switch m.Type {
	case failover.MsgConnect, failover.MsgConnectAck:
		// Text from the wire, cleaned: it goes to a terminal and to JSON.
		if n, ok := m.RelationshipName(); ok {
			e.Relationship = cleanText(n)
		}
		if v, ok := m.VendorClass(); ok {
			e.Vendor = cleanText(v)
		}
		e.MCLT = secs(m.MCLT())
		e.ReceiveTimer = secs(m.ReceiveTimer())
		if v, ok := m.MaxUnackedBndupd(); ok {
			e.MaxUnacked = &v
		}
	case failover.MsgState:
		if code, ok := m.ServerStateCode(); ok {
			e.StateCode = &code
			f, _ := m.ServerFlags()
			// The state as sent; with the STARTUP flag it is the state
			// saved before a restart (docs/peer.md, "What it reports"), shown
			// with the flag beside it.
			e.Startup = f.Startup()
			e.State, e.NativeState = wireStates[code].state, wireStates[code].native
		}
		if t, ok := m.StartTimeOfState(); ok {
			t = t.UTC()
			e.StartTimeOfState = &t
		}
	case failover.MsgBndUpd, failover.MsgBndAck:
		if a, ok := m.AssignedIPAddress(); ok {
			e.Address = ac.String(a)
		}
		if s, ok := m.BindingStatus(); ok {
			e.BindingStatus = s.String()
		}
	case failover.MsgPoolResp:
		if n, ok := m.AddressesTransferred(); ok {
			e.Addresses = &n
		}
	}
	if r, ok := m.RejectReason(); ok {
		e.RejectReason = r.Name()
	}
	if t, ok := ac.messageText(m); ok {
		e.Text = t
	}
	e.date = ac.dateFor(e.Time)
}

// timeLayout prints capture times in UTC with microseconds, as tcpdump.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// AppendText appends the event as one line of the text timeline.
func (e *Event) AppendText(b []byte) []byte {
	if d, ok := e.dateOf(); ok {
		us := e.Time.Nanosecond() / 1000
		b = append(b, d...)
		b = append(b, '.',
			byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
			byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z')
	} else {
		b = appendTimeText(b, e.Time)
	}
	b = append(b, " #"...)
	b = strconv.AppendInt(b, int64(e.Conn), 10)
	b = append(b, ' ')
	b = append(b, e.From...)
	b = append(b, " > "...)
	b = append(b, e.To...)
	b = append(b, ' ')
	b = append(b, e.Message...)
	key := func(k string) {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=')
	}
	if e.Relationship != "" {
		key("relationship")
		b = appendQuote(b, e.Relationship)
	}
	if e.State != "" {
		key("state")
		b = append(b, e.NativeState...)
		b = append(b, '(')
		b = append(b, e.State...)
		b = append(b, ')')
	}
	if e.Startup {
		key("flags")
		b = append(b, "STARTUP"...)
	}
	if e.StartTimeOfState != nil {
		key("stos")
		b = appendTimeSeconds(b, *e.StartTimeOfState)
	}
	if e.Address != "" {
		key("address")
		b = append(b, e.Address...)
	}
	if e.BindingStatus != "" {
		key("status")
		b = append(b, e.BindingStatus...)
	}
	if e.Addresses != nil {
		key("addresses")
		b = strconv.AppendUint(b, uint64(*e.Addresses), 10)
	}
	if e.MCLT != nil {
		key("mclt")
		b = append(b, fmtSeconds(*e.MCLT)...)
	}
	if e.ReceiveTimer != nil {
		key("receive-timer")
		b = append(b, fmtSeconds(*e.ReceiveTimer)...)
	}
	if e.MaxUnacked != nil {
		key("max-unacked")
		b = strconv.AppendUint(b, uint64(*e.MaxUnacked), 10)
	}
	if e.Vendor != "" {
		key("vendor")
		b = appendQuote(b, e.Vendor)
	}
	if e.RejectReason != "" {
		key("reject")
		b = append(b, e.RejectReason...)
	}
	if e.Text != "" {
		key("text")
		b = appendQuote(b, e.Text)
	}
	return append(b, '\n')
}

// appendQuote is strconv.AppendQuote, without its rune by rune walk for
// the common text: printable ASCII with nothing to escape.
func appendQuote(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func fmtSeconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).String()
}
