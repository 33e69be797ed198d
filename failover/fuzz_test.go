package failover

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets (run with `go test -fuzz=FuzzDecode ./failover/` and
// `-fuzz=FuzzStream`), seeded from the captured ISC streams. Every crasher
// found becomes a named case in decodeErrorCases or streamRegressionCases.

func FuzzDecode(f *testing.F) {
	for _, b := range fixtureMessages(f) {
		f.Add(b)
	}
	f.Add(microsoftState)
	f.Add(allOptions())
	for _, tc := range decodeErrorCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		var m Message
		err := Decode(b, &m)
		if !bytes.Equal(in, b) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "failover: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		exerciseAccessors(&m)
		re, err := m.AppendTo(nil)
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("AppendTo = %x, %v; want %x", re, err, b)
		}
		re, err = AppendMessage(nil, m.Header(), m.AppendOptions(nil)...)
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("AppendMessage = %x, %v; want %x", re, err, b)
		}
	})
}

// exerciseAccessors calls every accessor; none may panic on a message
// Decode accepted.
func exerciseAccessors(m *Message) {
	_, _ = m.ServerState()
	_, _ = m.ServerStateCode()
	_, _ = m.ServerFlags()
	_, _ = m.StartTimeOfState()
	_, _ = m.MCLT()
	_, _ = m.ReceiveTimer()
	_, _ = m.MaxUnackedBndupd()
	_, _ = m.ProtocolVersion()
	r, _ := m.RejectReason()
	_, _ = r.String(), r.Name()
	bs, _ := m.BindingStatus()
	_ = bs.String()
	_, _ = m.AssignedIPAddress()
	_, _ = m.LeaseExpirationTime()
	_, _ = m.PotentialExpirationTime()
	_, _ = m.ClientLastTransactionTime()
	_, _, _ = m.ClientHardwareAddress()
	_, _ = m.ClientIdentifier()
	_, _, _ = m.DDNS()
	_, _ = m.IPFlags()
	_, _ = m.AddressesTransferred()
	_, _ = m.HashBucketAssignment()
	_, _ = m.VendorClass()
	_, _ = m.MessageText()
	_, _ = m.RelationshipName()
	_, _ = m.RelationshipNameBytes()
	_, _ = m.MicrosoftServerIP()
	_, _ = m.MicrosoftClientPolicy()
	_, _ = m.MicrosoftExtAddressState()
	d, _ := m.MessageDigest()
	_ = d.Type.String()
	_ = m.HeaderExtra()
	_ = m.Timestamp()
	_ = m.Type.String()
	for c := OptionCode(0); c <= MaxKnownOption+1; c++ {
		_, _ = m.U8(c)
		_, _ = m.U16(c)
		_, _ = m.U32(c)
		_ = c.String()
	}
}

// streamRegressionCases are inputs the stream fuzzer once found
// interesting; each must keep the framing invariants of checkStream.
var streamRegressionCases = []struct {
	name   string
	in     []byte
	chunk  uint8
	resync bool
}{
	{"microsoft-8-byte-contact", msg(11, 8), 0, false},
	{"microsoft-8-byte-contact-resync", append(msg(11, 8), msg(11, 12)...), 3, true},
	{"length-field-only", []byte{0x00}, 0, false},
	{"garbage-ff", bytes.Repeat([]byte{0xff}, 40), 1, true},
}

func FuzzStream(f *testing.F) {
	// Seeds are windows of the captured streams of at most 1500 bytes: small
	// inputs keep each execution and the minimisation of new inputs fast.
	for _, s := range loadStreams(f) {
		d := s.data[:min(len(s.data), 1500)]
		f.Add(d, uint8(0), !s.complete)
		if len(d) > 7 {
			f.Add(d[7:], uint8(5), true)
		}
		if len(s.data) > 3000 {
			f.Add(s.data[1500:3000], uint8(200), true)
		}
	}
	for _, tc := range streamRegressionCases {
		f.Add(tc.in, tc.chunk, tc.resync)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, resync bool) {
		if len(data) > 3*MaxMessageLen {
			t.Skip("longer inputs add nothing the framer's bounds do not already cover")
		}
		checkStream(t, data, chunk, resync)
	})
}

func TestStreamRegressions(t *testing.T) {
	for _, tc := range streamRegressionCases {
		t.Run(tc.name, func(t *testing.T) { checkStream(t, tc.in, tc.chunk, tc.resync) })
	}
}

// checkStream frames data whole, in pieces of chunk+1 bytes, and through
// a StreamReader, and checks that all three agree and that every byte is
// accounted for.
func checkStream(t *testing.T, data []byte, chunk uint8, resync bool) {
	o := SplitterOptions{Resync: resync}
	collect := func(s *Splitter, pieces int) ([][]byte, error) {
		var out [][]byte
		fn := func(m []byte) { out = append(out, append([]byte(nil), m...)) }
		if pieces <= 0 {
			return out, s.Feed(data, fn)
		}
		for p := data; len(p) > 0; {
			k := min(pieces, len(p))
			if err := s.Feed(p[:k], fn); err != nil {
				return out, err
			}
			p = p[k:]
		}
		return out, nil
	}
	whole := NewSplitter(o)
	want, werr := collect(whole, 0)
	pieces := NewSplitter(o)
	got, gerr := collect(pieces, int(chunk)+1)
	if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("chunked framing differs: %d msgs (%v) vs %d msgs (%v)", len(got), gerr, len(want), werr)
	}
	if resync && (werr != nil || whole.Stats() != pieces.Stats() || whole.Pending() != pieces.Pending()) {
		t.Fatalf("resync: err %v, stats %+v/%+v, pending %d/%d", werr, whole.Stats(), pieces.Stats(), whole.Pending(), pieces.Pending())
	}
	var total uint64
	for _, m := range want {
		total += uint64(len(m))
		var msg Message
		err := Decode(m, &msg)
		if resync && err != nil {
			t.Fatalf("resync yielded an undecodable message: %v", err)
		}
		if !validLength(len(m), int(m[3])) {
			t.Fatalf("message of %d bytes", len(m))
		}
	}
	st := whole.Stats()
	if st.Messages != uint64(len(want)) || st.Bytes != total {
		t.Fatalf("stats %+v for %d messages of %d bytes", st, len(want), total)
	}
	if werr == nil && st.Bytes+st.Skipped+uint64(whole.Pending()) != uint64(len(data)) {
		t.Fatalf("bytes unaccounted: %+v pending %d of %d", st, whole.Pending(), len(data))
	}
	if werr != nil && !errors.Is(werr, ErrLength) {
		t.Fatalf("strict framing error %v", werr)
	}
	sr := NewStreamReader(bytes.NewReader(data), o)
	var read [][]byte
	var rerr error
	for {
		b, err := sr.Next()
		if err != nil {
			rerr = err
			break
		}
		read = append(read, append([]byte(nil), b...))
	}
	if !reflect.DeepEqual(read, want) {
		t.Fatalf("StreamReader: %d messages, want %d (%v)", len(read), len(want), rerr)
	}
	switch {
	case werr != nil:
		if !errors.Is(rerr, ErrLength) {
			t.Fatalf("StreamReader error %v, Splitter %v", rerr, werr)
		}
	case whole.Pending() > 0 && !resync:
		if !errors.Is(rerr, ErrStreamTruncated) {
			t.Fatalf("StreamReader error %v with %d pending", rerr, whole.Pending())
		}
	default:
		if rerr != io.EOF || sr.Stats() != st {
			t.Fatalf("StreamReader end %v, stats %+v, want %+v", rerr, sr.Stats(), st)
		}
	}
}
