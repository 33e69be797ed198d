package peer

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fixtureEvents returns the timeline of every real capture.
func fixtureEvents(t *testing.T) []Event {
	t.Helper()
	var events []Event
	for _, path := range fixtures(t) {
		c, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Analyze(context.Background(), c, AnalyzeOptions{Timeline: func(e *Event) { events = append(events, *e) }})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return events
}

// TestEventJSON: AppendJSON writes what encoding/json writes, for every
// event of the real captures and for the values it hands back to
// encoding/json (times not in UTC, odd floats, texts to escape).
func TestEventJSON(t *testing.T) {
	events := fixtureEvents(t)
	for i := range events {
		// The real captures never need encoding/json.
		if _, ok := events[i].appendJSON(nil); !ok {
			t.Errorf("event %d of the fixtures: not encoded by hand: %+v", i, events[i])
		}
	}
	f := func(v float64) *float64 { return &v }
	u32 := func(v uint32) *uint32 { return &v }
	u8 := func(v uint8) *uint8 { return &v }
	tp := func(v time.Time) *time.Time { return &v }
	base := time.Date(2026, 11, 26, 17, 21, 13, 56883000, time.UTC)
	paris := time.FixedZone("CET", 3600)
	events = append(events, []Event{
		{},
		{Time: base, Conn: 1, From: "10.0.0.1:647", To: "10.0.0.2:1024", Message: "CONTACT", ClockOffset: -0.0568},
		{Time: base.Truncate(time.Second), ClockOffset: 5e-7},
		{Time: base.Add(1), ClockOffset: -1e-7},
		{Time: base.Add(100 * time.Millisecond), ClockOffset: 1e21},
		{Time: base.In(paris), ClockOffset: 123456789.125},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: base, ClockOffset: math.NaN()},
		{Time: base, ClockOffset: math.Inf(-1)},
		{Time: base, Relationship: `fo "lab" <&> \ x`, Vendor: "isc\x01\xff\u2028é", Text: "\t\n\b\f"},
		{Time: base, MCLT: f(3600), ReceiveTimer: f(0.5), MaxUnacked: u32(10), State: "NORMAL", NativeState: "normal",
			StateCode: u8(2), Startup: true, StartTimeOfState: tp(base.Truncate(time.Second)), Address: "10.1.2.3",
			BindingStatus: "ACTIVE", Addresses: u32(7), RejectReason: "connection_time_mismatch", Text: "hello"},
		{Time: base, StartTimeOfState: tp(base.In(paris))},
		{Time: base, MCLT: f(math.Inf(1))},
	}...)
	for i := range events {
		e := &events[i]
		want, werr := json.Marshal(e)
		got, gerr := e.AppendJSON([]byte("prefix"))
		if (werr == nil) != (gerr == nil) {
			t.Errorf("event %d: error %v, encoding/json %v", i, gerr, werr)
			continue
		}
		if werr != nil {
			if string(got) != "prefix" {
				t.Errorf("event %d: %q written with the error", i, got)
			}
			continue
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("event %d:\n got %s\nwant prefix%s", i, got, want)
		}
	}
}

// TestTimeFormats: the hand-written time formats are the time package's.
func TestTimeFormats(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 26, 17, 21, 13, 56883000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 123, time.UTC),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 26, 17, 21, 13, 56883000, time.FixedZone("X", -7200)),
		time.Unix(1795713600, 5000).UTC(),
		{},
	} {
		if got, want := string(appendTimeText(nil, tm)), tm.Format(timeLayout); got != want {
			t.Errorf("text %v: %s, want %s", tm, got, want)
		}
		if got, want := string(appendTimeSeconds(nil, tm)), tm.Format(time.RFC3339); got != want {
			t.Errorf("RFC 3339 %v: %s, want %s", tm, got, want)
		}
		if b, ok := appendRFC3339Nano(nil, tm); ok {
			if want := tm.Format(time.RFC3339Nano); string(b) != want {
				t.Errorf("RFC 3339 nano %v: %s, want %s", tm, b, want)
			}
		}
	}
}

// TestAppendDate checks the civil date arithmetic against the time
// package: random instants over years 0-9999 and every day around the
// leap-year rules' edges.
func TestAppendDate(t *testing.T) {
	check := func(sec int64) {
		tm := time.Unix(sec, 0).UTC()
		got, ok := appendDate(nil, tm)
		if want := tm.Format("2006-01-02T15:04:05"); !ok || string(got) != want {
			t.Fatalf("%d: %s (%v), want %s", sec, got, ok, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		check(minDateUnix + r.Int64N(maxDateUnix-minDateUnix+1))
	}
	for _, y := range []int{0, 1, 4, 100, 400, 1600, 1900, 1969, 2000, 2100, 2400, 9999} {
		start := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 2*86400
		for d := int64(0); d < 370; d++ {
			check(min(maxDateUnix, max(minDateUnix, start+d*86400+86399)))
		}
	}
	check(minDateUnix)
	check(maxDateUnix)
	for _, sec := range []int64{minDateUnix - 1, maxDateUnix + 1} {
		if _, ok := appendDate(nil, time.Unix(sec, 0).UTC()); ok {
			t.Errorf("%d: formatted", sec)
		}
	}
}
