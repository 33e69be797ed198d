package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

func TestCleanText(t *testing.T) {
	long := strings.Repeat("a", MaxTextLen+10)
	// A 3-byte rune across the cut: the cut moves back to its start.
	longRunes := strings.Repeat("a", MaxTextLen-len(truncMark)-1) + "€€€"
	for _, c := range []struct{ in, want string }{
		{"fo-lab", "fo-lab"},
		{"", ""},
		{"with space", "with space"},
		{"fo-l\xffb", "fo-l\uFFFDb"},
		{"\xc3", "\uFFFD"}, // a cut multi-byte sequence
		{"a\x00b", "a\uFFFDb"},
		{"\x1b[2J\x07\r\n\t", "\uFFFD[2J\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\x7f", "\uFFFD"},
		{"évry-ö", "évry-ö"},
		{"abc\u202edef", "abc\uFFFDdef"}, // bidi override: hides what follows
		{"\u0085", "\uFFFD"},             // C1 control
		{long, long[:MaxTextLen-len(truncMark)] + truncMark},
		{longRunes, longRunes[:MaxTextLen-len(truncMark)-1] + truncMark},
		{long[:MaxTextLen], long[:MaxTextLen]},
	} {
		got := cleanText(c.in)
		if got != c.want {
			t.Errorf("cleanText(%q) = %q, want %q", c.in, got, c.want)
		}
		if !utf8.ValidString(got) || len(got) > MaxTextLen {
			t.Errorf("cleanText(%q) = %q: invalid or %d bytes", c.in, got, len(got))
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = cleanText("isc-4.4.3-P1") }); n != 0 {
		t.Errorf("%v allocations for a clean name", n)
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"fo-lab", "fo-l\xffb", "\x1b[2J", strings.Repeat("€", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanText(s)
		if !utf8.ValidString(got) || len(got) > MaxTextLen {
			t.Fatalf("cleanText(%q) = %q", s, got)
		}
		for _, r := range got {
			if !unicode.IsPrint(r) {
				t.Fatalf("cleanText(%q) = %q has %U", s, got, r)
			}
		}
		if cleanText(got) != got {
			t.Fatalf("cleanText not idempotent on %q", s)
		}
	})
}

