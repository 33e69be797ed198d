package failover

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// TestFixtureStreams decodes every captured stream and checks it against
// counts.txt: messages per type and direction, and each STATE's time,
// state, STOS and flags; every message re-encodes to the same bytes.
func TestFixtureStreams(t *testing.T) {
	streams := loadStreams(t)
	if len(streams) != 14 {
		t.Fatalf("loaded %d streams, want 14", len(streams))
	}
	for _, fs := range streams {
		t.Run(fs.name(), func(t *testing.T) {
			for _, resync := range []bool{false, true} {
				msgs, sp := splitAll(t, fs.data, SplitterOptions{Resync: resync})
				if sp.Pending() != 0 || sp.Stats().Skipped != 0 || sp.Stats().Resyncs != 0 {
					t.Errorf("resync=%v: pending %d, stats %+v", resync, sp.Pending(), sp.Stats())
				}
				if len(msgs) != fs.messages {
					t.Fatalf("resync=%v: %d messages, want %d", resync, len(msgs), fs.messages)
				}
				if st := sp.Stats(); st.Messages != uint64(fs.messages) || st.Bytes != uint64(len(fs.data)) {
					t.Errorf("stats %+v for %d messages of %d bytes", st, fs.messages, len(fs.data))
				}
				counts := map[string]int{}
				var states []fixtureState
				for i, b := range msgs {
					var m Message
					if err := Decode(b, &m); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					counts[m.Type.String()]++
					if m.PayloadOffset != PayloadOffsetISC || m.Microsoft() {
						t.Errorf("message %d: offset %d", i, m.PayloadOffset)
					}
					if m.Type == MsgState {
						states = append(states, stateOf(t, &m))
					}
					re, err := m.AppendTo(nil)
					if err != nil || !bytes.Equal(re, b) {
						t.Fatalf("message %d (%v): AppendTo = %x, %v; want %x", i, m.Type, re, err, b)
					}
					re, err = AppendMessage(nil, m.Header(), m.AppendOptions(nil)...)
					if err != nil || !bytes.Equal(re, b) {
						t.Fatalf("message %d (%v): AppendMessage = %x, %v; want %x", i, m.Type, re, err, b)
					}
				}
				if !reflect.DeepEqual(counts, fs.counts) {
					t.Errorf("resync=%v: counts %v, want %v", resync, counts, fs.counts)
				}
				if !reflect.DeepEqual(states, fs.states) {
					t.Errorf("resync=%v: STATE messages\n got %+v\nwant %+v", resync, states, fs.states)
				}
			}
		})
	}
}

// stateOf reads a STATE message the way counts.txt prints it.
func stateOf(t *testing.T, m *Message) fixtureState {
	t.Helper()
	st, ok := m.ServerState()
	if !ok {
		t.Fatalf("STATE without a known server-state: %x", m.Bytes())
	}
	name, ok := st.ISCName()
	if !ok {
		t.Fatalf("state %v has no ISC name", st)
	}
	stos, ok := m.StartTimeOfState()
	if !ok {
		t.Fatal("STATE without start-time-of-state")
	}
	flags, ok := m.ServerFlags()
	if !ok {
		t.Fatal("STATE without server-flags")
	}
	return fixtureState{time: m.Time, stos: uint32(stos.Unix()), state: name, flags: uint8(flags)}
}

// TestFixtureStreamsChunked feeds every stream in random pieces, as a TCP
// reassembler would, and through readers that return short reads; all
// must frame exactly as the whole stream does.
func TestFixtureStreamsChunked(t *testing.T) {
	rng := rand.New(rand.NewSource(647))
	for _, fs := range loadStreams(t) {
		want, _ := splitAll(t, fs.data, SplitterOptions{})
		for _, o := range []SplitterOptions{{}, {Resync: true}} {
			for _, maxChunk := range []int{1, 3, 13, 100, 3000} {
				s := NewSplitter(o)
				var got [][]byte
				for p := fs.data; len(p) > 0; {
					k := min(len(p), 1+rng.Intn(maxChunk))
					if err := s.Feed(p[:k], func(m []byte) { got = append(got, append([]byte(nil), m...)) }); err != nil {
						t.Fatalf("%s: %v", fs.name(), err)
					}
					p = p[k:]
				}
				if !reflect.DeepEqual(got, want) || s.Pending() != 0 {
					t.Errorf("%s resync=%v chunks<=%d: %d messages, pending %d; want %d", fs.name(), o.Resync, maxChunk, len(got), s.Pending(), len(want))
				}
			}
			for _, r := range []io.Reader{
				bytes.NewReader(fs.data),
				iotest.OneByteReader(bytes.NewReader(fs.data)),
				iotest.HalfReader(bytes.NewReader(fs.data)),
				iotest.DataErrReader(bytes.NewReader(fs.data)),
			} {
				got := readAll(t, NewStreamReader(r, o))
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s resync=%v %T: %d messages, want %d", fs.name(), o.Resync, r, len(got), len(want))
				}
			}
		}
	}
}

func readAll(t *testing.T, sr *StreamReader) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		b, err := sr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, append([]byte(nil), b...))
	}
}

func midstreamFixture(t *testing.T) []byte {
	for _, fs := range loadStreams(t) {
		if strings.HasSuffix(fs.dir, "isc-normal-lease") && strings.Contains(fs.file, "10.250.0.1_647-to") {
			return fs.data
		}
	}
	t.Fatal("no normal-lease stream")
	return nil
}

