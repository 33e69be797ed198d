package peer

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// The timeline's formatting by hand: a capture of millions of messages
// spends most of its time here. AppendJSON writes exactly what
// encoding/json writes for an Event (event_format_test.go compares them),
// and falls back to it for what it does not handle itself (a time not in
// UTC or beyond year 9999, a float that is not finite, a text that needs
// escaping).

// AppendJSON appends e as encoding/json marshals it (compact, HTML
// characters escaped, no newline).
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	start := len(b)
	b, ok := e.appendJSON(b)
	if ok {
		return b, nil
	}
	j, err := json.Marshal(e)
	if err != nil {
		return b[:start], err
	}
	return append(b[:start], j...), nil
}

func (e *Event) appendJSON(b []byte) ([]byte, bool) {
	ok := true
	str := func(key, v string) {
		b = append(b, key...)
		var good bool
		b, good = appendJSONString(b, v)
		ok = ok && good
	}
	num := func(key string, f float64) {
		b = append(b, key...)
		var good bool
		b, good = appendJSONFloat(b, f)
		ok = ok && good
	}
	tm := func(key string, t time.Time) {
		b = append(b, key...)
		b = append(b, '"')
		var good bool
		b, good = appendRFC3339Nano(b, t)
		ok = ok && good
		b = append(b, '"')
	}
	if d, ok := e.dateOf(); ok {
		b = append(b, `{"time":"`...)
		b = append(b, d...)
		b = appendFraction(b, e.Time.Nanosecond())
		b = append(b, `Z"`...)
	} else {
		tm(`{"time":`, e.Time)
	}
	b = append(b, `,"connection":`...)
	b = strconv.AppendInt(b, int64(e.Conn), 10)
	str(`,"from":`, e.From)
	str(`,"to":`, e.To)
	str(`,"message":`, e.Message)
	b = append(b, `,"xid":`...)
	b = strconv.AppendUint(b, uint64(e.XID), 10)
	if ns := e.offsetNS; e.offsetSet && e.ClockOffset == float64(ns)/1e9 && (ns == 0 || (ns >= 1000 || ns <= -1000) && ns < 1e15 && ns > -1e15) {
		b = append(b, `,"clock_offset_seconds":`...)
		b = appendNanoDecimal(b, ns)
	} else {
		num(`,"clock_offset_seconds":`, e.ClockOffset)
	}
	if e.Relationship != "" {
		str(`,"relationship":`, e.Relationship)
	}
	if e.Vendor != "" {
		str(`,"vendor":`, e.Vendor)
	}
	if e.MCLT != nil {
		num(`,"mclt_seconds":`, *e.MCLT)
	}
	if e.ReceiveTimer != nil {
		num(`,"receive_timer_seconds":`, *e.ReceiveTimer)
	}
	if e.MaxUnacked != nil {
		b = append(b, `,"max_unacked_bndupd":`...)
		b = strconv.AppendUint(b, uint64(*e.MaxUnacked), 10)
	}
	if e.State != "" {
		str(`,"state":`, e.State)
	}
	if e.NativeState != "" {
		str(`,"native_state":`, e.NativeState)
	}
	if e.StateCode != nil {
		b = append(b, `,"state_code":`...)
		b = strconv.AppendUint(b, uint64(*e.StateCode), 10)
	}
	if e.Startup {
		b = append(b, `,"startup":true`...)
	}
	if e.StartTimeOfState != nil {
		tm(`,"start_time_of_state":`, *e.StartTimeOfState)
	}
	if e.Address != "" {
		str(`,"address":`, e.Address)
	}
	if e.BindingStatus != "" {
		str(`,"binding_status":`, e.BindingStatus)
	}
	if e.Addresses != nil {
		b = append(b, `,"addresses_transferred":`...)
		b = strconv.AppendUint(b, uint64(*e.Addresses), 10)
	}
	if e.RejectReason != "" {
		str(`,"reject_reason":`, e.RejectReason)
	}
	if e.Text != "" {
		str(`,"text":`, e.Text)
	}
	return append(b, '}'), ok
}

// appendJSONString quotes s as encoding/json does when s needs no
// escaping (printable ASCII but for '"', '\\' and the HTML characters
// '<', '>', '&'); ok is false otherwise.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// jsonPlain tells the bytes encoding/json writes as they are.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONFloat formats f as encoding/json does (ES6 number to string:
// 'f' between 1e-6 and 1e21, else 'e' with the exponent unpadded); ok is
// false for a value JSON cannot hold.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// appendNanoDecimal appends ns nanoseconds as a decimal number of
// seconds without trailing zeros: the bytes appendJSONFloat gives for
// float64(ns)/1e9 when 1000 <= |ns| < 1e15 (or ns is 0). There the decimal
// has at most 15 significant digits, and two such decimals never round to
// the same double, so it is the shortest one that round-trips, which is
// what strconv prints ('f' format: |value| >= 1e-6).
func appendNanoDecimal(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1e9, 10)
	frac := ns % 1e9
	if frac == 0 {
		return b
	}
	var d [10]byte
	d[0] = '.'
	n := 9
	for frac%10 == 0 {
		frac /= 10
		n--
	}
	for i := n; i > 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, d[:n+1]...)
}

// appendDate appends "2006-01-02T15:04:05" for a UTC time of years
// 0-9999; ok is false for any other.
func appendDate(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC {
		return b, false
	}
	// The civil date of the day count (Howard Hinnant's days_from_civil
	// inverse, "chrono-Compatible Low-Level Date Algorithms"): what
	// t.Date and t.Clock compute, without their general path.
	sec := t.Unix()
	if sec < minDateUnix || sec > maxDateUnix {
		return b, false
	}
	days, sod := sec/86400, sec%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	mo := mp + 3
	if mo > 12 {
		mo -= 12
	}
	if mo <= 2 {
		y++
	}
	h, mi, s := sod/3600, sod/60%60, sod%60
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10)), true
}

// The Unix times of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const (
	minDateUnix = -62167219200
	maxDateUnix = 253402300799
)

// appendRFC3339Nano appends t as time.RFC3339Nano formats a UTC time
// (what Time.MarshalJSON writes): the fraction without its trailing
// zeros, none for a whole second.
func appendRFC3339Nano(b []byte, t time.Time) ([]byte, bool) {
	b, ok := appendDate(b, t)
	if !ok {
		return b, false
	}
	b = appendFraction(b, t.Nanosecond())
	return append(b, 'Z'), true
}

// appendFraction appends ".123456789" without trailing zeros, nothing
// for 0 (RFC3339Nano's fraction).
func appendFraction(b []byte, ns int) []byte {
	if ns == 0 {
		return b
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i > 0; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(b, frac[:n]...)
}

// appendTimeText appends t in timeLayout (microseconds, tcpdump's way).
func appendTimeText(b []byte, t time.Time) []byte {
	start := len(b)
	b, ok := appendDate(b, t)
	if !ok {
		return t.AppendFormat(b[:start], timeLayout)
	}
	us := t.Nanosecond() / 1000
	return append(b, '.',
		byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z')
}

// appendTimeSeconds appends t as time.RFC3339 formats it (whole seconds).
func appendTimeSeconds(b []byte, t time.Time) []byte {
	start := len(b)
	b, ok := appendDate(b, t)
	if !ok {
		return t.AppendFormat(b[:start], time.RFC3339)
	}
	return append(b, 'Z')
}