// analyzeBoth runs what `analyze FILE` and `analyze --format=json FILE`
// run on a capture and returns both outputs.
func analyzeBoth(t *testing.T, path string) (text, js []byte) {
	t.Helper()
	var tb, jb bytes.Buffer
	for _, format := range []string{"text", "json"} {
		c, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var o AnalyzeOptions
		var s *JSONStream
		if format == "json" {
			s = NewJSONStream(&jb, true)
			o.Timeline = func(e *Event) { s.Event(e) }
		} else {
			var line []byte
			o.Timeline = func(e *Event) {
				line = e.AppendText(line[:0])
				tb.Write(line)
			}
		}
		r, err := Analyze(context.Background(), c, o)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s != nil {
			err = s.Close(r)
		} else {
			err = r.WriteText(&tb)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return tb.Bytes(), jb.Bytes()
}

// terminalSafe: valid UTF-8, and no control character but the newline.
func terminalSafe(t *testing.T, what string, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Errorf("%s: not valid UTF-8", what)
	}
	for i, r := range string(b) {
		if r != '\n' && !unicode.IsPrint(r) {
			t.Errorf("%s: %U at byte %d: %q", what, r, i, b[max(0, i-40):min(len(b), i+40)])
			return
		}
	}
}

// TestAnalyzeHostileText: relationship-name, vendor-class and message
// options carrying invalid UTF-8, NULs and terminal escapes, as anyone
// reaching port 647 can send, come out of analyze clean: the text output
// has no control byte for a terminal to act on, the JSON is valid and
// says the same as the text.
func TestAnalyzeHostileText(t *testing.T) {
	dir := t.TempDir()
	const vendor = "isc-4.4.3-P1"
	evil := "\x1b[2J\x07\xff\x00\r\n\xc3isc"[:len(vendor)]
	for _, c := range []struct {
		fixture string
		repl    []string
		want    []string // in the text output
	}{
		{"testdata/isc-fault-P1-kill-partnerdown-restart.pcap", []string{"fo-lab", "fo-l\xffb", vendor, evil},
			[]string{`relationship="fo-l` + "\uFFFD" + `b"`, "vendor=\"\uFFFD[2J\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDis\"", `relationship "fo-l` + "\uFFFD" + `b"`}},
		{"testdata/isc-third-party.pcap", []string{"unknown failover", "\x1b]0;pwn\x07\x1b[8m\x00\xfe\r\n"},
			[]string{"text=\"\uFFFD]0;pwn\uFFFD\uFFFD[8m\uFFFD\uFFFD\uFFFD\uFFFD relationship name\""}},
	} {
		t.Run(filepath.Base(c.fixture), func(t *testing.T) {
			text, js := analyzeBoth(t, peertest.CraftCapture(t, c.fixture, dir, c.repl...))
			terminalSafe(t, "text", text)
			terminalSafe(t, "json", js)
			for _, w := range c.want {
				if !strings.Contains(string(text), w) {
					t.Errorf("text output lacks %s", w)
				}
			}
			var doc struct {
				Timeline    []Event      `json:"timeline"`
				Connections []ConnReport `json:"connections"`
			}
			if err := json.Unmarshal(js, &doc); err != nil {
				t.Fatalf("json: %v", err)
			}
			var seen int
			for _, e := range doc.Timeline {
				for _, s := range []string{e.Relationship, e.Vendor, e.Text} {
					if s != "" {
						seen++
						if strings.ContainsRune(s, 0x1b) || !utf8.ValidString(s) {
							t.Errorf("event text %q", s)
						}
					}
				}
			}
			for _, cr := range doc.Connections {
				for _, s := range []string{cr.Relationship, cr.Sides[0].Vendor, cr.Sides[1].Vendor} {
					if strings.ContainsRune(s, 0x1b) || strings.ContainsRune(s, 0) {
						t.Errorf("connection text %q", s)
					}
				}
			}
			if seen == 0 {
				t.Error("no text options in the timeline")
			}
		})
	}
}

// TestConnAccepted: which connections of the real captures hold an
// accepted conversation.
func TestConnAccepted(t *testing.T) {
	for _, c := range []struct {
		fixture string
		want    string // per connection: A accepted, R<end> refused by that end, - neither
	}{
		// A stranger's bare connection, its CONNECT, the tail of the old
		// connection (one CONTACT), a CONNECT with a bogus name refused
		// by the primary (end 1), a CONNECT accepted.
		{"testdata/isc-third-party.pcap", "- - - - R1 A"},
		// Mid-stream CONTACTs both ways, two refused ports, the reconnect.
		{"testdata/isc-fault-P1-kill-partnerdown-restart.pcap", "A - - A"},
		{"testdata/isc-normal-lease.pcap", "A"},
	} {
		var conns []*Conn
		if _, err := ReadFile(c.fixture, Options{MaxHistory: -1, OnConn: func(x *Conn) {
			for _, k := range conns {
				if k == x {
					return
				}
			}
			conns = append(conns, x)
		}}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range conns {
			switch {
			case x.Accepted:
				got = append(got, "A")
			case x.RejectedBy >= 0:
				got = append(got, "R"+string(rune('0'+x.RejectedBy)))
			default:
				got = append(got, "-")
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s: %s, want %s", c.fixture, g, c.want)
		}
	}
}

// TestConnAcceptedRules: a lone message, a CONNECTACK nobody asked for,
// and both ends conversing.
func TestConnAcceptedRules(t *testing.T) {
	ts := time.Unix(1795713600, 0)
	msg := func(typ failover.MessageType, opts ...failover.Option) *failover.Message {
		b, err := failover.AppendMessage(nil, failover.Header{Type: typ, Time: 1795713600}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var m failover.Message
		if err := failover.Decode(b, &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	for _, c := range []struct {
		name string
		msgs []struct {
			from int
			m    *failover.Message
		}
		accepted bool
	}{
		{"lone STATE", seq(0, msg(failover.MsgState), 0, msg(failover.MsgContact)), false},
		{"CONNECTACK unasked", seq(0, msg(failover.MsgConnectAck)), false},
		{"CONNECTACK to own CONNECT", seq(0, msg(failover.MsgConnect), 0, msg(failover.MsgConnectAck)), false},
		{"handshake", seq(0, msg(failover.MsgConnect), 1, msg(failover.MsgConnectAck)), true},
		{"refused", seq(0, msg(failover.MsgConnect), 1, msg(failover.MsgConnectAck, failover.Option{Code: failover.OptRejectReason, Data: []byte{8}}), 1, msg(failover.MsgDisconnect), 0, msg(failover.MsgDisconnect)), false},
		{"mid-stream", seq(1, msg(failover.MsgContact), 0, msg(failover.MsgBndUpd)), true},
	} {
		conn := &Conn{Connector: -1, RejectedBy: -1}
		for _, x := range c.msgs {
			conn.observe(x.from, ts, x.m)
		}
		if conn.Accepted != c.accepted {
			t.Errorf("%s: accepted %v", c.name, conn.Accepted)
		}
	}
}

func seq(v ...any) []struct {
	from int
	m    *failover.Message
} {
	var out []struct {
		from int
		m    *failover.Message
	}
	for i := 0; i+1 < len(v); i += 2 {
		out = append(out, struct {
			from int
			m    *failover.Message
		}{v[i].(int), v[i+1].(*failover.Message)})
	}
	return out
}