// TestResync covers a capture that starts inside a message and garbage
// between messages: the resync framer skips to the next real header and
// says how many bytes it skipped.
func TestResync(t *testing.T) {
	data := midstreamFixture(t)
	all, _ := splitAll(t, data, SplitterOptions{})
	first := len(all[0])
	ff := bytes.Repeat([]byte{0xff}, 37)
	// A header that looks right but whose option overruns the message.
	fake := []byte{0x00, 0x10, 0x0a, 0x0c, 0, 0, 0, 1, 0, 0, 0, 1, 0x00, 0x18, 0x00, 0x09}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	mid := len(all) / 2
	head := bytes.Join(all[:mid], nil)
	tail := bytes.Join(all[mid:], nil)

	for _, tc := range []struct {
		name     string
		in       []byte
		messages int
		skipped  uint64
		resyncs  uint64
	}{
		{"clean", data, len(all), 0, 0},
		{"starts-inside-first-message", data[5:], len(all) - 1, uint64(first - 5), 1},
		{"starts-one-byte-before-boundary", data[first-1:], len(all) - 1, 1, 1},
		{"garbage-prefix", join(ff, data), len(all), 37, 1},
		{"garbage-between-messages", join(head, ff, tail), len(all), 37, 1},
		{"plausible-but-broken-header", join(head, fake, tail), len(all), uint64(len(fake)), 1},
		{"two-garbage-runs", join(ff, head, fake, tail), len(all), 37 + uint64(len(fake)), 2},
		{"only-garbage", ff, 0, 37 - (MinMessageLen - 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{len(tc.in) + 1, 1, 7} {
				s := NewSplitter(SplitterOptions{Resync: true})
				n := 0
				for p := tc.in; len(p) > 0; {
					k := min(chunk, len(p))
					if err := s.Feed(p[:k], func(m []byte) {
						var msg Message
						if err := Decode(m, &msg); err != nil {
							t.Errorf("yielded undecodable message: %v", err)
						}
						n++
					}); err != nil {
						t.Fatal(err)
					}
					p = p[k:]
				}
				st := s.Stats()
				if n != tc.messages || st.Skipped != tc.skipped || st.Resyncs != tc.resyncs {
					t.Errorf("chunk %d: %d messages, %+v; want %d messages, %d skipped, %d resyncs", chunk, n, st, tc.messages, tc.skipped, tc.resyncs)
				}
				sr := NewStreamReader(bytes.NewReader(tc.in), SplitterOptions{Resync: true})
				if got := readAll(t, sr); len(got) != tc.messages || sr.Stats() != st {
					t.Errorf("StreamReader: %d messages, %+v; want %d, %+v", len(got), sr.Stats(), tc.messages, st)
				}
			}
		})
	}
}

// TestStrictFraming: without resync, a length field outside 12..2048 is a
// clear, sticky error, as ISC drops such a connection.
func TestStrictFraming(t *testing.T) {
	contact := func(length int) []byte {
		b := make([]byte, max(length, 12))
		binary.BigEndian.PutUint16(b, uint16(length))
		b[2], b[3] = byte(MsgContact), PayloadOffsetISC
		return b
	}
	big := contact(MaxMessageLen)
	// Fill a 2048-byte CONTACT with one unknown option so that it decodes.
	binary.BigEndian.PutUint16(big[12:], 999)
	binary.BigEndian.PutUint16(big[14:], MaxMessageLen-16)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"max-length-ok", big, nil},
		{"min-length-ok", contact(12), nil},
		{"length-2049", contact(2049), ErrLength},
		{"length-65535", []byte{0xff, 0xff, 0x0b, 0x0c}, ErrLength},
		{"length-11", contact(11)[:12], ErrLength},
		{"length-0", make([]byte, 16), ErrLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSplitter(SplitterOptions{})
			n := 0
			err := s.Feed(tc.in, func([]byte) { n++ })
			if !errors.Is(err, tc.want) {
				t.Fatalf("Feed = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if n != 1 {
					t.Fatalf("%d messages", n)
				}
				return
			}
			if !strings.HasPrefix(err.Error(), "failover: ") || s.Synced() {
				t.Errorf("error %q, synced %v", err, s.Synced())
			}
			if err2 := s.Feed(contact(12), func([]byte) { n++ }); !errors.Is(err2, tc.want) || n != 0 {
				t.Errorf("error not sticky: %v, %d messages", err2, n)
			}
			sr := NewStreamReader(bytes.NewReader(tc.in), SplitterOptions{})
			if _, err := sr.Next(); !errors.Is(err, tc.want) {
				t.Errorf("StreamReader.Next = %v", err)
			}
		})
	}
}

func TestStreamReaderEnd(t *testing.T) {
	data := midstreamFixture(t)
	cut := data[:len(data)-3]
	sr := NewStreamReader(bytes.NewReader(cut), SplitterOptions{})
	var err error
	for err == nil {
		_, err = sr.Next()
	}
	if !errors.Is(err, ErrStreamTruncated) {
		t.Errorf("strict: %v, want ErrStreamTruncated", err)
	}
	sr = NewStreamReader(bytes.NewReader(cut), SplitterOptions{Resync: true})
	for err = nil; err == nil; {
		_, err = sr.Next()
	}
	if err != io.EOF || sr.Pending() == 0 {
		t.Errorf("resync: %v with %d pending, want io.EOF and a pending tail", err, sr.Pending())
	}
	readErr := errors.New("connection reset")
	sr = NewStreamReader(io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(readErr)), SplitterOptions{})
	for err = nil; err == nil; {
		_, err = sr.Next()
	}
	if !errors.Is(err, readErr) {
		t.Errorf("read error: %v", err)
	}
	sr = NewStreamReader(zeroReader{}, SplitterOptions{})
	if _, err := sr.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("empty reads: %v", err)
	}
	var m Message
	sr = NewStreamReader(bytes.NewReader(data), SplitterOptions{})
	if err := sr.ReadMessage(&m); err != nil || m.Type != MsgContact {
		t.Errorf("ReadMessage: %v %v", m.Type, err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }
