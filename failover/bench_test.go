package failover

import (
	"path/filepath"
	"testing"
)

// Benchmarks of the hot path of the peer tap: decoding STATE, CONTACT and
// BNDUPD and reading their options, and framing a captured stream.
// go test ./failover/ -run '^$' -bench . -benchmem

func benchDecode(b *testing.B, typ MessageType, read func(*Message)) {
	raw := firstOfType(b, typ)
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for range b.N {
		if err := Decode(raw, &m); err != nil {
			b.Fatal(err)
		}
		if read != nil {
			read(&m)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkDecodeState(b *testing.B)   { benchDecode(b, MsgState, readState) }
func BenchmarkDecodeContact(b *testing.B) { benchDecode(b, MsgContact, nil) }
func BenchmarkDecodeBndUpd(b *testing.B)  { benchDecode(b, MsgBndUpd, readBndUpd) }

func BenchmarkEncodeState(b *testing.B) {
	buf := make([]byte, 0, 64)
	var bl Builder
	b.ReportAllocs()
	for range b.N {
		bl.Reset(buf[:0], Header{Type: MsgState, Time: 1795713600, XID: 7})
		bl.AddState(Normal)
		bl.AddU8(OptServerFlags, 0)
		bl.AddU32(OptStartTimeOfState, 1795713600)
		if _, err := bl.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStream(b *testing.B, resync bool) {
	var data []byte
	for _, s := range loadStreams(b) {
		if filepath.Base(s.dir) == "isc-startup" && len(s.data) > len(data) {
			data = s.data
		}
	}
	o := SplitterOptions{Resync: resync}
	var n int
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		s := NewSplitter(o)
		// Feed in 1448-byte pieces, a typical TCP segment payload.
		for p := data; len(p) > 0; {
			k := min(1448, len(p))
			if err := s.Feed(p[:k], func([]byte) { n++ }); err != nil {
				b.Fatal(err)
			}
			p = p[k:]
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkSplitter(b *testing.B)       { benchStream(b, false) }
func BenchmarkSplitterResync(b *testing.B) { benchStream(b, true) }
